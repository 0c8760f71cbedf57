"""Benchmark: what the stale-figure triggers add to a write, day-only (``reports.stale.FOURTH``: every organisation's
stored figures of the stale days deleted) against by organisation (``FIFTH``, the current: only those of the
organisations the rows count under, found by a query over the rows, their members' rows and the ancestor relation).

Each statement runs 7 times on different rows, in a transaction that swaps the triggers and is rolled back, so the
database is left as it was; the two releases are run twice in turn and the best median of each is printed.

    .venv/bin/python bench/stale_triggers.py --database-url postgres://postgres@127.0.0.1:5432/dongha76_bench_province

PostgreSQL only (its statement triggers are the ones whose cost grows with a statement's rows).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Rows changed in a way every constraint allows (a referral introduced a day earlier, a member admitted a day
# earlier), taken at an offset so that each run writes other rows.
STATEMENTS = {
    "1 referral": "UPDATE members_referral SET introduced_on = introduced_on - 1 WHERE id IN "
    "(SELECT id FROM members_referral ORDER BY id LIMIT 1 OFFSET {offset})",
    "100 referrals": "UPDATE members_referral SET introduced_on = introduced_on - 1 WHERE id IN "
    "(SELECT id FROM members_referral ORDER BY id LIMIT 100 OFFSET {offset})",
    "1,000 referrals": "UPDATE members_referral SET introduced_on = introduced_on - 1 WHERE id IN "
    "(SELECT id FROM members_referral ORDER BY id LIMIT 1000 OFFSET {offset})",
    "1 member": "UPDATE members_member SET admitted_on = admitted_on - 1 WHERE id IN "
    "(SELECT id FROM members_member ORDER BY id LIMIT 1 OFFSET {offset})",
}
RUNS = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/dongha76_bench_province", help="a PostgreSQL URL"
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
    import django

    django.setup()
    from django.db import connection, transaction

    from reports import stale

    if connection.vendor != "postgresql":
        sys.exit("bench/stale_triggers.py: PostgreSQL only")
    best: dict[tuple[str, str], float] = {}
    for release in ("FOURTH", "FIFTH", "FOURTH", "FIFTH"):
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in stale.postgresql_backward() + stale.postgresql_forward(*getattr(stale, release)):
                cursor.execute(statement)
            for name, sql in STATEMENTS.items():
                times = []
                for run in range(RUNS):
                    started = time.perf_counter()
                    cursor.execute(sql.format(offset=5000 + run * 1500))
                    times.append((time.perf_counter() - started) * 1000)
                median = statistics.median(times)
                best[name, release] = min(best.get((name, release), median), median)
            transaction.set_rollback(True)
    print(f"{'statement':16} {'day-only':>10} {'by organisation':>16}")
    for name in STATEMENTS:
        print(f"{name:16} {best[name, 'FOURTH']:8.1f} ms {best[name, 'FIFTH']:13.1f} ms")


if __name__ == "__main__":
    main()
