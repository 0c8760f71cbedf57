"""Audit: which pages read a big table whole (issue 15: "no sequential scan of members, referrals or attendance on a
hot path").

Every GET page of each user is found as bench/pages.py finds them (from the home page, following links), requested
once to warm up and once with its queries captured; each query that reads is run again under EXPLAIN (ANALYZE) on
the app's own connection (its settings: jit off, the collapse limits), and every sequential scan of a table of
``bench.page_queries.BIG_TABLES`` is reported with the rows it read and its time, as is every index walked through
more than 10,000 of its rows that a filter then removed (``bench.plans``: a list sorted by an index and cut to a page
whose rows are few and far between reads the table whole too). A secretary's or a cadre's page
should report none at the nation's size: its scope is a ward, a cell or a workplace. City staff's counts over the
whole city read every row, and a sequential scan is the right plan there.

    SCANS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/dongha76_nation SCANS_TODAY=2018-09-30 \\
        .venv/bin/python bench/scans.py phuong1 phuong2 khupho1 coquan1

SCANS_DATABASE_URL (default the province), SCANS_TODAY (default the real day), SCANS_NAMES (only these view names,
comma-separated). Exit status 1 when a page of a user other than city staff read a big table whole. Writes nothing
but the session rows of signing in and what the pages themselves write (access log rows, stored figures).
"""

import datetime
import os
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("SCANS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dongha76_province")
os.environ["QUERIES_DATABASE_URL"] = os.environ["PAGES_DATABASE_URL"] = DATABASE_URL  # the modules imported below

from bench.page_queries import BIG_TABLES  # noqa: E402 (sets Django up: Django's modules are imported where used)
from bench.pages import USERS, discover  # noqa: E402
from bench.plans import big_reads  # noqa: E402

CITY_STAFF = {"thanhuy"}
# Pages whose queries depend on how the object stands to the user (a member the ward keeps the record of, one it
# only receives, one placed in its cell...): besides the first link met, the other links of the list's first page are
# checked too (``MORE_EXAMPLES``, e.g. "members:member-detail #2"). The first link alone missed a ward's page of a
# member it receives, whose national ID check read every referral.
EXAMPLES_FROM = {"members:member-detail": "members:member-list", "members:referral-detail": "members:referral-list"}
MORE_EXAMPLES = 10


def scans_of(sql: str) -> list[str]:
    """The big tables ``sql`` reads whole (``bench.plans.big_reads``), its plan run for real."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE) " + sql)
        return big_reads([row[0] for row in cursor.fetchall()], BIG_TABLES)


def more_examples(client, pages: dict[str, str]) -> dict[str, str]:
    """Up to ``MORE_EXAMPLES`` other links of each ``EXAMPLES_FROM`` page, found on its list's first page."""
    from bench.pages import HREF, _name

    found = {}
    for detail, listing in EXAMPLES_FROM.items():
        if listing not in pages or detail not in pages:
            continue
        links = dict.fromkeys(
            link for link in HREF.findall(client.get(pages[listing]).content.decode()) if _name(link) == detail
        )
        links.pop(pages[detail], None)
        for number, link in enumerate(list(links)[:MORE_EXAMPLES], start=2):
            found[f"{detail} #{number}"] = link
    return found


def main() -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = sys.argv[1:] or list(USERS)
    names = {name for name in os.environ.get("SCANS_NAMES", "").split(",") if name}
    today = os.environ.get("SCANS_TODAY")
    if today:
        day = datetime.date.fromisoformat(today)
        mock.patch("django.utils.timezone.localdate", lambda *args, **kwargs: day).start()
    print(f"database {connection.settings_dict['NAME']}, today {today or datetime.date.today()}")
    failed = False
    for username in users:
        client = Client(raise_request_exception=False)
        client.force_login(get_user_model().objects.get(username=username))
        pages = discover(client)
        pages.update(more_examples(client, pages))
        if names:
            pages = {name: url for name, url in pages.items() if name.split(" ")[0] in names}
        clean = 0
        for name, url in sorted(pages.items()):
            client.get(url)
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            reads = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip("( ").upper().startswith("SELECT")]
            found = [(index, scan) for index, sql in enumerate(reads) for scan in scans_of(sql)]
            if not found:
                clean += 1
            for index, scan in found:
                print(f"{username:8} {name:40.40} query {index:2d}  {scan}", flush=True)
            failed = failed or (bool(found) and username not in CITY_STAFF)
        print(f"{username:8} {clean} of {len(pages)} pages read no big table whole", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
