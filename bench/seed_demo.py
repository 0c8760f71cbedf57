"""Benchmark: how long `seed_demo` takes and how much memory it needs, on a fresh database.

Runs against a throw-away test database of the configured backend (DATABASE_URL; SQLite in a temporary file by
default), so it never touches your data. Prints a table and writes bench-results/seed_demo.json.

    make bench                                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dongha76 make bench   # PostgreSQL (creates test_dongha76)
"""

import datetime
import json
import os
import platform
import resource
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
from django.db import connection  # noqa: E402

BUDGET_SECONDS = 60  # issue 2: the demo data loads in under a minute on the 2-core CI machine
TODAY = datetime.date(2026, 11, 30)  # fixed, so that runs on different days build the same data


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        if connection.vendor == "sqlite":
            # A file, not SQLite's in-memory test database: what users run on.
            connection.settings_dict["TEST"]["NAME"] = str(Path(folder) / "bench.sqlite3")
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            rss_before = peak_rss_mib()
            started = time.perf_counter()
            call_command("seed_demo", today=TODAY, stdout=open(os.devnull, "w"))  # noqa: SIM115
            seconds = time.perf_counter() - started
            rss_after = peak_rss_mib()
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    result = {
        "benchmark": "seed_demo",
        "database": connection.vendor,
        "seconds": round(seconds, 2),
        "budget_seconds": BUDGET_SECONDS,
        "peak_rss_mib": round(rss_after, 1),
        "rss_growth_mib": round(rss_after - rss_before, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"seed_demo-{connection.vendor}.json").write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    if seconds > BUDGET_SECONDS:
        print(f"OVER BUDGET: {seconds:.1f} s > {BUDGET_SECONDS} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
