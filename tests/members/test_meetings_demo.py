"""With the demo data, the cell pages show the half-years the demo's cells skipped and the irregular attendees it
seeded, and an attendance sheet holds the members placed in the cell that day. The expectations are computed here
with plain ORM queries and Python, independently of the selectors."""

import datetime
import re
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from branches.models import Organisation
from members.models import Attendance, Exemption, Meeting, Referral
from members.periods import HalfYear, half_years_between
from tests.conftest import DEMO_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

TODAY = DEMO_TODAY


@pytest.fixture(autouse=True)
def _demo_today(demo):
    """The pages' today is the day the demo data was built up to."""
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY):
        yield


def login(client, username):
    client.force_login(get_user_model().objects.get(username=username))


def exempt_on(member_id, day) -> bool:
    return any(
        e.started_on <= day and (e.ended_on is None or e.ended_on > day)
        for e in Exemption.objects.filter(member_id=member_id, kind=Exemption.Kind.ACTIVITIES)
    )


def placed_on(referral, day) -> bool:
    return (
        referral.introduced_on <= day
        and referral.placed_on is not None
        and referral.placed_on <= day
        and (referral.ended_on is None or referral.ended_on > day)
    )


def half_years_of(cell) -> list[HalfYear]:
    """The half-years from 2017 (or the cell's start) to today (or the cell's end, as in the 2025 reform)."""
    first = max(HalfYear(2017, 1), HalfYear.of(cell.valid_from))
    last = HalfYear.of(min(TODAY, cell.valid_to - datetime.timedelta(days=1))) if cell.valid_to else HalfYear.of(TODAY)
    return half_years_between(first, last)


def expected_missed_half_years(cell) -> list[HalfYear]:
    held = {
        HalfYear(year, half)
        for year, half in Meeting.objects.filter(residential_cell=cell, kind=Meeting.Kind.PERIODIC).values_list(
            "year", "half"
        )
    }
    return [h for h in half_years_of(cell) if h not in held and h.last_day < TODAY]


def expected_irregular(cell) -> set[str]:
    """Card numbers of the members placed in the cell today who were absent without reason, while expected, from a
    periodic meeting of the cell counting for this year and held by today."""
    cards = set()
    for referral in Referral.objects.filter(residential_cell=cell).select_related("member"):
        if not placed_on(referral, TODAY):
            continue
        absences = Attendance.objects.filter(
            member=referral.member,
            status=Attendance.Status.ABSENT,
            meeting__residential_cell=cell,
            meeting__kind=Meeting.Kind.PERIODIC,
            meeting__year=TODAY.year,
            meeting__held_on__lte=TODAY,
        ).select_related("meeting")
        for absence in absences:
            day = absence.meeting.held_on
            if placed_on(referral, day) and not exempt_on(referral.member_id, day):
                cards.add(referral.member.card_number)
    return cards


def shown_statuses(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-half-year="(\d{4}-\d)" data-status="(\w+)"', html))


def shown_irregular(html: str) -> set[str]:
    section = html.split('id="cell-irregular"')[1].split("</section>")[0]
    return set(re.findall(r'data-member="(\d+)"', section))


@pytest.mark.parametrize("username", ["khupho1", "phuong1", "thanhuy"])
def test_the_cell_page_of_p1_kp1_shows_the_demo_data(client, username):
    cell = Organisation.objects.get(code="DHA-KP1")  # P1-KP1 and P1-KP2 merged in the 2025 reform
    login(client, username)
    response = client.get(reverse("members:cell-detail", args=[cell.pk]))
    assert response.status_code == 200
    html = response.content.decode()

    statuses = shown_statuses(html)
    missed = {key for key, status in statuses.items() if status == "missed"}
    assert missed == {f"{h.year}-{h.half}" for h in expected_missed_half_years(cell)}
    assert len(statuses) == len(half_years_of(cell))

    irregular = expected_irregular(cell)
    assert irregular, "the demo seeds chronic absentees: DHA-KP1 has some this year"
    assert shown_irregular(html) == irregular
    # each with the workplace that introduced them, so that the ward can tell it
    for referral in response.context["irregular"]:
        assert referral.issuing_organisation.name in html


def test_the_weak_cells_show_their_missed_half_years(client):
    """The demo has four cells that often skip a half-year: the cells with the most missed half-years show them."""
    cells = list(Organisation.objects.filter(kind=Organisation.Kind.RESIDENTIAL_CELL))
    missed = {cell.pk: expected_missed_half_years(cell) for cell in cells}
    weakest = sorted(cells, key=lambda cell: -len(missed[cell.pk]))[:4]
    assert all(len(missed[cell.pk]) >= 2 for cell in weakest)
    login(client, "thanhuy")
    for cell in weakest:
        response = client.get(reverse("members:cell-detail", args=[cell.pk]))
        html = response.content.decode()
        shown = {key for key, status in shown_statuses(html).items() if status == "missed"}
        assert shown == {f"{h.year}-{h.half}" for h in missed[cell.pk]}, cell.code
        assert response.context["missed_half_years"] == len(missed[cell.pk])
        assert shown_irregular(html) == expected_irregular(cell), cell.code


def test_a_demo_attendance_sheet_holds_the_members_placed_that_day(client):
    cell = Organisation.objects.get(code="DHA-KP1")
    meeting = Meeting.objects.filter(residential_cell=cell, kind=Meeting.Kind.PERIODIC).order_by("-held_on").first()
    day = meeting.held_on
    on_sheet = {
        r.member.card_number: exempt_on(r.member_id, day)
        for r in Referral.objects.filter(residential_cell=cell).select_related("member")
        if placed_on(r, day)
    }
    login(client, "khupho1")
    response = client.get(reverse("members:meeting-detail", args=[meeting.pk]))
    assert response.status_code == 200
    assert {r.member.card_number for r in response.context["expected"]} == {c for c, ex in on_sheet.items() if not ex}
    assert {r.member.card_number for r in response.context["not_expected"]} == {c for c, ex in on_sheet.items() if ex}
    marks = Attendance.objects.filter(meeting=meeting)
    figures = response.context["figures"]
    assert figures.present == marks.filter(status=Attendance.Status.PRESENT).count()
    assert figures.absent == marks.filter(status=Attendance.Status.ABSENT).count()
    assert figures.excused == marks.filter(status=Attendance.Status.EXCUSED).count()
    assert figures.not_marked == 0  # the demo marked everyone expected
    # the ward of another cell sees nothing of it
    login(client, "phuong2")
    assert client.get(reverse("members:meeting-detail", args=[meeting.pk])).status_code == 404
