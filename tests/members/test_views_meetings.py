"""Meetings of residential cells and their attendance sheet through the test client: who is on the sheet, one tap per
member (htmx and plain POST), the refusals, who may record what, the cell page's half-years and irregular attendees,
and a constant number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from simple_history.manager import HistoryManager

from members import services
from members.forms.meetings import half_year_value, previous_half_year
from members.models import Attendance, Exemption, Meeting, Member, Referral
from members.periods import HalfYear
from members.selectors import HalfYearMeetings, meeting_figures
from tests.factories import make_member, make_officer, make_organisation, make_referral, member_fields

D = datetime.date
Status = Attendance.Status
HTMX = {"HTTP_HX_REQUEST": "true"}
MEETING_DAY = D(2025, 6, 20)

pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def people(tree):
    return {
        "city": make_officer(tree.root, role="staff"),
        "workplace": make_officer(tree.committee, role="staff"),
        "ward1": make_officer(tree.ward1),
        "ward1_viewer": make_officer(tree.ward1, role="viewer"),
        "ward2": make_officer(tree.ward2),
        "cell1": make_officer(tree.ward1_cell1),
        "cell2": make_officer(tree.ward1_cell2),
    }


def placed(tree, cell, *, ward=None, **fields):
    """A member of the committee's cell introduced, received and placed in ``cell`` (of ward 1 by default)."""
    member = fields.pop("member", None) or make_member(tree.cell)
    placed_on = fields.pop("placed_on", D(2024, 2, 15))
    return make_referral(
        member,
        receiving_ward=ward or tree.ward1,
        introduced_on=fields.pop("introduced_on", min(placed_on, D(2024, 2, 1))),
        received_on=fields.pop("received_on", placed_on),
        residential_cell=cell,
        placed_on=placed_on,
        **fields,
    )


def exempt(member, started_on, ended_on=None):
    return Exemption.objects.create(
        member=member, kind=Exemption.Kind.ACTIVITIES, reason="Công tác xa", started_on=started_on, ended_on=ended_on
    )


@pytest.fixture
def sheet(tree, people):
    """A periodic meeting of ward 1's first cell on 20/06/2025 and everyone who is, or is not, on its sheet."""
    name = lambda text: make_member(tree.cell, full_name=text)  # noqa: E731
    referrals = {
        "placed": placed(tree, tree.ward1_cell1, member=name("An Văn Đủ")),
        "placed_that_day": placed(tree, tree.ward1_cell1, member=name("Bùi Thị Kịp"), placed_on=MEETING_DAY),
        "placed_after": placed(tree, tree.ward1_cell1, member=name("Cao Văn Muộn"), placed_on=D(2025, 6, 21)),
        "ended_before": placed(
            tree,
            tree.ward1_cell1,
            member=name("Đỗ Văn Đi"),
            ended_on=D(2025, 6, 1),
            end_reason=Referral.EndReason.MOVED_RESIDENCE,
        ),
        "ended_that_day": placed(
            tree,
            tree.ward1_cell1,
            member=name("Hà Văn Chuyển"),
            ended_on=MEETING_DAY,
            end_reason=Referral.EndReason.MOVED_RESIDENCE,
        ),
        "ended_after": placed(
            tree,
            tree.ward1_cell1,
            member=name("Kiều Thị Sau"),
            ended_on=D(2025, 7, 1),
            end_reason=Referral.EndReason.MOVED_RESIDENCE,
        ),
        "other_cell": placed(tree, tree.ward1_cell2, member=name("Lâm Văn Khác")),
        "other_ward": placed(tree, tree.ward2_cell1, ward=tree.ward2, member=name("Mai Văn Xa")),
        "exempt": placed(tree, tree.ward1_cell1, member=name("Ngô Văn Miễn")),
        "exemption_lifted": placed(tree, tree.ward1_cell1, member=name("Phạm Thị Hết")),
    }
    exempt(referrals["exempt"].member, D(2025, 1, 1))
    exempt(referrals["exemption_lifted"].member, D(2024, 6, 1), D(2025, 3, 1))
    meeting = services.meeting_create(
        residential_cell=tree.ward1_cell1, held_on=MEETING_DAY, summary="Triển khai nghị quyết", by=people["cell1"]
    )
    return {"meeting": meeting, "referrals": referrals, "members": {k: r.member for k, r in referrals.items()}}


def sheet_url(meeting) -> str:
    return reverse("members:meeting-detail", args=[meeting.pk])


def mark_url(meeting, member) -> str:
    return reverse("members:attendance-mark", args=[meeting.pk, member.pk])


def create_url(cell) -> str:
    return reverse("members:meeting-create", args=[cell.pk])


def cell_url(cell) -> str:
    return reverse("members:cell-detail", args=[cell.pk])


def mark(client, meeting, member, status, *, htmx=True, **data):
    return client.post(mark_url(meeting, member), {"status": status, **data}, **(HTMX if htmx else {}))


def saved(meeting, member):
    return Attendance.objects.filter(meeting=meeting, member=member).values_list("status", "reason").first()


# -- the sheet ---------------------------------------------------------------------------------------------------------


def test_the_sheet_lists_exactly_the_members_placed_on_the_meeting_day(client, people, sheet):
    client.force_login(people["cell1"])
    response = client.get(sheet_url(sheet["meeting"]))
    assert response.status_code == 200
    expected = {row.member.pk for row in response.context["expected"]}
    not_expected = {row.member.pk for row in response.context["not_expected"]}
    members = sheet["members"]
    assert expected == {members[k].pk for k in ("placed", "placed_that_day", "ended_after", "exemption_lifted")}
    assert not_expected == {members["exempt"].pk}
    html = response.content.decode()
    for key in ("placed_after", "ended_before", "ended_that_day", "other_cell", "other_ward"):
        assert members[key].full_name not in html, key
        assert f'id="attendance-row-{members[key].pk}"' not in html
    for key in ("placed", "placed_that_day", "ended_after", "exemption_lifted", "exempt"):
        assert f'id="attendance-row-{members[key].pk}"' in html
    # exempt members are shown apart, still with the buttons (they may have come)
    section = html.split('id="attendance-not-expected"')[1]
    assert members["exempt"].full_name in section
    assert f'action="{mark_url(sheet["meeting"], members["exempt"])}"' in section
    assert response.context["figures"].expected == 4
    assert response.context["figures"].not_marked == 4


def test_viewers_read_the_sheet_without_buttons(client, people, sheet):
    services.attendance_record(
        meeting=sheet["meeting"], member=sheet["members"]["placed"], status=Status.PRESENT, by=people["cell1"]
    )
    client.force_login(people["ward1_viewer"])
    response = client.get(sheet_url(sheet["meeting"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert sheet["members"]["placed"].full_name in html
    assert "hx-post" not in html
    assert reverse("members:meeting-edit", args=[sheet["meeting"].pk]) not in html
    assert response.context["figures"].present == 1


# -- one tap per member ------------------------------------------------------------------------------------------------


def test_a_tap_with_htmx_saves_and_returns_the_line_and_the_counts(client, people, sheet):
    meeting, member = sheet["meeting"], sheet["members"]["placed"]
    client.force_login(people["cell1"])
    response = mark(client, meeting, member, Status.PRESENT)
    assert response.status_code == 200
    assert response.templates[0].name == "members/attendance_row_response.html"
    html = response.content.decode()
    assert html.lstrip().startswith(f'<div class="list-group-item attendance-row py-3" id="attendance-row-{member.pk}"')
    assert 'data-status="present"' in html
    assert 'id="attendance-summary"' in html and 'hx-swap-oob="true"' in html
    assert 'data-present="1"' in html and 'data-not-marked="3"' in html
    assert "<html" not in html
    assert saved(meeting, member) == (Status.PRESENT, "")
    # corrected afterwards on the same sheet; every change is in the history, with who made it
    response = mark(client, meeting, member, Status.ABSENT)
    assert 'data-status="absent"' in response.content.decode()
    assert saved(meeting, member) == (Status.ABSENT, "")
    history = Attendance.objects.get(meeting=meeting, member=member).history.order_by("history_date")
    assert [(h.status, h.history_user) for h in history] == [
        (Status.PRESENT, people["cell1"]),
        (Status.ABSENT, people["cell1"]),
    ]
    # the same tap again changes nothing and adds no history
    mark(client, meeting, member, Status.ABSENT)
    assert Attendance.objects.get(meeting=meeting, member=member).history.count() == 2
    page = client.get(sheet_url(meeting)).content.decode()
    assert member.full_name in page.split('id="attendance-changes"')[1]


def test_a_tap_without_javascript_comes_back_to_the_sheet(client, people, sheet):
    meeting, member = sheet["meeting"], sheet["members"]["placed"]
    client.force_login(people["cell1"])
    response = mark(client, meeting, member, Status.PRESENT, htmx=False)
    assert response.status_code == 302
    assert response.url == f"{sheet_url(meeting)}#attendance-row-{member.pk}"
    assert saved(meeting, member) == (Status.PRESENT, "")


def test_an_excused_absence_needs_a_reason(client, people, sheet):
    meeting, member = sheet["meeting"], sheet["members"]["placed"]
    client.force_login(people["cell1"])
    # the tap asks for the reason: nothing is saved yet
    response = mark(client, meeting, member, Status.EXCUSED)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="reason-{member.pk}"' in html and 'list="excuse-reasons"' in html
    assert "is-invalid" not in html
    assert saved(meeting, member) is None
    # saving without a reason: refused in the line, in Vietnamese, nothing saved
    response = mark(client, meeting, member, Status.EXCUSED, reason="   ")
    html = response.content.decode()
    assert "Ghi lý do vắng mặt." in html
    assert "is-invalid" in html
    assert saved(meeting, member) is None
    assert Attendance.history.filter(member_id=member.pk).count() == 0
    # with a reason: saved
    response = mark(client, meeting, member, Status.EXCUSED, reason="Ốm đau")
    assert 'data-status="excused"' in response.content.decode()
    assert "Ốm đau" in response.content.decode()
    assert saved(meeting, member) == (Status.EXCUSED, "Ốm đau")
    # a later tap on "present" clears the reason
    mark(client, meeting, member, Status.PRESENT)
    assert saved(meeting, member) == (Status.PRESENT, "")


def test_cancel_the_reason_box_shows_the_line_as_saved(client, people, sheet):
    meeting, member = sheet["meeting"], sheet["members"]["placed"]
    client.force_login(people["cell1"])
    mark(client, meeting, member, Status.ABSENT)
    html = mark(client, meeting, member, Status.EXCUSED).content.decode()
    assert f'hx-get="{mark_url(meeting, member)}"' in html
    response = client.get(mark_url(meeting, member), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-status="absent"' in html and f'id="reason-{member.pk}"' not in html
    assert saved(meeting, member) == (Status.ABSENT, "")
    # a member not on the sheet has no line
    assert client.get(mark_url(meeting, sheet["members"]["placed_after"]), **HTMX).status_code == 404


def test_an_excused_absence_without_javascript(client, people, sheet):
    meeting, member = sheet["meeting"], sheet["members"]["placed"]
    client.force_login(people["cell1"])
    response = mark(client, meeting, member, Status.EXCUSED, htmx=False)
    assert response.status_code == 302
    assert response.url == f"{sheet_url(meeting)}?reason_for={member.pk}#attendance-row-{member.pk}"
    page = client.get(response.url).content.decode()
    assert f'id="reason-{member.pk}"' in page
    response = mark(client, meeting, member, Status.EXCUSED, htmx=False, reason="")
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "Ghi lý do vắng mặt." in page
    assert saved(meeting, member) is None
    mark(client, meeting, member, Status.EXCUSED, htmx=False, reason="Việc gia đình")
    assert saved(meeting, member) == (Status.EXCUSED, "Việc gia đình")


@pytest.mark.parametrize("key", ["placed_after", "ended_before", "other_cell"])
def test_attendance_of_a_member_not_on_the_sheet_is_refused(client, people, sheet, key):
    """The ward sees these members (their referrals are addressed to it), so the refusal is the service's message."""
    meeting, member = sheet["meeting"], sheet["members"][key]
    client.force_login(people["ward1"])
    response = mark(client, meeting, member, Status.PRESENT)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#attendance-alert"
    assert "không được phân công về" in response.content.decode()
    response = mark(client, meeting, member, Status.PRESENT, htmx=False)
    assert response.status_code == 302
    assert "không được phân công về" in client.get(response.url).content.decode()
    assert saved(meeting, member) is None


def test_a_cell_secretary_cannot_mark_a_member_of_another_cell(client, people, sheet):
    client.force_login(people["cell1"])
    response = mark(client, sheet["meeting"], sheet["members"]["other_ward"], Status.PRESENT)
    assert response.status_code == 404
    assert saved(sheet["meeting"], sheet["members"]["other_ward"]) is None


def test_an_unknown_status_is_refused(client, people, sheet):
    meeting, member = sheet["meeting"], sheet["members"]["placed"]
    client.force_login(people["cell1"])
    response = mark(client, meeting, member, "late")
    assert response.status_code == 200
    assert 'id="attendance-row-' in response.content.decode()
    assert saved(meeting, member) is None


# -- recording a meeting -----------------------------------------------------------------------------------------------


def test_record_a_meeting_then_go_to_its_sheet(client, tree, people):
    client.force_login(people["cell1"])
    response = client.get(create_url(tree.ward1_cell1))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["held_on"].value() == today()
    current = HalfYear.of(today())
    assert [value for value, _label in form.fields["half_year"].choices] == [
        half_year_value(current),
        half_year_value(previous_half_year(current)),
    ]
    assert form["half_year"].value() == half_year_value(current)
    assert str(current) in response.content.decode()  # labelled "6 tháng đầu/cuối năm …"
    response = client.post(
        create_url(tree.ward1_cell1),
        {
            "held_on": today().strftime("%d/%m/%Y"),
            "kind": Meeting.Kind.AD_HOC,
            "half_year": half_year_value(current),
            "summary": "Họp bàn công tác phòng chống bão lụt",
        },
    )
    meeting = Meeting.objects.get(residential_cell=tree.ward1_cell1)
    assert response.status_code == 302
    assert response.url == sheet_url(meeting)
    assert (meeting.held_on, meeting.kind, meeting.half_year) == (today(), Meeting.Kind.AD_HOC, current)
    assert meeting.recorded_by == people["cell1"]
    assert meeting.history.get().history_user == people["cell1"]


def test_a_late_meeting_makes_up_for_the_previous_half_year(client, tree, people):
    client.force_login(people["cell1"])
    held_on = D(2025, 7, 10)
    response = client.post(
        create_url(tree.ward1_cell1),
        {"held_on": "10/07/2025", "kind": Meeting.Kind.PERIODIC, "half_year": "2025-1", "summary": ""},
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get(residential_cell=tree.ward1_cell1)
    assert (meeting.held_on, meeting.half_year) == (held_on, HalfYear(2025, 1))


def test_half_year_choices_follow_the_date(client, tree, people):
    client.force_login(people["cell1"])
    # the htmx refresh of the choices when the date changes
    response = client.get(create_url(tree.ward1_cell1), {"held_on": "03/02/2025"}, **HTMX)
    assert [v for v, _label in response.context["form"].fields["half_year"].choices] == ["2025-1", "2024-2"]
    assert 'id="div_id_half_year"' in response.content.decode()
    # a half-year that is neither the date's nor the one before: refused, nothing saved
    response = client.post(
        create_url(tree.ward1_cell1),
        {"held_on": "03/02/2025", "kind": Meeting.Kind.PERIODIC, "half_year": "2024-1", "summary": ""},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["half_year"]
    assert not Meeting.objects.exists()


def test_a_meeting_in_the_future_is_refused(client, tree, people):
    client.force_login(people["cell1"])
    tomorrow = today() + datetime.timedelta(days=1)
    response = client.post(
        create_url(tree.ward1_cell1),
        {
            "held_on": tomorrow.strftime("%d/%m/%Y"),
            "kind": Meeting.Kind.PERIODIC,
            "half_year": half_year_value(HalfYear.of(tomorrow)),
            "summary": "",
        },
    )
    assert response.status_code == 200
    assert "chưa đến" in str(response.context["form"].errors["held_on"])
    assert not Meeting.objects.exists()


def test_a_meeting_before_the_cell_existed_is_refused(client, tree, people):
    cell = make_organisation(kind="residential_cell", parent=tree.ward1, valid_from=D(2025, 7, 1))
    client.force_login(people["ward1"])
    response = client.post(
        create_url(cell), {"held_on": "20/06/2025", "kind": "periodic", "half_year": "2025-1", "summary": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["held_on"]
    assert not Meeting.objects.exists()


def test_the_ward_secretary_records_for_every_cell_of_the_ward(client, tree, people):
    client.force_login(people["ward1"])
    for cell in (tree.ward1_cell1, tree.ward1_cell2):
        response = client.post(
            create_url(cell),
            {"held_on": "20/06/2025", "kind": "periodic", "half_year": "2025-1", "summary": "Định kỳ"},
        )
        assert response.status_code == 302
        meeting = Meeting.objects.get(residential_cell=cell)
        member = placed(tree, cell, member=make_member(tree.cell)).member
        response = mark(client, meeting, member, Status.PRESENT)
        assert response.status_code == 200
        assert saved(meeting, member) == (Status.PRESENT, "")
    assert client.get(create_url(tree.ward2_cell1)).status_code == 404


def test_city_staff_record_for_any_cell(client, tree, people):
    client.force_login(people["city"])
    assert client.get(create_url(tree.ward2_cell2)).status_code == 200


@pytest.mark.parametrize("role", ["cell2", "workplace", "ward2", "ward1_viewer"])
def test_out_of_scope_writes_answer_404(client, tree, people, sheet, role):
    meeting, member = sheet["meeting"], sheet["members"]["placed"]
    client.force_login(people[role])
    assert client.get(create_url(tree.ward1_cell1)).status_code == 404
    assert client.post(create_url(tree.ward1_cell1), {"held_on": "20/06/2025"}).status_code == 404
    assert mark(client, meeting, member, Status.PRESENT).status_code == 404
    assert client.get(mark_url(meeting, member), **HTMX).status_code == 404
    assert client.get(reverse("members:meeting-edit", args=[meeting.pk])).status_code == 404
    assert saved(meeting, member) is None
    assert Meeting.objects.count() == 1


@pytest.mark.parametrize("role", ["cell2", "workplace", "ward2"])
def test_the_sheet_is_not_shown_out_of_scope(client, people, sheet, role):
    client.force_login(people[role])
    assert client.get(sheet_url(sheet["meeting"])).status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, tree, sheet):
    for url in (sheet_url(sheet["meeting"]), create_url(tree.ward1_cell1)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response.url


# -- editing a meeting -------------------------------------------------------------------------------------------------


def edit(client, meeting, **data):
    values = {"held_on": "20/06/2025", "kind": "periodic", "half_year": "2025-1", "summary": meeting.summary}
    values.update(data)
    return client.post(reverse("members:meeting-edit", args=[meeting.pk]), values)


def test_edit_a_meeting(client, people, sheet):
    meeting = sheet["meeting"]
    client.force_login(people["ward1"])
    response = client.get(reverse("members:meeting-edit", args=[meeting.pk]))
    assert response.context["form"]["held_on"].value() == MEETING_DAY
    assert edit(client, meeting).status_code == 302  # saved unchanged: no new history record
    assert meeting.history.count() == 1
    response = edit(client, meeting, held_on="25/06/2025", summary="Sửa nội dung", kind="ad_hoc")
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.held_on, meeting.kind, meeting.summary) == (D(2025, 6, 25), "ad_hoc", "Sửa nội dung")
    assert meeting.history.count() == 2
    assert meeting.history.first().history_user == people["ward1"]


def test_a_new_date_cannot_leave_out_members_whose_attendance_is_recorded(client, people, sheet):
    meeting, member = sheet["meeting"], sheet["members"]["placed_that_day"]  # placed on 20/06/2025
    services.attendance_record(meeting=meeting, member=member, status=Status.PRESENT, by=people["cell1"])
    client.force_login(people["cell1"])
    response = edit(client, meeting, held_on="19/06/2025")
    assert response.status_code == 200
    error = str(response.context["form"].errors["held_on"])
    assert member.full_name in error
    meeting.refresh_from_db()
    assert meeting.held_on == MEETING_DAY
    # a date on which everyone marked was placed is fine
    assert edit(client, meeting, held_on="28/06/2025").status_code == 302
    meeting.refresh_from_db()
    assert meeting.held_on == D(2025, 6, 28)


# -- query counts ------------------------------------------------------------------------------------------------------


def add_placed(tree, meeting, count: int) -> None:
    """``count`` members placed in ward 1's first cell before the meeting, every third marked, every seventh exempt."""
    members = Member.objects.bulk_create(
        [Member(**member_fields(tree.cell), search_name=f"bulk {i}") for i in range(count)]
    )
    Referral.objects.bulk_create(
        [
            Referral(
                member=member,
                issuing_organisation=tree.committee,
                receiving_ward=tree.ward1,
                introduced_on=D(2024, 1, 2),
                received_on=D(2024, 1, 10),
                residential_cell=tree.ward1_cell1,
                placed_on=D(2024, 1, 20),
            )
            for member in members
        ]
    )
    Exemption.objects.bulk_create(
        [
            Exemption(member=member, kind=Exemption.Kind.ACTIVITIES, reason="x", started_on=D(2024, 3, 1))
            for member in members[::7]
        ]
    )
    statuses = [Status.PRESENT, Status.ABSENT, Status.EXCUSED]
    Attendance.objects.bulk_create(
        [
            Attendance(meeting=meeting, member=member, status=statuses[i % 3], reason="Ốm" if i % 3 == 2 else "")
            for i, member in enumerate(members[::3])
        ]
    )


def count_queries(client, url, **extra) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("role", ["city", "ward1", "cell1"])
def test_the_sheet_and_the_cell_page_run_a_constant_number_of_queries(client, tree, people, role):
    meeting = services.meeting_create(residential_cell=tree.ward1_cell1, held_on=MEETING_DAY, by=None)
    services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2024, 12, 1), by=None)
    client.force_login(people[role])
    add_placed(tree, meeting, 10)
    few_sheet, _response = count_queries(client, sheet_url(meeting))
    few_cell, _response = count_queries(client, cell_url(tree.ward1_cell1))
    few_mark = len_mark_queries(client, meeting, Member.objects.filter(search_name="bulk 1").get())
    add_placed(tree, meeting, 190)
    many_sheet, response = count_queries(client, sheet_url(meeting))
    assert len(response.context["expected"]) + len(response.context["not_expected"]) == 200
    many_cell, _response = count_queries(client, cell_url(tree.ward1_cell1))
    many_mark = len_mark_queries(client, meeting, Member.objects.filter(search_name="bulk 2").first())
    assert (few_sheet, few_cell, few_mark) == (many_sheet, many_cell, many_mark)
    assert few_sheet <= 10
    assert few_cell <= 12


def len_mark_queries(client, meeting, member) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = mark(client, meeting, member, Status.PRESENT)
    assert response.status_code == 200
    return len(queries)


# -- the cell page -----------------------------------------------------------------------------------------------------


def test_the_cell_page_shows_its_half_years(client, tree, people):
    """From the cell's creation: held on time, held late (made up in the next half-year), missed, not yet held."""
    current = HalfYear.of(today())
    prev = previous_half_year(current)
    prev2 = previous_half_year(prev)
    prev3 = previous_half_year(prev2)
    cell = make_organisation(kind="residential_cell", parent=tree.ward1, valid_from=prev3.first_day)
    late = services.meeting_create(
        residential_cell=cell, held_on=prev2.first_day + datetime.timedelta(days=5), half_year=prev3, by=None
    )
    on_time = services.meeting_create(residential_cell=cell, held_on=prev2.last_day, by=None)
    ad_hoc = services.meeting_create(
        residential_cell=cell, held_on=prev.first_day, kind=Meeting.Kind.AD_HOC, by=None, summary="Bão"
    )
    members = [placed(tree, cell, placed_on=prev3.first_day).member for _ in range(4)]
    for member, status in zip(members, [Status.PRESENT, Status.PRESENT, Status.PRESENT, Status.ABSENT], strict=True):
        services.attendance_record(meeting=on_time, member=member, status=status, by=None)
    client.force_login(people["ward1"])
    response = client.get(cell_url(cell))
    statuses = [(entry.half_year, entry.status) for entry in response.context["half_years"]]
    assert statuses == [
        (current, HalfYearMeetings.Status.NOT_YET_HELD),
        (prev, HalfYearMeetings.Status.MISSED),
        (prev2, HalfYearMeetings.Status.ON_TIME),
        (prev3, HalfYearMeetings.Status.LATE),
    ]
    assert response.context["missed_half_years"] == 1
    html = response.content.decode()
    assert f'data-half-year="{half_year_value(prev)}" data-status="missed"' in html
    section = html.split('id="cell-meetings"')[1].split("</section>")[0]
    for meeting in (late, on_time, ad_hoc):
        assert sheet_url(meeting) in section
    assert "3/4" in section and "75%" in section  # the attendance rate of the on-time meeting
    # the page's main action comes before every section (a phone shows it in the first screen)
    assert reverse("members:meeting-create", args=[cell.pk]) in html.split('id="cell-meetings"')[0]
    # readers get no button
    client.force_login(people["ward1_viewer"])
    assert reverse("members:meeting-create", args=[cell.pk]) not in client.get(cell_url(cell)).content.decode()


def test_the_cell_page_starts_in_2017(client, tree, people):
    client.force_login(people["cell1"])
    response = client.get(cell_url(tree.ward1_cell1))
    half_years = [entry.half_year for entry in response.context["half_years"]]
    assert half_years[-1] == HalfYear(2017, 1)
    assert half_years[0] == HalfYear.of(today())
    assert response.context["missed_half_years"] == len(half_years) - 1  # no meeting at all: all missed but today's


def test_irregular_attendees_of_the_year(client, tree, people):
    """Absent without reason from a periodic meeting of this year counts; excused, an ad hoc meeting, last year's
    meeting, not expected (exempt), or no longer placed do not."""
    year_start = D(today().year, 1, 1)
    cell = tree.ward1_cell2
    workplace = make_organisation(kind="committee", parent=tree.root, name="Đảng bộ Công ty Điện lực")
    home = make_organisation(kind="cell", parent=workplace)

    def member(name, **fields):
        return placed(tree, cell, member=make_member(home, full_name=name), placed_on=D(2024, 1, 10), **fields)

    referrals = {
        "absent": member("Trương Văn Vắng"),
        "excused": member("Lê Thị Phép"),
        "present": member("Võ Văn Đến"),
        "ad_hoc_only": member("Hồ Văn Đột"),
        "last_year": member("Tạ Văn Cũ"),
        "exempt": member("Ngô Văn Miễn"),
        "gone": member("Đinh Văn Đi"),
    }
    exempt(referrals["exempt"].member, D(2023, 1, 1))
    periodic = services.meeting_create(residential_cell=cell, held_on=year_start, by=None)
    ad_hoc = services.meeting_create(residential_cell=cell, held_on=year_start, kind=Meeting.Kind.AD_HOC, by=None)
    last_year = services.meeting_create(
        residential_cell=cell, held_on=D(today().year - 1, 12, 20), by=None, half_year=HalfYear(today().year - 1, 2)
    )
    marks = [
        (periodic, "absent", Status.ABSENT, ""),
        (periodic, "excused", Status.EXCUSED, "Đi công tác"),
        (periodic, "present", Status.PRESENT, ""),
        (ad_hoc, "ad_hoc_only", Status.ABSENT, ""),
        (periodic, "ad_hoc_only", Status.PRESENT, ""),
        (last_year, "last_year", Status.ABSENT, ""),
        (periodic, "exempt", Status.ABSENT, ""),
        (periodic, "gone", Status.ABSENT, ""),
    ]
    for meeting, key, status, reason in marks:
        services.attendance_record(meeting=meeting, member=referrals[key].member, status=status, reason=reason, by=None)
    Referral.objects.filter(pk=referrals["gone"].pk).update(
        ended_on=today(),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    client.force_login(people["ward1"])
    response = client.get(cell_url(cell))
    irregular = response.context["irregular"]
    assert [r.member.full_name for r in irregular] == ["Trương Văn Vắng"]
    assert (irregular[0].missed_meetings, irregular[0].last_missed_on) == (1, year_start)
    section = response.content.decode().split('id="cell-irregular"')[1].split("</section>")[0]
    assert "Trương Văn Vắng" in section and "Đảng bộ Công ty Điện lực" in section
    assert "Lê Thị Phép" not in section


# -- "all present", then the exceptions --------------------------------------------------------------------------------


def all_present_url(meeting) -> str:
    return reverse("members:attendance-all-present", args=[meeting.pk])


def message_levels(response) -> list[str]:
    return [message.level_tag for message in response.context["messages"]]


def test_all_present_marks_every_unmarked_expected_member_in_one_request(client, people, sheet):
    meeting, members = sheet["meeting"], sheet["members"]
    services.attendance_record(meeting=meeting, member=members["placed"], status=Status.ABSENT, by=people["ward1"])
    services.attendance_record(
        meeting=meeting, member=members["ended_after"], status=Status.EXCUSED, reason="Ốm", by=people["ward1"]
    )
    client.force_login(people["cell1"])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(all_present_url(meeting))
    assert response.status_code == 302
    assert response.url == sheet_url(meeting)
    # already marked: kept, with their single history record
    assert saved(meeting, members["placed"]) == (Status.ABSENT, "")
    assert saved(meeting, members["ended_after"]) == (Status.EXCUSED, "Ốm")
    for key in ("placed", "ended_after"):
        assert Attendance.objects.get(meeting=meeting, member=members[key]).history.count() == 1
    # the unmarked expected members: present, one history record each, by whoever pressed the button
    for key in ("placed_that_day", "exemption_lifted"):
        assert saved(meeting, members[key]) == (Status.PRESENT, ""), key
        history = list(Attendance.objects.get(meeting=meeting, member=members[key]).history.all())
        assert [(h.history_type, h.status, h.history_user) for h in history] == [("+", "present", people["cell1"])]
    # the exempt member is not expected: "all present" leaves them for a tap of their own
    assert saved(meeting, members["exempt"]) is None
    assert Attendance.objects.filter(meeting=meeting).count() == 4
    assert Attendance.history.filter(meeting_id=meeting.pk).count() == 4
    # one request: no query per member
    assert sum("INSERT" in q["sql"] for q in queries.captured_queries) == 2  # the marks and their history
    page = client.get(response.url)
    assert message_levels(page) == ["success"]
    figures = page.context["figures"]
    assert (figures.present, figures.excused, figures.absent, figures.not_marked) == (2, 1, 1, 0)
    assert 'data-not-marked="0"' in page.content.decode()


def test_all_present_twice_changes_nothing_and_says_so(client, people, sheet):
    meeting = sheet["meeting"]
    client.force_login(people["cell1"])
    client.post(all_present_url(meeting), follow=True)
    marks = list(Attendance.objects.filter(meeting=meeting).values_list("member", "status", "reason"))
    history = Attendance.history.filter(meeting_id=meeting.pk).count()
    response = client.post(all_present_url(meeting), follow=True)
    assert response.status_code == 200
    assert message_levels(response) == ["info"]
    assert list(Attendance.objects.filter(meeting=meeting).values_list("member", "status", "reason")) == marks
    assert Attendance.history.filter(meeting_id=meeting.pk).count() == history
    assert services.attendance_all_present(meeting=meeting, by=people["cell1"]) == []


def test_all_present_is_all_or_nothing(client, people, sheet, monkeypatch):
    meeting = sheet["meeting"]

    def broken(*args, **kwargs):
        raise RuntimeError("the history could not be written")

    monkeypatch.setattr(HistoryManager, "bulk_history_create", broken)
    with pytest.raises(RuntimeError):
        services.attendance_all_present(meeting=meeting, by=people["cell1"])
    assert not Attendance.objects.filter(meeting=meeting).exists()


def test_all_present_after_which_each_exception_is_one_tap(client, people, sheet):
    meeting, members = sheet["meeting"], sheet["members"]
    client.force_login(people["cell1"])
    client.post(all_present_url(meeting))
    response = mark(client, meeting, members["placed"], Status.ABSENT)
    assert 'data-absent="1"' in response.content.decode() and 'data-present="3"' in response.content.decode()
    # excused: one tap on a suggested reason saves it (the box offers the usual reasons as buttons)
    asked = mark(client, meeting, members["placed_that_day"], Status.EXCUSED).content.decode()
    assert 'name="reason" value="' in asked and "attendance-reason-choice" in asked
    response = mark(client, meeting, members["placed_that_day"], Status.EXCUSED, reason="Ốm")
    html = response.content.decode()
    assert 'data-excused="1"' in html and 'data-present="2"' in html and 'data-not-marked="0"' in html


def test_the_sheet_offers_all_present_while_someone_is_unmarked(client, people, sheet):
    meeting = sheet["meeting"]
    client.force_login(people["cell1"])
    html = client.get(sheet_url(meeting)).content.decode()
    assert f'action="{all_present_url(meeting)}"' in html
    assert 'id="attendance-all-present"' in html
    client.post(all_present_url(meeting))
    html = client.get(sheet_url(meeting)).content.decode()
    assert 'id="attendance-all-present"' not in html  # nobody left to mark
    client.force_login(people["ward1_viewer"])
    client.get(sheet_url(meeting))
    assert all_present_url(meeting) not in client.get(sheet_url(meeting)).content.decode()


@pytest.mark.parametrize("role", ["ward1", "city"])
def test_the_ward_and_the_city_may_mark_all_present(client, people, sheet, role):
    client.force_login(people[role])
    assert client.post(all_present_url(sheet["meeting"])).status_code == 302
    assert Attendance.objects.filter(meeting=sheet["meeting"]).count() == 4
    assert Attendance.history.filter(history_user=people[role]).count() == 4


@pytest.mark.parametrize("role", ["cell2", "workplace", "ward2", "ward1_viewer"])
def test_all_present_out_of_scope_answers_404(client, people, sheet, role):
    client.force_login(people[role])
    assert client.post(all_present_url(sheet["meeting"])).status_code == 404
    assert not Attendance.objects.exists()


def test_all_present_is_post_only_and_needs_a_login(client, people, sheet):
    url = all_present_url(sheet["meeting"])
    assert "/accounts/login/" in client.post(url).url
    client.force_login(people["cell1"])
    assert client.get(url).status_code == 405
    assert not Attendance.objects.exists()


@pytest.mark.parametrize("role", ["ward1", "cell1"])
def test_all_present_runs_a_constant_number_of_queries(client, tree, people, role):
    client.force_login(people[role])
    counts = []
    for count in (10, 80):
        meeting = services.meeting_create(
            residential_cell=tree.ward1_cell1, held_on=MEETING_DAY - datetime.timedelta(days=count), by=None
        )
        add_placed(tree, meeting, count)
        with CaptureQueriesContext(connection) as queries:
            response = client.post(all_present_url(meeting))
        assert response.status_code == 302
        counts.append(len(queries))
        assert meeting_figures(meeting).not_marked == 0
    assert counts[0] == counts[1]
    assert counts[1] <= 12
