"""The counts of the lists of the users who see an organisation's committee's rows are stored as parts of the report
("todo", "comment_counts", "rating_counts", "member_count": ``reports.snapshots.list_counts_on``). The triggers count every write
under every root too (city staff see every row), and watch the one column the lists read that the figures do not: a
referral's ``reported_on`` (``stale.Watched.list_dates``; ``stale.SIXTH``, back ``stale.FIFTH``)."""

from django.db import migrations, models

from reports import stale


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0007_stale_by_organisation"),
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
                    ("todo", "Todo"),
                    ("comment_counts", "Comment Counts"),
                    ("rating_counts", "Rating Counts"),
                    ("member_count", "Member Count"),
                ],
                max_length=30,
            ),
        ),
        migrations.RunPython(stale.replaced(stale.FIFTH, stale.SIXTH), stale.replaced(stale.SIXTH, stale.FIFTH)),
    ]
