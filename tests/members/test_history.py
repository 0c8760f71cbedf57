"""A member's home and a referral's placement are dated histories: the database holds the chain, the services write
a transfer or a re-placement on a day, and every figure of a past day reads the place of that day."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from dongha76.services import Errors
from members import places, services
from members.models import Member, MemberHome, Placement, Referral
from reports import figures
from tests.factories import make_member, make_referral, make_tree

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return make_tree()


def homes_of(member):
    return list(MemberHome.objects.filter(member=member).values_list("organisation__name", "started_on", "ended_on"))


def placed_referral(tree, member) -> Referral:
    """``member`` introduced to ward 1 in January 2015, received, and placed in its first cell on 09/01/2015."""
    return make_referral(
        member,
        receiving_ward=tree.ward1,
        introduced_on=D(2015, 1, 1),
        received_on=D(2015, 1, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2015, 1, 9),
    )


# -- the database holds the chain, whatever writes -----------------------------------------------------------------


def test_a_new_member_has_one_home_since_admission(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    assert homes_of(member) == [(tree.cell.name, D(2010, 3, 1), None)]


def test_the_database_refuses_overlapping_periods(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    with pytest.raises(IntegrityError, match="member_home_chain"), transaction.atomic():
        MemberHome.objects.create(
            member=member, organisation=tree.cell, started_on=D(2009, 1, 1), ended_on=D(2011, 1, 1)
        )


def test_the_database_refuses_a_gap(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    MemberHome.objects.filter(member=member).update(ended_on=D(2012, 1, 1))
    with pytest.raises(IntegrityError, match="member_home_chain"), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(home_organisation=tree.grassroots_cell)
        MemberHome.objects.create(member=member, organisation=tree.grassroots_cell, started_on=D(2013, 1, 1))


def test_the_open_period_is_the_members_home(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    with pytest.raises(IntegrityError, match="member_home_current"), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(home_organisation=tree.grassroots_cell)
    with pytest.raises(IntegrityError, match="member_home_current"), transaction.atomic():
        MemberHome.objects.filter(member=member).update(ended_on=D(2012, 1, 1))
        MemberHome.objects.create(member=member, organisation=tree.grassroots_cell, started_on=D(2012, 1, 1))


def test_the_first_placement_starts_on_the_placement_day(tree):
    member = make_member(tree.cell)
    referral = placed_referral(tree, member)
    assert list(referral.placements.values_list("residential_cell", "started_on", "ended_on")) == [
        (tree.ward1_cell1.pk, D(2015, 1, 9), None)
    ]
    referral.placements.all().delete()
    with pytest.raises(IntegrityError, match="placement_cell"), transaction.atomic():
        Placement.objects.create(referral=referral, residential_cell=tree.ward1_cell1, started_on=D(2015, 1, 20))


def test_a_referral_placed_again_by_a_plain_save_keeps_one_period_in_step(tree):
    member = make_member(tree.cell)
    referral = placed_referral(tree, member)
    referral.residential_cell, referral.placed_on = tree.ward1_cell2, D(2015, 1, 12)
    referral.save()
    assert list(referral.placements.values_list("residential_cell", "started_on", "ended_on")) == [
        (tree.ward1_cell2.pk, D(2015, 1, 12), None)
    ]


def _steps_to_open(model, row: dict) -> int:
    """The SQLite virtual machine's instructions (in hundreds) to insert ``row`` of ``model``, its triggers included:
    the work of one insert, counted as a query count is."""
    steps = 0

    def count():
        nonlocal steps
        steps += 1
        return 0

    connection.ensure_connection()
    connection.connection.set_progress_handler(count, 100)
    try:
        model.objects.create(**row)
    finally:
        connection.connection.set_progress_handler(None, 100)
    return steps


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the plans of SQLite's triggers (PostgreSQL: plpgsql)")
@pytest.mark.parametrize("history", ["homes", "placements"])
def test_opening_a_period_reads_its_owners_periods_not_the_days(tree, history):
    """A reform ends thousands of homes and placements on one day and opens as many from it; each new period is
    checked against the periods of its member (or referral), however many others ended that day. Without statistics
    SQLite's planner took the index on ``ended_on`` for "a period ending the day this one starts": each insert read
    every period ended that day, and the demo's reform spent 4 of its 9 seconds there."""
    day = D(2020, 1, 1)

    def owners(count: int) -> list:
        members = [make_member(tree.cell, admitted_on=D(2010, 3, 1)) for _ in range(count)]
        if history == "homes":
            return members
        return [placed_referral(tree, member) for member in members]

    def end_on_the_day(owners: list) -> None:
        pks = [owner.pk for owner in owners]
        if history == "homes":
            MemberHome.objects.filter(member__in=pks).update(ended_on=day)
            Member.objects.filter(pk__in=pks).update(home_organisation=tree.grassroots_cell)
        else:
            Placement.objects.filter(referral__in=pks).update(ended_on=day)
            Referral.objects.filter(pk__in=pks).update(residential_cell=tree.ward1_cell2)

    def steps_to_open(owner) -> int:
        if history == "homes":
            row = {"member": owner, "organisation": tree.grassroots_cell, "started_on": day}
            return _steps_to_open(MemberHome, row)
        row = {"referral": owner, "residential_cell": tree.ward1_cell2, "started_on": day}
        return _steps_to_open(Placement, row)

    first, *others = owners(121)
    end_on_the_day([first])
    alone = steps_to_open(first)
    end_on_the_day(others[:-1])
    last = others[-1]
    end_on_the_day([last])
    assert steps_to_open(last) <= alone + 2, "each period ended on the day was read"


# -- the services write a transfer on a day ------------------------------------------------------------------------


def test_a_new_home_in_the_form_is_a_transfer_on_its_day(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    services.member_update(member=member, by=None, home_organisation=tree.grassroots_cell, home_since=D(2020, 6, 1))
    assert homes_of(member) == [
        (tree.cell.name, D(2010, 3, 1), D(2020, 6, 1)),
        (tree.grassroots_cell.name, D(2020, 6, 1), None),
    ]
    assert figures.headline(tree.committee, D(2020, 5, 31)).members == 1
    assert figures.headline(tree.committee, D(2020, 6, 1)).members == 0
    assert figures.headline(tree.grassroots_cell, D(2020, 6, 1)).members == 1


@pytest.mark.parametrize(
    ("home_since", "message"),
    [
        (D(2009, 1, 1), "trước"),  # before the admission
        (D(2099, 1, 1), "tương lai"),  # in the future
    ],
)
def test_a_transfer_day_outside_the_members_life_is_refused(tree, home_since, message):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    with pytest.raises(ValidationError) as caught:
        services.member_update(member=member, by=None, home_organisation=tree.grassroots_cell, home_since=home_since)
    assert "home_since" in caught.value.message_dict
    assert homes_of(member) == [(tree.cell.name, D(2010, 3, 1), None)]


def test_a_transfer_before_the_last_one_is_refused(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    services.member_update(member=member, by=None, home_organisation=tree.grassroots_cell, home_since=D(2020, 6, 1))
    with pytest.raises(ValidationError) as caught:
        services.member_update(member=member, by=None, home_organisation=tree.cell, home_since=D(2019, 1, 1))
    assert "home_since" in caught.value.message_dict


def test_a_transfer_on_the_day_of_the_last_one_corrects_it(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    services.member_update(member=member, by=None, home_organisation=tree.grassroots_cell, home_since=D(2020, 6, 1))
    services.member_update(member=member, by=None, home_organisation=tree.cell, home_since=D(2020, 6, 1))
    assert homes_of(member) == [(tree.cell.name, D(2010, 3, 1), None)]


def test_a_corrected_admission_moves_the_start_of_the_first_home(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    services.member_update(member=member, by=None, admitted_on=D(2009, 3, 1))
    assert homes_of(member) == [(tree.cell.name, D(2009, 3, 1), None)]


def test_retiring_into_a_residential_cell_keeps_the_member_eligible_before_that_day(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    services.member_retire(member=member, retired_on=D(2021, 4, 1), by=None, transfer_to=tree.ward1_cell1)
    before, after = figures.headline(tree.root, D(2021, 3, 31)), figures.headline(tree.root, D(2021, 4, 1))
    assert (before.members, before.eligible) == (1, 1)
    assert (after.members, after.eligible) == (1, 0)
    assert figures.headline(tree.committee, D(2021, 4, 1)).members == 0
    assert figures.headline(tree.ward1, D(2021, 4, 1)).members == 1
    assert figures.headline(tree.ward1, D(2021, 3, 31)).members == 0


# -- re-placement: the referral stays open, the past keeps its cell ------------------------------------------------


@pytest.fixture
def placed(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    return placed_referral(tree, member)


def test_a_re_placement_moves_the_member_from_its_day(tree, placed):
    errors = Errors()
    places.check_replacement(errors, placed, D(2020, 7, 1))
    assert not errors
    places.move_placement(referral=placed, residential_cell=tree.ward1_cell2, on=D(2020, 7, 1), by=None)
    placed.refresh_from_db()
    assert placed.residential_cell == tree.ward1_cell2 and placed.ended_on is None
    cells = {row.code: row for row in figures.by_ward_and_cell(tree.root, D(2020, 6, 30))}
    assert (cells[tree.ward1_cell1.code].placed, cells[tree.ward1_cell2.code].placed) == (1, 0)
    cells = {row.code: row for row in figures.by_ward_and_cell(tree.root, D(2020, 7, 1))}
    assert (cells[tree.ward1_cell1.code].placed, cells[tree.ward1_cell2.code].placed) == (0, 1)


def test_the_attendance_sheet_is_who_was_placed_in_the_cell_on_the_meeting_day(tree, placed):
    from members.selectors.meetings import on_sheet

    places.move_placement(referral=placed, residential_cell=tree.ward1_cell2, on=D(2020, 7, 1), by=None)
    assert list(on_sheet(tree.ward1_cell1, D(2020, 6, 30))) == [placed]
    assert list(on_sheet(tree.ward1_cell1, D(2020, 7, 1))) == []
    assert list(on_sheet(tree.ward1_cell2, D(2020, 7, 1))) == [placed]


@pytest.mark.parametrize("on", [D(2015, 1, 9), D(2015, 1, 1)])
def test_a_re_placement_on_or_before_the_current_placement_is_refused(tree, placed, on):
    errors = Errors()
    places.check_replacement(errors, placed, on)
    assert "placed_since" in errors


# -- the ward moves a placed member to another of its cells, in the browser's form ----------------------------------


def test_the_ward_moves_a_placed_member_to_another_cell_from_a_day(client, tree, placed):
    from django.urls import reverse

    from tests.factories import make_officer

    client.force_login(make_officer(tree.ward1))
    url = reverse("members:referral-replace", args=[placed.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert tree.ward1_cell2.name in page.content.decode() and tree.ward2_cell1.name not in page.content.decode()
    response = client.post(url, {"residential_cell": tree.ward1_cell2.pk, "replaced_on": "01/07/2020"})
    assert response.status_code == 302
    placed.refresh_from_db()
    assert placed.residential_cell == tree.ward1_cell2
    assert list(placed.placements.values_list("residential_cell", "started_on", "ended_on")) == [
        (tree.ward1_cell1.pk, D(2015, 1, 9), D(2020, 7, 1)),
        (tree.ward1_cell2.pk, D(2020, 7, 1), None),
    ]
    detail = client.get(reverse("members:referral-detail", args=[placed.pk])).content.decode()
    assert 'id="placement-history"' in detail


def test_a_move_to_a_cell_of_another_ward_is_refused_and_changes_nothing(tree, placed):
    with pytest.raises(ValidationError) as caught:
        services.referral_replace(
            referral=placed, residential_cell=tree.ward2_cell1, replaced_on=D(2020, 7, 1), by=None
        )
    assert "residential_cell" in caught.value.message_dict
    assert placed.placements.count() == 1


def test_another_ward_cannot_move_the_member(client, tree, placed):
    from django.urls import reverse

    from tests.factories import make_officer

    client.force_login(make_officer(tree.ward2))
    response = client.post(
        reverse("members:referral-replace", args=[placed.pk]),
        {"residential_cell": tree.ward2_cell1.pk, "replaced_on": "01/07/2020"},
    )
    assert response.status_code == 404
    assert placed.placements.count() == 1


# -- the ward of a referral on a day follows a merged ward's successor ----------------------------------------------


def test_an_unplaced_referral_counts_under_the_successor_of_its_merged_ward(client, tree):
    from django.urls import reverse

    from branches.models import Organisation
    from tests.factories import make_officer

    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    referral = make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2025, 5, 2), received_on=D(2025, 5, 9))
    Organisation.objects.filter(pk=tree.ward1.pk).update(valid_to=D(2025, 7, 1), successor=tree.ward2)

    before, after = D(2025, 6, 30), D(2025, 7, 1)
    assert figures.headline(tree.ward1, before).awaiting_placement == 1
    assert figures.headline(tree.ward2, before).awaiting_placement == 0
    assert figures.headline(tree.ward2, after).received == 1
    assert figures.headline(tree.ward1, after).received == 0
    assert figures.headline(tree.root, before).received == figures.headline(tree.root, after).received == 1

    client.force_login(make_officer(tree.ward2))
    assert client.get(reverse("members:referral-detail", args=[referral.pk])).status_code == 200
    assert client.get(reverse("members:referral-place", args=[referral.pk])).status_code == 200


def test_a_printed_letter_shows_the_names_and_the_home_of_its_day(client, tree, placed):
    from django.urls import reverse

    from branches.services import organisation_rename
    from tests.factories import make_officer

    old_ward, old_cell = tree.ward1.name, tree.ward1_cell1.name
    organisation_rename(organisation=tree.ward1, name="Đảng bộ phường Đông Hà", effective_on=D(2025, 7, 1), by=None)
    organisation_rename(organisation=tree.ward1_cell1, name="Chi bộ Khu phố 9", effective_on=D(2025, 7, 1), by=None)
    services.member_update(
        member=placed.member, by=None, home_organisation=tree.grassroots_cell, home_since=D(2020, 6, 1)
    )
    client.force_login(make_officer(tree.root))

    letter = client.get(reverse("members:referral-letter", args=[placed.pk])).content.decode()

    assert old_ward in letter and "phường Đông Hà" not in letter
    assert old_cell in letter and "Khu phố 9" not in letter
    assert tree.cell.name in letter  # the member's cell on the day of the letter, not today's


def test_a_tracking_book_of_a_past_year_shows_the_names_of_that_year(client, tree, placed):
    from django.urls import reverse

    from branches.services import organisation_rename
    from tests.factories import make_officer

    old_ward, old_cell = tree.ward1.name, tree.ward1_cell1.name
    organisation_rename(organisation=tree.ward1, name="Đảng bộ phường Đông Hà", effective_on=D(2025, 7, 1), by=None)
    organisation_rename(organisation=tree.ward1_cell1, name="Chi bộ Khu phố 9", effective_on=D(2025, 7, 1), by=None)
    client.force_login(make_officer(tree.ward1))

    book_2015 = client.get(reverse("members:tracking-book", args=[tree.ward1.pk, 2015])).content.decode()
    book_2026 = client.get(reverse("members:tracking-book", args=[tree.ward1.pk, 2026])).content.decode()

    heading = '<div class="text-uppercase fw-bold">{}</div>'
    assert heading.format(old_ward) in book_2015 and old_cell in book_2015 and "Khu phố 9" not in book_2015
    assert heading.format("Đảng bộ phường Đông Hà") in book_2026


def test_a_printed_comment_shows_the_names_of_the_day_it_was_written(client, tree, placed):
    from django.urls import reverse

    from branches.services import organisation_rename
    from members.models import ResidenceComment
    from tests.factories import make_officer

    comment = ResidenceComment.objects.create(
        member=placed.member, year=2024, residential_cell=tree.ward1_cell1, verdict="good", written_on=D(2024, 11, 10)
    )
    old_ward, old_cell = tree.ward1.name, tree.ward1_cell1.name
    organisation_rename(organisation=tree.ward1, name="Đảng bộ phường Đông Hà", effective_on=D(2025, 7, 1), by=None)
    organisation_rename(organisation=tree.ward1_cell1, name="Chi bộ Khu phố 9", effective_on=D(2025, 7, 1), by=None)
    client.force_login(make_officer(tree.root))

    sheet = client.get(reverse("members:comment-print", args=[comment.pk])).content.decode()

    assert old_ward.upper() in sheet and old_cell.upper() in sheet
    assert "KHU PHỐ 9" not in sheet and "Khu phố 9" not in sheet


def test_the_yearly_workbook_of_a_past_year_shows_the_names_of_that_year(tree, placed):
    import io

    from openpyxl import load_workbook

    from branches.services import organisation_rename
    from reports.workbook import write_workbook

    old_ward, old_cell = tree.ward1.name, tree.ward1_cell1.name
    organisation_rename(organisation=tree.ward1, name="Đảng bộ phường Đông Hà", effective_on=D(2025, 7, 1), by=None)
    organisation_rename(organisation=tree.ward1_cell1, name="Chi bộ Khu phố 9", effective_on=D(2025, 7, 1), by=None)
    target = io.BytesIO()
    write_workbook(tree.root, 2020, D(2020, 12, 31), target)

    text = " ".join(
        str(value)
        for sheet in load_workbook(io.BytesIO(target.getvalue()), read_only=True).worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )
    assert old_ward in text and old_cell in text
    assert "phường Đông Hà" not in text and "Khu phố 9" not in text


def test_received_from_outside_reads_the_members_home_of_the_day(tree, placed):
    """A member of the tree's committee received by a ward is from outside the ward, not from outside the city; once
    their home moves to an outside organisation, they are from outside the city too, from that day on."""
    services.member_update(member=placed.member, by=None, home_organisation=tree.outside, home_since=D(2021, 3, 1))
    before, after = D(2021, 2, 28), D(2021, 3, 1)
    assert (
        figures.headline(tree.root, before).received,
        figures.headline(tree.root, before).received_from_outside,
    ) == (
        1,
        0,
    )
    assert figures.headline(tree.root, after).received_from_outside == 1
    assert figures.headline(tree.ward1, before).received_from_outside == 1
    assert figures.headline(tree.committee, before).members == 1
    assert figures.headline(tree.committee, after).members == 0


@pytest.mark.parametrize("through", ["service", "page"])
def test_the_ward_that_took_over_places_a_member_still_waiting_at_the_merger(client, tree, through):
    """A referral addressed to a ward merged away before anyone placed the member: the successor places it in one of
    its own cells (the database accepts it), and it is the successor's cells that the form offers."""
    from django.urls import reverse

    from branches.models import Organisation
    from tests.factories import make_officer

    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    referral = make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2025, 5, 2), received_on=D(2025, 5, 9))
    Organisation.objects.filter(pk=tree.ward1.pk).update(valid_to=D(2025, 7, 1), successor=tree.ward2)
    if through == "service":
        services.referral_place(referral=referral, residential_cell=tree.ward2_cell1, placed_on=D(2025, 8, 1), by=None)
    else:
        client.force_login(make_officer(tree.ward2))
        url = reverse("members:referral-place", args=[referral.pk])
        page = client.get(url).content.decode()
        assert tree.ward2_cell1.name in page and tree.ward1_cell1.name not in page
        response = client.post(url, {"residential_cell": tree.ward2_cell1.pk, "placed_on": "01/08/2025"})
        assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.residential_cell == tree.ward2_cell1
    assert figures.headline(tree.ward2, D(2025, 8, 1)).received == 1


def test_a_cell_of_an_unrelated_ward_is_still_refused(tree):
    member = make_member(tree.cell, admitted_on=D(2010, 3, 1))
    referral = make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2025, 5, 2), received_on=D(2025, 5, 9))
    with pytest.raises(ValidationError) as caught:
        services.referral_place(referral=referral, residential_cell=tree.ward2_cell1, placed_on=D(2025, 8, 1), by=None)
    assert "residential_cell" in caught.value.message_dict
    with pytest.raises(IntegrityError, match="referral_cell_in_ward"), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(residential_cell=tree.ward2_cell1, placed_on=D(2025, 8, 1))
