"""The triggers delete only the stored figures of the organisations a write counts under (``stale.CountedUnder``):
the organisations its rows and its members' rows name, their successors and everything above them. A write in one
ward no longer deletes every other ward's figures, so a small subtree's figures can be stored too. A change to an
organisation, and a comment round, still delete every organisation's (``stale.FIFTH``; back, ``stale.FOURTH``)."""

from django.db import migrations

from reports import stale


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_half_years_and_tracking_book"),
        ("branches", "0004_organisation_name_indexes"),
        ("members", "0015_year_indexes"),
    ]

    operations = [
        migrations.RunPython(stale.replaced(stale.FOURTH, stale.FIFTH), stale.replaced(stale.FIFTH, stale.FOURTH)),
    ]
