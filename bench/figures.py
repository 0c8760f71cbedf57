"""Benchmark: every function of ``reports/figures.py`` against one hand-written SQL query computing the same numbers
(``bench/figures_sql.py``), on PostgreSQL, as of a day, for the root and for a ward and an upper-level committee.

For each function and organisation it runs the app's function and the SQL in the same connection (``jit = off``, as
the app's connection), checks that both give the same numbers, and prints time(app) / time(SQL), each the best of
--repeat runs taken in the same run. It writes bench-results/figures.json and the EXPLAIN (ANALYZE, BUFFERS) plans of
the app's queries slower than --plan-ms (and of each SQL query) to bench-results/plans/.

    .venv/bin/python bench/figures.py --database-url postgres://postgres@127.0.0.1:5432/dongha76_province
    .venv/bin/python bench/figures.py --database-url ... --as-of 2018-09-30 --repeat 3 --org T01 --org T01-X0001

Exit status 1 when the app and the SQL disagree on any figure. ``summary_rows`` is timed without an SQL of its own:
its rows are ``by_grassroots_organisation``'s figures (checked) over the organisations that partition the subtree,
with ``comment_sides`` (checked) of each.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database with generated data")
    parser.add_argument("--as-of", default="2018-09-30", type=datetime.date.fromisoformat)
    parser.add_argument("--repeat", default=3, type=int, help="runs of each, the best kept")
    parser.add_argument("--org", action="append", help="organisation codes (default: the root, a ward, a district)")
    parser.add_argument("--function", action="append", help="only these functions (default: every one)")
    parser.add_argument("--plan-ms", default=50.0, type=float, help="write the plans of app queries slower than this")
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    parser.add_argument(
        "--no-sql", action="store_true", help="time the app only (the twins of the nation's root take minutes)"
    )
    return parser.parse_args()


args = _arguments()
os.environ["DATABASE_URL"] = args.database_url
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dongha76.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import figures_sql as sql  # noqa: E402
from branches.models import Organisation  # noqa: E402
from members.models.referral import STALLED_AFTER_DAYS  # noqa: E402
from members.periods import HalfYear  # noqa: E402
from reports import figures, snapshots  # noqa: E402

# What a function needs stored before it is timed (not timed, not counted).
SETUP = {
    "headline_carried": lambda organisation, day: snapshots.headline_on(organisation, day - datetime.timedelta(days=1)),
    "meetings_carried": lambda organisation, day: snapshots.meeting_counts_on(
        organisation, day - datetime.timedelta(days=1)
    ),
    "comments_carried": lambda organisation, day: snapshots.comments_on(
        organisation, day.year, day - datetime.timedelta(days=1)
    ),
    "comment_sides_carried": lambda organisation, day: snapshots.comment_sides_on(
        organisation, day.year, day - datetime.timedelta(days=1)
    ),
    "by_sector_carried": lambda organisation, day: snapshots.by_sector_on(
        organisation, day - datetime.timedelta(days=1)
    ),
    "by_grassroots_carried": lambda organisation, day: snapshots.by_grassroots_on(
        organisation, day - datetime.timedelta(days=1)
    ),
    "by_ward_and_cell_carried": lambda organisation, day: snapshots.by_ward_and_cell_on(
        organisation, day - datetime.timedelta(days=1)
    ),
    "summary_rows_carried": lambda organisation, day: snapshots.summary_rows_on(
        organisation, day.year, day - datetime.timedelta(days=1)
    ),
}


def _plain(value):
    if dataclasses.is_dataclass(value):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal | datetime.date):
        return str(value)
    return value


def _headline(value) -> dict:
    return {key: item for key, item in dataclasses.asdict(value).items() if key != "referral_rate"}


def _meetings(value) -> dict:
    halves = {half.half_year[-2:].lower(): half for half in value.half_years}
    result = {"expected": value.attendance_expected, "present": value.attendance_present}
    result["irregular"] = value.irregular_attendees
    for key, half in halves.items():
        result[f"{key}_due"], result[f"{key}_held"] = half.cells_due, half.cells_held
    return result


def _sql_meetings(value: dict, app: dict) -> dict:
    return {key: item for key, item in value.items() if key in app}


def _counts(value) -> dict:
    return {key: item for key, item in dataclasses.asdict(value).items() if key != "missing"}


def _comments(value) -> dict:
    grid = sorted(
        [level, verdict, n] for level, verdicts in value.verdicts_by_rating.items() for verdict, n in verdicts.items()
    )
    counts = {key: getattr(value, key) for key in ("due", "written", "sent", "received", "late")}
    return {"counts": counts, "grid": grid}


def _sides(value) -> dict:
    return {"workplace": _counts(value.workplace), "residence": _counts(value.residence)}


def _tracking(value) -> dict:
    return {
        "committees": [ref.code for ref in value.committees_without_introductions],
        "wards": [ref.code for ref in value.wards_without_receptions],
    }


def _grassroots(rows) -> list:
    return [
        [
            row.code,
            row.members,
            row.eligible,
            row.introduced,
            row.received,
            row.received_from_outside,
            row.stalled,
            row.missed_half_years,
            row.late_comments,
            row.stalled_issued,
            row.stalled_addressed,
        ]
        for row in rows
    ]


def _sectors(rows) -> list:
    return [[row.sector, row.eligible, row.introduced] for row in rows]


def _residence(rows) -> list:
    return [
        [
            row.code,
            row.kind,
            row.parent_code or None,
            row.received,
            row.received_from_outside,
            row.awaiting_reception,
            row.awaiting_placement,
            row.placed,
        ]
        for row in rows
    ]


def _parameters(organisation: Organisation, day: datetime.date) -> dict:
    deadline = figures.comment_deadline(organisation, day.year)
    first, h1, h2 = HalfYear(day.year, 1), HalfYear(day.year, 1), HalfYear(day.year, 2)
    return {
        "org": organisation.pk,
        "d": day,
        "y": day.year,
        "first": first.first_day,
        "last": min(datetime.date(day.year, 12, 31), day),
        "dl": deadline,
        "dd": min(deadline, day),
        "stalled_before": day - datetime.timedelta(days=STALLED_AFTER_DAYS),
        "h1_last": h1.last_day,
        "h2_last": h2.last_day,
        "h1_over": h1.last_day < day,
        "h2_over": h2.last_day < day,
    }


def _cases(organisation: Organisation, day: datetime.date):
    """(name, app call, normalise the app's value, SQL, normalise the SQL's value given the app's)."""
    year = day.year
    same = lambda value, app: value  # noqa: E731
    return [
        ("headline", lambda: figures.headline(organisation, day), _headline, sql.HEADLINE, same),
        # The headline as the app reads it for a day after a stored one (``snapshots.computed``: carried from the day
        # before by the members whose rows changed, ``reports.steps``), against the SQL of the whole headline.
        ("headline_carried", lambda: snapshots.computed(organisation, day), _headline, sql.HEADLINE, same),
        ("meetings", lambda: figures.meetings(organisation, day), _meetings, sql.MEETINGS, _sql_meetings),
        # The meetings as the app reads them for a day after a stored one (``snapshots.meeting_counts_computed``: the
        # day before's stored attendance plus the meetings held since, its irregular attendees stepped by the members
        # who changed), against the SQL of the whole.
        (
            "meetings_carried",
            lambda: figures.meetings(organisation, day, snapshots.meeting_counts_computed(organisation, day)),
            _meetings,
            sql.MEETINGS,
            _sql_meetings,
        ),
        (
            "comments",
            lambda: figures.comments(organisation, year, day),
            _comments,
            sql.COMMENTS_WHOLE if organisation.kind == Organisation.Kind.ROOT else sql.COMMENTS,
            _sql_grid,
        ),
        # The comment figures as the app reads them for a day after a stored one of the same year
        # (``snapshots.comments_computed``: carried from the day before by the members whose rows, comment or rating
        # changed), against the SQL of the whole.
        (
            "comments_carried",
            lambda: snapshots.comments_computed(organisation, day),
            _comments,
            sql.COMMENTS_WHOLE if organisation.kind == Organisation.Kind.ROOT else sql.COMMENTS,
            _sql_grid,
        ),
        ("comment_sides", lambda: figures.comment_sides(organisation, year, day), _sides, sql.COMMENT_SIDES, same),
        (
            "comment_sides_carried",
            lambda: snapshots.comment_sides_computed(organisation, day),
            _sides,
            sql.COMMENT_SIDES,
            same,
        ),
        (
            "tracking_book_activity",
            lambda: figures.tracking_book_activity(organisation, year, day),
            _tracking,
            sql.TRACKING_BOOK,
            same,
        ),
        (
            "by_grassroots_organisation",
            lambda: figures.by_grassroots_organisation(organisation, day),
            _grassroots,
            sql.BY_GRASSROOTS,
            same,
        ),
        # The breakdown as the app reads it for a day after a stored one (``snapshots.by_grassroots_computed``: the
        # rows read that day, their counts carried from the day before by the members whose rows changed).
        (
            "by_grassroots_carried",
            lambda: snapshots.by_grassroots_computed(organisation, day),
            _grassroots,
            sql.BY_GRASSROOTS,
            same,
        ),
        ("summary_rows", lambda: figures.summary_rows(organisation, year, day), None, None, None),
        # The yearly workbook's summary as it reads it for a day after a stored one
        # (``snapshots.summary_rows_computed``: the rows read that day, their counts carried from the day before by
        # the members whose rows, comment or rating changed). No SQL of its own, as the whole one: checked equal to
        # the whole in docs/benchmarks.md.
        ("summary_rows_carried", lambda: snapshots.summary_rows_computed(organisation, day), None, None, None),
        ("by_sector", lambda: figures.by_sector(organisation, day), _sectors, sql.BY_SECTOR, same),
        # By sector as the app reads it for a day after a stored one (``snapshots.by_sector_computed``: carried from
        # the day before by the members whose rows changed), against the SQL of the whole.
        ("by_sector_carried", lambda: snapshots.by_sector_computed(organisation, day), _sectors, sql.BY_SECTOR, same),
        (
            "by_ward_and_cell",
            lambda: figures.by_ward_and_cell(organisation, day),
            _residence,
            sql.BY_WARD_AND_CELL,
            same,
        ),
        # The breakdown as the app reads it for a day after a stored one (``snapshots.by_ward_and_cell_computed``: the
        # rows read that day, their counts carried from the day before by the members whose rows changed).
        (
            "by_ward_and_cell_carried",
            lambda: snapshots.by_ward_and_cell_computed(organisation, day),
            _residence,
            sql.BY_WARD_AND_CELL,
            same,
        ),
        (
            "endings_by_reason",
            lambda: figures.endings_by_reason(organisation, day),
            dict,
            sql.ENDINGS_WHOLE if organisation.kind == Organisation.Kind.ROOT else sql.ENDINGS,
            same,
        ),
    ]


def _sql_grid(value: dict, app: dict) -> dict:
    return {"counts": value["counts"], "grid": sorted(value["grid"])}


def _run_sql(statement: str, parameters: dict):
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        return cursor.fetchone()[0]


def _best(call, repeat: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = call()
        best = min(best, time.perf_counter() - start)
    return best, value


def _explain(statement: str, parameters=None) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    if connection.vendor != "postgresql":
        print("bench/figures.py measures PostgreSQL: give a postgres:// --database-url", file=sys.stderr)
        return 2
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    day = args.as_of
    out = Path(args.out)
    plans = out / "plans"
    plans.mkdir(parents=True, exist_ok=True)
    if args.org:
        organisations = [Organisation.objects.get(code=code) for code in args.org]
    else:
        organisations = [Organisation.objects.get(kind=Organisation.Kind.ROOT)]
        for kind in (Organisation.Kind.WARD, Organisation.Kind.UPPER_COMMITTEE):
            found = Organisation.objects.valid_on(day).filter(kind=kind).order_by("path").first()
            if found:
                organisations.append(found)
    results, disagreements = [], 0
    print(f"{'organisation':<14} {'function':<28} {'app s':>8} {'SQL s':>8} {'ratio':>6}  queries  same")
    for organisation in organisations:
        parameters = _parameters(organisation, day)
        for name, call, normalise, statement, normalise_sql in _cases(organisation, day):
            if args.function and name not in args.function:
                continue
            if name in SETUP:
                SETUP[name](organisation, day)
            with CaptureQueriesContext(connection) as captured:
                call()
            queries = [
                query for query in captured.captured_queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))
            ]
            app_time, value = _best(call, args.repeat)
            row = {
                "organisation": organisation.code,
                "function": name,
                "app_s": round(app_time, 4),
                "queries": len(queries),
            }
            for index, query in enumerate(queries):
                if float(query["time"]) * 1000 >= args.plan_ms and not query["sql"].startswith("DECLARE"):
                    plan = _explain(query["sql"])
                    (plans / f"{organisation.code}-{name}-app-{index}.txt").write_text(f"{query['sql']}\n\n{plan}\n")
            if statement is not None and not args.no_sql:
                sql_time, sql_value = _best(lambda s=statement, p=parameters: _run_sql(s, p), args.repeat)
                app_value = normalise(value)
                same = normalise_sql(sql_value, app_value) == app_value
                if not same:
                    disagreements += 1
                    row["app_value"], row["sql_value"] = _plain(app_value), sql_value
                plan = _explain(statement, parameters)
                (plans / f"{organisation.code}-{name}-sql.txt").write_text(f"{statement}\n\n{plan}\n")
                row.update(sql_s=round(sql_time, 4), ratio=round(app_time / sql_time, 2), same=same)
            results.append(row)
            print(
                f"{organisation.code:<14} {name:<28} {app_time:>8.3f} "
                f"{row.get('sql_s', float('nan')):>8.3f} {row.get('ratio', float('nan')):>6.2f}  "
                f"{len(queries):>7}  {row.get('same', '-')}",
                flush=True,
            )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_member")
        members = cursor.fetchone()[0]
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load": os.getloadavg()},
        "database": connection.settings_dict["NAME"],
        "members": members,
        "as_of": str(day),
        "repeat": args.repeat,
        "jit": "off",
        "results": results,
    }
    (out / "figures.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"written {out / 'figures.json'} and {plans}/; {disagreements} disagreement(s); load {os.getloadavg()}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
