"""Generated data sets at three sizes, for the benchmarks (issue 15, ``make bench``).

    .venv/bin/python bench/generate.py --size city --database-url postgres://postgres@127.0.0.1:5432/dongha76_city
    .venv/bin/python bench/generate.py --size province --database-url postgres://postgres@127.0.0.1:5432/dongha76_province
    .venv/bin/python bench/generate.py --size nation --database-url postgres://postgres@127.0.0.1:5432/dongha76_nation

Options: ``--as-of 2018-09-30`` (the day the history runs up to, as the issue's measurements), ``--seed 76`` (the same
seed gives the same rows), ``--replace`` (drop and create the database first; without it the database must have no
organisations). The database is created when missing and migrated; the run ends with VACUUM ANALYZE and prints each
table's rows and ``pg_total_relation_size``, and the time of each phase (also written to
``bench-results/generate-<size>.json``).

Sizes:
- city: the Đông Hà demo (``seed_demo --today 2026-11-30``): 6,150 members as of 30/09/2018; SQLite or PostgreSQL.
- province: one province as the root, 10 districts (upper-level committees) and 1,000 grassroots organisations under
  them (200 wards with 8 residential cells and an agency cell each, 250 grassroots committees with 4 cells each, 550
  grassroots cells), 10 outside organisations; 100,000 members.
- nation: a national root, 63 provinces (upper-level committees under the root), 11 districts each, 826 grassroots
  organisations each (52,038 in all); 5,600,700 members.

Members (per province): 52% working in a workplace cell (1.5% of them exempt from introduction, 0.7% eligible but not
introduced, the others introduced to a ward of the province), 42% retired, living in a residential cell, 6% of outside
organisations introduced to the province's wards. Referrals: of those introduced, 1.5% awaiting reception (introduced
in the last 30 days), 1% stalled (introduced 31-300 days before the as-of day, not received), 2% of those received
awaiting placement, 92% of those placed reported to their cell; ended: 3% retired during the history (their home moves
to a residential cell that day), 0.5% died, 1% moved residence (the referral ends and another one starts). 2% of the
working members changed workplace cell (home history); 2% of those introduced are exempt from residence activities
(30% of them lifted since). Six-monthly meetings of every residential cell for the last four years (3% skipped, 5%
of the cells hold an ad hoc meeting a year) with the attendance of the members placed in the cell that day (6% of
members attend irregularly); yearly comments for the three years before the as-of year (97% written, 85% sent by the
deadline, 8% late, 95% of those sent received) and a year-end rating for each. History: 1% of the wards merged into
their neighbour on 1 January of the year before (their cells merge too: members re-placed, homes moved, a Restructure
row each), 2% of the grassroots organisations renamed (former names), one grassroots cell per province dissolved.
Users (password ``dongha76-demo``): thanhuy (staff at the root), phuong1 and phuong2 (secretaries of two wards),
khupho1 (secretary of a residential cell of phuong1's ward), coquan1 (staff of a grassroots committee).

How the rows are written: ``bench/generate_load.py`` (COPY and INSERT ... SELECT generate_series, in one transaction;
the row triggers and foreign keys of the members' tables are off during the load and their rules checked set-based
after it; their keys and indexes dropped and created again from their own definitions, the foreign keys validated).
The load commits before the keys, indexes and foreign keys come back from one session per core: a run that fails
after that leaves an incomplete database, which ``--replace`` drops and builds again.

Measured on this machine (2 cores, 23 GB, PostgreSQL 15 with shared_buffers 128 MB; as of 30/09/2018, seed 76; the
machine shared with other jobs, load average in brackets): city 261 s (≈9, seed_demo); province 12-35 s (1-4): 189 MB,
100,000 members, 337,914 attendance rows; nation 893 s = 14.9 min (3.7-8.8, 04/12/2026): 9.9 GB, 5,600,700 members,
3,214,048 referrals, 19,155,685 attendance rows, 7,869,401 comments and ratings. Of the nation's time: members drawn
64 s, referrals 94 s, members' rows and homes 184 s, attendance 110 s, comments 102 s, keys, indexes and foreign keys
created again 240 s (two sessions), rules checked 45 s (two sessions), VACUUM ANALYZE 22 s. (Sizes printed before
04/12 counted the load's staging tables, 1.4 GB at nation size, then left to the session's end.)
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dongha76.settings")

AS_OF = datetime.date(2018, 9, 30)
DEMO_TODAY = datetime.date(2026, 11, 30)


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("city", "province", "nation"), required=True)
    parser.add_argument("--database-url", required=True, help="postgres://user@host:port/name (created if missing)")
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=AS_OF)
    parser.add_argument("--seed", type=int, default=76)
    parser.add_argument("--replace", action="store_true", help="drop the database and create it again first")
    return parser.parse_args(argv)


def prepare_database(url: str, replace: bool) -> None:
    """Create the PostgreSQL database of ``url`` when missing (dropped first with ``replace``)."""
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        return
    name = config["NAME"]
    admin = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        if replace:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def table_sizes() -> list[tuple[str, int, int]]:
    """(table, rows, pg_total_relation_size in bytes) of the app's tables that hold rows."""
    from django.db import connection

    sizes = []
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            return sizes
        cursor.execute(
            """SELECT relname FROM pg_stat_user_tables
               WHERE relname ~ '^(branches|members|reports|reminders|workbooks|audit|auth)_' ORDER BY relname"""
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT count(*), pg_total_relation_size(\'"{table}"\') FROM "{table}"')  # noqa: S608
            rows, size = cursor.fetchone()
            if rows:
                sizes.append((table, rows, size))
    return sizes


def main(argv=None) -> int:
    args = parse(argv)
    os.environ["DATABASE_URL"] = args.database_url
    started = time.monotonic()
    prepare_database(args.database_url, args.replace)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.generate_load import load
    from bench.generate_tree import SIZES

    phases = []
    step = time.monotonic()
    call_command("migrate", verbosity=0)
    phases.append(("create and migrate the database", time.monotonic() - step))
    print(f"{args.size}: {connection.settings_dict['NAME']} migrated in {phases[-1][1]:.1f} s")
    if args.size == "city":
        step = time.monotonic()
        call_command("seed_demo", today=DEMO_TODAY, reset=args.replace)
        phases.append(("seed_demo", time.monotonic() - step))
    else:
        loader = load(SIZES[args.size], as_of=args.as_of, seed=args.seed)
        phases.extend(loader.phases)
    if connection.vendor == "postgresql":
        step = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        phases.append(("VACUUM ANALYZE", time.monotonic() - step))
        print(f"  VACUUM ANALYZE: {phases[-1][1]:.1f} s")
    total = time.monotonic() - started
    sizes = table_sizes()
    print(f"\n{'table':36} {'rows':>12} {'size':>10}")
    for table, rows, size in sizes:
        print(f"{table:36} {rows:>12,} {size / 2**20:>8.1f} MB")
    database_size = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            database_size = cursor.fetchone()[0]
        print(f"{'database':36} {'':>12} {database_size / 2**20:>8.1f} MB")
    print(f"\n{args.size} built in {total:.0f} s ({total / 60:.1f} min)")
    results = ROOT / "bench-results"
    results.mkdir(exist_ok=True)
    (results / f"generate-{args.size}.json").write_text(
        json.dumps(
            {
                "size": args.size,
                "date": datetime.date.today().isoformat(),
                "machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}",
                "load_average": os.getloadavg(),
                "as_of": args.as_of.isoformat(),
                "seed": args.seed,
                "seconds": round(total, 1),
                "phases": [[name, round(seconds, 1)] for name, seconds in phases],
                "tables": [{"table": t, "rows": r, "bytes": s} for t, r, s in sizes],
                "database_bytes": database_size,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
