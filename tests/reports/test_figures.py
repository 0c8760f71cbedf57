"""The definitions of ``reports/figures.py`` on small hand-built data: each figure with the edges of "as of day D"
(a thing counts on D when it had started on or before D and had not ended on or before D), subtrees smaller than the
root, outside organisations, the rounding of the rate, and a number of queries that does not grow with the tree.

The expectations are written out by hand from the definitions of issue 5, not computed with the code under test.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.models import Organisation
from members.models import Attendance, CommentRound, Exemption, Meeting, Referral, ResidenceComment, YearEndRating
from reports import figures
from reports.figures import OrganisationRef
from reports.report import build_report, report_as_json
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree

pytestmark = pytest.mark.django_db

D = datetime.date
Kind = Organisation.Kind
Sector = Organisation.Sector
Status = Attendance.Status
Verdict = ResidenceComment.Verdict
Level = YearEndRating.Level
Reason = Referral.EndReason

DAY = D(2018, 9, 30)  # the seed article's day
BEFORE = DAY - datetime.timedelta(days=1)
AFTER = DAY + datetime.timedelta(days=1)
INTRODUCED = D(2018, 3, 1)  # the default day of the referrals below
PLACED = D(2018, 3, 15)


@pytest.fixture
def tree():
    return make_tree()


def refer(member, ward, *, introduced_on=INTRODUCED, **fields):
    """A referral of ``member`` to ``ward``, signed by the member's grassroots organisation (the cell's committee, or
    the grassroots cell / outside organisation itself)."""
    home = member.home_organisation
    issuer = home.parent if home.kind == Kind.CELL else home
    fields.setdefault("issuing_organisation", issuer)
    if fields.get("ended_on") and not fields.get("end_reason"):
        fields["end_reason"] = Reason.MOVED_RESIDENCE
    return make_referral(member, receiving_ward=ward, introduced_on=introduced_on, **fields)


def place(member, cell, *, placed_on=PLACED, **fields):
    """``member`` introduced, received and placed in the residential ``cell`` (of its ward)."""
    fields.setdefault("introduced_on", min(placed_on, INTRODUCED))
    fields.setdefault("received_on", placed_on)
    return refer(member, cell.parent, residential_cell=cell, placed_on=placed_on, **fields)


def exempt(member, kind, started_on, ended_on=None):
    return Exemption.objects.create(
        member=member, kind=kind, reason="Ốm dài ngày", started_on=started_on, ended_on=ended_on
    )


def headline(organisation, day=DAY):
    return figures.headline(organisation, day)


# -- referral_rate ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("introduced", "eligible", "rate"),
    [
        (2, 3, Decimal("66.7")),
        (1, 8, Decimal("12.5")),
        (1, 16, Decimal("6.3")),  # 6.25 rounds half up, not to the even 6.2
        (1, 80, Decimal("1.3")),  # 1.25 likewise
        (1, 6, Decimal("16.7")),
        (1, 3, Decimal("33.3")),
        (2127, 2142, Decimal("99.3")),
        (0, 5, Decimal("0.0")),
        (5, 5, Decimal("100.0")),
    ],
)
def test_referral_rate_rounds_half_up_to_one_decimal(introduced, eligible, rate):
    result = figures.referral_rate(introduced, eligible)
    assert result == rate
    assert str(result) == str(rate)  # one decimal, exactly


def test_referral_rate_is_none_when_nobody_is_eligible():
    assert figures.referral_rate(0, 0) is None


# -- members -------------------------------------------------------------------------------------------------------


def test_a_member_admitted_on_the_day_counts_one_admitted_after_it_does_not(tree):
    make_member(tree.cell, admitted_on=DAY)
    make_member(tree.cell, admitted_on=AFTER)
    assert headline(tree.root).members == 1
    assert headline(tree.root, AFTER).members == 2
    assert headline(tree.root, BEFORE).members == 0


def test_a_member_who_left_on_the_day_does_not_count(tree):
    make_member(tree.cell, left_on=DAY, left_reason="died")
    make_member(tree.cell, left_on=AFTER, left_reason="left_party")
    assert headline(tree.root).members == 1
    assert headline(tree.root, BEFORE).members == 2
    assert headline(tree.root, AFTER).members == 0


def test_members_count_every_home_in_the_subtree_but_not_outside_organisations(tree):
    make_member(tree.cell)
    make_member(tree.grassroots_cell)
    make_member(tree.ward1_cell1)  # retired, living in a residential cell: a member, not eligible
    make_member(tree.outside)
    result = headline(tree.root)
    assert result.members == 3
    assert result.eligible == 2


# -- eligible and introduced ---------------------------------------------------------------------------------------


def test_retired_on_the_day_is_not_working_on_it(tree):
    make_member(tree.cell, retired_on=DAY)
    make_member(tree.cell, retired_on=AFTER)
    result = headline(tree.root)
    assert (result.members, result.eligible) == (2, 1)
    assert headline(tree.root, BEFORE).eligible == 2


def test_an_exemption_from_introduction_starting_on_the_day_excludes_one_lifted_on_the_day_does_not(tree):
    starting = make_member(tree.cell)
    exempt(starting, Exemption.Kind.INTRODUCTION, started_on=DAY)
    lifted = make_member(tree.cell)
    exempt(lifted, Exemption.Kind.INTRODUCTION, started_on=D(2017, 1, 1), ended_on=DAY)
    still = make_member(tree.cell)
    exempt(still, Exemption.Kind.INTRODUCTION, started_on=D(2017, 1, 1), ended_on=AFTER)
    activities = make_member(tree.cell)  # exempt from residence activities: still to be introduced
    exempt(activities, Exemption.Kind.ACTIVITIES, started_on=D(2017, 1, 1))
    make_member(tree.cell)

    result = headline(tree.root)
    assert result.members == 5
    assert result.eligible == 3  # lifted, activities, the plain one
    assert result.exempt_from_introduction == 2  # starting, still
    before = headline(tree.root, BEFORE)
    assert before.eligible == 3  # the day before: starting is not exempt yet, lifted still is
    assert before.exempt_from_introduction == 2


def test_members_of_residential_cells_are_not_eligible(tree):
    make_member(tree.ward1_cell1)
    make_member(tree.ward2_cell2)
    result = headline(tree.root)
    assert (result.members, result.eligible, result.introduced, result.referral_rate) == (2, 0, 0, None)


def test_a_referral_introduced_on_the_day_counts_one_ended_on_it_does_not(tree):
    on_day = make_member(tree.cell)
    refer(on_day, tree.ward1, introduced_on=DAY)
    ended_on_day = make_member(tree.cell)
    refer(ended_on_day, tree.ward1, ended_on=DAY)
    ended_after = make_member(tree.cell)
    refer(ended_after, tree.ward1, ended_on=AFTER)
    after_day = make_member(tree.cell)
    refer(after_day, tree.ward1, introduced_on=AFTER)
    make_member(tree.cell)  # never introduced

    result = headline(tree.root)
    assert (result.eligible, result.introduced) == (5, 2)  # on_day, ended_after
    assert result.referral_rate == Decimal("40.0")
    before = headline(tree.root, BEFORE)
    assert before.introduced == 2  # ended_on_day, ended_after
    assert headline(tree.root, AFTER).introduced == 2  # on_day, after_day


def test_an_ended_referral_followed_by_an_open_one_counts_the_member_once(tree):
    member = make_member(tree.cell)
    refer(member, tree.ward1, introduced_on=D(2017, 1, 1), ended_on=D(2018, 1, 1), end_reason=Reason.MOVED_RESIDENCE)
    refer(member, tree.ward2, introduced_on=D(2018, 1, 1))
    result = headline(tree.root)
    assert (result.eligible, result.introduced) == (1, 1)


def test_introduced_counts_only_eligible_members(tree):
    retired = make_member(tree.cell, retired_on=D(2018, 6, 1))
    refer(retired, tree.ward1)
    exempted = make_member(tree.cell)
    refer(exempted, tree.ward1, ended_on=D(2018, 5, 1), end_reason=Reason.EXEMPTED)
    exempt(exempted, Exemption.Kind.INTRODUCTION, started_on=D(2018, 5, 1))
    introduced = make_member(tree.cell)
    refer(introduced, tree.ward1)
    make_member(tree.cell)
    make_member(tree.cell)

    result = headline(tree.root)
    assert (result.members, result.eligible, result.introduced) == (5, 3, 1)
    assert result.referral_rate == Decimal("33.3")


def test_the_headline_rate_is_two_of_three(tree):
    for _ in range(2):
        refer(make_member(tree.cell), tree.ward1)
    make_member(tree.grassroots_cell)
    result = headline(tree.root)
    assert (result.eligible, result.introduced, result.referral_rate) == (3, 2, Decimal("66.7"))


def test_the_rate_is_none_when_nobody_is_eligible(tree):
    assert headline(tree.root).referral_rate is None


# -- organisations -------------------------------------------------------------------------------------------------


def test_the_tree_counts_its_organisations_by_kind_and_never_outside_ones(tree):
    make_organisation(kind=Kind.OUTSIDE)
    result = headline(tree.root)
    # committee, grassroots cell, two wards; the committee's cell and four residential cells
    assert (result.grassroots_organisations, result.subordinate_cells, result.residential_cells) == (4, 5, 4)


@pytest.mark.parametrize("kind", [Kind.COMMITTEE, Kind.CELL, Kind.RESIDENTIAL_CELL])
def test_an_organisation_merged_away_on_or_before_the_day_or_created_after_it_does_not_count(tree, kind):
    parent = {Kind.COMMITTEE: tree.root, Kind.CELL: tree.committee, Kind.RESIDENTIAL_CELL: tree.ward1}[kind]
    make_organisation(kind=kind, parent=parent, valid_to=DAY)  # merged away on the day
    make_organisation(kind=kind, parent=parent, valid_to=BEFORE)  # before it
    make_organisation(kind=kind, parent=parent, valid_from=AFTER)  # created after it
    make_organisation(kind=kind, parent=parent, valid_to=AFTER)  # still there on the day
    make_organisation(kind=kind, parent=parent, valid_from=DAY)  # created on the day
    result = headline(tree.root)
    expected = {
        Kind.COMMITTEE: (4 + 2, 5, 4),
        Kind.CELL: (4, 5 + 2, 4),
        Kind.RESIDENTIAL_CELL: (4, 5 + 2, 4 + 2),
    }[kind]
    assert (result.grassroots_organisations, result.subordinate_cells, result.residential_cells) == expected


def test_a_merged_away_ward_is_not_a_grassroots_organisation_on_the_day(tree):
    tree.ward2.valid_to = D(2018, 1, 1)
    tree.ward2.save()
    for cell in (tree.ward2_cell1, tree.ward2_cell2):
        cell.valid_to = D(2018, 1, 1)
        cell.save()
    result = headline(tree.root)
    assert (result.grassroots_organisations, result.subordinate_cells, result.residential_cells) == (3, 3, 2)
    before = headline(tree.root, D(2017, 12, 31))
    assert (before.grassroots_organisations, before.subordinate_cells, before.residential_cells) == (4, 5, 4)


# -- received, received from outside, and the handovers ------------------------------------------------------------


def test_received_counts_referrals_received_on_or_before_the_day_and_not_ended_on_it(tree):
    refer(make_member(tree.cell), tree.ward1, received_on=DAY)
    refer(make_member(tree.cell), tree.ward1, received_on=D(2018, 3, 5))
    refer(make_member(tree.cell), tree.ward1, received_on=AFTER)
    refer(make_member(tree.cell), tree.ward1, received_on=D(2018, 3, 5), ended_on=DAY)
    refer(make_member(tree.cell), tree.ward1, received_on=D(2018, 3, 5), ended_on=AFTER)
    refer(make_member(tree.cell), tree.ward1)  # not received
    assert headline(tree.root).received == 3
    assert headline(tree.root, BEFORE).received == 3  # received in March: the open one and the two ending later
    assert headline(tree.root, AFTER).received == 3


def test_received_counts_every_member_and_from_outside_those_whose_home_is_not_in_the_subtree(tree):
    """Issue 11: received is every referral the subtree's wards received, wherever the member works; from outside,
    those whose member's home is not in the subtree (an outside organisation, or another part of the tree)."""
    outsider = make_member(tree.outside)
    refer(outsider, tree.ward1, received_on=D(2018, 3, 5))
    refer(make_member(tree.outside), tree.ward1, received_on=AFTER)
    refer(make_member(tree.outside), tree.ward2, received_on=D(2018, 3, 5), ended_on=DAY)
    refer(make_member(tree.cell), tree.ward1, received_on=D(2018, 3, 5))
    refer(make_member(tree.ward2_cell1), tree.ward1, received_on=D(2018, 3, 5))  # moved from ward 2's cell

    result = headline(tree.root)
    assert result.members == 2  # the outsiders are not members of the city
    assert result.received == 3  # the outsider, the committee's member, the one from ward 2's cell
    assert result.received_from_outside == 1
    assert headline(tree.ward1).received_from_outside == 3  # none of the three has their home in ward 1
    assert headline(tree.ward2).received_from_outside == 0
    assert headline(tree.root, BEFORE).received_from_outside == 2  # the one ending on the day still counts


def test_referrals_of_another_trees_members_are_received_from_outside(tree):
    other = make_tree()
    refer(make_member(other.cell), tree.ward1, received_on=D(2018, 3, 5))
    result = headline(tree.root)
    assert (result.received, result.received_from_outside) == (1, 1)
    assert (headline(other.root).received, headline(other.root).received_from_outside) == (0, 0)


def test_awaiting_reception_and_placement(tree):
    refer(make_member(tree.cell), tree.ward1, introduced_on=DAY)  # awaiting reception
    refer(make_member(tree.cell), tree.ward1, received_on=AFTER)  # awaiting reception on the day
    refer(make_member(tree.cell), tree.ward1, introduced_on=AFTER)  # not yet introduced
    refer(make_member(tree.cell), tree.ward1, ended_on=DAY)  # over
    refer(make_member(tree.cell), tree.ward1, received_on=DAY)  # awaiting placement
    place(make_member(tree.cell), tree.ward1_cell1, placed_on=AFTER, received_on=D(2018, 3, 5))  # awaiting placement
    place(make_member(tree.cell), tree.ward1_cell1, placed_on=DAY)  # placed
    place(make_member(tree.cell), tree.ward1_cell1)  # placed
    result = headline(tree.root)
    assert (result.awaiting_reception, result.awaiting_placement) == (2, 2)
    assert result.received == 4


def test_stalled_is_introduced_more_than_thirty_days_before_the_day_and_not_received(tree):
    refer(make_member(tree.cell), tree.ward1, introduced_on=DAY - datetime.timedelta(days=31))  # stalled
    refer(make_member(tree.cell), tree.ward1, introduced_on=DAY - datetime.timedelta(days=30))  # not yet
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2018, 1, 1), received_on=DAY)  # received on the day
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2018, 1, 1), received_on=AFTER)  # stalled on the day
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2018, 1, 1), ended_on=DAY)  # over
    refer(make_member(tree.outside), tree.ward2, introduced_on=D(2018, 1, 1))  # stalled, from outside
    result = headline(tree.root)
    assert result.stalled == 3
    assert result.awaiting_reception == 4
    assert headline(tree.root, AFTER).stalled == 3  # the 30-day one is stalled a day later; the one received is not
    assert headline(tree.ward1).stalled == 2
    assert headline(tree.ward2).stalled == 1
    assert headline(tree.committee).stalled == 2  # the referrals it issued


# -- subtrees smaller than the root --------------------------------------------------------------------------------


@pytest.fixture
def city(tree):
    """Two wards' worth of people: members of the committee, the grassroots cell, the wards' residential cells and
    outside, referred to either ward."""
    to_ward1 = [make_member(tree.cell) for _ in range(3)]
    place(to_ward1[0], tree.ward1_cell1)
    refer(to_ward1[1], tree.ward1, received_on=D(2018, 3, 5))
    refer(to_ward1[2], tree.ward1, introduced_on=D(2018, 6, 1))  # stalled
    to_ward2 = make_member(tree.grassroots_cell)
    place(to_ward2, tree.ward2_cell1)
    make_member(tree.grassroots_cell)  # not introduced
    make_member(tree.ward1_cell2)  # retired at home
    make_member(tree.ward2_cell2)
    place(make_member(tree.outside), tree.ward1_cell2)
    place(make_member(tree.outside), tree.ward2_cell2)
    return tree


def test_the_root_sums_the_whole_tree(city):
    result = headline(city.root)
    assert (result.members, result.eligible, result.introduced, result.referral_rate) == (7, 5, 4, Decimal("80.0"))
    assert (result.received, result.received_from_outside) == (5, 2)
    assert (result.awaiting_reception, result.awaiting_placement, result.stalled) == (1, 1, 1)


def test_a_ward_gives_its_own_subtree_only(city):
    result = headline(city.ward1)
    assert (result.grassroots_organisations, result.subordinate_cells, result.residential_cells) == (1, 2, 2)
    assert (result.members, result.eligible, result.introduced, result.referral_rate) == (1, 0, 0, None)
    assert (result.received, result.received_from_outside) == (3, 3)  # two committee members and an outsider
    assert (result.awaiting_reception, result.awaiting_placement, result.stalled) == (1, 1, 1)
    other = headline(city.ward2)
    assert (other.members, other.received, other.received_from_outside) == (1, 2, 2)
    assert (other.awaiting_reception, other.awaiting_placement, other.stalled) == (0, 0, 0)


def test_a_committee_gives_its_own_subtree_only(city):
    result = headline(city.committee)
    assert (result.grassroots_organisations, result.subordinate_cells, result.residential_cells) == (1, 1, 0)
    assert (result.members, result.eligible, result.introduced, result.referral_rate) == (3, 3, 3, Decimal("100.0"))
    assert (result.received, result.received_from_outside) == (0, 0)  # it has no ward
    assert (result.awaiting_reception, result.awaiting_placement, result.stalled) == (1, 1, 1)  # what it issued
    small = headline(city.grassroots_cell)
    assert (small.grassroots_organisations, small.members, small.eligible, small.introduced) == (1, 2, 2, 1)
    assert small.referral_rate == Decimal("50.0")


def test_a_residential_cell_gives_its_own_members(city):
    result = headline(city.ward1_cell2)
    assert (result.grassroots_organisations, result.subordinate_cells, result.residential_cells) == (0, 1, 1)
    assert (result.members, result.eligible) == (1, 0)


# -- meetings ------------------------------------------------------------------------------------------------------


def meeting(cell, held_on, *, year=None, half=None, kind=Meeting.Kind.PERIODIC):
    year = year or held_on.year
    half = half or (1 if held_on.month <= 6 else 2)
    return Meeting.objects.create(residential_cell=cell, held_on=held_on, kind=kind, year=year, half=half)


def attend(meeting_, member, status, reason=""):
    if status == Status.EXCUSED and not reason:
        reason = "Đi công tác"
    return Attendance.objects.create(meeting=meeting_, member=member, status=status, reason=reason)


def test_cells_due_and_held_per_half_year(tree):
    meeting(tree.ward1_cell1, D(2018, 5, 10))  # first half, on time
    meeting(tree.ward1_cell2, D(2018, 5, 10), kind=Meeting.Kind.AD_HOC)  # ad hoc: not the periodic meeting
    meeting(tree.ward2_cell1, D(2018, 7, 15), year=2018, half=1)  # makes up the first half, late
    meeting(tree.ward2_cell1, D(2018, 8, 1))  # and the second
    meeting(tree.ward1_cell1, DAY)  # second half, on the day
    meeting(tree.ward1_cell2, AFTER)  # after the day
    meeting(tree.ward2_cell2, D(2017, 10, 1))  # last year
    result = figures.meetings(tree.root, DAY)
    assert result.year == 2018
    assert result.half_years == [
        figures.HalfYearMeetings(half_year="2018-H1", cells_due=4, cells_held=2),
        figures.HalfYearMeetings(half_year="2018-H2", cells_due=4, cells_held=2),
    ]
    ward = figures.meetings(tree.ward1, DAY)
    assert [(h.cells_due, h.cells_held) for h in ward.half_years] == [(2, 1), (2, 1)]
    early = figures.meetings(tree.root, D(2018, 7, 10))  # the late meeting for the first half not held yet
    assert [(h.half_year, h.cells_due, h.cells_held) for h in early.half_years] == [
        ("2018-H1", 4, 1),
        ("2018-H2", 4, 0),
    ]


def test_only_the_first_half_year_before_july(tree):
    meeting(tree.ward1_cell1, D(2018, 5, 10))
    result = figures.meetings(tree.root, D(2018, 6, 30))
    assert [(h.half_year, h.cells_due, h.cells_held) for h in result.half_years] == [("2018-H1", 4, 1)]


def test_cells_created_or_merged_away_are_due_only_while_they_exist(tree):
    new = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=D(2018, 8, 1))
    gone = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_to=D(2018, 6, 1))
    make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, valid_from=AFTER)
    meeting(new, D(2018, 9, 1))
    meeting(gone, D(2018, 3, 1))
    result = figures.meetings(tree.ward1, DAY)
    assert [(h.cells_due, h.cells_held) for h in result.half_years] == [(2, 0), (3, 1)]


@pytest.fixture
def attendance(tree):
    """Ward 1's first cell in 2018: a first-half meeting, a second-half meeting, an ad hoc one, one last year and one
    after the day, every member expected marked; and ward 2's first cell with one absence."""
    members = {name: make_member(tree.cell) for name in ("present", "excused", "absent", "twice", "ad_hoc", "exempt")}
    for member in members.values():
        place(member, tree.ward1_cell1, placed_on=D(2017, 3, 1))
    exempt(members["exempt"], Exemption.Kind.ACTIVITIES, started_on=D(2018, 1, 1))  # not expected in 2018
    elsewhere = make_member(tree.cell)
    place(elsewhere, tree.ward2_cell1, placed_on=D(2017, 3, 1))

    first = meeting(tree.ward1_cell1, D(2018, 5, 10))
    attend(first, members["present"], Status.PRESENT)
    attend(first, members["excused"], Status.EXCUSED)
    attend(first, members["absent"], Status.ABSENT)
    attend(first, members["twice"], Status.ABSENT)
    attend(first, members["ad_hoc"], Status.PRESENT)
    second = meeting(tree.ward1_cell1, D(2018, 9, 20))
    attend(second, members["present"], Status.PRESENT)
    attend(second, members["excused"], Status.PRESENT)
    attend(second, members["absent"], Status.PRESENT)
    attend(second, members["twice"], Status.ABSENT)
    attend(second, members["ad_hoc"], Status.PRESENT)
    ad_hoc = meeting(tree.ward1_cell1, D(2018, 8, 1), kind=Meeting.Kind.AD_HOC)
    attend(ad_hoc, members["ad_hoc"], Status.ABSENT)
    attend(ad_hoc, members["excused"], Status.ABSENT)
    last_year = meeting(tree.ward1_cell1, D(2017, 10, 1))
    attend(last_year, members["excused"], Status.ABSENT)
    later = meeting(tree.ward1_cell1, D(2018, 10, 15))
    attend(later, members["present"], Status.ABSENT)
    other = meeting(tree.ward2_cell1, D(2018, 4, 1))
    attend(other, elsewhere, Status.ABSENT)
    return {"members": members, "first": first}


def test_attendance_rate_counts_periodic_meetings_of_the_year_up_to_the_day(tree, attendance):
    result = figures.meetings(tree.ward1, DAY)
    # first: 2 present of 5; second: 4 of 5. Ad hoc, last year's and the one after the day are not counted.
    assert (result.attendance_expected, result.attendance_present) == (10, 6)
    assert result.attendance_rate == Decimal("60.0")
    city = figures.meetings(tree.root, DAY)
    assert (city.attendance_expected, city.attendance_present, city.attendance_rate) == (11, 6, Decimal("54.5"))
    assert figures.meetings(tree.ward2, DAY).attendance_rate == Decimal("0.0")
    assert figures.meetings(tree.ward2_cell2, DAY).attendance_rate is None
    assert figures.meetings(tree.ward1, D(2018, 9, 19)).attendance_rate == Decimal("40.0")


def test_irregular_attendees_missed_a_periodic_meeting_without_reason(tree, attendance):
    attend(attendance["first"], attendance["members"]["exempt"], Status.ABSENT)  # not expected: not a miss
    # absent, twice (once); not excused, not the ad hoc absentee, not the exempt one, not last year's, not after D
    assert figures.meetings(tree.ward1, DAY).irregular_attendees == 2
    assert figures.meetings(tree.ward1_cell1, DAY).irregular_attendees == 2
    assert figures.meetings(tree.ward1_cell2, DAY).irregular_attendees == 0
    assert figures.meetings(tree.root, DAY).irregular_attendees == 3
    assert figures.meetings(tree.ward2, DAY).irregular_attendees == 1
    assert figures.meetings(tree.ward1, D(2018, 5, 9)).irregular_attendees == 0
    assert figures.meetings(tree.ward1, D(2018, 10, 15)).irregular_attendees == 3  # the one held on 15/10
    assert figures.meetings(tree.ward1, D(2019, 3, 1)).irregular_attendees == 0  # a new year


def test_meetings_of_an_empty_subtree(tree):
    result = figures.meetings(tree.committee, DAY)
    assert [(h.cells_due, h.cells_held) for h in result.half_years] == [(0, 0), (0, 0)]
    assert (result.attendance_expected, result.attendance_rate, result.irregular_attendees) == (0, None, 0)


# -- residence comments --------------------------------------------------------------------------------------------


YEAR = 2018


def comment(member, cell, written_on, *, sent_on=None, received_on=None, verdict=Verdict.GOOD, year=YEAR):
    return ResidenceComment.objects.create(
        member=member,
        year=year,
        residential_cell=cell,
        verdict=verdict,
        written_on=written_on,
        sent_on=sent_on,
        received_on=received_on,
    )


@pytest.fixture
def round_(tree):
    """Members placed in ward 1's first cell with comments in each state, and members for whom none is due."""
    people = {name: make_member(tree.cell) for name in ("received", "late", "written", "missing")}
    for member in people.values():
        place(member, tree.ward1_cell1)
    comment(people["received"], tree.ward1_cell1, D(2018, 10, 1), sent_on=D(2018, 11, 20), received_on=D(2018, 11, 25))
    comment(people["late"], tree.ward1_cell1, D(2018, 11, 25), sent_on=D(2018, 12, 5))
    comment(people["written"], tree.ward1_cell1, D(2018, 12, 1))

    not_placed = make_member(tree.cell)
    refer(not_placed, tree.ward1, received_on=D(2018, 3, 5))
    ended = make_member(tree.cell)
    place(ended, tree.ward1_cell2, ended_on=D(2018, 10, 1))
    exempted = make_member(tree.cell)
    place(exempted, tree.ward1_cell2)
    exempt(exempted, Exemption.Kind.ACTIVITIES, started_on=D(2018, 6, 1))
    placed_late = make_member(tree.cell)
    place(placed_late, tree.ward1_cell2, placed_on=D(2018, 12, 1))
    people["elsewhere"] = make_member(tree.grassroots_cell)
    place(people["elsewhere"], tree.ward2_cell1)
    return people


def comment_counts(result):
    return {key: getattr(result, key) for key in ("due", "written", "sent", "received", "late", "missing")}


def test_comments_after_the_default_deadline(tree, round_):
    result = figures.comments(tree.ward1, YEAR, D(2018, 12, 15))
    assert result.deadline == D(2018, 11, 30)
    assert comment_counts(result) == {"due": 4, "written": 3, "sent": 2, "received": 1, "late": 1, "missing": 1}
    city = figures.comments(tree.root, YEAR, D(2018, 12, 15))
    assert comment_counts(city) == {"due": 5, "written": 3, "sent": 2, "received": 1, "late": 1, "missing": 2}


def test_comments_on_the_deadline_miss_nothing_yet(tree, round_):
    result = figures.comments(tree.ward1, YEAR, D(2018, 11, 30))
    assert comment_counts(result) == {"due": 4, "written": 2, "sent": 1, "received": 1, "late": 0, "missing": 0}


def test_comments_before_the_deadline_take_the_due_members_of_the_day(tree, round_):
    result = figures.comments(tree.ward1, YEAR, D(2018, 9, 30))
    # due on 30/9: the four, and the one whose referral ends on 1/10; not the exempt one, nor the one placed later
    assert comment_counts(result) == {"due": 5, "written": 0, "sent": 0, "received": 0, "late": 0, "missing": 0}


def test_comments_with_a_recorded_deadline_after_30_november(tree, round_):
    CommentRound.objects.create(organisation=tree.root, year=YEAR, deadline=D(2018, 12, 10))
    on_deadline = figures.comments(tree.ward1, YEAR, D(2018, 12, 10))
    assert on_deadline.deadline == D(2018, 12, 10)
    # due on 10/12: the four and the one placed on 1/12; the comment sent on 5/12 is on time
    assert comment_counts(on_deadline) == {"due": 5, "written": 3, "sent": 2, "received": 1, "late": 0, "missing": 0}
    after = figures.comments(tree.ward1, YEAR, D(2018, 12, 11))
    assert comment_counts(after) == {"due": 5, "written": 3, "sent": 2, "received": 1, "late": 0, "missing": 2}


def test_comments_with_a_recorded_deadline_before_30_november(tree, round_):
    CommentRound.objects.create(organisation=tree.root, year=YEAR, deadline=D(2018, 11, 15))
    result = figures.comments(tree.ward1, YEAR, D(2018, 12, 15))
    assert result.deadline == D(2018, 11, 15)
    # due on 15/11: the four; both comments sent after 15/11 (on 20/11 and 5/12) are late
    assert comment_counts(result) == {"due": 4, "written": 3, "sent": 2, "received": 1, "late": 2, "missing": 1}


def test_a_round_of_another_year_or_tree_does_not_move_the_deadline(tree, round_):
    CommentRound.objects.create(organisation=tree.root, year=YEAR + 1, deadline=D(2018 + 1, 10, 1))
    other = make_tree()
    CommentRound.objects.create(organisation=other.root, year=YEAR, deadline=D(2018, 10, 1))
    assert figures.comments(tree.ward1, YEAR, D(2018, 12, 15)).deadline == D(2018, 11, 30)
    assert figures.comments(other.ward1, YEAR, D(2018, 12, 15)).deadline == D(2018, 10, 1)


def test_comments_of_a_workplace_count_its_members(tree, round_):
    result = figures.comments(tree.committee, YEAR, D(2018, 12, 15))
    assert comment_counts(result) == {"due": 4, "written": 3, "sent": 2, "received": 1, "late": 1, "missing": 1}
    small = figures.comments(tree.grassroots_cell, YEAR, D(2018, 12, 15))
    assert comment_counts(small) == {"due": 1, "written": 0, "sent": 0, "received": 0, "late": 0, "missing": 1}


def test_verdicts_by_rating(tree):
    members = [make_member(tree.cell) for _ in range(6)]
    for member in members:
        place(member, tree.ward1_cell1)
    verdicts = [Verdict.GOOD, Verdict.GOOD, Verdict.LIMITED, Verdict.FAIR, Verdict.FAIR, Verdict.GOOD]
    for member, verdict in zip(members, verdicts, strict=True):
        comment(member, tree.ward1_cell1, D(2018, 11, 1), sent_on=D(2018, 11, 10), verdict=verdict)
    rate = YearEndRating.objects.create
    rate(member=members[0], year=YEAR, level=Level.EXCELLENT, decided_on=D(2018, 12, 10))
    rate(member=members[1], year=YEAR, level=Level.EXCELLENT, decided_on=D(2018, 12, 10))
    rate(member=members[2], year=YEAR, level=Level.GOOD, decided_on=D(2018, 12, 10))
    rate(member=members[4], year=YEAR, level=Level.FULFILLED, decided_on=D(2018, 12, 20))  # after the day
    rate(member=members[5], year=YEAR - 1, level=Level.NOT_FULFILLED, decided_on=D(2017, 12, 10))  # last year's
    late = make_member(tree.cell)
    place(late, tree.ward1_cell2)
    comment(late, tree.ward1_cell2, D(2018, 12, 16), verdict=Verdict.LIMITED)  # written after the day
    last_year = make_member(tree.cell)
    place(last_year, tree.ward1_cell2)
    comment(last_year, tree.ward1_cell2, D(2017, 11, 1), verdict=Verdict.LIMITED, year=YEAR - 1)

    grid = figures.comments(tree.root, YEAR, D(2018, 12, 15)).verdicts_by_rating
    assert grid == {
        "excellent": {"good": 2},
        "good": {"limited": 1},
        "none": {"fair": 2, "good": 1},
    }
    assert figures.comments(tree.ward2, YEAR, D(2018, 12, 15)).verdicts_by_rating == {}


# -- tracking-book activity ----------------------------------------------------------------------------------------


def test_a_committee_with_eligible_members_and_no_introduction_in_the_year_appears(tree):
    member = make_member(tree.cell)
    refer(member, tree.ward1, introduced_on=D(2017, 5, 1))  # last year's introduction does not count
    make_member(tree.grassroots_cell, retired_on=D(2018, 1, 1))  # no eligible member: not listed
    result = figures.tracking_book_activity(tree.root, YEAR, DAY)
    assert result.year == YEAR
    assert result.committees_without_introductions == [OrganisationRef(tree.committee.code, tree.committee.name)]


def test_a_committee_with_an_introduction_in_the_year_does_not_appear(tree):
    make_member(tree.cell)
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2018, 1, 1))
    make_member(tree.grassroots_cell)
    refer(make_member(tree.grassroots_cell), tree.ward2, introduced_on=AFTER)  # after the day: not yet
    result = figures.tracking_book_activity(tree.root, YEAR, DAY)
    assert result.committees_without_introductions == [
        OrganisationRef(tree.grassroots_cell.code, tree.grassroots_cell.name)
    ]
    assert figures.tracking_book_activity(tree.root, YEAR, D(2018, 12, 31)).committees_without_introductions == []


def test_a_ward_with_waiting_referrals_and_no_reception_in_the_year_appears(tree):
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2018, 2, 1))  # waiting, never received
    refer(make_member(tree.cell), tree.ward2, introduced_on=D(2018, 2, 1), received_on=D(2018, 2, 20))
    result = figures.tracking_book_activity(tree.root, YEAR, DAY)
    assert result.wards_without_receptions == [OrganisationRef(tree.ward1.code, tree.ward1.name)]
    assert figures.tracking_book_activity(tree.ward2, YEAR, DAY).wards_without_receptions == []


def test_a_ward_without_referrals_or_with_a_reception_in_the_year_does_not_appear(tree):
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2018, 2, 1), received_on=DAY)
    result = figures.tracking_book_activity(tree.root, YEAR, DAY)
    assert result.wards_without_receptions == []
    before = figures.tracking_book_activity(tree.root, YEAR, BEFORE)  # not received yet
    assert before.wards_without_receptions == [OrganisationRef(tree.ward1.code, tree.ward1.name)]


def test_a_ward_whose_referrals_ended_before_the_year_or_on_its_first_day_does_not_appear(tree):
    """A referral ended on 1/1 counts on no day of the year (it had ended on or before each of them), so it was never
    waiting for the ward during the year."""
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2017, 6, 1), ended_on=D(2017, 12, 31))
    refer(make_member(tree.cell), tree.ward2, introduced_on=D(2017, 6, 1), ended_on=D(2018, 1, 1))
    refer(
        make_member(tree.cell), tree.ward2, introduced_on=D(2017, 6, 1), received_on=D(2017, 7, 1)
    )  # received last year
    assert figures.tracking_book_activity(tree.root, YEAR, DAY).wards_without_receptions == []
    ended_later = make_member(tree.cell)
    refer(ended_later, tree.ward1, introduced_on=D(2017, 6, 1), ended_on=D(2018, 1, 2))  # waiting on 1/1
    result = figures.tracking_book_activity(tree.root, YEAR, DAY)
    assert result.wards_without_receptions == [OrganisationRef(tree.ward1.code, tree.ward1.name)]


def test_tracking_book_of_a_subtree(tree):
    make_member(tree.cell)
    make_member(tree.grassroots_cell)
    refer(make_member(tree.cell), tree.ward1, introduced_on=D(2018, 2, 1))
    result = figures.tracking_book_activity(tree.committee, YEAR, DAY)
    assert result.committees_without_introductions == []
    result = figures.tracking_book_activity(tree.ward1, YEAR, DAY)
    assert result.committees_without_introductions == []
    assert result.wards_without_receptions == [OrganisationRef(tree.ward1.code, tree.ward1.name)]


# -- breakdowns ----------------------------------------------------------------------------------------------------


def test_by_grassroots_organisation(city):
    make_organisation(kind=Kind.COMMITTEE, parent=city.root, valid_to=DAY)  # merged away: no row
    rows = figures.by_grassroots_organisation(city.root, DAY)
    assert [row.code for row in rows] == [
        city.committee.code,
        city.grassroots_cell.code,
        city.ward1.code,
        city.ward2.code,
    ]
    by_code = {row.code: row for row in rows}
    committee = by_code[city.committee.code]
    assert (committee.name, committee.kind) == (city.committee.name, Kind.COMMITTEE)
    numbers = {
        row.code: (
            row.members,
            row.eligible,
            row.introduced,
            row.referral_rate,
            row.received,
            row.received_from_outside,
            row.stalled,
        )
        for row in rows
    }
    assert numbers == {
        city.committee.code: (3, 3, 3, Decimal("100.0"), 0, 0, 1),
        city.grassroots_cell.code: (2, 2, 1, Decimal("50.0"), 0, 0, 0),
        # from outside the city (the breakdown's organisation), so that the rows add up to the city's figure
        city.ward1.code: (1, 0, 0, None, 3, 1, 1),
        city.ward2.code: (1, 0, 0, None, 2, 1, 0),
    }
    assert [row.code for row in figures.by_grassroots_organisation(city.ward1, DAY)] == [city.ward1.code]
    assert figures.by_grassroots_organisation(city.cell, DAY) == []


def test_by_sector(tree):
    enterprise = make_organisation(kind=Kind.CELL, parent=tree.committee, sector=Sector.ENTERPRISE)
    school = make_organisation(kind=Kind.GRASSROOTS_CELL, parent=tree.root, sector=Sector.PUBLIC_SERVICE)
    for _ in range(3):
        make_member(enterprise)
    refer(make_member(enterprise), tree.ward1)
    refer(make_member(school), tree.ward1)
    make_member(school, retired_on=D(2018, 1, 1))  # not eligible
    make_member(tree.ward1_cell1)  # not eligible
    rows = figures.by_sector(tree.root, DAY)
    assert rows == [
        figures.SectorRow(sector=Sector.ENTERPRISE, eligible=4, introduced=1, referral_rate=Decimal("25.0")),
        figures.SectorRow(sector=Sector.PUBLIC_SERVICE, eligible=1, introduced=1, referral_rate=Decimal("100.0")),
    ]
    assert figures.by_sector(school, DAY) == [rows[1]]


def test_by_ward_and_cell(city):
    gone = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=city.ward1, valid_to=DAY)
    rows = figures.by_ward_and_cell(city.root, DAY)
    assert gone.code not in [row.code for row in rows]
    table = {
        row.code: (
            row.kind,
            row.parent_code,
            row.received,
            row.received_from_outside,
            row.awaiting_reception,
            row.awaiting_placement,
            row.placed,
        )
        for row in rows
    }
    root = city.root.code
    assert list(table) == [
        city.ward1.code,
        city.ward1_cell1.code,
        city.ward1_cell2.code,
        city.ward2.code,
        city.ward2_cell1.code,
        city.ward2_cell2.code,
    ]
    assert table == {
        city.ward1.code: (Kind.WARD, root, 3, 1, 1, 1, 0),
        city.ward1_cell1.code: (Kind.RESIDENTIAL_CELL, city.ward1.code, 0, 0, 0, 0, 1),
        city.ward1_cell2.code: (Kind.RESIDENTIAL_CELL, city.ward1.code, 0, 0, 0, 0, 1),
        city.ward2.code: (Kind.WARD, root, 2, 1, 0, 0, 0),
        city.ward2_cell1.code: (Kind.RESIDENTIAL_CELL, city.ward2.code, 0, 0, 0, 0, 1),
        city.ward2_cell2.code: (Kind.RESIDENTIAL_CELL, city.ward2.code, 0, 0, 0, 0, 1),
    }
    assert [row.code for row in figures.by_ward_and_cell(city.ward2, DAY)] == [
        city.ward2.code,
        city.ward2_cell1.code,
        city.ward2_cell2.code,
    ]
    assert figures.by_ward_and_cell(city.committee, DAY) == []


def test_placed_counts_referrals_placed_on_or_before_the_day_and_not_ended_on_it(tree):
    place(make_member(tree.cell), tree.ward1_cell1, placed_on=DAY)
    place(make_member(tree.cell), tree.ward1_cell1, placed_on=AFTER, received_on=D(2018, 3, 5))
    place(make_member(tree.cell), tree.ward1_cell1, ended_on=DAY)
    place(make_member(tree.cell), tree.ward1_cell1, ended_on=AFTER)
    rows = {row.code: row for row in figures.by_ward_and_cell(tree.ward1, DAY)}
    assert rows[tree.ward1_cell1.code].placed == 2
    assert rows[tree.ward1.code].awaiting_placement == 1


def test_endings_by_reason(tree):
    def ended(ward, ended_on, reason, home=None):
        refer(make_member(home or tree.cell), ward, introduced_on=D(2016, 1, 1), ended_on=ended_on, end_reason=reason)

    ended(tree.ward1, D(2018, 1, 1), Reason.MOVED_RESIDENCE)
    ended(tree.ward1, DAY, Reason.MOVED_RESIDENCE)
    ended(tree.ward1, D(2018, 4, 1), Reason.RETIRED)
    ended(tree.ward2, D(2018, 4, 1), Reason.DIED)
    ended(tree.ward2, D(2018, 5, 1), Reason.CHANGED_WORKPLACE, home=tree.outside)
    ended(tree.ward1, D(2017, 12, 31), Reason.LEFT_PARTY)  # last year
    ended(tree.ward1, AFTER, Reason.OTHER)  # after the day
    refer(make_member(tree.cell), tree.ward1)  # open
    assert figures.endings_by_reason(tree.root, DAY) == {
        "changed_workplace": 1,
        "died": 1,
        "moved_residence": 2,
        "retired": 1,
    }
    assert figures.endings_by_reason(tree.ward1, DAY) == {"moved_residence": 2, "retired": 1}
    assert figures.endings_by_reason(tree.committee, DAY) == {"died": 1, "moved_residence": 2, "retired": 1}
    assert figures.endings_by_reason(tree.grassroots_cell, DAY) == {}


# -- the whole report ------------------------------------------------------------------------------------------------


def test_build_report_gathers_every_figure(city):
    report = build_report(city.root, DAY)
    assert report.year == 2018
    assert report.headline == figures.headline(city.root, DAY)
    assert report.meetings == figures.meetings(city.root, DAY)
    assert report.comments == figures.comments(city.root, 2018, DAY)
    assert report.by_grassroots_organisation == figures.by_grassroots_organisation(city.root, DAY)
    assert build_report(city.root, DAY, year=2017).comments.year == 2017
    data = report_as_json(report)
    assert data["organisation"] == {"code": city.root.code, "name": city.root.name}
    assert data["as_of"] == "2018-09-30"
    assert (data["members"], data["eligible"], data["introduced"], data["referral_rate"]) == (7, 5, 4, 80.0)
    assert isinstance(data["referral_rate"], float)
    assert data["by_grassroots_organisation"][2]["referral_rate"] is None


# -- a number of queries that does not grow with the tree ------------------------------------------------------------


def build_tree(committees: int, cells_per_committee: int, wards: int, cells_per_ward: int, grassroots_cells: int):
    """A tree of 1 + committees × (1 + cells) + wards × (1 + cells) + grassroots cells organisations, each workplace
    cell with three members (one placed, commented on and marked at a meeting, one waiting, one not introduced), each
    residential cell with a meeting."""
    root = make_organisation(kind=Kind.ROOT)
    residential = []
    ward_list = []
    for _ in range(wards):
        ward = make_organisation(kind=Kind.WARD, parent=root, sector=Sector.WARD)
        ward_list.append(ward)
        residential += [make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=ward) for _ in range(cells_per_ward)]
    homes = []
    for c in range(committees):
        committee = make_organisation(kind=Kind.COMMITTEE, parent=root, sector=list(Sector)[c % 4])
        homes += [
            make_organisation(kind=Kind.CELL, parent=committee, sector=committee.sector)
            for _ in range(cells_per_committee)
        ]
    homes += [make_organisation(kind=Kind.GRASSROOTS_CELL, parent=root) for _ in range(grassroots_cells)]
    meetings = {cell.pk: meeting(cell, D(2018, 5, 10)) for cell in residential}
    for i, home in enumerate(homes):
        cell = residential[i % len(residential)]
        member = make_member(home)
        place(member, cell, ended_on=D(2018, 9, 1) if i % 7 == 0 else None)
        attend(meetings[cell.pk], member, [Status.PRESENT, Status.ABSENT, Status.EXCUSED][i % 3])
        comment(member, cell, D(2018, 9, 1), verdict=Verdict.FAIR)
        YearEndRating.objects.create(member=member, year=2018, level=Level.GOOD, decided_on=D(2018, 9, 2))
        refer(make_member(home), ward_list[i % len(ward_list)], introduced_on=D(2018, 7, 1))
        make_member(home)
    outside = make_organisation(kind=Kind.OUTSIDE)
    place(make_member(outside), residential[0])
    count = Organisation.objects.filter(path__startswith=root.path).count()
    return root, count


@pytest.fixture
def trees():
    small, n_small = build_tree(committees=1, cells_per_committee=2, wards=1, cells_per_ward=4, grassroots_cells=1)
    large, n_large = build_tree(committees=19, cells_per_committee=4, wards=10, cells_per_ward=9, grassroots_cells=4)
    assert (n_small, n_large) == (10, 200)
    return small, large


def queries_of(function) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        result = function()
    return len(queries), result


def test_headline_runs_the_same_number_of_queries_for_10_and_200_organisations(trees):
    small, large = trees
    n_small, few = queries_of(lambda: figures.headline(small, DAY))
    n_large, many = queries_of(lambda: figures.headline(large, DAY))
    assert (few.grassroots_organisations, many.grassroots_organisations) == (3, 33)
    assert few.members < many.members
    assert few.introduced < many.introduced
    assert n_small == n_large
    assert n_small <= 5


def test_build_report_runs_the_same_number_of_queries_for_10_and_200_organisations(trees):
    small, large = trees
    n_small, few = queries_of(lambda: report_as_json(build_report(small, DAY)))
    n_large, many = queries_of(lambda: report_as_json(build_report(large, DAY)))
    assert len(few["by_grassroots_organisation"]) < len(many["by_grassroots_organisation"])
    assert len(few["by_ward_and_cell"]) < len(many["by_ward_and_cell"])
    assert few["comments"]["due"] < many["comments"]["due"]
    assert few["irregular_attendees"] < many["irregular_attendees"]
    # Counted and stored: the same queries, but the one that keys the tracking book's gaps (the large tree has some,
    # the small one none).
    assert n_large == n_small + 1
    # The breakdowns read people and referrals in grouped passes (a few queries each); each part stored in a
    # transaction of its own (and, on PostgreSQL, under the snapshots' lock).
    assert n_small <= 100
    # Read back stored: a query a part, the rows of each breakdown read as of the day, the gaps' names.
    n_small, again = queries_of(lambda: report_as_json(build_report(small, DAY)))
    n_large, _ = queries_of(lambda: report_as_json(build_report(large, DAY)))
    assert again == few
    assert n_large == n_small + 1
    assert n_small <= 20


def test_the_json_api_runs_the_same_number_of_queries_for_10_and_200_organisations(client, trees):
    small, large = trees
    client.force_login(make_officer(small, role="staff"))
    url = reverse("reports:figures-api")

    def get(root):
        response = client.get(url, {"org": root.code, "as_of": DAY.isoformat()})
        assert response.status_code == 200
        return response.json()

    get(small)  # the session and the user's posts, once
    n_small, few = queries_of(lambda: get(small))
    client.force_login(make_officer(large, role="staff"))
    get(large)
    n_large, many = queries_of(lambda: get(large))
    assert few["members"] < many["members"]
    assert n_large == n_small + 1  # the names of the tracking book's gaps, of which the small tree has none


def test_grassroots_rows_count_missed_half_years_and_late_comments(tree):
    """The dashboard sorts worst first by rate, stalled, missed meetings and late comments: the last two per
    grassroots organisation are its residential cells' half-years over without a periodic meeting, and its cells'
    comments sent after the deadline."""
    as_of = D(2018, 12, 30)  # the first half-year is over, the second is not
    meeting(tree.ward1_cell1, D(2018, 5, 10))
    member = make_member(tree.cell)
    place(member, tree.ward2_cell1, placed_on=D(2017, 3, 1))
    ResidenceComment.objects.create(
        member=member,
        year=2018,
        residential_cell=tree.ward2_cell1,
        verdict="good",
        written_on=D(2018, 11, 20),
        sent_on=D(2018, 12, 5),
    )
    rows = {row.code: row for row in figures.by_grassroots_organisation(tree.root, as_of)}
    assert (rows[tree.ward1.code].missed_half_years, rows[tree.ward1.code].late_comments) == (1, 0)
    assert (rows[tree.ward2.code].missed_half_years, rows[tree.ward2.code].late_comments) == (2, 1)
    assert (rows[tree.committee.code].missed_half_years, rows[tree.committee.code].late_comments) == (0, 0)
    in_the_first_half = {row.code: row for row in figures.by_grassroots_organisation(tree.root, D(2018, 6, 30))}
    assert in_the_first_half[tree.ward2.code].missed_half_years == 0
