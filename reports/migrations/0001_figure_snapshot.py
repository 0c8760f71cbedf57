"""Stored headline figures of past days, and the triggers that delete them when a write changes their day
(``reports.stale`` says which writes and why)."""

import django.db.models.deletion
from django.db import migrations, models

from reports import stale


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("branches", "0002_upper_committee_names_restructures"),
        ("members", "0008_first_placement_in_successor_ward"),
    ]

    operations = [
        migrations.CreateModel(
            name="FigureSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
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
                "indexes": [models.Index(fields=["day"], name="figure_snapshot_day")],
                "constraints": [
                    models.UniqueConstraint(fields=("organisation", "day"), name="figure_snapshot_once_a_day")
                ],
            },
        ),
        # The triggers of this migration's release (the headline's tables): reports/0002 replaces them.
        migrations.RunPython(stale.replaced((), stale.FIRST), stale.replaced(stale.FIRST, ())),
    ]
