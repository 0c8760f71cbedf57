"""Diagnosis: where one page's database time goes, query by query, and the plans of its slow queries (issue 15).

bench/pages.py tells which page is slow; this tells why. One user's pages are requested as bench/pages.py requests
them (the same settings, the test client, a day taken as today), once to warm up, then N times with every query
captured; each query is reported with its best time over the N requests (the plan's cost, not the machine's
noise), the sum of those best times beside the page's best wall time, and, for the queries over a threshold,
EXPLAIN (ANALYZE, BUFFERS) run on the same connection with the values the app sent. Writes nothing but the
session row of signing in (and the audit rows the app writes for the pages that log access, as any visit does).
The plans are the app's own: psql's defaults differ from the app's connection settings (dongha76.settings: jit off,
join_collapse_limit and from_collapse_limit 16); a ward's dashboard query planned with psql's 8 took 10 s instead
of 25 ms at the nation's size. To explain a query by hand: PGOPTIONS="-c jit=off -c join_collapse_limit=16 -c
from_collapse_limit=16" psql ...

    QUERIES_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dongha76_nation QUERIES_TODAY=2018-09-30 \\
        .venv/bin/python bench/page_queries.py phuong1 / /members/ /referrals/

QUERIES_DATABASE_URL (default the province), QUERIES_TODAY (default the real day), QUERIES_N (default 3),
QUERIES_EXPLAIN_MS (explain the queries whose best time is over this, default 50; 0: none), QUERIES_OUT (a JSON
file of every query and plan, default bench-results/page_queries.json).
"""

import datetime
import json
import os
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ["DATABASE_URL"] = os.environ.get(
    "QUERIES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dongha76_province"
)
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"

import warnings  # noqa: E402

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

# Plan lines worth reading first: whole-table reads and hashes of the big tables.
BIG_TABLES = (
    "members_member",
    "members_referral",
    "members_attendance",
    "members_memberhome",
    "members_residencecomment",
    "members_yearendrating",
    "members_placement",
)


def captured_requests(client: Client, url: str, n: int) -> tuple[list[float], list[list[dict]]]:
    client.get(url)
    walls, runs = [], []
    for _ in range(n):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            walls.append((time.perf_counter() - started) * 1000)
        runs.append([{"sql": query["sql"], "ms": float(query["time"]) * 1000} for query in captured.captured_queries])
    assert response.status_code == 200, (url, response.status_code)
    return walls, runs


def best_per_query(runs: list[list[dict]]) -> list[dict]:
    """The same page sends the same queries in the same order each time: the best time of each position."""
    best = [dict(query) for query in runs[0]]
    for run in runs[1:]:
        if len(run) != len(best):
            continue
        for kept, query in zip(best, run, strict=True):
            kept["ms"] = min(kept["ms"], query["ms"])
    return best


def explain(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cursor.fetchall()]


def key_lines(plan: list[str]) -> list[str]:
    wanted = ("Seq Scan", "Hash", "Execution Time", "Planning Time", "Rows Removed")
    return [line for line in plan if any(word in line for word in wanted)]


def main() -> int:
    setup_test_environment()
    username, urls = sys.argv[1], sys.argv[2:]
    n = int(os.environ.get("QUERIES_N", "3"))
    threshold = float(os.environ.get("QUERIES_EXPLAIN_MS", "50"))
    out = Path(os.environ.get("QUERIES_OUT", ROOT / "bench-results" / "page_queries.json"))
    today = os.environ.get("QUERIES_TODAY")
    if today:
        day = datetime.date.fromisoformat(today)
        mock.patch("django.utils.timezone.localdate", lambda *args, **kwargs: day).start()
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    report = {"database": connection.settings_dict["NAME"], "user": username, "load": os.getloadavg(), "pages": {}}
    for url in urls:
        walls, runs = captured_requests(client, url, n)
        queries = best_per_query(runs)
        database_ms = sum(query["ms"] for query in queries)
        print(
            f"\n== {username} {url}: best {min(walls):.0f} ms, {len(queries)} queries, "
            f"database {database_ms:.0f} ms (best of {n} each), load {os.getloadavg()[0]:.1f}"
        )
        for index, query in enumerate(queries):
            reads = query["sql"].lstrip("( ").upper().startswith(("SELECT", "WITH"))  # EXPLAIN ANALYZE runs it
            flag = "*" if threshold and query["ms"] >= threshold and reads else " "
            print(f" {flag}{index:3d} {query['ms']:8.1f} ms  {query['sql'][:150]}")
            if flag == "*":
                query["plan"] = explain(query["sql"])
                for line in key_lines(query["plan"]):
                    print(f"        {line.strip()[:160]}")
        report["pages"][url] = {"walls_ms": walls, "queries": queries}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
