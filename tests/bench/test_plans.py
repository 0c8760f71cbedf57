"""``bench.plans.big_reads``, the reading of plans by ``bench/scans.py``: a sequential scan of a big table, and an
index walked through a big table's rows that its filter then removed, are reported; a scope's index scans are not.
The plans are those PostgreSQL gave at the province's size (trimmed)."""

from bench.plans import big_reads

BIG = {"members_member", "members_referral"}

# A ward's ratings list with its subtree's keys written out as the one condition (eighteenth round, not kept).
WALKED = """\
Limit  (cost=41.11..891.95 rows=22 width=34) (actual time=70.056..70.062 rows=22 loops=1)
  ->  Incremental Sort  (cost=41.11..10753.99 rows=277 width=34) (actual time=70.054..70.058 rows=22 loops=1)
        Sort Key: members_member.search_name, members_member.card_number
        ->  Nested Loop Left Join  (cost=1.02..10741.84 rows=277 width=34) (actual time=4.405..69.994 rows=22 loops=1)
              Rows Removed by Filter: 205
              ->  Nested Loop  (cost=0.60..10726.73 rows=277 width=57) (actual time=0.145..69.834 rows=227 loops=1)
                    ->  Index Scan using members_member_search_name_943cae1c on members_member  (cost=0.32..10268.32 \
rows=277 width=54) (actual time=0.139..69.253 rows=227 loops=1)
                          Filter: (home_organisation_id = ANY ('{12,13,14,15,16,17,18,19,20,21}'::bigint[]))
                          Rows Removed by Filter: 99773
                    ->  Index Scan using branches_organisation_pkey on branches_organisation  (cost=0.28..1.65 rows=1 \
width=19) (actual time=0.002..0.002 rows=1 loops=227)
                          Index Cond: (id = members_member.home_organisation_id)
""".splitlines()

# The same list as kept: the scope's members from the index of their organisation, then sorted.
SORTED = """\
Limit  (cost=28.75..28.81 rows=22 width=34) (actual time=0.683..0.691 rows=22 loops=1)
  ->  Sort  (cost=28.75..28.82 rows=26 width=34) (actual time=0.681..0.685 rows=22 loops=1)
        ->  Hash Left Join  (cost=9.05..28.14 rows=26 width=34) (actual time=0.602..0.655 rows=22 loops=1)
              Rows Removed by Filter: 205
              ->  Index Scan using members_member_home_organisation_id_b601bf34 on members_member  (cost=0.29..2.97 \
rows=30 width=54) (actual time=0.003..0.035 rows=23 loops=10)
                    Index Cond: (home_organisation_id = branches_organisation.id)
                    Rows Removed by Filter: 900
""".splitlines()

SEQUENTIAL = """\
Aggregate  (cost=2000.00..2000.01 rows=1 width=8) (actual time=10.1..10.1 rows=1 loops=1)
  ->  Seq Scan on members_referral  (cost=0.00..1900.00 rows=57157 width=0) (actual time=0.01..9.5 rows=57157 loops=1)
        Filter: (ended_on IS NULL)
        Rows Removed by Filter: 3000
""".splitlines()


def test_an_index_walked_through_a_big_table_is_a_read_of_it_whole():
    assert big_reads(WALKED, BIG) == ["members_member: an index walked past 99,773 rows, 69 ms"]


def test_a_scopes_index_scans_are_not():
    # 900 rows removed in each of 10 loops: 9,000, under WALKED_ROWS; the join's removed rows are not a table's.
    assert big_reads(SORTED, BIG) == []


def test_a_sequential_scan_is_reported_once():
    assert big_reads(SEQUENTIAL, BIG) == ["members_referral: 57,157 rows, 10 ms"]
    assert big_reads(SEQUENTIAL, {"members_member"}) == []
