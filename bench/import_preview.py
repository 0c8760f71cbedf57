"""Benchmark: the web preview of the largest workbook the import accepts, its errors workbook, and the refusal of a
small file stuffed with blank cells; time and peak memory of each.

Runs against a throw-away test database of the configured backend (DATABASE_URL; SQLite in a temporary file by
default): loads the demo data (seed_demo, today = 30/11/2026) for its organisation tree, then writes the worst
realistic workbook just under the limits of ``workbooks/reading.py``: 100,000 rows (``MAX_ROWS``) across the sheets,
55,000 new members of the committees' cells with every column of ``Đảng viên`` plus a column "STT" (20 cells a row,
blank ones bordered as Excel writes a table) and 45,000 referrals of them to the wards (19 cells a row, with the
columns a ward keeps beside them), about 1.9 million cells. Each measure runs in a forked process from the same
state, timing it alone and taking the peak RSS growth (the kernel's high-water mark, reset at the start):

- the preview, as the web does it (``workbook_check`` as the city staff user ``thanhuy``: every row checked and
  nothing written);
- ``errors.xlsx`` of that workbook with a problem on every 100th member row (``workbook_with_errors``, streamed);
- the refusal of the audit's upload, a small file holding 30 MB of blank formatted cells (before openpyxl parses
  anything).

Prints a table and writes bench-results/import-preview-<database>.json.

    make bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dongha76 make bench
    .venv/bin/python bench/import_preview.py --rows 10000   # a smaller workbook, for a quick look
"""

import argparse
import contextlib
import ctypes
import datetime
import gc
import io
import json
import os
import platform
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dongha76.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from measure import PeakRss, in_child  # noqa: E402
from openpyxl.cell import WriteOnlyCell  # noqa: E402
from openpyxl.styles import Border, Side  # noqa: E402

TODAY = datetime.date(2026, 11, 30)
MEMBER_SHARE = 0.55  # of the rows: members; the rest are their referrals
THIN = Side(style="thin")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
DATE_FORMAT = "dd/mm/yyyy"
REFERRAL_EXTRAS = ["Họ và tên", "Ngày sinh", "Điện thoại", "Chi bộ nơi công tác", "Địa chỉ nơi cư trú", "Ghi chú"]


def release_free_memory() -> None:
    """Give the heap the parent freed back to the system, so that the child's RSS growth is its own allocations."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


REFORMED = datetime.date(2025, 7, 2)


def build_workbook(path: Path, rows: int) -> dict:
    """The largest realistic workbook of ``rows`` rows, valid against the demo data (every row would be created)."""
    from branches.models import Organisation
    from dongha76.excel import StreamedSheet, new_write_only_workbook
    from workbooks.layout import MEMBERS, REFERRALS

    Kind = Organisation.Kind
    draw = random.Random(76)  # reproducible data
    cells = list(
        Organisation.objects.filter(valid_to__isnull=True)
        .filter(kind__in=[Kind.CELL, Kind.GRASSROOTS_CELL], parent__kind__in=[Kind.ROOT, Kind.COMMITTEE])
        .values_list("code", "name")
    )
    wards = {}
    for code, ward in Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL, valid_to__isnull=True).values_list(
        "code", "parent__code"
    ):
        wards.setdefault(ward, []).append(code)
    ward_codes = sorted(wards)
    members = int(rows * MEMBER_SHARE)
    referrals = rows - members
    book = new_write_only_workbook()

    def blank():
        cell = WriteOnlyCell(sheet.sheet)
        cell.border = BORDER
        return cell

    def day(value: datetime.date):
        return sheet.cell(value)  # a date cell shown dd/mm/yyyy

    sheet = StreamedSheet(
        book,
        title=MEMBERS.title,
        heading=MEMBERS.heading,
        headers=["STT", *(column.header for column in MEMBERS.columns)],
        widths=[6] + [14] * len(MEMBERS.columns),
    )
    people = []
    for n in range(members):
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=draw.randrange(45 * 365))
        admitted = born + datetime.timedelta(days=draw.randrange(20 * 365, 28 * 365))
        admitted = min(admitted, datetime.date(2018, 12, 31))
        home, home_name = draw.choice(cells)
        name = f"{draw.choice(['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng'])} Thị Phương Thảo {n}"
        people.append((f"9{n:07d}", name, born, home_name))
        sheet.sheet.append(  # the write-only sheet itself: the row holds ready cells
            [
                n + 1,
                f"9{n:07d}",
                name,
                day(born),
                draw.choice(["Nam", "Nữ"]),
                day(admitted),
                home,
                "x",
                blank(),
                blank(),
                f"099{n:09d}",
                f"09{n:08d}",
                f"{draw.randrange(1, 300)} Lê Lợi, khu phố {draw.randrange(1, 12)}, Đông Hà, Quảng Trị",
                day(admitted + datetime.timedelta(days=365)),
                *(blank() for _ in range(6)),  # retired, exempt from/until/reason, left on/reason
            ]
        )
    sheet = StreamedSheet(
        book,
        title=REFERRALS.title,
        heading=REFERRALS.heading,
        headers=["STT", *(column.header for column in REFERRALS.columns), *REFERRAL_EXTRAS],
        widths=[6] + [14] * (len(REFERRALS.columns) + len(REFERRAL_EXTRAS)),
    )
    for n in range(referrals):
        card, name, born, home_name = people[n]
        # After the 2025 reform: today's wards and cells exist from 01/07/2025 (the demo's story).
        introduced = REFORMED + datetime.timedelta(days=draw.randrange(450))
        received = introduced + datetime.timedelta(days=draw.randrange(3, 30))
        reported = received + datetime.timedelta(days=draw.randrange(1, 20))
        ward = draw.choice(ward_codes)
        sheet.sheet.append(
            [
                n + 1,
                card,
                f"{n}-GT/ĐU",
                day(introduced),
                blank(),  # the issuer: the grassroots organisation of the member's cell
                ward,
                day(received),
                draw.choice(wards[ward]),
                blank(),
                blank(),
                day(received),
                day(reported),
                name,
                day(born),
                f"09{n:08d}",
                home_name,
                f"{draw.randrange(1, 300)} Lê Lợi, Đông Hà",
                blank(),
            ]
        )
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(entry.file_size for entry in archive.infolist())
    return {"members": members, "referrals": referrals, "unpacked_mib": round(unpacked / 2**20, 1)}


def preview_in_child(path: Path) -> dict:
    """The web preview (``workbook_check``) as city staff, in a forked process."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from branches.access import access_for
    from workbooks.services import workbook_check

    def measure() -> dict:
        user = get_user_model().objects.get(username="thanhuy")
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        release_free_memory()
        with PeakRss() as rss:
            started, cpu = time.perf_counter(), time.process_time()
            record = workbook_check(upload=upload, by=user, access=access_for(user), background=False)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return {
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1),
            "rss_growth_mib": round((rss.peak - rss.start) / 1024, 1),
            "status": record.status,
            "problems": record.problems[:5],
            "problem_count": len(record.problems),
            "counts": record.counts,
        }

    return in_child(measure)


def reading_in_child(path: Path) -> dict:
    """Only the reading of the preview (``read_workbook``: the checks before parsing, then every cell), in a forked
    process: how much of the preview is openpyxl's."""
    from workbooks.reading import read_workbook

    def measure() -> dict:
        release_free_memory()
        with path.open("rb") as upload, PeakRss() as rss:
            started, cpu = time.perf_counter(), time.process_time()
            sheets, _problems = read_workbook(upload)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return {
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1),
            "rss_growth_mib": round((rss.peak - rss.start) / 1024, 1),
            "rows": sum(len(data.rows) for data in sheets.values()),
        }

    return in_child(measure)


def errors_in_child(path: Path, members: int) -> dict:
    """``errors.xlsx`` of the workbook with a problem on every 100th member row, in a forked process."""
    from workbooks.annotating import workbook_with_errors
    from workbooks.layout import MEMBERS

    problems = [
        {"sheet": MEMBERS.title, "row": row, "column": "Ngày sinh", "message": "“31/02/1980” is not a date."}
        for row in range(4, members + 4, 100)
    ]

    def measure() -> dict:
        content = path.read_bytes()
        release_free_memory()
        with PeakRss() as rss:
            started, cpu = time.perf_counter(), time.process_time()
            annotated = workbook_with_errors(content, problems, {MEMBERS.title: 3})
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return {
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1),
            "rss_growth_mib": round((rss.peak - rss.start) / 1024, 1),
            "problems": len(problems),
            "file_kib": round(len(annotated) / 1024),
        }

    return in_child(measure)


def refusal_in_child() -> dict:
    """The audit's upload: 30 MB of blank formatted cells in a small file, refused before parsing."""
    from workbooks.importing import WorkbookRefused, import_workbook

    per_row = 1000
    rows = 3000
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + (b"<row>" + b'<c s="1"/>' * per_row + b"</row>") * rows
        + b"</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    content = buffer.getvalue()

    def measure() -> dict:
        release_free_memory()
        with PeakRss() as rss:
            started = time.perf_counter()
            try:
                import_workbook(io.BytesIO(content), by=None, dry_run=True)
                refused = ""
            except WorkbookRefused as error:
                refused = str(error.message)
            seconds = time.perf_counter() - started
        return {
            "seconds": round(seconds, 2),
            "rss_growth_mib": round((rss.peak - rss.start) / 1024, 1),
            "file_kib": round(len(content) / 1024),
            "cells": rows * per_row,
            "unpacked_mib": round(len(sheet) / 2**20, 1),
            "refused": refused,
        }

    return in_child(measure)


def main() -> int:
    from workbooks import reading

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=reading.MAX_ROWS, help="rows in the workbook (default: the limit)")
    parser.add_argument("--keep", metavar="FILE", help="also save the workbook there, to look at or try elsewhere")
    arguments = parser.parse_args()
    rows = arguments.rows
    with tempfile.TemporaryDirectory() as folder:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"]["NAME"] = str(Path(folder) / "bench.sqlite3")
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            call_command("seed_demo", today=TODAY, stdout=open(os.devnull, "w"))  # noqa: SIM115
            path = Path(folder) / "largest.xlsx"
            started = time.perf_counter()
            shape = build_workbook(path, rows)
            build_seconds = time.perf_counter() - started
            if arguments.keep:
                Path(arguments.keep).write_bytes(path.read_bytes())
            with path.open("rb") as upload, zipfile.ZipFile(upload) as archive:
                cells = reading._count_cells(archive, archive.infolist(), limit=10**9)
            file_mib = path.stat().st_size / 2**20
            preview = preview_in_child(path)
            reading_only = reading_in_child(path)
            errors = errors_in_child(path, shape["members"])
            refusal = refusal_in_child()
        finally:
            connections.close_all()
            connection.creation.destroy_test_db(old_name, verbosity=0)
    result = {
        "benchmark": "import_preview",
        "database": connection.vendor,
        "workbook": {
            **shape,
            "rows": rows,
            "cells": cells,
            "file_mib": round(file_mib, 2),
            "limits": {
                "rows": reading.MAX_ROWS,
                "cells": reading.MAX_CELLS,
                "unpacked_mib": reading.MAX_UNPACKED_BYTES // 2**20,
                "file_mib": reading.MAX_FILE_BYTES // 2**20,
            },
            "build_seconds": round(build_seconds, 1),
        },
        "preview": preview,
        "preview_reading_only": reading_only,
        "errors_workbook": errors,
        "refusal_of_blank_cells": refusal,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"import-preview-{connection.vendor}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    )
    book = result["workbook"]
    print(
        f"largest accepted workbook: {rows:,} rows ({shape['members']:,} members, {shape['referrals']:,} referrals), "
        f"{cells:,} cells, {book['file_mib']} MB packed, {shape['unpacked_mib']} MiB unpacked"
    )
    print(
        f"{'preview (' + connection.vendor + ')':>28}: {preview['seconds']:>6} s ({preview['cpu_seconds']} s CPU), "
        f"RSS +{preview['rss_growth_mib']} MiB, {preview['status']}, {preview['problem_count']} problem(s)"
    )
    print(
        f"{'of which reading the cells':>28}: {reading_only['seconds']:>6} s, "
        f"RSS +{reading_only['rss_growth_mib']} MiB, {reading_only['rows']:,} rows"
    )
    print(
        f"{'errors.xlsx':>28}: {errors['seconds']:>6} s ({errors['cpu_seconds']} s CPU), "
        f"RSS +{errors['rss_growth_mib']} MiB, {errors['problems']} problems, {errors['file_kib']} KiB"
    )
    print(
        f"{'refusal of blank cells':>28}: {refusal['seconds']:>6} s, RSS +{refusal['rss_growth_mib']} MiB, "
        f"{refusal['cells']:,} cells in {refusal['file_kib']} KiB"
    )
    failed = []
    if preview["status"] != "checked" or preview["problem_count"]:
        failed.append(f"the largest workbook was not accepted: {preview['problems']}")
    if cells > reading.cell_limit(round(file_mib * 2**20)) or file_mib * 2**20 > reading.MAX_FILE_BYTES:
        failed.append("the workbook is over the limits: it is not the largest accepted")
    if not refusal["refused"]:
        failed.append("the file of blank cells was not refused")
    for reason in failed:
        print(f"FAILED: {reason}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
