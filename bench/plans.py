"""What a PostgreSQL plan (the lines of ``EXPLAIN (ANALYZE)``) reads whole: for ``bench/scans.py``, kept apart from
it (and from Django) so that the reading of plans is tested on its own (tests/bench/test_plans.py)."""

import re
from collections.abc import Collection, Iterable

SCAN = re.compile(r"Seq Scan on (\w+).*actual time=[\d.]+\.\.([\d.]+) rows=(\d+) loops=(\d+)")
# Any node that reads a table through an index, for the rows its filter removes (on a line of its own below it).
NODE = re.compile(
    r"(?:Index Scan|Index Only Scan|Bitmap Heap Scan)(?: Backward)?(?: using \w+)? on (\w+).*"
    r"actual time=[\d.]+\.\.([\d.]+) rows=\d+ loops=(\d+)"
)
REMOVED = re.compile(r"Rows Removed by Filter: (\d+)")
# An index walked past this many rows that its filter then threw away read the table whole as surely as a
# sequential scan: a list sorted by an index and cut to a page, when the page's rows are few and far between (the
# eighteenth round's ratings list walked the index of names through all 100,000 members for a ward's 22). A ward's
# scope is hundreds of rows.
WALKED_ROWS = 10_000


def big_reads(plan: Iterable[str], big_tables: Collection[str]) -> list[str]:
    """The tables of ``big_tables`` the plan reads whole, as "table: rows, ms": by a sequential scan, or by an index
    walked through more than WALKED_ROWS rows that its filter removed."""
    found = []
    node = None
    for line in plan:
        scan = SCAN.search(line)
        if scan and scan.group(1) in big_tables:
            loops = int(scan.group(4))
            rows, ms = int(scan.group(3)) * loops, float(scan.group(2)) * loops
            found.append(f"{scan.group(1)}: {rows:,} rows, {ms:.0f} ms")
        if "(cost=" in line:  # a node of the plan: the lines below it up to the next node are its own
            node = NODE.search(line)
        removed = REMOVED.search(line)
        if node and removed and node.group(1) in big_tables:
            loops = int(node.group(3))
            rows, ms = int(removed.group(1)) * loops, float(node.group(2)) * loops
            if rows > WALKED_ROWS:
                found.append(f"{node.group(1)}: an index walked past {rows:,} rows, {ms:.0f} ms")
    return found
