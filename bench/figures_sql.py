"""The hand-written PostgreSQL queries ``bench/figures.py`` holds the figures of ``reports/figures.py`` against: one
statement per function, each returning one JSON value with the same numbers (``bench/figures.py`` says how they are
compared). They use the best structures the schema has (the ancestor relation, the indexes), so that they are the
floor the app's queries are measured against.

Parameters (psycopg ``%(name)s``): ``org`` (the organisation's id), ``d`` (as of), ``y`` (its year), ``first`` and
``last`` (1 January of the year and min(31 December, d)), ``dl`` (the comment deadline), ``dd`` (min(dl, d), the day
the comments were due), ``stalled_before`` (d - 30 days), ``h1_last`` / ``h2_last`` (the last days of the
half-years), ``h1_over`` / ``h2_over`` (whether that half-year is over by d).

The statements are put together from the constant fragments below (no value is ever formatted into them).
"""

# ruff: noqa: S608

SUBTREE = "sub AS (SELECT descendant_id AS id FROM branches_organisationancestor WHERE ancestor_id = %(org)s)"

VALID_ON_D = "o.valid_from <= %(d)s AND (o.valid_to IS NULL OR o.valid_to > %(d)s)"

# Each referral with its ward on d (``ward_on_expression``) and its state that day.
REFERRALS_ON_D = """
    ref AS (
        SELECT r.id, r.member_id, r.issuing_organisation_id AS issuer, r.end_reason,
            COALESCE(c.parent_id, CASE
                WHEN w.valid_to IS NULL OR w.valid_to > %(d)s THEN w.id
                WHEN (s.valid_to IS NULL AND w.successor_id IS NOT NULL) OR s.valid_to > %(d)s THEN w.successor_id
                ELSE s.successor_id END) AS ward_on,
            p.residential_cell_id AS cell_on,
            (r.introduced_on <= %(d)s AND (r.ended_on IS NULL OR r.ended_on > %(d)s)) AS active,
            r.received_on <= %(d)s AS received_by_d,
            r.placed_on <= %(d)s AS placed_by_d,
            r.introduced_on < %(stalled_before)s AS old
        FROM members_referral r
        JOIN branches_organisation w ON w.id = r.receiving_ward_id
        LEFT JOIN branches_organisation s ON s.id = w.successor_id
        LEFT JOIN members_placement p
            ON p.referral_id = r.id AND p.started_on <= %(d)s AND (p.ended_on IS NULL OR p.ended_on > %(d)s)
        LEFT JOIN branches_organisation c ON c.id = p.residential_cell_id
    )"""

HOME_IN_SUBTREE_ON_D = """EXISTS (SELECT 1 FROM members_memberhome h2 JOIN sub s2 ON s2.id = h2.organisation_id
    WHERE h2.member_id = ref.member_id AND h2.started_on <= %(d)s AND (h2.ended_on IS NULL OR h2.ended_on > %(d)s))"""

# The members of the subtree on d, one row each (their home of that day), with what the member figures need.
HOMES_ON_D = """
    homes AS (
        SELECT h.member_id, h.organisation_id, o.sector,
            (m.retired_on IS NULL OR m.retired_on > %(d)s)
                AND o.kind NOT IN ('residential_cell', 'outside') AS at_work,
            EXISTS (SELECT 1 FROM members_exemption e WHERE e.member_id = m.id AND e.kind = 'introduction'
                AND e.started_on <= %(d)s AND (e.ended_on IS NULL OR e.ended_on > %(d)s)) AS exempt,
            EXISTS (SELECT 1 FROM members_referral r WHERE r.member_id = m.id
                AND r.introduced_on <= %(d)s AND (r.ended_on IS NULL OR r.ended_on > %(d)s)) AS introduced
        FROM members_memberhome h
        JOIN sub ON sub.id = h.organisation_id
        JOIN branches_organisation o ON o.id = h.organisation_id
        JOIN members_member m ON m.id = h.member_id
        WHERE h.started_on <= %(d)s AND (h.ended_on IS NULL OR h.ended_on > %(d)s)
            AND m.admitted_on <= %(d)s AND (m.left_on IS NULL OR m.left_on > %(d)s)
    )"""

HEADLINE = f"""
WITH {SUBTREE}, {HOMES_ON_D}, {REFERRALS_ON_D},
scoped AS (
    SELECT ref.*, ward_on IN (SELECT id FROM sub) AS addressed, issuer IN (SELECT id FROM sub) AS issued
    FROM ref WHERE ward_on IN (SELECT id FROM sub) OR issuer IN (SELECT id FROM sub)
)
SELECT json_build_object(
    'grassroots_organisations', (SELECT count(*) FROM branches_organisation o JOIN sub ON sub.id = o.id
        WHERE {VALID_ON_D} AND o.kind IN ('committee', 'grassroots_cell', 'ward')),
    'subordinate_cells', (SELECT count(*) FROM branches_organisation o JOIN sub ON sub.id = o.id
        WHERE {VALID_ON_D} AND o.kind IN ('cell', 'residential_cell')),
    'residential_cells', (SELECT count(*) FROM branches_organisation o JOIN sub ON sub.id = o.id
        WHERE {VALID_ON_D} AND o.kind = 'residential_cell'),
    'members', (SELECT count(*) FROM homes),
    'eligible', (SELECT count(*) FROM homes WHERE at_work AND NOT exempt),
    'introduced', (SELECT count(*) FROM homes WHERE at_work AND NOT exempt AND introduced),
    'exempt_from_introduction', (SELECT count(*) FROM homes WHERE at_work AND exempt),
    'received', (SELECT count(*) FROM scoped WHERE addressed AND active AND received_by_d),
    'received_from_outside', (SELECT count(*) FROM scoped WHERE addressed AND active AND received_by_d
        AND NOT {HOME_IN_SUBTREE_ON_D.replace("ref.", "scoped.")}),
    'awaiting_reception', (SELECT count(*) FROM scoped WHERE active AND received_by_d IS NOT TRUE),
    'awaiting_reception_addressed', (SELECT count(*) FROM scoped
        WHERE addressed AND active AND received_by_d IS NOT TRUE),
    'awaiting_placement', (SELECT count(*) FROM scoped
        WHERE active AND received_by_d AND placed_by_d IS NOT TRUE),
    'stalled', (SELECT count(*) FROM scoped WHERE active AND received_by_d IS NOT TRUE AND old),
    'stalled_issued', (SELECT count(*) FROM scoped WHERE issued AND active AND received_by_d IS NOT TRUE AND old),
    'stalled_addressed', (SELECT count(*) FROM scoped
        WHERE addressed AND active AND received_by_d IS NOT TRUE AND old)
)"""

# Due for a comment on dd (``due_condition``), joined to the member's comment of the year written by d.
DUE_REFERRALS = """
    due AS (
        SELECT r.id, r.member_id FROM members_referral r
        WHERE r.residential_cell_id IS NOT NULL AND r.placed_on <= %(dd)s
            AND (r.ended_on IS NULL OR r.ended_on > %(dd)s)
            AND NOT EXISTS (SELECT 1 FROM members_exemption e WHERE e.member_id = r.member_id
                AND e.kind = 'activities' AND e.started_on <= %(dd)s AND (e.ended_on IS NULL OR e.ended_on > %(dd)s))
    )"""

COMMENT_COUNTS = """json_build_object(
        'due', count(DISTINCT x.member_id),
        'written', count(DISTINCT x.member_id) FILTER (WHERE c.id IS NOT NULL),
        'sent', count(DISTINCT x.member_id) FILTER (WHERE c.sent_on <= %(d)s),
        'received', count(DISTINCT x.member_id) FILTER (WHERE c.received_on <= %(d)s),
        'late', count(DISTINCT x.member_id) FILTER (WHERE c.sent_on > %(dl)s AND c.sent_on <= %(d)s))"""

COMMENT_JOIN = (
    "LEFT JOIN members_residencecomment c ON c.member_id = x.member_id AND c.year = %(y)s AND c.written_on <= %(d)s"
)

HOME_ON_DD_IN_SUB = """SELECT h.member_id FROM members_memberhome h JOIN sub ON sub.id = h.organisation_id
    WHERE h.started_on <= %(dd)s AND (h.ended_on IS NULL OR h.ended_on > %(dd)s)"""
PLACED_ON_DD_IN_SUB = """SELECT p.referral_id FROM members_placement p JOIN sub ON sub.id = p.residential_cell_id
    WHERE p.started_on <= %(dd)s AND (p.ended_on IS NULL OR p.ended_on > %(dd)s)"""

# For the root (every row counts), as the app does there: each member counted once from a UNION of the due
# referrals placed in its cells and those of its members (hash joins), then joined to their comment, plain counts. An
# OR of the two subqueries, at the nation's size, is too large to hash and is read through for every due referral.
COMMENTS_WHOLE = f"""
WITH {SUBTREE}, {DUE_REFERRALS}
SELECT json_build_object(
    'counts', (SELECT {COMMENT_COUNTS.replace("count(DISTINCT x.member_id)", "count(*)")} FROM (
            SELECT d1.member_id FROM due d1 WHERE d1.id IN ({PLACED_ON_DD_IN_SUB})
            UNION SELECT d2.member_id FROM due d2 WHERE d2.member_id IN ({HOME_ON_DD_IN_SUB})) x {COMMENT_JOIN}),
    'grid', (SELECT COALESCE(json_agg(json_build_array(level, verdict, n) ORDER BY level, verdict), '[]') FROM (
        SELECT COALESCE(g.level, 'none') AS level, c.verdict, count(*) AS n
        FROM members_residencecomment c
        LEFT JOIN members_yearendrating g ON g.member_id = c.member_id AND g.year = %(y)s AND g.decided_on <= %(d)s
        WHERE c.id IN (
            SELECT c1.id FROM members_residencecomment c1 JOIN sub ON sub.id = c1.residential_cell_id
            WHERE c1.year = %(y)s AND c1.written_on <= %(d)s
            UNION SELECT c2.id FROM members_residencecomment c2
            WHERE c2.member_id IN ({HOME_ON_DD_IN_SUB}) AND c2.year = %(y)s AND c2.written_on <= %(d)s)
        GROUP BY 1, 2) grid)
)"""

# Below the root: the referrals and comments of the subtree found from its rows (a UNION of index scans: its cells'
# placements and comments, its members' referrals and comments), as the app does; an OR of the two reads every due
# referral and every comment of the year.
COMMENTS = f"""
WITH {SUBTREE}, {DUE_REFERRALS}
SELECT json_build_object(
    'counts', (SELECT {COMMENT_COUNTS} FROM due x {COMMENT_JOIN}
        WHERE x.id IN ({PLACED_ON_DD_IN_SUB}
            UNION SELECT r.id FROM members_referral r WHERE r.member_id IN ({HOME_ON_DD_IN_SUB}))),
    'grid', (SELECT COALESCE(json_agg(json_build_array(level, verdict, n) ORDER BY level, verdict), '[]') FROM (
        SELECT COALESCE(g.level, 'none') AS level, c.verdict, count(*) AS n
        FROM members_residencecomment c
        LEFT JOIN members_yearendrating g ON g.member_id = c.member_id AND g.year = %(y)s AND g.decided_on <= %(d)s
        WHERE c.id IN (
            SELECT c1.id FROM members_residencecomment c1 JOIN sub ON sub.id = c1.residential_cell_id
            WHERE c1.year = %(y)s AND c1.written_on <= %(d)s
            UNION SELECT c2.id FROM members_residencecomment c2
            WHERE c2.member_id IN ({HOME_ON_DD_IN_SUB}) AND c2.year = %(y)s AND c2.written_on <= %(d)s)
        GROUP BY 1, 2) grid)
)"""

COMMENT_SIDES = f"""
WITH {SUBTREE}, {DUE_REFERRALS}
SELECT json_build_object(
    'workplace', (SELECT {COMMENT_COUNTS} FROM due x {COMMENT_JOIN} WHERE x.member_id IN ({HOME_ON_DD_IN_SUB})),
    'residence', (SELECT {COMMENT_COUNTS} FROM due x {COMMENT_JOIN} WHERE x.id IN ({PLACED_ON_DD_IN_SUB}))
)"""

BY_GRASSROOTS = f"""
WITH {SUBTREE}, {HOMES_ON_D}, {REFERRALS_ON_D},
rows AS (SELECT o.id, o.code, o.path FROM branches_organisation o JOIN sub ON sub.id = o.id
    WHERE {VALID_ON_D} AND o.kind IN ('committee', 'grassroots_cell', 'ward')),
people AS (
    SELECT a.ancestor_id AS id, count(*) AS members, count(*) FILTER (WHERE at_work AND NOT exempt) AS eligible,
        count(*) FILTER (WHERE at_work AND NOT exempt AND introduced) AS introduced
    FROM homes JOIN branches_organisationancestor a ON a.descendant_id = homes.organisation_id
    WHERE a.ancestor_id IN (SELECT id FROM rows) GROUP BY 1
),
scoped AS (
    SELECT ref.*, active AND received_by_d AS received, active AND received_by_d IS NOT TRUE AND old AS stalled,
        active AND received_by_d AND NOT {HOME_IN_SUBTREE_ON_D} AS from_outside
    FROM ref WHERE ward_on IN (SELECT id FROM sub) OR issuer IN (SELECT id FROM sub)
),
refs AS (
    SELECT a.ancestor_id AS id,
        count(DISTINCT scoped.id) FILTER (WHERE a.descendant_id = ward_on AND received) AS received,
        count(DISTINCT scoped.id) FILTER (WHERE a.descendant_id = ward_on AND from_outside) AS from_outside,
        count(DISTINCT scoped.id) FILTER (WHERE stalled) AS stalled,
        count(DISTINCT scoped.id) FILTER (WHERE a.descendant_id = issuer AND stalled) AS stalled_issued,
        count(DISTINCT scoped.id) FILTER (WHERE a.descendant_id = ward_on AND stalled) AS stalled_addressed
    FROM scoped JOIN branches_organisationancestor a ON a.descendant_id IN (scoped.issuer, scoped.ward_on)
    WHERE a.ancestor_id IN (SELECT id FROM rows) GROUP BY 1
),
missed_cells AS (
    SELECT o.id FROM branches_organisation o JOIN sub ON sub.id = o.id
    WHERE %(h1_over)s AND o.kind = 'residential_cell'
        AND o.valid_from <= %(h1_last)s AND (o.valid_to IS NULL OR o.valid_to > %(h1_last)s)
        AND NOT EXISTS (SELECT 1 FROM members_meeting mt WHERE mt.residential_cell_id = o.id AND mt.kind = 'periodic'
            AND mt.year = %(y)s AND mt.half = 1 AND mt.held_on <= %(d)s)
    UNION ALL
    SELECT o.id FROM branches_organisation o JOIN sub ON sub.id = o.id
    WHERE %(h2_over)s AND o.kind = 'residential_cell'
        AND o.valid_from <= %(h2_last)s AND (o.valid_to IS NULL OR o.valid_to > %(h2_last)s)
        AND NOT EXISTS (SELECT 1 FROM members_meeting mt WHERE mt.residential_cell_id = o.id AND mt.kind = 'periodic'
            AND mt.year = %(y)s AND mt.half = 2 AND mt.held_on <= %(d)s)
),
missed AS (
    SELECT a.ancestor_id AS id, count(*) AS n FROM missed_cells
    JOIN branches_organisationancestor a ON a.descendant_id = missed_cells.id
    WHERE a.ancestor_id IN (SELECT id FROM rows) GROUP BY 1
),
late AS (
    SELECT a.ancestor_id AS id, count(*) AS n FROM members_residencecomment c
    JOIN sub ON sub.id = c.residential_cell_id
    JOIN branches_organisationancestor a ON a.descendant_id = c.residential_cell_id
    WHERE c.year = %(y)s AND c.sent_on > %(dl)s AND c.sent_on <= %(d)s AND a.ancestor_id IN (SELECT id FROM rows)
    GROUP BY 1
)
SELECT COALESCE(json_agg(json_build_array(
    rows.code, COALESCE(people.members, 0), COALESCE(people.eligible, 0), COALESCE(people.introduced, 0),
    COALESCE(refs.received, 0), COALESCE(refs.from_outside, 0), COALESCE(refs.stalled, 0),
    COALESCE(missed.n, 0), COALESCE(late.n, 0), COALESCE(refs.stalled_issued, 0), COALESCE(refs.stalled_addressed, 0)
) ORDER BY rows.path), '[]')
FROM rows LEFT JOIN people ON people.id = rows.id LEFT JOIN refs ON refs.id = rows.id
LEFT JOIN missed ON missed.id = rows.id LEFT JOIN late ON late.id = rows.id
"""

TRACKING_BOOK = """
WITH sub AS (SELECT descendant_id AS id FROM branches_organisationancestor WHERE ancestor_id = %(org)s),
orgs AS (SELECT o.* FROM branches_organisation o JOIN sub ON sub.id = o.id
    WHERE o.valid_from <= %(last)s AND (o.valid_to IS NULL OR o.valid_to > %(last)s))
SELECT json_build_object(
    'committees', (SELECT COALESCE(json_agg(o.code ORDER BY o.path), '[]') FROM orgs o
        WHERE o.kind IN ('committee', 'grassroots_cell')
        AND EXISTS (SELECT 1 FROM branches_organisationancestor a
            JOIN members_memberhome h ON h.organisation_id = a.descendant_id
            JOIN branches_organisation ho ON ho.id = h.organisation_id
            JOIN members_member m ON m.id = h.member_id
            WHERE a.ancestor_id = o.id AND h.started_on <= %(last)s AND (h.ended_on IS NULL OR h.ended_on > %(last)s)
                AND ho.kind NOT IN ('residential_cell', 'outside')
                AND m.admitted_on <= %(last)s AND (m.left_on IS NULL OR m.left_on > %(last)s)
                AND (m.retired_on IS NULL OR m.retired_on > %(last)s)
                AND NOT EXISTS (SELECT 1 FROM members_exemption e WHERE e.member_id = m.id
                    AND e.kind = 'introduction' AND e.started_on <= %(last)s
                    AND (e.ended_on IS NULL OR e.ended_on > %(last)s)))
        AND NOT EXISTS (SELECT 1 FROM branches_organisationancestor a
            JOIN members_referral r ON r.issuing_organisation_id = a.descendant_id
            WHERE a.ancestor_id = o.id AND r.introduced_on >= %(first)s AND r.introduced_on <= %(last)s)),
    'wards', (SELECT COALESCE(json_agg(o.code ORDER BY o.path), '[]') FROM orgs o
        WHERE o.kind = 'ward'
        AND EXISTS (SELECT 1 FROM members_referral r WHERE r.receiving_ward_id = o.id AND r.introduced_on <= %(last)s
            AND (r.received_on IS NULL OR r.received_on >= %(first)s)
            AND (r.ended_on IS NULL OR r.ended_on > %(first)s))
        AND NOT EXISTS (SELECT 1 FROM members_referral r WHERE r.receiving_ward_id = o.id
            AND r.received_on >= %(first)s AND r.received_on <= %(last)s))
)"""

BY_SECTOR = f"""
WITH {SUBTREE}, {HOMES_ON_D}
SELECT COALESCE(json_agg(json_build_array(sector, eligible, introduced) ORDER BY sector), '[]') FROM (
    SELECT sector, count(*) FILTER (WHERE at_work AND NOT exempt) AS eligible,
        count(*) FILTER (WHERE at_work AND NOT exempt AND introduced) AS introduced
    FROM homes GROUP BY sector HAVING count(*) FILTER (WHERE at_work AND NOT exempt) > 0
) s"""

BY_WARD_AND_CELL = f"""
WITH {SUBTREE}, {REFERRALS_ON_D},
scoped AS (SELECT * FROM ref WHERE ward_on IN (SELECT id FROM sub)),
wards AS (
    SELECT ward_on AS id, count(*) FILTER (WHERE active AND received_by_d) AS received,
        count(*) FILTER (WHERE active AND received_by_d AND NOT {HOME_IN_SUBTREE_ON_D.replace("ref.", "scoped.")})
            AS from_outside,
        count(*) FILTER (WHERE active AND received_by_d IS NOT TRUE) AS awaiting_reception,
        count(*) FILTER (WHERE active AND received_by_d AND placed_by_d IS NOT TRUE) AS awaiting_placement
    FROM scoped GROUP BY 1
),
placed AS (SELECT cell_on AS id, count(*) AS n FROM scoped WHERE active AND placed_by_d GROUP BY 1)
SELECT COALESCE(json_agg(json_build_array(o.code, o.kind, p.code,
    CASE WHEN o.kind = 'ward' THEN COALESCE(w.received, 0) ELSE 0 END,
    CASE WHEN o.kind = 'ward' THEN COALESCE(w.from_outside, 0) ELSE 0 END,
    CASE WHEN o.kind = 'ward' THEN COALESCE(w.awaiting_reception, 0) ELSE 0 END,
    CASE WHEN o.kind = 'ward' THEN COALESCE(w.awaiting_placement, 0) ELSE 0 END,
    COALESCE(placed.n, 0)) ORDER BY o.path), '[]')
FROM branches_organisation o JOIN sub ON sub.id = o.id
LEFT JOIN branches_organisation p ON p.id = o.parent_id
LEFT JOIN wards w ON w.id = o.id LEFT JOIN placed ON placed.id = o.id
WHERE {VALID_ON_D} AND o.kind IN ('ward', 'residential_cell')
"""

# For the root: the year's endings tested against the subtree; below it: the subtree's referrals gathered first (no
# index on the ending day: the test reads every referral).
ENDINGS_WHOLE = f"""
WITH {SUBTREE}
SELECT COALESCE(json_object_agg(end_reason, n), '{{}}') FROM (
    SELECT r.end_reason, count(*) AS n FROM members_referral r
    WHERE (r.receiving_ward_id IN (SELECT id FROM sub) OR r.issuing_organisation_id IN (SELECT id FROM sub))
        AND r.ended_on >= %(first)s AND r.ended_on <= %(d)s
    GROUP BY 1
) e"""

ENDINGS = f"""
WITH {SUBTREE}
SELECT COALESCE(json_object_agg(end_reason, n), '{{}}') FROM (
    SELECT r.end_reason, count(*) AS n FROM members_referral r
    WHERE r.id IN (SELECT a.id FROM members_referral a JOIN sub ON sub.id = a.receiving_ward_id
            UNION SELECT i.id FROM members_referral i JOIN sub ON sub.id = i.issuing_organisation_id)
        AND r.ended_on >= %(first)s AND r.ended_on <= %(d)s
    GROUP BY 1
) e"""

MEETINGS = f"""
WITH {SUBTREE},
cells AS (SELECT o.* FROM branches_organisation o JOIN sub ON sub.id = o.id WHERE o.kind = 'residential_cell'),
expected AS (
    SELECT mt.id AS meeting_id, r.member_id FROM members_meeting mt
    JOIN sub ON sub.id = mt.residential_cell_id
    JOIN members_placement p ON p.residential_cell_id = mt.residential_cell_id
        AND p.started_on <= mt.held_on AND (p.ended_on IS NULL OR p.ended_on > mt.held_on)
    JOIN members_referral r ON r.id = p.referral_id AND r.introduced_on <= mt.held_on
        AND (r.ended_on IS NULL OR r.ended_on > mt.held_on) AND r.placed_on <= mt.held_on
    WHERE mt.kind = 'periodic' AND mt.year = %(y)s AND mt.held_on <= %(d)s
        AND NOT EXISTS (SELECT 1 FROM members_exemption e WHERE e.member_id = r.member_id AND e.kind = 'activities'
            AND e.started_on <= mt.held_on AND (e.ended_on IS NULL OR e.ended_on > mt.held_on))
)
SELECT json_build_object(
    'h1_due', (SELECT count(*) FROM cells o WHERE o.valid_from <= LEAST(%(h1_last)s, %(d)s)
        AND (o.valid_to IS NULL OR o.valid_to > LEAST(%(h1_last)s, %(d)s))),
    'h1_held', (SELECT count(*) FROM cells o WHERE o.valid_from <= LEAST(%(h1_last)s, %(d)s)
        AND (o.valid_to IS NULL OR o.valid_to > LEAST(%(h1_last)s, %(d)s))
        AND EXISTS (SELECT 1 FROM members_meeting mt WHERE mt.residential_cell_id = o.id AND mt.kind = 'periodic'
            AND mt.year = %(y)s AND mt.half = 1 AND mt.held_on <= %(d)s)),
    'h2_due', (SELECT count(*) FROM cells o WHERE o.valid_from <= LEAST(%(h2_last)s, %(d)s)
        AND (o.valid_to IS NULL OR o.valid_to > LEAST(%(h2_last)s, %(d)s))),
    'h2_held', (SELECT count(*) FROM cells o WHERE o.valid_from <= LEAST(%(h2_last)s, %(d)s)
        AND (o.valid_to IS NULL OR o.valid_to > LEAST(%(h2_last)s, %(d)s))
        AND EXISTS (SELECT 1 FROM members_meeting mt WHERE mt.residential_cell_id = o.id AND mt.kind = 'periodic'
            AND mt.year = %(y)s AND mt.half = 2 AND mt.held_on <= %(d)s)),
    'expected', (SELECT count(*) FROM expected),
    'present', (SELECT count(*) FROM expected x JOIN members_attendance a
        ON a.meeting_id = x.meeting_id AND a.member_id = x.member_id AND a.status = 'present'),
    'irregular', (SELECT count(DISTINCT r.member_id) FROM members_referral r
        JOIN members_placement p ON p.referral_id = r.id AND p.started_on <= %(d)s
            AND (p.ended_on IS NULL OR p.ended_on > %(d)s)
        JOIN sub ON sub.id = p.residential_cell_id
        WHERE r.introduced_on <= %(d)s AND (r.ended_on IS NULL OR r.ended_on > %(d)s) AND r.placed_on <= %(d)s
            AND EXISTS (SELECT 1 FROM members_attendance a JOIN members_meeting mt ON mt.id = a.meeting_id
                WHERE a.member_id = r.member_id AND a.status = 'absent' AND mt.kind = 'periodic'
                    AND mt.year = %(y)s AND mt.held_on <= %(d)s AND mt.held_on >= r.placed_on
                    AND NOT EXISTS (SELECT 1 FROM members_exemption e WHERE e.member_id = a.member_id
                        AND e.kind = 'activities' AND e.started_on <= mt.held_on
                        AND (e.ended_on IS NULL OR e.ended_on > mt.held_on))
                    AND EXISTS (SELECT 1 FROM members_placement p2 WHERE p2.referral_id = r.id
                        AND p2.residential_cell_id = mt.residential_cell_id AND p2.started_on <= mt.held_on
                        AND (p2.ended_on IS NULL OR p2.ended_on > mt.held_on))))
)"""
