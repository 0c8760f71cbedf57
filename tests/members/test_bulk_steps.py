"""Bulk steps (issue 13): the ward receives several referrals, sends several written comments, and the workplace
records several comments as received, each in one step that is all or nothing, after a confirmation naming the
count. Each row goes through the single step's service (the same checks, the same history row); a row out of the
user's scope answers 404 before any message; a row that cannot take the step changes nothing and is named.
"""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from members import services
from members.models import Referral, ResidenceComment
from tests.factories import make_member, make_officer, make_referral

D = datetime.date
YEAR = 2025

pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


def dmy(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


@pytest.fixture
def people(tree):
    return {
        "city": make_officer(tree.root, role="staff"),
        "workplace": make_officer(tree.committee, role="staff"),
        "ward1": make_officer(tree.ward1),
        "ward1_viewer": make_officer(tree.ward1, role="viewer"),
        "ward2": make_officer(tree.ward2),
        "cell1": make_officer(tree.ward1_cell1),
    }


def awaiting(tree, n: int, *, ward=None, introduced_on=None) -> list[Referral]:
    """``n`` referrals introduced to ``ward`` (ward 1) and awaiting reception."""
    ward = ward or tree.ward1
    introduced_on = introduced_on or D(2026, 3, 1)
    return [
        make_referral(
            make_member(tree.cell, full_name=f"Người Chờ {i:02d}"), receiving_ward=ward, introduced_on=introduced_on
        )
        for i in range(n)
    ]


def placed(tree, name: str, *, cell=None, home=None) -> Referral:
    cell = cell or tree.ward1_cell1
    member = make_member(home or tree.cell, full_name=name)
    return make_referral(
        member,
        receiving_ward=cell.parent,
        introduced_on=D(2025, 2, 1),
        received_on=D(2025, 2, 1),
        residential_cell=cell,
        placed_on=D(2025, 2, 15),
    )


def comment(referral, *, sent_on=None, received_on=None) -> ResidenceComment:
    return ResidenceComment.objects.create(
        member=referral.member,
        year=YEAR,
        residential_cell=referral.residential_cell,
        verdict="good",
        written_on=D(2025, 11, 10),
        sent_on=sent_on,
        received_on=received_on,
    )


def history_counts(rows) -> list[int]:
    return [row.history.count() for row in rows]


# -- services ------------------------------------------------------------------------------------------------------


def test_referrals_are_received_together_with_a_history_row_each(tree, people):
    rows = awaiting(tree, 3)
    before = history_counts(rows)
    assert services.referrals_receive(referrals=rows, received_on=D(2026, 3, 5), by=people["ward1"]) == 3
    for row, count in zip(rows, before, strict=True):
        row.refresh_from_db()
        assert (row.received_on, row.received_by) == (D(2026, 3, 5), people["ward1"])
        assert row.history.count() == count + 1
        assert row.history.first().history_user == people["ward1"]


def test_receiving_together_is_all_or_nothing_and_names_each_refused_row(tree, people):
    rows = awaiting(tree, 3)
    rows[0].received_on = D(2026, 3, 2)
    rows[0].save()
    late_letter = make_referral(
        make_member(tree.cell, full_name="Thư Đến Sau"), receiving_ward=tree.ward1, introduced_on=D(2026, 3, 10)
    )
    before = history_counts([*rows, late_letter])
    with pytest.raises(ValidationError) as refused:
        services.referrals_receive(referrals=[*rows, late_letter], received_on=D(2026, 3, 5), by=people["ward1"])
    messages = refused.value.messages
    assert len(messages) == 2
    assert any(rows[0].member.full_name in m and rows[0].member.card_number in m for m in messages)
    assert any(late_letter.member.full_name in m for m in messages)
    for row in rows[1:]:
        row.refresh_from_db()
        assert row.received_on is None
    assert history_counts([*rows, late_letter]) == before


def test_comments_are_sent_and_received_together(tree, people):
    comments = [comment(placed(tree, f"Người Viết {i}")) for i in range(3)]
    before = history_counts(comments)
    assert services.residence_comments_send(comments=comments, sent_on=D(2025, 11, 20), by=people["ward1"]) == 3
    assert (
        services.residence_comments_receive(comments=comments, received_on=D(2025, 11, 25), by=people["workplace"]) == 3
    )
    for row, count in zip(comments, before, strict=True):
        row.refresh_from_db()
        assert (row.sent_on, row.sent_by, row.received_on, row.received_by) == (
            D(2025, 11, 20),
            people["ward1"],
            D(2025, 11, 25),
            people["workplace"],
        )
        assert row.history.count() == count + 2


def test_sending_together_is_all_or_nothing(tree, people):
    written = comment(placed(tree, "Chưa Gửi"))
    sent = comment(placed(tree, "Đã Gửi Rồi"), sent_on=D(2025, 11, 15))
    with pytest.raises(ValidationError) as refused:
        services.residence_comments_send(comments=[written, sent], sent_on=D(2025, 11, 20), by=people["ward1"])
    assert len(refused.value.messages) == 1 and "Đã Gửi Rồi" in refused.value.messages[0]
    written.refresh_from_db()
    assert written.sent_on is None and written.history.count() == 1


def test_receiving_together_refuses_an_unsent_comment(tree, people):
    sent = comment(placed(tree, "Đã Gửi"), sent_on=D(2025, 11, 15))
    unsent = comment(placed(tree, "Chưa Gửi Đi"))
    with pytest.raises(ValidationError) as refused:
        services.residence_comments_receive(
            comments=[sent, unsent], received_on=D(2025, 11, 25), by=people["workplace"]
        )
    assert "Chưa Gửi Đi" in " ".join(refused.value.messages)
    sent.refresh_from_db()
    assert sent.received_on is None


# -- bulk receive through the referral list ------------------------------------------------------------------------

RECEIVE_MANY = reverse("members:referral-receive-many")
AWAITING_LIST = reverse("members:referral-list") + "?state=awaiting_reception"


def test_the_awaiting_list_ticks_the_rows_the_user_may_receive(client, tree, people):
    mine = awaiting(tree, 2)
    theirs = awaiting(tree, 1, ward=tree.ward2)
    client.force_login(people["ward1"])
    page = client.get(AWAITING_LIST).content.decode()
    assert 'id="bulk-receive-form"' in page
    for row in mine:
        assert f'name="referrals" value="{row.pk}"' in page
    assert f'name="referrals" value="{theirs[0].pk}"' not in page
    # another filter: no checkboxes (the bulk step is for the rows awaiting reception)
    page = client.get(reverse("members:referral-list")).content.decode()
    assert 'name="referrals"' not in page and 'id="bulk-receive-form"' not in page
    # a workplace sees the same rows but receives none
    client.force_login(people["workplace"])
    page = client.get(AWAITING_LIST).content.decode()
    assert 'name="referrals"' not in page and 'id="bulk-receive-form"' not in page


def test_bulk_receive_asks_for_confirmation_naming_the_count_then_receives(client, tree, people):
    rows = awaiting(tree, 3)
    client.force_login(people["ward1"])
    data = {"referrals": [r.pk for r in rows], "received_on": dmy(D(2026, 3, 5)), "next": AWAITING_LIST}
    page = client.post(RECEIVE_MANY, data)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-confirm-count="3"' in html
    for row in rows:
        assert row.member.full_name in html
    assert not Referral.objects.filter(received_on__isnull=False).exists()

    response = client.post(RECEIVE_MANY, {**data, "confirmed": "1"})
    assert response.status_code == 302 and response.url == AWAITING_LIST
    assert set(Referral.objects.values_list("received_on", "received_by")) == {(D(2026, 3, 5), people["ward1"].pk)}


def test_bulk_receive_with_a_foreign_referral_mixed_in_is_404_and_changes_nothing(client, tree, people):
    rows = awaiting(tree, 2)
    foreign = awaiting(tree, 1, ward=tree.ward2)[0]
    client.force_login(people["ward1"])
    for confirmed in ("", "1"):
        data = {"referrals": [rows[0].pk, foreign.pk, rows[1].pk], "received_on": "bad date", "confirmed": confirmed}
        assert client.post(RECEIVE_MANY, data).status_code == 404
    assert client.post(RECEIVE_MANY, {"referrals": [rows[0].pk, "x"], "confirmed": "1"}).status_code == 404
    assert client.post(RECEIVE_MANY, {"referrals": [999999], "confirmed": "1"}).status_code == 404
    assert client.post(RECEIVE_MANY, {"referrals": ["²"], "confirmed": "1"}).status_code == 404
    assert client.post(RECEIVE_MANY, {"referrals": ["9" * 40], "confirmed": "1"}).status_code == 404
    assert not Referral.objects.filter(received_on__isnull=False).exists()
    # a viewer of the ward receives nothing: 404 too
    client.force_login(people["ward1_viewer"])
    assert client.post(RECEIVE_MANY, {"referrals": [rows[0].pk], "confirmed": "1"}).status_code == 404


def test_bulk_receive_is_post_only_and_hidden_from_those_who_receive_nothing(client, people):
    client.force_login(people["ward1"])
    assert client.get(RECEIVE_MANY).status_code == 405
    for role in ("workplace", "cell1"):
        client.force_login(people[role])
        assert client.get(RECEIVE_MANY).status_code == 404
        assert client.post(RECEIVE_MANY, {}).status_code == 404


def test_bulk_receive_refused_row_names_it_and_changes_nothing(client, tree, people):
    rows = awaiting(tree, 2)
    late_letter = make_referral(
        make_member(tree.cell, full_name="Thư Đến Sau"), receiving_ward=tree.ward1, introduced_on=D(2026, 3, 10)
    )
    client.force_login(people["ward1"])
    data = {"referrals": [*(r.pk for r in rows), late_letter.pk], "received_on": dmy(D(2026, 3, 5)), "confirmed": "1"}
    page = client.post(RECEIVE_MANY, data)
    assert page.status_code == 200
    errors = page.content.decode()
    assert 'id="bulk-errors"' in errors and "Thư Đến Sau" in errors
    assert not Referral.objects.filter(received_on__isnull=False).exists()


def test_bulk_receive_without_a_tick_or_with_a_bad_date_says_so(client, tree, people):
    rows = awaiting(tree, 1)
    client.force_login(people["ward1"])
    response = client.post(RECEIVE_MANY, {"received_on": dmy(today()), "confirmed": "1", "next": AWAITING_LIST})
    assert response.status_code == 302 and response.url == AWAITING_LIST
    page = client.post(RECEIVE_MANY, {"referrals": [rows[0].pk], "received_on": "31/02/2026", "confirmed": "1"})
    assert page.status_code == 200 and page.context["form"].errors
    future = client.post(
        RECEIVE_MANY,
        {"referrals": [rows[0].pk], "received_on": dmy(today() + datetime.timedelta(days=3)), "confirmed": "1"},
    )
    assert future.status_code == 200
    assert not Referral.objects.filter(received_on__isnull=False).exists()


def test_bulk_receive_of_fifty_runs_a_bounded_number_of_queries(client, tree, people, django_assert_max_num_queries):
    rows = awaiting(tree, 50)
    client.force_login(people["ward1"])
    with django_assert_max_num_queries(20):
        page = client.get(AWAITING_LIST)
    assert page.content.decode().count('name="referrals"') == 50
    data = {"referrals": [r.pk for r in rows], "received_on": dmy(D(2026, 3, 5))}
    with django_assert_max_num_queries(15):
        assert client.post(RECEIVE_MANY, data).status_code == 200
    # the step itself: the single step's queries per row (lock, the model's checks and constraints, save, history:
    # about 35), no more
    with django_assert_max_num_queries(15 + 40 * 50):
        assert client.post(RECEIVE_MANY, {**data, "confirmed": "1"}).status_code == 302
    assert Referral.objects.filter(received_on=D(2026, 3, 5)).count() == 50


# -- bulk send and receive through the comment list ----------------------------------------------------------------

SEND_MANY = reverse("members:comment-send-many", args=[YEAR])
RECEIVE_COMMENTS = reverse("members:comment-receive-many", args=[YEAR])


def comment_list(**query) -> str:
    url = reverse("members:comment-list", args=[YEAR])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_written_list_ticks_the_comments_the_ward_may_send(client, tree, people):
    mine = comment(placed(tree, "Của Phường Một"))
    other_ward = comment(placed(tree, "Của Phường Năm", cell=tree.ward2_cell1))
    client.force_login(people["ward1"])
    page = client.get(comment_list(state="written")).content.decode()
    assert 'id="bulk-send-form"' in page
    assert f'name="comments" value="{mine.pk}"' in page
    assert f'name="comments" value="{other_ward.pk}"' not in page
    # the cell writes but does not send: no checkboxes
    client.force_login(people["cell1"])
    page = client.get(comment_list(state="written")).content.decode()
    assert 'name="comments"' not in page and 'id="bulk-send-form"' not in page


def test_the_ward_sends_the_written_comments_after_a_confirmation(client, tree, people):
    comments = [comment(placed(tree, f"Người Viết {i}")) for i in range(3)]
    client.force_login(people["ward1"])
    data = {
        "comments": [c.pk for c in comments],
        "sent_on": dmy(D(2025, 11, 20)),
        "next": comment_list(state="written"),
    }
    page = client.post(SEND_MANY, data)
    assert page.status_code == 200 and 'data-confirm-count="3"' in page.content.decode()
    assert not ResidenceComment.objects.filter(sent_on__isnull=False).exists()
    response = client.post(SEND_MANY, {**data, "confirmed": "1"})
    assert response.status_code == 302 and response.url == comment_list(state="written")
    for row in comments:
        row.refresh_from_db()
        assert (row.sent_on, row.sent_by) == (D(2025, 11, 20), people["ward1"])
        assert row.history.count() == 2 and row.history.first().history_user == people["ward1"]


def test_the_workplace_receives_the_sent_comments_after_a_confirmation(client, tree, people):
    comments = [comment(placed(tree, f"Người Gửi {i}"), sent_on=D(2025, 11, 20)) for i in range(2)]
    client.force_login(people["workplace"])
    page = client.get(comment_list(state="sent")).content.decode()
    assert 'id="bulk-receive-form"' in page
    for row in comments:
        assert f'name="comments" value="{row.pk}"' in page
    data = {"comments": [c.pk for c in comments], "received_on": dmy(D(2025, 11, 25))}
    assert 'data-confirm-count="2"' in client.post(RECEIVE_COMMENTS, data).content.decode()
    assert client.post(RECEIVE_COMMENTS, {**data, "confirmed": "1"}).status_code == 302
    assert set(ResidenceComment.objects.values_list("received_on", "received_by")) == {
        (D(2025, 11, 25), people["workplace"].pk)
    }


def test_bulk_comment_steps_with_a_foreign_comment_are_404(client, tree, people):
    mine = comment(placed(tree, "Của Phường Một"))
    foreign = comment(placed(tree, "Của Phường Năm", cell=tree.ward2_cell1))
    client.force_login(people["ward1"])
    data = {"comments": [mine.pk, foreign.pk], "sent_on": dmy(D(2025, 11, 20)), "confirmed": "1"}
    assert client.post(SEND_MANY, data).status_code == 404
    # a comment of another year is not on this year's list
    assert (
        client.post(reverse("members:comment-send-many", args=[2024]), {**data, "comments": [mine.pk]}).status_code
        == 404
    )
    # the ward does not record arrivals; the workplace does not send
    assert client.post(RECEIVE_COMMENTS, {"comments": [mine.pk], "confirmed": "1"}).status_code == 404
    client.force_login(people["workplace"])
    assert client.post(SEND_MANY, {"comments": [mine.pk], "confirmed": "1"}).status_code == 404
    assert not ResidenceComment.objects.filter(sent_on__isnull=False).exists()


def test_bulk_send_refused_row_names_it_and_sends_nothing(client, tree, people):
    written = comment(placed(tree, "Chưa Gửi"))
    sent = comment(placed(tree, "Đã Gửi Rồi"), sent_on=D(2025, 11, 15))
    client.force_login(people["ward1"])
    page = client.post(
        SEND_MANY, {"comments": [written.pk, sent.pk], "sent_on": dmy(D(2025, 11, 20)), "confirmed": "1"}
    )
    assert page.status_code == 200
    assert re.search(r'id="bulk-errors"[\s\S]*Đã Gửi Rồi', page.content.decode())
    written.refresh_from_db()
    assert written.sent_on is None


def test_bulk_comment_pages_of_fifty_run_a_bounded_number_of_queries(
    client, tree, people, django_assert_max_num_queries
):
    comments = [comment(placed(tree, f"Người {i:02d}")) for i in range(50)]
    client.force_login(people["ward1"])
    with django_assert_max_num_queries(30):
        page = client.get(comment_list(state="written"))
    assert page.content.decode().count('name="comments"') == 50
    with django_assert_max_num_queries(15):
        assert (
            client.post(SEND_MANY, {"comments": [c.pk for c in comments], "sent_on": dmy(D(2025, 11, 20))}).status_code
            == 200
        )


# -- placing shows where the member lives --------------------------------------------------------------------------


def test_placing_shows_the_members_address_next_to_the_cell(client, tree, people):
    member = make_member(tree.cell, full_name="Hồ Thị Nhà", residential_address="27 Hàm Nghi, Khu phố 2")
    received = make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2026, 3, 1), received_on=D(2026, 3, 2))
    homeless = make_referral(
        make_member(tree.cell, full_name="Không Địa Chỉ"),
        receiving_ward=tree.ward1,
        introduced_on=D(2026, 3, 1),
        received_on=D(2026, 3, 2),
    )
    client.force_login(people["ward1"])
    page = client.get(reverse("members:referral-place", args=[received.pk]))
    assert str(page.context["form"].fields["residential_cell"].help_text).endswith("27 Hàm Nghi, Khu phố 2")
    assert 'id="id_residential_cell_helptext"' in page.content.decode()
    page = client.get(reverse("members:referral-place", args=[homeless.pk]))
    assert page.context["form"].fields["residential_cell"].help_text  # says no address is recorded
    many = client.get(reverse("members:referral-place-many")).content.decode()
    assert re.search(rf'data-referral="{received.pk}"[\s\S]*?data-address>[^<]*27 Hàm Nghi, Khu phố 2', many)
    assert 'data-row-count="2"' in many


@pytest.mark.parametrize("value", ["", "\x00", "0", "-1", "31/02/2026", "01/01/0001", "9" * 300, "<script>", "١٢"])
def test_nasty_values_in_a_bulk_step_are_never_a_server_error(client, tree, people, value):
    rows = awaiting(tree, 1)
    client.force_login(people["ward1"])
    for data in (
        {"referrals": [rows[0].pk], "received_on": value, "confirmed": value, "next": value},
        {"referrals": [value], "received_on": value},
        {"referrals": [rows[0].pk, rows[0].pk], "received_on": value, "confirmed": "1"},
    ):
        assert client.post(RECEIVE_MANY, data).status_code in (200, 302, 404)
    assert not Referral.objects.filter(received_on__isnull=False).exists()
