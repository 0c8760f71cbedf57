"""Stored meeting figures of past days (attendance, irregular attendees), and the triggers again: the meetings and
their attendance are watched too, and every watched write deletes the stored meeting figures as it deletes the stored
headlines (``reports.stale``)."""

import django.db.models.deletion
from django.db import migrations, models

from reports import stale

class Migration(migrations.Migration):
    dependencies = [
        ("branches", "0002_upper_committee_names_restructures"),
        ("members", "0013_date_indexes"),
        ("reports", "0001_figure_snapshot"),
    ]

    operations = [
        migrations.CreateModel(
            name="MeetingSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("expected", models.PositiveIntegerField()),
                ("present", models.PositiveIntegerField()),
                ("irregular", models.PositiveIntegerField()),
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
                "indexes": [models.Index(fields=["day"], name="meeting_snapshot_day")],
                "constraints": [
                    models.UniqueConstraint(fields=("organisation", "day"), name="meeting_snapshot_once_a_day")
                ],
            },
        ),
        migrations.RunPython(stale.replaced(stale.FIRST, stale.SECOND), stale.replaced(stale.SECOND, stale.FIRST)),
    ]
