"""The shapes of the figures' queries give the same numbers: for a large part of the tree, every row may count, so
the queries read every row in one pass (no candidates, hashed subqueries, or hash joins when the subtree is too large
to hash); for a small one, they start from the subtree's rows (a UNION of index scans over its organisations' ids).
The headline and the breakdowns choose by the organisation's kind, so an organisation read as if it were the root
(its kind changed in memory) gives its own figures through the root's shape; ``comments`` and ``endings_by_reason``
choose by the subtree's size (``figures._shape_of``), so each shape is forced in turn, as is the root's lookup of
members' homes (by the tree's size). All must agree, on a tree where members of one district live in the other's
cells.

And each function runs a fixed number of queries, the same for a ward and for the root (at the root, one more for
the functions that choose the home lookup's shape there).
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import Organisation
from members.models import Attendance, Exemption, Member, ResidenceComment, YearEndRating
from reports import figures
from tests.factories import make_member, make_organisation, move_home
from tests.reports.test_figures import attend, comment, meeting, place, refer

pytestmark = pytest.mark.django_db

D = datetime.date
Kind = Organisation.Kind
Sector = Organisation.Sector
Status = Attendance.Status
Verdict = ResidenceComment.Verdict

DAYS = [D(2018, 6, 30), D(2018, 9, 30), D(2018, 12, 20), D(2019, 1, 15)]  # before and after the comment deadline


@pytest.fixture
def district_tree():
    """A root holding two districts (upper-level committees), each with a ward of four residential cells (the first
    district two wards), three committees of two cells and a grassroots cell; members placed (half of them in the
    other district's cells), waiting, ended, commented on (on time, late, received), rated, exempt, at meetings,
    retired into a cell; a member of an outside organisation placed in a cell."""
    root = make_organisation(kind=Kind.ROOT)
    districts, wards, cells, homes = [], [], [], []
    for d in range(2):
        district = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=root)
        districts.append(district)
        for _ in range(2 - d):
            ward = make_organisation(kind=Kind.WARD, parent=district, sector=Sector.WARD)
            wards.append(ward)
            cells += [make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward) for _ in range(4)]
        for c in range(3):
            committee = make_organisation(kind=Kind.COMMITTEE, parent=district, sector=list(Sector)[c % 4])
            homes += [make_organisation(kind=Kind.CELL, parent=committee, sector=committee.sector) for _ in range(2)]
        homes.append(make_organisation(kind=Kind.GRASSROOTS_CELL, parent=district))
    meetings = {cell.pk: meeting(cell, D(2018, 5, 10)) for cell in cells[::2]}
    for i, home in enumerate(homes * 2):
        cell = cells[(i * 5) % len(cells)]
        member = make_member(home)
        place(member, cell, ended_on=D(2018, 9, 1) if i % 5 == 0 else None)
        if cell.pk in meetings:
            attend(meetings[cell.pk], member, [Status.PRESENT, Status.ABSENT, Status.EXCUSED][i % 3])
        if i % 3:
            comment(
                member,
                cell,
                D(2018, 11, 1) if i % 2 else D(2018, 12, 10),
                sent_on=D(2018, 12, 5) if i % 2 else D(2018, 12, 15),
                received_on=D(2018, 12, 18) if i % 4 == 1 else None,
                verdict=[Verdict.GOOD, Verdict.FAIR][i % 2],
            )
        if i % 4 == 0:
            YearEndRating.objects.create(
                member=member, year=2018, level=YearEndRating.Level.GOOD, decided_on=D(2018, 12, 1)
            )
        refer(make_member(home), wards[i % len(wards)], introduced_on=D(2018, 7, 1) if i % 2 else D(2018, 1, 10))
        idle = make_member(home)
        if i % 6 == 0:
            Exemption.objects.create(member=idle, kind=Exemption.Kind.INTRODUCTION, started_on=D(2018, 1, 1))
        if i == 3:
            move_home(idle, cells[0], D(2018, 8, 1))  # retired into a residential cell
    outside = make_organisation(kind=Kind.OUTSIDE)
    place(make_member(outside), cells[1])
    return root, districts, wards


def _plain(value):
    return repr(value)


def _as_root(organisation: Organisation) -> Organisation:
    copy = Organisation.objects.get(pk=organisation.pk)
    copy.kind = Kind.ROOT  # in memory only: the root's shape of the queries, on this organisation's subtree
    return copy


def _forced(monkeypatch, shape: figures.Shape) -> None:
    monkeypatch.setattr(figures, "_shape_of", lambda organisation: shape)


@pytest.mark.parametrize("day", DAYS)
def test_comments_and_endings_are_the_same_through_each_shape(district_tree, day, monkeypatch):
    root, districts, wards = district_tree
    for organisation in (root, *districts, *wards):
        seen = {}
        for shape in figures.Shape:
            _forced(monkeypatch, shape)
            # Compared as values: the verdicts' dict may be filled in another order by another plan.
            seen[shape] = (figures.comments(organisation, day.year, day), figures.endings_by_reason(organisation, day))
        first = seen[figures.Shape.SUBTREE]
        assert all(counted == first for counted in seen.values()), (organisation.code, seen)


@pytest.mark.parametrize("day", DAYS)
def test_a_steps_members_have_the_same_comment_figures_through_each_shape(district_tree, day, monkeypatch):
    """``comments(..., members)``, a step's part (``reports.steps``), tests each of the members' due referrals by
    lookups rather than the subtree's shape: every member's part is the whole figures, and a part of them is the same
    through each shape."""
    root, districts, wards = district_tree
    everyone = Member.objects.values("pk")
    # Every other member (the tree makes its members three at a time: placed, referred, idle).
    some = Member.objects.filter(
        pk__in=[pk for i, pk in enumerate(everyone.order_by("pk").values_list("pk", flat=True)) if i % 2]
    )
    parts = []
    for organisation in (root, *districts, *wards):
        seen = {}
        for shape in figures.Shape:
            _forced(monkeypatch, shape)
            whole = figures.comments(organisation, day.year, day)
            assert figures.comments(organisation, day.year, day, everyone) == whole, (organisation.code, shape)
            seen[shape] = figures.comments(organisation, day.year, day, some.values("pk"))
        first = seen[figures.Shape.SUBTREE]
        assert all(counted == first for counted in seen.values()), (organisation.code, seen)
        parts.append((first.due, whole.due))
    if any(whole for _part, whole in parts):  # none is due before the round's year has placements to count
        assert any(0 < part < whole for part, whole in parts), (
            parts
        )  # a part, and not an empty one  # a part, and not an empty one


@pytest.mark.parametrize("day", DAYS)
def test_each_organisation_has_the_same_figures_through_the_roots_shape(district_tree, day):
    _, districts, wards = district_tree
    for organisation in (*districts, *wards):
        as_root = _as_root(organisation)
        for name, call in (
            ("headline", lambda org: figures.headline(org, day)),
            ("comments", lambda org: figures.comments(org, day.year, day)),
            ("by_grassroots_organisation", lambda org: figures.by_grassroots_organisation(org, day)),
            ("by_ward_and_cell", lambda org: figures.by_ward_and_cell(org, day)),
            ("endings_by_reason", lambda org: figures.endings_by_reason(org, day)),
            ("by_sector", lambda org: figures.by_sector(org, day)),
        ):
            assert _plain(call(organisation)) == _plain(call(as_root)), (organisation.code, name)


@pytest.mark.parametrize("day", DAYS)
def test_received_from_outside_is_the_same_through_each_shape_of_the_roots_home_lookup(district_tree, day, monkeypatch):
    """At the root, "received from outside" asks each referral for its member's home (an EXISTS) in a tree whose
    homes can be hashed, and joins every referral to its member's home of the day in a larger one
    (``figures._from_outside``): both give the same figures, for the root and for each district and ward read as a
    root, where members of one district live in the other's cells."""
    root, districts, wards = district_tree
    calls = {
        "headline": lambda org: figures.headline(org, day),
        "by_grassroots_organisation": lambda org: figures.by_grassroots_organisation(org, day),
        "by_ward_and_cell": lambda org: figures.by_ward_and_cell(org, day),
    }
    from_outside = 0
    for organisation in (root, *(_as_root(organisation) for organisation in (*districts, *wards))):
        for name, call in calls.items():
            seen = {}
            for shape in (figures.Shape.HASHED, figures.Shape.JOINED):
                _forced(monkeypatch, shape)
                seen[shape] = call(organisation)
            assert _plain(seen[figures.Shape.HASHED]) == _plain(seen[figures.Shape.JOINED]), (organisation.code, name)
        from_outside += figures.headline(organisation, day).received_from_outside
    assert from_outside  # not the equality of zeros


def test_the_roots_home_lookup_is_a_join_in_a_tree_too_large_to_hash(district_tree, monkeypatch):
    """The rule is the tree's size in organisations (``_shape_of``, ``HASHED_AT_MOST``): the same tree's root asks
    each referral for its member's home, then, with a lower limit, joins its member's home of the day."""
    root, _, _ = district_tree
    day = D(2018, 12, 20)

    def home_lookups() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            figures.by_ward_and_cell(root, day)
        (counted,) = [query["sql"] for query in queries if '"members_referral"' in query["sql"]]
        return counted.count('EXISTS(SELECT 1 AS "a" FROM "members_memberhome"'), counted.count(
            'LEFT OUTER JOIN "members_memberhome"'
        )

    assert home_lookups() == (1, 0)
    monkeypatch.setattr(figures, "HASHED_AT_MOST", _organisations_under(root) - 1)
    assert home_lookups() == (0, 1)


def test_the_district_tree_counts_something_on_each_side(district_tree):
    """The equality above is not the equality of empty figures."""
    _, districts, _ = district_tree
    day = D(2018, 12, 20)
    comments = figures.comments(districts[0], 2018, day)
    assert comments.due and comments.written and comments.sent and comments.late and comments.received
    assert comments.verdicts_by_rating
    rows = figures.by_ward_and_cell(districts[0], day)
    assert any(row.placed for row in rows) and any(row.received_from_outside for row in rows)
    assert any(row.awaiting_reception for row in rows)
    assert figures.endings_by_reason(districts[0], day)
    headline = figures.headline(districts[1], day)
    assert headline.received_from_outside and headline.stalled_issued and headline.awaiting_reception


QUERIES = {
    "headline": 3,  # the organisations, the members by status, the handovers
    "meetings": 3,  # the half-years' cells, the attendance, the irregular attendees
    "comments": 4,  # the deadline, the shape, the counts, the verdicts by rating
    "tracking_book_activity": 1,  # the committees and the wards
    "by_ward_and_cell": 2,  # the rows, the referrals by ward and cell
    "endings_by_reason": 2,  # the shape, the endings
}
# At the root, one more: the shape of the home lookup of "received from outside" (``figures._from_outside``).
AT_THE_ROOT = {"headline": 1, "by_ward_and_cell": 1}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_function_runs_a_fixed_number_of_queries_for_a_ward_and_for_the_root(district_tree, name):
    root, districts, wards = district_tree
    day = D(2018, 12, 20)
    calls = {
        "headline": lambda org: figures.headline(org, day),
        "meetings": lambda org: figures.meetings(org, day),
        "comments": lambda org: figures.comments(org, day.year, day),
        "tracking_book_activity": lambda org: figures.tracking_book_activity(org, day.year, day),
        "by_ward_and_cell": lambda org: figures.by_ward_and_cell(org, day),
        "endings_by_reason": lambda org: figures.endings_by_reason(org, day),
    }
    for organisation in (wards[0], districts[0], root):
        with CaptureQueriesContext(connection) as queries:
            calls[name](organisation)
        expected = QUERIES[name] + (AT_THE_ROOT.get(name, 0) if organisation == root else 0)
        assert len(queries) == expected, (organisation.kind, [query["sql"] for query in queries])


def test_a_member_with_two_due_referrals_is_counted_once_through_each_shape(monkeypatch):
    """The root's comments count members, not referrals: a member placed twice on the day the comments were due (the
    first referral ending after it) is one due comment, written once."""
    root = make_organisation(kind=Kind.ROOT)
    district = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=root)
    ward = make_organisation(kind=Kind.WARD, parent=district, sector=Sector.WARD)
    cells = [make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward) for _ in range(2)]
    home = make_organisation(kind=Kind.GRASSROOTS_CELL, parent=district)
    twice, once = make_member(home), make_member(home)
    place(twice, cells[0], ended_on=D(2018, 12, 31))
    place(twice, cells[1])
    place(once, cells[1])
    comment(twice, cells[1], D(2018, 11, 1), sent_on=D(2018, 11, 2))
    day = D(2018, 12, 20)
    for shape in figures.Shape:
        _forced(monkeypatch, shape)
        for organisation in (root, district, ward):
            counted = figures.comments(organisation, 2018, day)
            assert (counted.due, counted.written, counted.sent) == (2, 1, 1), (shape, organisation.kind)


# -- the shape chosen by the subtree's size ----------------------------------------------------------------------


def _organisations_under(organisation: Organisation) -> int:
    return Organisation.objects.subtree(organisation).count()


def test_a_small_part_of_the_tree_starts_from_its_own_rows_and_a_large_one_reads_the_tree(district_tree, monkeypatch):
    root, districts, wards = district_tree
    in_tree, in_ward = _organisations_under(root), _organisations_under(wards[0])
    assert in_ward * 2 < in_tree
    monkeypatch.setattr(figures, "HASHED_SHARE", 2)
    monkeypatch.setattr(figures, "SUBTREE_SHARE", in_tree // in_ward)  # the ward holds just 1/SUBTREE_SHARE or less
    assert figures._shape_of(wards[0]) is figures.Shape.SUBTREE
    monkeypatch.setattr(figures, "SUBTREE_SHARE", in_tree // in_ward + 1)
    assert figures._shape_of(wards[0]) is figures.Shape.JOINED  # a middle-sized part: joined
    monkeypatch.setattr(figures, "HASHED_SHARE", in_tree // in_ward + 1)
    assert figures._shape_of(wards[0]) is figures.Shape.HASHED  # a large part: one hashed pass
    assert figures._shape_of(root) is figures.Shape.HASHED
    assert figures._shape_of(districts[0]) is figures.Shape.HASHED


def test_a_large_part_too_large_to_hash_is_joined(district_tree, monkeypatch):
    root, districts, _ = district_tree
    in_district = _organisations_under(districts[0])
    monkeypatch.setattr(figures, "HASHED_SHARE", 3)
    monkeypatch.setattr(figures, "HASHED_AT_MOST", in_district)
    assert figures._shape_of(districts[0]) is figures.Shape.HASHED
    assert figures._shape_of(root) is figures.Shape.JOINED
    monkeypatch.setattr(figures, "HASHED_AT_MOST", in_district - 1)
    assert figures._shape_of(districts[0]) is figures.Shape.JOINED


def test_the_choice_is_one_query(district_tree):
    root, _, wards = district_tree
    for organisation in (wards[0], root):
        with CaptureQueriesContext(connection) as queries:
            figures._shape_of(organisation)
        assert len(queries) == 1, organisation.kind


def test_the_roots_size_is_counted_no_further_than_the_limit(district_tree, monkeypatch):
    """The root's subtree is its tree: only whether it has more than ``HASHED_AT_MOST`` organisations decides."""
    root, _, _ = district_tree
    in_tree = _organisations_under(root)
    for limit, shape in ((in_tree, figures.Shape.HASHED), (in_tree - 1, figures.Shape.JOINED)):
        monkeypatch.setattr(figures, "HASHED_AT_MOST", limit)
        with CaptureQueriesContext(connection) as queries:
            assert figures._shape_of(root) is shape
        (query,) = queries
        assert f"LIMIT {limit + 1}" in query["sql"]


def test_the_defaults_choose_as_measured():
    """The limits as docs/benchmarks.md measured them (figures.py lists the numbers): a province's district (1/10 of
    its organisations) and the province's root (3,812) in one hashed pass; the nation's province (1/63, 3,148) and
    root (198,325) joined; a ward (1/380) and the nation's district (1/700) from their own rows."""
    assert 10 < figures.HASHED_SHARE < 63 < figures.SUBTREE_SHARE < 380
    assert 3812 <= figures.HASHED_AT_MOST < 198_325
