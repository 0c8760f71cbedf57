"""Benchmark: ``send_reminders`` (``reminders.services.run``) on the demo data: wall time and number of queries of a
first run and of a second one (which makes and sends nothing), then the same with many more members (issue 14: the
number of queries does not grow with the number of members).

Runs against a throw-away test database of the configured backend (DATABASE_URL; SQLite in a temporary file by
default): loads the demo data (seed_demo, today = 30/11/2026) and runs as of that day, e-mails going to Django's
locmem backend (composed as they would be sent, delivered nowhere). Then it adds members with bulk inserts where the
demo users act, each the cause of a reminder: workplace members of coquan1's committee not introduced, letters to
phuong1's and phuong2's wards not received, members received and not placed, placed (some in khupho1's cell) and not
reported, comments sent and not acknowledged; first a fifth of --members (default 10,000, which doubles the demo),
then the rest. At each size it deletes the reminders made so far and runs twice. Prints a table and writes
bench-results/reminders-<database>.json.

Exit status 1 when a second run makes or sends anything, or when the runs on all the members added take more queries
than on a fifth of them, the inserts of the reminders apart (their number grows with the causes, as it should; a
batch holds 1,000 rows on PostgreSQL, fewer on SQLite). The demo is shown, not compared: it leaves a few rules with
nothing to say to some demo user's organisation, and each organisation a rule speaks to costs a query or two.

    make bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dongha76 make bench
    .venv/bin/python bench/reminders.py --members 2000   # fewer members added, for a quick look
"""

import argparse
import datetime
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dongha76.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, reset_queries, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

TODAY = datetime.date(2026, 11, 30)  # fixed, so that runs on different days build the same data
EXTRA_MEMBERS = 10_000
BATCH = 5000
WORKPLACE = "GDDT-2025"  # coquan1's committee
WARDS = ("DHA", "NDH")  # phuong1's and phuong2's wards
CELL = "DHA-KP1"  # khupho1's residential cell


def ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


def add_members(first: int, stop: int) -> int:
    """Members number ``first`` to ``stop`` (excluded) of the workplace's cells, bulk inserted, each the cause of a
    reminder of a demo user (one in five of each kind); returns how many members there are now."""
    from branches.models import Organisation
    from dongha76.text import search_key
    from members.models import Member, MemberHome, Placement, Referral, ResidenceComment

    Kind = Organisation.Kind
    draw = random.Random(76 + first)  # reproducible data
    workplace = Organisation.objects.get(code=WORKPLACE)
    cells = list(Organisation.objects.subtree(workplace).filter(kind=Kind.CELL, valid_to__isnull=True))
    wards = list(Organisation.objects.filter(code__in=WARDS))
    own_cell = Organisation.objects.get(code=CELL)
    residential = {
        ward: list(Organisation.objects.filter(parent=ward, kind=Kind.RESIDENTIAL_CELL, valid_to__isnull=True))
        for ward in wards
    }
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng"]
    given = ["Văn An", "Thị Bình", "Hữu Cường", "Thị Dung", "Minh Đức", "Thị Hoa", "Quang Huy", "Thị Lan"]
    with transaction.atomic():
        for start in range(first, stop, BATCH):
            members, homes, referrals, placements, comments = [], [], [], [], []
            for n in range(start, min(start + BATCH, stop)):
                born = datetime.date(1960, 1, 1) + datetime.timedelta(days=draw.randrange(40 * 365))
                admitted = min(born + datetime.timedelta(days=draw.randrange(19 * 365, 30 * 365)), ago(400))
                cell = draw.choice(cells)
                name = f"{draw.choice(family)} {draw.choice(given)}"
                member = Member(
                    card_number=f"7{n:07d}",
                    full_name=name,
                    search_name=search_key(name),
                    date_of_birth=born,
                    gender=draw.choice(["male", "female"]),
                    phone=f"09{n:08d}",
                    admitted_on=admitted,
                    home_organisation=cell,
                    residential_address=f"Số {draw.randrange(1, 220)} Hùng Vương, Đông Hà",
                )
                members.append(member)
                homes.append(MemberHome(member=member, organisation=cell, started_on=admitted))
                kind = n % 5
                if kind == 0:
                    continue  # eligible, never introduced
                ward = draw.choice(wards)
                referral = Referral(
                    member=member,
                    issuing_organisation=workplace,
                    receiving_ward=ward,
                    letter_number=f"{n}-CV/ĐU",
                    introduced_on=ago(draw.randrange(21, 61)),
                )
                if kind >= 2:
                    referral.introduced_on = ago(draw.randrange(120, 300))
                    referral.received_on = referral.introduced_on + datetime.timedelta(days=draw.randrange(1, 10))
                if kind == 3:
                    referral.received_on = ago(draw.randrange(60, 100))
                    referral.placed_on = ago(draw.randrange(15, 60))
                    in_own_cell = ward.code == CELL.split("-")[0] and draw.random() < 0.5
                    referral.residential_cell = own_cell if in_own_cell else draw.choice(residential[ward])
                if kind == 4:
                    referral.placed_on = referral.reported_on = referral.received_on
                    referral.residential_cell = draw.choice(residential[ward])
                    written = ago(draw.randrange(20, 50))
                    comments.append(
                        ResidenceComment(
                            member=member,
                            year=TODAY.year,
                            residential_cell=referral.residential_cell,
                            verdict="good",
                            written_on=written,
                            sent_on=written + datetime.timedelta(days=draw.randrange(0, 10)),
                        )
                    )
                if referral.placed_on:
                    placements.append(
                        Placement(
                            referral=referral,
                            residential_cell=referral.residential_cell,
                            started_on=referral.placed_on,
                        )
                    )
                referrals.append(referral)
            for model, rows in (
                (Member, members),
                (MemberHome, homes),
                (Referral, referrals),
                (Placement, placements),
                (ResidenceComment, comments),
            ):
                model.objects.bulk_create(rows, batch_size=BATCH)
    return Member.objects.count()


def one_run(label: str, members: int) -> dict:
    from reminders.services import run

    # DEBUG logs every query, the seed's too: an empty log, so that the capture does not start at the log's limit.
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = run(day=TODAY)
        seconds = time.perf_counter() - started
    verbs = Counter(query["sql"].lstrip().split(None, 1)[0].upper() for query in captured.captured_queries)
    return {
        "run": label,
        "members": members,
        "made": len(result.created),
        "closed": len(result.closed),
        "emails": len(result.emails),
        "failures": len(result.failures),
        "queries": len(captured),
        "inserts": verbs["INSERT"],
        "seconds": round(seconds, 2),
        "by_statement": dict(sorted(verbs.items())),
    }


def start_over() -> None:
    """Forget the reminders made and the digests sent, so that the next run is a first run again."""
    from reminders.models import Reminder, ReminderPreference

    Reminder.objects.all().delete()
    ReminderPreference.objects.update(last_digest_on=None)


def table(runs: list[dict]) -> str:
    columns = ("run", "members", "made", "closed", "emails", "queries", "inserts", "seconds")
    rows = [columns]
    for run in runs:
        rows.append(tuple(f"{run[c]:,}" if isinstance(run[c], int) else str(run[c]) for c in columns))
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--members", type=int, default=EXTRA_MEMBERS, help=f"members added to the demo (default {EXTRA_MEMBERS:,})"
    )
    extra = parser.parse_args().members
    runs = []
    with (
        tempfile.TemporaryDirectory() as folder,
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
    ):
        if connection.vendor == "sqlite":
            # A file, not SQLite's in-memory test database: what users run on.
            connection.settings_dict["TEST"]["NAME"] = str(Path(folder) / "bench.sqlite3")
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            from members.models import Member

            call_command("seed_demo", today=TODAY, stdout=open(os.devnull, "w"))  # noqa: SIM115
            members = Member.objects.count()
            runs += [one_run("demo, first run", members), one_run("demo, second run", members)]
            added = 0
            for size in (extra // 5, extra):
                members = add_members(added, size)
                added = size
                start_over()
                runs += [
                    one_run(f"+{size:,} members, first run", members),
                    one_run(f"+{size:,} members, second run", members),
                ]
        finally:
            connections.close_all()
            connection.creation.destroy_test_db(old_name, verbosity=0)
    _demo_first, demo_second, some_first, some_second, more_first, more_second = runs
    # Past the demo every rule has something to say to each demo user's organisation (the demo leaves a few silent,
    # and each organisation a rule speaks to costs a query or two), so from there on the queries must not grow with
    # the members, the reminders' inserts apart (a batch per so many new reminders).
    grows = (
        more_first["queries"] - more_first["inserts"] > some_first["queries"] - some_first["inserts"]
        or more_second["queries"] > some_second["queries"]
    )
    idempotent = all(run["made"] == run["emails"] == 0 for run in (demo_second, some_second, more_second))
    result = {
        "benchmark": "reminders",
        "database": connection.vendor,
        "day": TODAY.isoformat(),
        "members_added": extra,
        "runs": runs,
        "queries_grow_with_members": grows,
        "second_runs_make_and_send_nothing": idempotent,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"reminders-{connection.vendor}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"send_reminders ({connection.vendor}), as of {TODAY.isoformat()}:")
    print(table(runs))
    failed = False
    if grows:
        print("FAILED: the queries grow with the number of members", file=sys.stderr)
        failed = True
    if not idempotent:
        print("FAILED: a second run made reminders or sent e-mails", file=sys.stderr)
        failed = True
    if any(run["failures"] for run in runs):
        print("FAILED: some e-mails could not be composed or sent", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
