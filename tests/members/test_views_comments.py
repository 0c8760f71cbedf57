"""The yearly residence comments and the year-end rating input through the test client: who is due, the states both
sides see, who writes, sends, receives and rates, every refusal (with its message and nothing saved), printing, and
a constant number of queries.

The year looked at is 2025 (its deadline, 30/11/2025, has passed whatever day the tests run), unless a test is about
the current year.
"""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext, override

from members import services
from members.models import (
    Attendance,
    CommentRound,
    Exemption,
    Meeting,
    Member,
    Referral,
    ResidenceComment,
    YearEndRating,
)
from tests.factories import make_member, make_officer, make_referral, member_fields

D = datetime.date
YEAR = 2025
DEADLINE = D(2025, 11, 30)

pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


def dmy(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def _(message: str) -> str:
    """A message as the Vietnamese page shows it (escaped like the template does)."""
    with override("vi"):
        return escape(gettext(message))


def list_url(year: int = YEAR, **query) -> str:
    url = reverse("members:comment-list", args=[year])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def write_url(member, year: int = YEAR) -> str:
    return reverse("members:comment-write", args=[year, member.pk])


def comment_url(name: str, comment) -> str:
    return reverse(f"members:comment-{name}", args=[comment.pk])


def rating_url(member, year: int = YEAR) -> str:
    return reverse("members:rating-record", args=[year, member.pk])


@pytest.fixture
def people(tree):
    return {
        "city": make_officer(tree.root, role="staff"),
        "city_viewer": make_officer(tree.root, role="viewer"),
        "workplace": make_officer(tree.committee, role="staff"),
        "school": make_officer(tree.grassroots_cell, role="secretary"),
        "ward1": make_officer(tree.ward1),
        "ward1_viewer": make_officer(tree.ward1, role="viewer"),
        "ward2": make_officer(tree.ward2),
        "cell1": make_officer(tree.ward1_cell1),
        "cell2": make_officer(tree.ward1_cell2),
    }


def placed(cell, *, member=None, home=None, placed_on=None, **fields):
    """``member`` (or a new member of ``home``) introduced, received and placed in ``cell`` (on 15/02/2025)."""
    member = member or make_member(home)
    placed_on = placed_on or D(2025, 2, 15)
    fields.setdefault("introduced_on", min(D(2025, 2, 1), placed_on))
    fields.setdefault("received_on", fields["introduced_on"])
    return make_referral(member, receiving_ward=cell.parent, residential_cell=cell, placed_on=placed_on, **fields)


def comment(referral, *, year=YEAR, written_on=None, sent_on=None, received_on=None, verdict="good"):
    return ResidenceComment.objects.create(
        member=referral.member,
        year=year,
        residential_cell=referral.residential_cell,
        verdict=verdict,
        written_on=written_on or D(2025, 11, 10),
        sent_on=sent_on,
        received_on=received_on,
    )


@pytest.fixture
def round2025(tree):
    """Ward 1's cells in 2025, a member in every situation (by name); ward 2 has one member of the school."""
    cell1, cell2 = tree.ward1_cell1, tree.ward1_cell2

    def mk(name, home=tree.cell):
        return make_member(home, full_name=name)

    exempt = mk("Hồ Văn Miễn")
    Exemption.objects.create(member=exempt, kind=Exemption.Kind.ACTIVITIES, reason="Học tập", started_on=D(2025, 6, 1))
    rows = {
        "missing": placed(cell1, member=mk("An Văn Thiếu")),
        "written": placed(cell1, member=mk("Bế Thị Viết")),
        "on_time": placed(cell1, member=mk("Cao Văn Đúng")),
        "late": placed(cell1, member=mk("Đỗ Thị Muộn")),
        "received": placed(cell2, member=mk("Đinh Văn Nhận")),
        "school": placed(cell2, member=mk("Giáp Thị Trường", tree.grassroots_cell)),
        "exempt": placed(cell1, member=exempt),
        "placed_after": placed(cell1, member=mk("Hà Văn Sau"), placed_on=D(2025, 12, 5)),
        "ended_before": placed(
            cell1,
            member=mk("Kiều Văn Đi"),
            ended_on=D(2025, 11, 1),
            end_reason=Referral.EndReason.MOVED_RESIDENCE,
        ),
        "ward2": placed(tree.ward2_cell1, member=mk("Lý Thị Xa", tree.grassroots_cell)),
    }
    comments = {
        "written": comment(rows["written"]),
        "on_time": comment(rows["on_time"], sent_on=D(2025, 11, 20)),
        "late": comment(rows["late"], sent_on=D(2025, 12, 5), verdict="limited"),
        "received": comment(rows["received"], sent_on=D(2025, 11, 15), received_on=D(2025, 11, 25)),
        "school": comment(rows["school"], sent_on=D(2025, 11, 29), received_on=D(2025, 12, 2), verdict="fair"),
        "ward2": comment(rows["ward2"], sent_on=D(2025, 12, 20)),
    }
    return {"rows": rows, "comments": comments}


def names(response) -> list[str]:
    return [row.record.member.full_name for row in response.context["table"].paginated_rows]


def row_html(page: str, member) -> str:
    start = page.index(f'data-member="{member.card_number}"')
    return page[start : page.index("</tr>", start)]


# -- the list ------------------------------------------------------------------------------------------------------


def test_the_ward_sees_each_due_member_with_the_state_of_the_comment(client, tree, people, round2025):
    client.force_login(people["ward1"])
    response = client.get(list_url())
    assert response.status_code == 200
    assert names(response) == [
        "An Văn Thiếu",
        "Bế Thị Viết",
        "Cao Văn Đúng",
        "Đinh Văn Nhận",
        "Đỗ Thị Muộn",
        "Giáp Thị Trường",
    ]
    states = {row.record.member.full_name: row.record.comment_state for row in response.context["table"].rows}
    assert states == {
        "An Văn Thiếu": "missing",
        "Bế Thị Viết": "written",
        "Cao Văn Đúng": "sent",
        "Đinh Văn Nhận": "received",
        "Đỗ Thị Muộn": "sent",
        "Giáp Thị Trường": "received",
    }
    # late: sent after the deadline (Muộn, 05/12); Trường was sent on 29/11 and received after it: on time
    assert response.context["counts"] == {
        "total": 6,
        "not_written": 1,
        "written": 1,
        "sent": 2,
        "received": 2,
        "late": 1,
        "overdue": 1,
    }
    page = response.content.decode()
    assert 'data-late="1"' in row_html(page, round2025["rows"]["late"].member)
    assert 'data-late="1"' not in row_html(page, round2025["rows"]["on_time"].member)
    assert 'data-overdue="1"' in row_html(page, round2025["rows"]["written"].member)
    assert "30/11/2025" in page
    for name in ("Hồ Văn Miễn", "Hà Văn Sau", "Kiều Văn Đi", "Lý Thị Xa"):
        assert name not in page


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "city",
            {
                "An Văn Thiếu",
                "Bế Thị Viết",
                "Cao Văn Đúng",
                "Đinh Văn Nhận",
                "Đỗ Thị Muộn",
                "Giáp Thị Trường",
                "Lý Thị Xa",
            },
        ),
        (
            "city_viewer",
            {
                "An Văn Thiếu",
                "Bế Thị Viết",
                "Cao Văn Đúng",
                "Đinh Văn Nhận",
                "Đỗ Thị Muộn",
                "Giáp Thị Trường",
                "Lý Thị Xa",
            },
        ),
        (
            "ward1_viewer",
            {"An Văn Thiếu", "Bế Thị Viết", "Cao Văn Đúng", "Đinh Văn Nhận", "Đỗ Thị Muộn", "Giáp Thị Trường"},
        ),
        ("ward2", {"Lý Thị Xa"}),
        ("cell1", {"An Văn Thiếu", "Bế Thị Viết", "Cao Văn Đúng", "Đỗ Thị Muộn"}),
        ("cell2", {"Đinh Văn Nhận", "Giáp Thị Trường"}),
        # the workplace side sees its own members, wherever they live
        ("workplace", {"An Văn Thiếu", "Bế Thị Viết", "Cao Văn Đúng", "Đinh Văn Nhận", "Đỗ Thị Muộn"}),
        ("school", {"Giáp Thị Trường", "Lý Thị Xa"}),
    ],
)
def test_each_side_sees_the_comments_of_its_own_members_and_cells(client, people, round2025, role, expected):
    client.force_login(people[role])
    response = client.get(list_url())
    assert response.status_code == 200
    assert set(names(response)) == expected


def test_late_missing_and_unreceived_are_visible_to_both_sides(client, people, round2025):
    for role in ("ward1", "workplace"):
        client.force_login(people[role])
        assert names(client.get(list_url(state="late"))) == ["Đỗ Thị Muộn"], role
        assert names(client.get(list_url(state="not_written"))) == ["An Văn Thiếu"], role
        assert names(client.get(list_url(state="sent"))) == ["Cao Văn Đúng", "Đỗ Thị Muộn"], role
    client.force_login(people["school"])
    assert names(client.get(list_url(state="late"))) == ["Lý Thị Xa"]  # sent 20/12 by ward 2


def test_the_list_filters_by_ward_cell_and_workplace(client, tree, people, round2025):
    client.force_login(people["city"])
    assert set(names(client.get(list_url(ward=tree.ward2.pk)))) == {"Lý Thị Xa"}
    assert set(names(client.get(list_url(cell=tree.ward1_cell2.pk)))) == {"Đinh Văn Nhận", "Giáp Thị Trường"}
    assert set(names(client.get(list_url(workplace=tree.grassroots_cell.pk)))) == {"Giáp Thị Trường", "Lý Thị Xa"}
    assert set(names(client.get(list_url(state="received", workplace=tree.committee.pk)))) == {"Đinh Văn Nhận"}
    response = client.get(list_url(cell=tree.ward1_cell2.pk))
    assert reverse("members:cell-comments-print", args=[tree.ward1_cell2.pk, YEAR]) in response.content.decode()
    # the counts follow the other filters, not the state one
    response = client.get(list_url(state="late", ward=tree.ward1.pk))
    assert response.context["counts"]["total"] == 6 and response.context["counts"]["late"] == 1


def test_a_deadline_set_for_the_year_decides_what_is_late_and_missing(client, tree, people, round2025):
    CommentRound.objects.create(organisation=tree.root, year=YEAR, deadline=D(2025, 12, 10))
    client.force_login(people["ward1"])
    response = client.get(list_url())
    assert response.context["round"].deadline == D(2025, 12, 10)
    assert response.context["counts"]["late"] == 0  # sent 05/12, before the new deadline
    assert "10/12/2025" in response.content.decode()
    # due on the new deadline: placed on 05/12
    assert "Hà Văn Sau" in names(response)


def test_in_the_current_year_before_the_deadline_the_due_members_are_those_of_today(client, tree, people):
    year = today().year
    CommentRound.objects.create(organisation=tree.root, year=year, deadline=today() + datetime.timedelta(days=10))
    here = placed(tree.ward1_cell1, member=make_member(tree.cell, full_name="Mai Văn Nay"), placed_on=today())
    placed(
        tree.ward1_cell1,
        member=make_member(tree.cell, full_name="Ninh Văn Vừa Đi"),
        placed_on=today() - datetime.timedelta(days=20),
        ended_on=today(),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    client.force_login(people["cell1"])
    response = client.get(list_url(year))
    assert names(response) == ["Mai Văn Nay"]
    assert response.context["counts"]["not_written"] == 1
    assert 'data-state="not_written"' in row_html(response.content.decode(), here.member)


def test_a_member_no_longer_due_keeps_the_comment_written_on_them(client, tree, people):
    gone = placed(
        tree.ward1_cell1,
        member=make_member(tree.cell, full_name="Ông Văn Chuyển"),
        ended_on=D(2025, 11, 20),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    comment(gone, written_on=D(2025, 11, 12), sent_on=D(2025, 11, 15))
    client.force_login(people["ward1"])
    response = client.get(list_url())
    assert names(response) == ["Ông Văn Chuyển"]
    row = response.context["table"].rows[0].record
    assert row.is_due is False and row.comment_state == "sent"


def test_years_outside_the_rounds_do_not_exist(client, people):
    client.force_login(people["city"])
    assert client.get(list_url(1999)).status_code == 404
    assert client.get(list_url(today().year + 1)).status_code == 404
    assert client.get(list_url(today().year)).status_code == 200


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        ("cell1", {"missing": {"write"}, "written": {"edit", "print"}, "on_time": {"print"}}),
        ("ward1", {"missing": {"write"}, "written": {"edit", "send", "send-date", "print"}, "on_time": {"print"}}),
        (
            "workplace",
            {"missing": set(), "written": {"print"}, "on_time": {"receive", "receive-date", "print"}},
        ),
        (
            "city",
            {
                "missing": {"write"},
                "written": {"edit", "send", "send-date", "print"},
                "on_time": {"receive", "receive-date", "print"},
            },
        ),
        ("ward1_viewer", {"missing": set(), "written": {"print"}, "on_time": {"print"}}),
    ],
)
def test_each_row_offers_the_steps_the_user_may_record(client, people, round2025, role, actions):
    client.force_login(people[role])
    page = client.get(list_url()).content.decode()
    for key, expected in actions.items():
        row = row_html(page, round2025["rows"][key].member)
        assert set(re.findall(r'data-action="([a-z-]+)"', row)) == expected, key


# -- the deadline of a round ---------------------------------------------------------------------------------------


def test_city_staff_set_the_deadline_of_a_year(client, tree, people):
    url = reverse("members:comment-round", args=[YEAR])
    client.force_login(people["city"])
    assert client.get(url).status_code == 200
    response = client.post(url, {"deadline": "15/12/2025"})
    assert response.status_code == 302 and response.url == list_url()
    round_ = CommentRound.objects.get(organisation=tree.root, year=YEAR)
    assert round_.deadline == D(2025, 12, 15) and round_.recorded_by == people["city"]
    client.post(url, {"deadline": "10/12/2025"})
    round_.refresh_from_db()
    assert round_.deadline == D(2025, 12, 10) and round_.history.count() == 2


def test_a_deadline_outside_its_year_is_refused(client, tree, people):
    client.force_login(people["city"])
    response = client.post(reverse("members:comment-round", args=[YEAR]), {"deadline": "15/01/2026"})
    assert response.status_code == 200
    message = _("The deadline of the round of %(year)s must fall in %(year)s.") % {"year": YEAR}
    assert message in response.content.decode()
    assert not CommentRound.objects.exists()


@pytest.mark.parametrize("role", ["city_viewer", "ward1", "workplace", "cell1"])
def test_only_city_staff_set_a_deadline(client, people, role):
    client.force_login(people[role])
    url = reverse("members:comment-round", args=[YEAR])
    assert client.get(url).status_code == 404
    assert client.post(url, {"deadline": "15/12/2025"}).status_code == 404
    assert not CommentRound.objects.exists()


# -- writing -------------------------------------------------------------------------------------------------------


def periodic_meeting(cell, held_on, **attendance):
    meeting = Meeting.objects.create(
        residential_cell=cell, held_on=held_on, year=held_on.year, half=1 if held_on.month <= 6 else 2
    )
    for member, status in attendance.items():
        reason = "Ốm" if status == Attendance.Status.EXCUSED else ""
        Attendance.objects.create(
            meeting=meeting, member=Member.objects.get(card_number=member), status=status, reason=reason
        )
    return meeting


def test_the_cell_writes_the_comment_with_attendance_prefilled(client, tree, people, round2025):
    referral = round2025["rows"]["missing"]
    card = referral.member.card_number
    periodic_meeting(tree.ward1_cell1, D(2025, 5, 20), **{card: Attendance.Status.PRESENT})
    periodic_meeting(tree.ward1_cell1, D(2025, 11, 12), **{card: Attendance.Status.ABSENT})
    client.force_login(people["cell1"])
    page = client.get(write_url(referral.member))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["attends_meetings"] is False  # an absence without reason
    assert form.initial["keeps_contact"] is True and form.initial["written_on"] == today()
    assert form.attendance.periodic == 2 and form.attendance.present == 1 and form.attendance.absent == 1
    assert referral.member.full_name in page.content.decode()

    response = client.post(
        write_url(referral.member) + "?next=" + list_url(),
        {
            "keeps_contact": "on",
            "citizen_example": "on",
            "joins_movements": "on",
            "verdict": "fair",
            "text": "Vắng một buổi sinh hoạt không lý do.",
            "written_on": "01/12/2025",
            "next": list_url(),
        },
    )
    assert response.status_code == 302 and response.url == list_url()
    saved = ResidenceComment.objects.get(member=referral.member, year=YEAR)
    assert saved.residential_cell == tree.ward1_cell1 and saved.verdict == "fair"
    assert saved.attends_meetings is False and saved.keeps_contact is True
    assert saved.written_on == D(2025, 12, 1) and saved.written_by == people["cell1"]
    assert saved.history.get().history_user == people["cell1"]


def test_with_no_absence_the_meetings_criterion_is_prefilled_yes(client, tree, people, round2025):
    referral = round2025["rows"]["missing"]
    periodic_meeting(tree.ward1_cell1, D(2025, 5, 20), **{referral.member.card_number: Attendance.Status.EXCUSED})
    client.force_login(people["ward1"])
    page = client.get(write_url(referral.member))
    assert page.context["form"].initial["attends_meetings"] is True


@pytest.mark.parametrize(("role", "status"), [("ward1", 200), ("city", 200), ("cell1", 200)])
def test_cell_ward_and_city_write_comments(client, people, round2025, role, status):
    client.force_login(people[role])
    assert client.get(write_url(round2025["rows"]["missing"].member)).status_code == status


@pytest.mark.parametrize("role", ["workplace", "school", "ward2", "cell2", "ward1_viewer", "city_viewer"])
def test_others_cannot_write_a_comment(client, people, round2025, role):
    client.force_login(people[role])
    member = round2025["rows"]["missing"].member
    assert client.get(write_url(member)).status_code == 404
    response = client.post(write_url(member), {"verdict": "good", "written_on": "01/12/2025"})
    assert response.status_code == 404
    assert not ResidenceComment.objects.filter(member=member).exists()


def post_comment(client, member, **fields):
    data = {"keeps_contact": "on", "verdict": "good", "written_on": "01/12/2025", **fields}
    return client.post(write_url(member), data)


def test_a_comment_for_an_exempt_member_is_refused(client, people, round2025):
    client.force_login(people["cell1"])
    member = round2025["rows"]["exempt"].member
    response = post_comment(client, member)
    assert response.status_code == 200
    message = _("This member is exempt from residence activities since %(date)s: no comment is written.") % {
        "date": "01/06/2025"
    }
    assert message in response.content.decode()
    assert not ResidenceComment.objects.filter(member=member).exists()


def test_a_second_comment_for_the_same_year_is_refused(client, people, round2025):
    client.force_login(people["cell1"])
    member = round2025["rows"]["written"].member
    before = list(ResidenceComment.objects.values())
    response = post_comment(client, member, verdict="limited")
    assert response.status_code == 200
    assert _("This member already has a residence comment for this year.") in response.content.decode()
    assert list(ResidenceComment.objects.values()) == before
    # opening the form again leads to the comment written
    response = client.get(write_url(member))
    assert response.status_code == 302
    assert response.url == comment_url("edit", round2025["comments"]["written"])


def test_a_comment_dated_in_the_future_is_refused(client, people, round2025):
    client.force_login(people["cell1"])
    member = round2025["rows"]["missing"].member
    response = post_comment(client, member, written_on=dmy(today() + datetime.timedelta(days=1)))
    assert response.status_code == 200
    assert _("This date is in the future (today is %(today)s).") % {"today": dmy(today())} in (
        response.content.decode()
    )
    assert not ResidenceComment.objects.filter(member=member).exists()


def test_a_comment_for_a_member_not_placed_that_year_is_not_found(client, tree, people):
    referral = placed(tree.ward1_cell1, home=tree.cell, placed_on=D(2026, 1, 5), introduced_on=D(2026, 1, 2))
    client.force_login(people["cell1"])
    assert client.get(write_url(referral.member, 2025)).status_code == 404


# -- correcting ----------------------------------------------------------------------------------------------------


def test_a_written_comment_is_corrected_before_it_is_sent(client, people, round2025):
    written = round2025["comments"]["written"]
    client.force_login(people["cell1"])
    page = client.get(comment_url("edit", written))
    assert page.status_code == 200 and page.context["form"].initial["verdict"] == "good"
    response = client.post(
        comment_url("edit", written),
        {"keeps_contact": "on", "attends_meetings": "on", "verdict": "fair", "text": "Sửa", "written_on": "12/11/2025"},
    )
    assert response.status_code == 302
    written.refresh_from_db()
    assert written.verdict == "fair" and written.citizen_example is False and written.written_on == D(2025, 11, 12)
    assert written.history.count() == 2
    assert written.history.first().history_user == people["cell1"]


def test_a_sent_comment_can_no_longer_be_corrected(client, people, round2025):
    sent = round2025["comments"]["on_time"]
    client.force_login(people["ward1"])
    assert client.get(comment_url("edit", sent)).url == comment_url("print", sent)
    response = client.post(comment_url("edit", sent), {"verdict": "limited", "written_on": "12/11/2025"})
    assert response.status_code == 200
    message = _("This comment was sent to the workplace on %(date)s; it can no longer be changed.") % {
        "date": "20/11/2025"
    }
    assert message in response.content.decode()
    sent.refresh_from_db()
    assert sent.verdict == "good" and sent.history.count() == 1


@pytest.mark.parametrize("role", ["workplace", "ward2", "cell2", "ward1_viewer"])
def test_others_cannot_correct_a_comment(client, people, round2025, role):
    client.force_login(people[role])
    written = round2025["comments"]["written"]
    assert client.get(comment_url("edit", written)).status_code == 404
    assert (
        client.post(comment_url("edit", written), {"verdict": "limited", "written_on": "12/11/2025"}).status_code == 404
    )
    written.refresh_from_db()
    assert written.verdict == "good"


# -- sending and receiving -----------------------------------------------------------------------------------------


def test_the_ward_sends_a_comment_in_one_click_from_the_list(client, people, round2025):
    written = round2025["comments"]["written"]
    client.force_login(people["ward1"])
    next_url = list_url(state="written")
    response = client.post(comment_url("send", written), {"next": next_url})
    assert response.status_code == 302 and response.url == next_url
    written.refresh_from_db()
    assert written.sent_on == today() and written.sent_by == people["ward1"]
    assert client.get(list_url(state="written")).context["counts"]["written"] == 0


def test_the_ward_sends_a_comment_on_a_given_day(client, people, round2025):
    written = round2025["comments"]["written"]
    client.force_login(people["ward1"])
    assert client.get(comment_url("send", written)).status_code == 200
    response = client.post(comment_url("send", written), {"sent_on": "28/11/2025"})
    assert response.status_code == 302 and response.url == list_url()
    written.refresh_from_db()
    assert written.sent_on == D(2025, 11, 28)


def test_sending_twice_is_refused(client, people, round2025):
    sent = round2025["comments"]["on_time"]
    client.force_login(people["ward1"])
    response = client.post(comment_url("send", sent), {"sent_on": "29/11/2025"})
    assert response.status_code == 200
    assert _("This comment was already sent on %(date)s.") % {"date": "20/11/2025"} in response.content.decode()
    sent.refresh_from_db()
    assert sent.sent_on == D(2025, 11, 20)


def test_sending_in_the_future_or_before_writing_is_refused(client, people, round2025):
    written = round2025["comments"]["written"]
    client.force_login(people["ward1"])
    response = client.post(comment_url("send", written), {"sent_on": dmy(today() + datetime.timedelta(days=1))})
    assert _("This date is in the future (today is %(today)s).") % {"today": dmy(today())} in (
        response.content.decode()
    )
    response = client.post(comment_url("send", written), {"sent_on": "01/11/2025"})
    assert _("A comment is sent on or after the day it was written.") in response.content.decode()
    written.refresh_from_db()
    assert written.sent_on is None


@pytest.mark.parametrize("role", ["cell1", "workplace", "ward2", "ward1_viewer", "school"])
def test_only_the_ward_or_the_city_sends(client, people, round2025, role):
    written = round2025["comments"]["written"]
    client.force_login(people[role])
    assert client.get(comment_url("send", written)).status_code == 404
    assert client.post(comment_url("send", written), {}).status_code == 404
    written.refresh_from_db()
    assert written.sent_on is None


def test_the_workplace_records_that_the_comment_arrived(client, people, round2025):
    sent = round2025["comments"]["on_time"]
    client.force_login(people["workplace"])
    assert client.get(comment_url("receive", sent)).status_code == 200
    response = client.post(comment_url("receive", sent), {"received_on": "24/11/2025", "next": list_url()})
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.received_on == D(2025, 11, 24) and sent.received_by == people["workplace"]
    # one click from the list: today
    late = round2025["comments"]["late"]
    response = client.post(comment_url("receive", late), {})
    assert response.status_code == 302, response.content.decode()[-3000:]
    late.refresh_from_db()
    assert late.received_on == today()


def test_receiving_before_sending_is_refused(client, people, round2025):
    written = round2025["comments"]["written"]
    client.force_login(people["workplace"])
    response = client.post(comment_url("receive", written), {"received_on": "24/11/2025"})
    assert response.status_code == 200
    assert _("This comment has not been sent yet.") in response.content.decode()
    written.refresh_from_db()
    assert written.received_on is None


def test_receiving_twice_or_before_the_sending_day_is_refused(client, people, round2025):
    received, sent = round2025["comments"]["received"], round2025["comments"]["on_time"]
    client.force_login(people["city"])
    response = client.post(comment_url("receive", received), {"received_on": "30/11/2025"})
    assert _("This comment was already received on %(date)s.") % {"date": "25/11/2025"} in response.content.decode()
    response = client.post(comment_url("receive", sent), {"received_on": "19/11/2025"})
    assert _("A comment is received on or after the day it was sent.") in response.content.decode()
    sent.refresh_from_db()
    received.refresh_from_db()
    assert sent.received_on is None and received.received_on == D(2025, 11, 25)


@pytest.mark.parametrize("role", ["cell1", "ward1", "ward2", "school", "ward1_viewer"])
def test_only_the_members_workplace_or_the_city_records_receipt(client, people, round2025, role):
    sent = round2025["comments"]["on_time"]
    client.force_login(people[role])
    assert client.get(comment_url("receive", sent)).status_code == 404
    assert client.post(comment_url("receive", sent), {}).status_code == 404
    sent.refresh_from_db()
    assert sent.received_on is None


# -- printing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("cell1", 200), ("ward1", 200), ("workplace", 200), ("city", 200)])
def test_one_comment_prints_for_both_sides(client, tree, people, round2025, role, status):
    late = round2025["comments"]["late"]
    client.force_login(people[role])
    response = client.get(comment_url("print", late))
    assert response.status_code == status
    page = response.content.decode()
    assert late.member.full_name in page and late.member.card_number in page
    assert tree.ward1.name.upper() in page and tree.ward1_cell1.name.upper() in page
    assert _("Residence comment form") in page
    assert _("Keeps contact with the cell committee") in page
    assert 'data-verdict="limited" class="fw-bold"' in page
    assert '/static/css/comment-sheet.css"' in page  # its A4 portrait print layout, a file under the CSP
    assert "05/12/2025" in page  # sent on


@pytest.mark.parametrize("role", ["ward2", "cell2", "school"])
def test_a_comment_out_of_scope_does_not_print(client, people, round2025, role):
    client.force_login(people[role])
    assert client.get(comment_url("print", round2025["comments"]["late"])).status_code == 404


def test_all_comments_of_a_cell_print_in_one_document(client, tree, people, round2025):
    client.force_login(people["cell1"])
    url = reverse("members:cell-comments-print", args=[tree.ward1_cell1.pk, YEAR])
    response = client.get(url)
    assert response.status_code == 200
    assert [c.member.full_name for c in response.context["comments"]] == ["Bế Thị Viết", "Cao Văn Đúng", "Đỗ Thị Muộn"]
    assert response.context["not_written"] == ["An Văn Thiếu"]
    page = response.content.decode()
    assert page.count('class="sheet shadow-sm"') == 3
    assert '/static/css/comment-sheet.css"' in page  # one sheet per page when printed


@pytest.mark.parametrize(
    ("role", "status"), [("ward1", 200), ("city", 200), ("cell2", 404), ("ward2", 404), ("workplace", 404)]
)
def test_the_cell_document_follows_the_cells_one_sees(client, tree, people, round2025, role, status):
    client.force_login(people[role])
    url = reverse("members:cell-comments-print", args=[tree.ward1_cell1.pk, YEAR])
    assert client.get(url).status_code == status


# -- the ratings page ----------------------------------------------------------------------------------------------


@pytest.fixture
def ratings(tree, round2025):
    """The committee's members of 2025: rated with and without warnings; others who are not on the page."""
    rows, comments = round2025["rows"], round2025["comments"]

    def rate(member, level):
        return YearEndRating.objects.create(member=member, year=YEAR, level=level, decided_on=D(2025, 12, 20))

    not_placed = make_member(tree.cell, full_name="Quách Văn Chưa Giới Thiệu")
    retired = make_member(tree.cell, full_name="Tạ Văn Hưu", retired_on=D(2025, 6, 1))
    return {
        "warning_limited": rate(rows["late"].member, YearEndRating.Level.EXCELLENT),  # limited comment
        "warning_missing": rate(rows["missing"].member, YearEndRating.Level.GOOD),  # due, no comment
        "fine": rate(rows["on_time"].member, YearEndRating.Level.GOOD),
        "not_due": rate(rows["exempt"].member, YearEndRating.Level.GOOD),  # exempt: no comment expected
        "not_placed": rate(not_placed, YearEndRating.Level.EXCELLENT),
        "retired": retired,
        "comments": comments,
    }


def rating_names(response) -> list[str]:
    return [row.record.full_name for row in response.context["table"].paginated_rows]


def test_the_workplace_sees_its_members_with_the_residence_verdict_next_to_the_rating(client, tree, people, ratings):
    client.force_login(people["workplace"])
    response = client.get(reverse("members:rating-list", args=[YEAR]))
    assert response.status_code == 200
    assert rating_names(response) == [
        "An Văn Thiếu",
        "Bế Thị Viết",
        "Cao Văn Đúng",
        "Đinh Văn Nhận",
        "Đỗ Thị Muộn",
        "Hà Văn Sau",
        "Hồ Văn Miễn",
        "Kiều Văn Đi",
        "Quách Văn Chưa Giới Thiệu",
    ]
    assert response.context["counts"] == {"total": 9, "rated": 5, "warnings": 2}
    page = response.content.decode()
    assert 'id="rating-warning-count">2<' in page
    late_row = row_html(page, ratings["warning_limited"].member)
    assert (
        'data-warning="1"' in late_row and 'data-verdict="limited"' in late_row and 'data-level="excellent"' in late_row
    )
    missing_row = row_html(page, ratings["warning_missing"].member)
    assert 'data-warning="1"' in missing_row and 'data-verdict="missing"' in missing_row
    for key in ("fine", "not_due", "not_placed"):
        assert 'data-warning="1"' not in row_html(page, ratings[key].member), key
    assert 'data-verdict="not_due"' in row_html(page, ratings["not_due"].member)
    assert "Tạ Văn Hưu" not in page and "Giáp Thị Trường" not in page
    warnings = client.get(reverse("members:rating-list", args=[YEAR]) + "?warnings=on")
    assert rating_names(warnings) == ["An Văn Thiếu", "Đỗ Thị Muộn"]


def test_a_member_rated_for_the_year_stays_on_its_list_after_retiring(client, people, ratings):
    """The list holds the members working at the round's day, and any member already rated for its year: a member
    retired in June is not on it until rated (then counted with the rest)."""
    client.force_login(people["workplace"])
    url = reverse("members:rating-list", args=[YEAR])
    assert "Tạ Văn Hưu" not in rating_names(client.get(url))
    YearEndRating.objects.create(
        member=ratings["retired"], year=YEAR, level=YearEndRating.Level.FULFILLED, decided_on=D(2025, 12, 20)
    )
    response = client.get(url)
    assert "Tạ Văn Hưu" in rating_names(response)
    assert response.context["counts"] == {"total": 10, "rated": 6, "warnings": 2}


def test_city_staff_filter_the_ratings_by_organisation(client, tree, people, ratings):
    client.force_login(people["city"])
    url = reverse("members:rating-list", args=[YEAR])
    everyone = rating_names(client.get(url))
    assert "Giáp Thị Trường" in everyone and "An Văn Thiếu" in everyone
    school = rating_names(client.get(f"{url}?organisation={tree.grassroots_cell.pk}"))
    assert school == ["Giáp Thị Trường", "Lý Thị Xa"]


@pytest.mark.parametrize("role", ["cell1", "ward2"])
def test_the_residence_side_has_no_ratings_to_record(client, people, ratings, role):
    client.force_login(people[role])
    response = client.get(reverse("members:rating-list", args=[YEAR]))
    assert response.status_code == 200 and rating_names(response) == []


def test_the_cadre_records_a_rating_inline(client, people, ratings):
    member = Member.objects.get(full_name="Bế Thị Viết")
    client.force_login(people["workplace"])
    response = client.post(
        rating_url(member),
        {"level": "excellent", "decided_on": "22/12/2025", "filters": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="rating-{member.pk}"' in html and 'data-level="excellent"' in html and 'data-saved="1"' in html
    assert 'id="rating-warning-count" hx-swap-oob="true">2<' in html
    rating = YearEndRating.objects.get(member=member, year=YEAR)
    assert rating.level == "excellent" and rating.decided_on == D(2025, 12, 22)
    assert rating.recorded_by == people["workplace"]


def test_rating_a_member_with_a_limited_comment_well_raises_the_warning_count(client, people, ratings):
    member = Member.objects.get(full_name="Đỗ Thị Muộn")
    client.force_login(people["workplace"])
    response = client.post(
        rating_url(member), {"level": "fulfilled", "decided_on": "22/12/2025"}, HTTP_HX_REQUEST="true"
    )
    assert 'id="rating-warning-count" hx-swap-oob="true">1<' in response.content.decode()
    rating = YearEndRating.objects.get(member=member, year=YEAR)
    assert rating.level == "fulfilled" and rating.history.count() == 2  # the change is in the history
    response = client.post(rating_url(member), {"level": "good", "decided_on": "22/12/2025"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-warning="1"' in html and 'id="rating-warning-count" hx-swap-oob="true">2<' in html


def test_a_rating_without_htmx_goes_back_to_the_list(client, people, ratings):
    member = Member.objects.get(full_name="Bế Thị Viết")
    client.force_login(people["workplace"])
    assert client.get(rating_url(member)).status_code == 200
    response = client.post(rating_url(member), {"level": "good", "decided_on": "22/12/2025"})
    assert response.status_code == 302 and response.url == reverse("members:rating-list", args=[YEAR])
    assert YearEndRating.objects.get(member=member, year=YEAR).level == "good"


def test_a_rating_decided_in_the_future_or_before_the_year_is_refused(client, people, ratings):
    member = Member.objects.get(full_name="Bế Thị Viết")
    client.force_login(people["workplace"])
    future = dmy(today() + datetime.timedelta(days=1))
    response = client.post(rating_url(member), {"level": "good", "decided_on": future}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert _("This date is in the future (today is %(today)s).") % {"today": dmy(today())} in html
    response = client.post(rating_url(member), {"level": "good", "decided_on": "20/12/2024"})
    assert _("A rating of a year cannot be decided before that year.") in response.content.decode()
    assert not YearEndRating.objects.filter(member=member).exists()
    rated = ratings["fine"]
    client.post(rating_url(rated.member), {"level": "excellent", "decided_on": future}, HTTP_HX_REQUEST="true")
    rated.refresh_from_db()
    assert rated.level == "good" and rated.history.count() == 1


@pytest.mark.parametrize("role", ["cell1", "ward1", "ward2", "school", "city_viewer"])
def test_only_the_workplace_or_the_city_records_ratings(client, people, ratings, role):
    member = Member.objects.get(full_name="Bế Thị Viết")
    client.force_login(people[role])
    assert client.get(rating_url(member)).status_code == 404
    response = client.post(rating_url(member), {"level": "good", "decided_on": "22/12/2025"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert not YearEndRating.objects.filter(member=member).exists()


# -- a constant number of queries ----------------------------------------------------------------------------------


def add_due_members(tree, n: int) -> None:
    members = Member.objects.bulk_create([Member(**member_fields(tree.cell)) for _ in range(n)])
    referrals = Referral.objects.bulk_create(
        [
            Referral(
                member=member,
                issuing_organisation=tree.committee,
                receiving_ward=tree.ward1,
                introduced_on=D(2025, 1, 2),
                received_on=D(2025, 1, 10),
                residential_cell=tree.ward1_cell1 if i % 2 else tree.ward1_cell2,
                placed_on=D(2025, 1, 20),
            )
            for i, member in enumerate(members)
        ]
    )
    ResidenceComment.objects.bulk_create(
        [
            ResidenceComment(
                member=referral.member,
                year=YEAR,
                residential_cell=referral.residential_cell,
                verdict="good" if i % 4 else "limited",
                written_on=D(2025, 11, 1),
                sent_on=D(2025, 11, 5) if i % 3 else None,
            )
            for i, referral in enumerate(referrals)
            if i % 5
        ]
    )
    YearEndRating.objects.bulk_create(
        [
            YearEndRating(member=member, year=YEAR, level="good", decided_on=D(2025, 12, 20))
            for i, member in enumerate(members)
            if i % 2
        ]
    )


def count_queries(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["city", "ward1", "cell1", "workplace"])
def test_the_lists_run_a_constant_number_of_queries(client, tree, people, role):
    client.force_login(people[role])
    urls = [
        list_url(),
        list_url(state="late"),
        reverse("members:rating-list", args=[YEAR]),
        reverse("members:rating-list", args=[YEAR]) + "?warnings=on",
        reverse("members:cell-comments-print", args=[tree.ward1_cell1.pk, YEAR]),
    ]
    if role == "workplace":
        urls.pop()  # no residential cell in its scope
    add_due_members(tree, 10)
    few = [count_queries(client, url) for url in urls]
    add_due_members(tree, 190)
    many = [count_queries(client, url) for url in urls]
    assert few == many
    assert max(few) <= 14  # a ward's: its posts, the keys of its organisations (2), the round, the counts, the page...
    assert client.get(list_url()).context["counts"]["total"] == (100 if role == "cell1" else 200)


def test_the_inline_rating_runs_a_constant_number_of_queries(client, tree, people):
    client.force_login(people["workplace"])
    add_due_members(tree, 10)
    member = Member.objects.filter(ratings__isnull=True).first()

    def post():
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                rating_url(member), {"level": "good", "decided_on": "22/12/2025"}, HTTP_HX_REQUEST="true"
            )
        assert response.status_code == 200
        return len(queries)

    first = post()
    add_due_members(tree, 190)
    YearEndRating.objects.filter(member=member).delete()
    assert post() == first


# -- the services added for this page family ----------------------------------------------------------------------


def test_a_round_is_set_for_the_root_organisation_only(tree, people):
    with pytest.raises(ValidationError) as error:
        services.comment_round_set(organisation=tree.ward1, year=YEAR, deadline=D(2025, 12, 1), by=people["city"])
    assert error.value.error_dict.keys() == {"organisation"}
    assert not CommentRound.objects.exists()
    round_ = services.comment_round_set(organisation=tree.root, year=YEAR, deadline=D(2025, 12, 1), by=None)
    again = services.comment_round_set(organisation=tree.root, year=YEAR, deadline=D(2025, 12, 1), by=None)
    assert again.pk == round_.pk and round_.history.count() == 1  # nothing changed: no new history record


def test_correcting_a_comment_or_a_rating_to_the_same_values_records_nothing(tree, people, round2025):
    written = round2025["comments"]["written"]
    services.residence_comment_update(comment=written, by=people["cell1"], verdict="good")
    assert written.history.count() == 1
    with pytest.raises(TypeError):
        services.residence_comment_update(comment=written, by=None, year=2024)
    rating = YearEndRating.objects.create(member=written.member, year=YEAR, level="good", decided_on=D(2025, 12, 20))
    services.year_end_rating_update(rating=rating, level="good", decided_on=D(2025, 12, 20), by=None)
    assert rating.history.count() == 1
