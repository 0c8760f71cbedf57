"""Benchmark: the city's member export (``GET /members/export.xlsx``) of 100,000 members: time to the first and to
the last byte, and the peak memory of the process serving it.

Runs against a throw-away test database of the configured backend (DATABASE_URL; SQLite in a temporary file by
default): loads the demo data (seed_demo, today = 30/11/2026), then adds members with bulk inserts until there are
100,000 (each of the committees' cells, seven in ten with an open referral placed in a residential cell). The export
is requested through Django's test client as the city staff user ``thanhuy`` in a forked process, reading the
response to its last byte; the peak RSS growth is the kernel's high-water mark, reset just before the request. The
rows of the file are counted afterwards. Before issue 10 the export was built in memory and took ~42 s, past
gunicorn's 30 s timeout. Prints a line and writes bench-results/member-export-<database>.json.

    make bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dongha76 make bench
    .venv/bin/python bench/member_export.py --members 20000   # fewer members, for a quick look
"""

import argparse
import contextlib
import ctypes
import datetime
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dongha76.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from measure import PeakRss, in_child  # noqa: E402

TODAY = datetime.date(2026, 11, 30)
MEMBERS = 100_000
URL = "/members/export.xlsx"
USER = "thanhuy"  # city committee staff: the whole city's list
BATCH = 5000


def release_free_memory() -> None:
    """Give the heap the parent freed back to the system, so that the child's RSS growth is its own allocations."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def add_members(total: int) -> int:
    """Members of the committees' cells, bulk inserted until there are ``total``; returns how many were added."""
    from branches.models import Organisation
    from dongha76.text import search_key
    from members.models import Member, Referral

    Kind = Organisation.Kind
    draw = random.Random(76)  # reproducible data
    cells = list(
        Organisation.objects.filter(valid_to__isnull=True, kind__in=[Kind.CELL, Kind.GRASSROOTS_CELL])
        .filter(parent__kind__in=[Kind.ROOT, Kind.COMMITTEE])
        .select_related("parent")
    )
    wards: dict[Organisation, list[Organisation]] = {}
    for cell in Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL, valid_to__isnull=True).select_related("parent"):
        wards.setdefault(cell.parent, []).append(cell)
    ward_list = list(wards)
    missing = total - Member.objects.count()
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng"]
    given = ["Văn An", "Thị Bình", "Hữu Cường", "Thị Dung", "Minh Đức", "Thị Hoa", "Quang Huy", "Thị Lan"]
    with transaction.atomic():
        for start in range(0, missing, BATCH):
            members, referrals = [], []
            for n in range(start, min(start + BATCH, missing)):
                born = datetime.date(1955, 1, 1) + datetime.timedelta(days=draw.randrange(45 * 365))
                admitted = min(born + datetime.timedelta(days=draw.randrange(19 * 365, 35 * 365)), TODAY)
                cell = draw.choice(cells)
                name = f"{draw.choice(family)} {draw.choice(given)}"
                member = Member(
                    card_number=f"9{n:07d}",
                    full_name=name,
                    search_name=search_key(name),
                    date_of_birth=born,
                    gender=draw.choice(["male", "female"]),
                    national_id=f"099{n:09d}",
                    phone=f"09{n:08d}",
                    admitted_on=admitted,
                    home_organisation=cell,
                    residential_address=f"Số {draw.randrange(1, 220)} Lê Lợi, Đông Hà",
                )
                members.append(member)
                if draw.random() < 0.7 and admitted < datetime.date(2024, 1, 1):
                    ward = draw.choice(ward_list)
                    introduced = max(admitted, datetime.date(2019, 1, 1)) + datetime.timedelta(days=draw.randrange(600))
                    received = introduced + datetime.timedelta(days=draw.randrange(3, 30))
                    referrals.append(
                        Referral(
                            member=member,
                            issuing_organisation=cell if cell.kind == Kind.GRASSROOTS_CELL else cell.parent,
                            receiving_ward=ward,
                            introduced_on=introduced,
                            received_on=received,
                            residential_cell=draw.choice(wards[ward]),
                            placed_on=received,
                        )
                    )
            Member.objects.bulk_create(members, batch_size=BATCH)
            Referral.objects.bulk_create(referrals, batch_size=BATCH)
    return max(missing, 0)


def export_in_child(target: Path) -> dict:
    """The export through the test client, read to its last byte into ``target``, in a forked process."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    def measure() -> dict:
        client = Client(HTTP_HOST="localhost")  # the development ALLOWED_HOSTS
        client.force_login(get_user_model().objects.get(username=USER))
        first_byte = None
        size = 0
        release_free_memory()
        with target.open("wb") as out, PeakRss() as rss:
            started = time.perf_counter()
            response = client.get(URL)
            chunks = response.streaming_content if response.streaming else [response.content]
            for chunk in chunks:
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
                out.write(chunk)
            last_byte = time.perf_counter() - started
            if hasattr(response, "close"):
                response.close()
        return {
            "status": response.status_code,
            "streaming": response.streaming,
            "first_byte_seconds": round(first_byte or last_byte, 1),
            "seconds": round(last_byte, 1),
            "rss_start_mib": round(rss.start / 1024, 1),
            "rss_growth_mib": round((rss.peak - rss.start) / 1024, 1),
            "file_kib": round(size / 1024),
        }

    return in_child(measure)


def rows_in(path: Path) -> int:
    """The rows of members in the exported file (its first sheet, below the title, a blank row and the headers)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        return sum(1 for row in sheet.iter_rows(min_row=4, max_col=2, values_only=True) if any(row))
    finally:
        book.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=MEMBERS, help=f"members in the database (default {MEMBERS:,})")
    total = parser.parse_args().members
    with tempfile.TemporaryDirectory() as folder:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"]["NAME"] = str(Path(folder) / "bench.sqlite3")
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            call_command("seed_demo", today=TODAY, stdout=open(os.devnull, "w"))  # noqa: SIM115
            started = time.perf_counter()
            added = add_members(total)
            build_seconds = time.perf_counter() - started
            target = Path(folder) / "export.xlsx"
            export = export_in_child(target)
            rows = rows_in(target) if export["status"] == 200 else 0
        finally:
            connections.close_all()
            connection.creation.destroy_test_db(old_name, verbosity=0)
    result = {
        "benchmark": "member_export",
        "database": connection.vendor,
        "url": URL,
        "user": USER,
        "members": total,
        "members_added": added,
        "build_seconds": round(build_seconds, 1),
        **export,
        "rows": rows,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"member-export-{connection.vendor}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"member export ({connection.vendor}): {rows:,} rows of {total:,} members, HTTP {export['status']}, "
        f"{'streamed' if export['streaming'] else 'in one piece'}, first byte {export['first_byte_seconds']} s, "
        f"last byte {export['seconds']} s, RSS +{export['rss_growth_mib']} MiB, {export['file_kib']:,} KiB"
    )
    if export["status"] != 200 or rows != total:
        print(f"FAILED: HTTP {export['status']}, {rows:,} rows for {total:,} members", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
