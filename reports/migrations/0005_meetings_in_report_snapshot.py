"""The meetings' counts stored as a part of the report (``ReportSnapshot`` part "meetings"), read, stepped and stored
by the same path as the other parts (``reports.snapshots._Part``); their own table is dropped. The triggers are made
again first, without that table (``stale.FOURTH``), so that no write ever deletes from a table that is gone; back,
the table comes first, then the triggers of ``stale.THIRD``. The stored meeting counts are not moved: any day is
counted again when asked."""

from django.db import migrations, models

from reports import stale


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_report_snapshot_summary"),
    ]

    operations = [
        migrations.RunPython(stale.replaced(stale.THIRD, stale.FOURTH), stale.replaced(stale.FOURTH, stale.THIRD)),
        migrations.AlterField(
            model_name="reportsnapshot",
            name="part",
            field=models.CharField(
                choices=[
                    ("meetings", "Meetings"),
                    ("comments", "Comments"),
                    ("comments_by_side", "Comments By Side"),
                    ("by_sector", "By Sector"),
                    ("by_grassroots_organisation", "By Grassroots Organisation"),
                    ("by_ward_and_cell", "By Ward And Cell"),
                    ("summary", "Summary"),
                ],
                max_length=30,
            ),
        ),
        migrations.DeleteModel(
            name="MeetingSnapshot",
        ),
    ]
