# The constraint apart from the merge of 0004: on PostgreSQL the rows that merge deletes leave deferred foreign-key
# checks pending until its transaction ends, and a table with pending trigger events cannot be altered.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0004_bounded_days_clean_texts_merge_double_meetings"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="meeting",
            constraint=models.UniqueConstraint(
                fields=("residential_cell", "held_on", "kind"), name="one_meeting_per_cell_day_and_kind"
            ),
        ),
    ]
