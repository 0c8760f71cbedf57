"""Stored comment figures of past days (``comments`` and ``comment_sides``), and the triggers again: the comments,
the year-end ratings and the comment rounds are watched too, and every watched write deletes the stored comment
figures as it deletes the other snapshots (``reports.stale``)."""

import django.db.models.deletion
from django.db import migrations, models

from reports import stale

class Migration(migrations.Migration):
    dependencies = [
        ("branches", "0004_organisation_name_indexes"),
        ("members", "0014_comment_date_indexes"),
        ("reports", "0002_meeting_snapshot"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReportSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "part",
                    models.CharField(
                        choices=[
                            ("comments", "Comments"),
                            ("comments_by_side", "Comments By Side"),
                            ("by_sector", "By Sector"),
                            ("by_grassroots_organisation", "By Grassroots Organisation"),
                            ("by_ward_and_cell", "By Ward And Cell"),
                        ],
                        max_length=30,
                    ),
                ),
                ("day", models.DateField()),
                ("figures", models.JSONField()),
                ("computed_at", models.DateTimeField(auto_now=True)),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="branches.organisation",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="report_snapshot_day")],
                "constraints": [
                    models.UniqueConstraint(fields=("organisation", "part", "day"), name="report_snapshot_once_a_day")
                ],
            },
        ),
        migrations.RunPython(stale.replaced(stale.SECOND, stale.THIRD), stale.replaced(stale.THIRD, stale.SECOND)),
    ]
