from django.db import migrations, models


class Migration(migrations.Migration):
    """A member's active referral found from the index alone: the figures look it up once per member of a small
    subtree (issue 15); with a heap fetch per member PostgreSQL reads every referral instead."""

    dependencies = [
        ("members", "0008_first_placement_in_successor_ward"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["member", "introduced_on", "ended_on"], name="referral_member_active"),
        ),
    ]
