"""Benchmark: every page of every role against the floor of a bare authenticated page (issue 15).

Goal: every page of every role, the dashboard included, p95 <= 2x a bare authenticated view rendering the site
layout, at the province size, with a query count that does not grow with rows; the HTML of any page under 300 kB.

How: the app is served in this one process by Django's test client, with bench/settings_bench.py (the product's
settings with DEBUG off and bench/bare_urls.py, which adds the bare page to the product's URLs). In one process
because the figures compared are ratios of two pages served the same way (the middleware, sessions, context
processors and templates of production; WSGI and the network would add the same to both), and because the query
count and the HTML of the very request measured are read exactly (CaptureQueriesContext, the response's bytes). The
load test (bench/load.py) is the one that measures gunicorn.

Each demo user (thanhuy, phuong1, phuong2, khupho1, coquan1) is signed in (force_login: a session row, no password
hashing), and their pages are found as a user finds them: from the home page, the navigation and the links of each
page, every GET page the URLconf names (one example per URL name: the first link met; lists also with ``?page=2``
when they link to it), leaving out the admin, downloads and redirects. Each page is requested N times after one
warm-up; reported: p50, p95 (of the N times), the ratio of the p95 to the bare page's p95 for the same user, the
query count and the HTML size. Writes bench-results/pages.json and prints a table.

A second floor is measured with the first, for the lists: the bare list (bench/bare_urls.py), the same layout around
50 referrals with their member and organisations read in one query, no scope, filter, count or pagination, drawn by
a template loop: the least a list page of 50 rows costs in this stack. Each page's p95 is also given as a ratio to
its p95 (the column "L"): a list of 50 rows under 1 costs less than the floor of any list.

    PAGES_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dongha76_province .venv/bin/python bench/pages.py
    PAGES_N=20 PAGES_USERS=phuong1,thanhuy PAGES_TODAY=2018-09-30 .venv/bin/python bench/pages.py

PAGES_DATABASE_URL (default the province: dongha76_province; only read, bar the session rows of signing in, the
access log rows (``audit.AccessLog``) and the figure snapshots the pages write as they do in production: a member's
page showing a national ID, the yearly workbook's page; the day before PAGES_TODAY's figures and that day's own stored
by a large subtree's home page and dashboard, so that the requests measured after the warm-up read today's stored
figures, as every view between two writes of a day does),
PAGES_N (default 10), PAGES_USERS (default the five), PAGES_TODAY (the day the app takes as today, default the
real one: a data set built as of a day is looked at on that day), PAGES_BUDGET (seconds at most per page after
the warm-up, default 30: a slow page is measured fewer times, at least 3), PAGES_NAMES (only these view names,
comma-separated, e.g. ``home,members:member-list``: their ``?page=2`` too; default every page), PAGES_OUT (default
bench-results/pages.json).
"""

import datetime
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ["DATABASE_URL"] = os.environ.get(
    "PAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dongha76_province"
)
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"

import warnings  # noqa: E402

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic needed here

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from bench.bare_urls import BARE_LIST_URL, BARE_URL  # noqa: E402

USERS = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")
GOAL_RATIO = 2.0
GOAL_BYTES = 300_000
HREF = re.compile(r'href="(/[^"#]*)"')
# Not pages of the product's screens, or not a page at all: the admin (support's tool), signing out, the language
# switch, downloads, the bench's own floor, links that act (the reminders' "open" redirects to the reminder's page).
SKIPPED_NAMESPACES = {"admin"}
SKIPPED_NAMES = {"logout", "set_language", "bench-bare", "bench-bare-list", "open", "login"}
SKIPPED_ENDINGS = (".xlsx", ".json")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(share * len(ordered)) - 1)
    return ordered[index]


def _name(url: str) -> str | None:
    path = urlsplit(url).path
    if path.endswith(SKIPPED_ENDINGS):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if set(match.namespaces) & SKIPPED_NAMESPACES or match.url_name in SKIPPED_NAMES:
        return None
    return match.view_name


def discover(client: Client) -> dict[str, str]:
    """Every GET page the user reaches by following links from the home page: {view name: first URL met}. A list
    that links to its second page is also measured there (``<name> ?page=2``)."""
    found: dict[str, str] = {}
    queue = ["/"]
    queued = {"home"}
    while queue:
        url = queue.pop(0)
        response = client.get(url)
        if response.status_code >= 500:
            found[_name(url)] = url  # measured, and its status reported
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        found[_name(url)] = url
        for link in HREF.findall(response.content.decode()):
            link = link.replace("&amp;", "&")
            name = _name(link)
            if name is None:
                continue
            if urlsplit(link).query == "page=2":
                found.setdefault(f"{name} ?page=2", link)
            elif name not in queued:
                queued.add(name)
                queue.append(link)
    return found


def measure(client: Client, url: str, n: int, budget: float) -> dict:
    client.get(url)  # warm-up: the connection, the templates' cache
    reset_queries()  # the log keeps 9,000 queries at most: a full one would count none
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    query_count = len(queries)  # now: the log is read lazily, and the next request empties it
    times = []
    started = time.perf_counter()
    while len(times) < n and (len(times) < 3 or time.perf_counter() - started < budget):
        before = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - before) * 1000)
    return {
        "url": url,
        "status": response.status_code,
        "n": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "queries": query_count,
        "bytes": len(response.content),
    }


def main() -> int:
    # Not ``setup_test_environment()``: it makes every template render send a signal on which the test client keeps
    # a copy of the context (one per include and form widget), work production never does, and a page with a form
    # paid it a hundred times while the bare page paid it a few. Nothing here reads a response's templates or context.
    n = int(os.environ.get("PAGES_N", "10"))
    budget = float(os.environ.get("PAGES_BUDGET", "30"))
    users = [name for name in os.environ.get("PAGES_USERS", ",".join(USERS)).split(",") if name]
    today = os.environ.get("PAGES_TODAY")
    names = {name for name in os.environ.get("PAGES_NAMES", "").split(",") if name}
    out = Path(os.environ.get("PAGES_OUT", ROOT / "bench-results" / "pages.json"))
    patches = []
    if today:
        day = datetime.date.fromisoformat(today)
        patches.append(mock.patch("django.utils.timezone.localdate", lambda *args, **kwargs: day))
    for patch in patches:
        patch.start()
    results = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_start": os.getloadavg(),
        "database": connection.settings_dict["NAME"],
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "today": today or datetime.date.today().isoformat(),
        "n": n,
        "roles": {},
    }
    User = get_user_model()
    worst = 0.0
    biggest = 0
    for username in users:
        client = Client(raise_request_exception=False)  # a failing page is reported (its status), not fatal
        client.force_login(User.objects.get(username=username))
        bare = measure(client, BARE_URL, max(n, 20), budget)
        bare_list = measure(client, BARE_LIST_URL, max(n, 20), budget)
        bare_list["ratio"] = round(bare_list["p95_ms"] / bare["p95_ms"], 2)
        pages = discover(client)
        if names:
            pages = {name: url for name, url in pages.items() if name in names or name.split(" ")[0] in names}
        rows = {}
        for name, url in sorted(pages.items()):
            row = measure(client, url, n, budget)
            row["ratio"] = round(row["p95_ms"] / bare["p95_ms"], 2)
            row["list_floor_ratio"] = round(row["p95_ms"] / bare_list["p95_ms"], 2)
            rows[name] = row
            worst = max(worst, row["ratio"])
            biggest = max(biggest, row["bytes"])
            print(
                f"{username:8} {name:38.38} {row['p50_ms']:9.1f} {row['p95_ms']:9.1f} {row['ratio']:7.2f}x "
                f"{row['list_floor_ratio']:6.2f}L {row['queries']:4d}q {row['bytes'] / 1000:8.1f} kB {row['status']} "
                f"{url}",
                flush=True,
            )
        results["roles"][username] = {"bare": bare, "bare_list": bare_list, "pages": rows}
        print(
            f"{username:8} {'(bare layout)':38} {bare['p50_ms']:9.1f} {bare['p95_ms']:9.1f} {1:7.2f}x "
            f"{'':7} {bare['queries']:4d}q {bare['bytes'] / 1000:8.1f} kB",
            f"\n{username:8} {'(bare list of 50 rows)':38} {bare_list['p50_ms']:9.1f} {bare_list['p95_ms']:9.1f} "
            f"{bare_list['ratio']:7.2f}x {1:6.2f}L {bare_list['queries']:4d}q {bare_list['bytes'] / 1000:8.1f} kB",
            flush=True,
        )
    for patch in patches:
        patch.stop()
    results["worst_ratio"] = worst
    results["biggest_bytes"] = biggest
    results["load_average_at_end"] = os.getloadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    measured = [row for role in results["roles"].values() for row in role["pages"].values()]
    floors = [role["bare_list"]["ratio"] for role in results["roles"].values()]
    if measured:
        within = sum(row["ratio"] <= GOAL_RATIO for row in measured)
        under_floor = sum(row["list_floor_ratio"] <= 1 for row in measured)
        print(
            f"{within} of {len(measured)} pages within {GOAL_RATIO}x the bare page; {under_floor} within the bare "
            f"list of 50 rows, itself {min(floors):.2f}-{max(floors):.2f}x the bare page"
        )
    print(f"worst p95 ratio {worst:.2f}x (goal <= {GOAL_RATIO}x); biggest page {biggest / 1000:.1f} kB (goal < 300 kB)")
    print(f"written to {out}")
    return 0 if worst <= GOAL_RATIO and biggest < GOAL_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
