"""The half-years of the periodic meetings and the tracking book's gaps stored as parts of the report
(``ReportSnapshot`` parts "meeting_half_years" and "tracking_book"): new choices of the part, no change to the table
or its triggers."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_meetings_in_report_snapshot"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reportsnapshot",
            name="part",
            field=models.CharField(
                choices=[
                    ("meetings", "Meetings"),
                    ("meeting_half_years", "Meeting Half Years"),
                    ("tracking_book", "Tracking Book"),
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
    ]
