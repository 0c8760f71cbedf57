"""Findings of the audit of the reminders (issue 14), each reproduced by a test that fails while the finding stands.

Each test is marked ``xfail(strict=True)``: the suite stays green until the fix lands, then the mark must go (a fixed
finding makes the strict mark fail the run).
"""

import datetime
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from branches.models import Officer, Organisation
from members.models import Referral, ResidenceComment
from reminders.mailing import reminder_message
from reminders.models import ReminderSettings
from reminders.models import Rule as Code
from restructures.plans import plan_merge
from restructures.services import restructure
from tests.factories import make_member, make_officer, make_organisation, make_referral
from tests.reminders.conftest import Cast, day, plus, reminders, update

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind
D0 = day(3, 3)


def _introduced(cast: Cast, on: datetime.date, *, ward: Organisation) -> Referral:
    """A member of the committee's subordinate cell introduced to ``ward`` on ``on``."""
    return make_referral(make_member(cast.tree.cell), receiving_ward=ward, introduced_on=on)


def _sent_comment(member, cell: Organisation, *, sent_on: datetime.date) -> ResidenceComment:
    """The 2025 comment on ``member``, living in ``cell`` since 1 February, sent to the workplace on ``sent_on``."""
    ward = cell.parent
    make_referral(
        member,
        receiving_ward=ward,
        introduced_on=day(1, 10),
        received_on=day(1, 20),
        placed_on=day(2, 1),
        residential_cell=cell,
    )
    return ResidenceComment.objects.create(
        member=member,
        year=2025,
        residential_cell=cell,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=plus(sent_on, -5),
        sent_on=sent_on,
    )


# -- an officer whose post follows a restructure loses the reminders it carried ----------------------------------------


def test_an_officer_whose_post_follows_a_merger_is_still_reminded_of_what_is_still_to_do(cast):
    referral = _introduced(cast, D0, ward=cast.tree.ward1)
    update(plus(D0, 7))
    secretary = cast.ward1.secretary
    assert reminders(rule=Code.AWAITING_RECEPTION, user=secretary, object_id=referral.pk).get().is_open
    # Ward 1 merges into ward 2; its officers' posts follow to ward 2, which now receives ward 1's referrals.
    merged_on = plus(D0, 8)
    plan = plan_merge(
        codes=[cast.tree.ward1.code, cast.tree.ward2.code], into=cast.tree.ward2.code, effective_on=merged_on
    )
    assert plan.problems == []
    restructure("merge", by=None, note="", officers="follow", **plan.params)
    assert Officer.objects.filter(user=secretary, organisation=cast.tree.ward2, started_on=merged_on).exists()
    update(merged_on)
    # Ward 2's own secretary is reminded of the referral the merger brought...
    assert reminders(rule=Code.AWAITING_RECEPTION, user=cast.ward2.secretary, object_id=referral.pk, open_only=True)
    # ...and so must be the one who followed from ward 1, where they were reminded of it the day before (today their
    # ward 1 reminder closes as post_ended and, holding the same user, rule, object and step, blocks one at ward 2).
    still = reminders(rule=Code.AWAITING_RECEPTION, user=secretary, object_id=referral.pk, open_only=True)
    assert still.filter(organisation=cast.tree.ward2).exists()


# -- a ward's letter to itself is reminded twice, once as a letter to chase ------------------------------------------


def test_a_wards_letter_to_itself_is_one_reminder_to_receive_not_a_letter_to_chase(cast):
    ward = cast.tree.ward1
    agency = make_organisation(kind=Kind.CELL, parent=ward, name="Chi bộ Cơ quan Phường 1")
    member = make_member(agency)
    referral = make_referral(member, receiving_ward=ward, issuing_organisation=ward, introduced_on=D0)
    update(plus(D0, 20))
    mine = reminders(user=cast.ward1.secretary, object_id=referral.pk)
    assert list(mine.values_list("rule", flat=True)) == [Code.AWAITING_RECEPTION]


# -- the link of a comment to acknowledge lands on every comment the ward sent ----------------------------------------


def test_a_ward_reminded_of_a_comment_to_acknowledge_lands_on_its_own_comments(cast, client):
    ward = cast.tree.ward1
    agency = make_organisation(kind=Kind.CELL, parent=ward, name="Chi bộ Cơ quan Phường 1")
    own = make_member(agency, full_name="Trần Văn Cơquan")
    others = make_member(cast.tree.cell, full_name="Lê Thị Sởyte")
    # The ward's own member lives in ward 2; the health department's member lives in ward 1, whose cell sent it.
    _sent_comment(own, cast.tree.ward2_cell1, sent_on=day(10, 6))
    _sent_comment(others, cast.tree.ward1_cell1, sent_on=day(10, 6))
    update(day(10, 13))
    reminder = reminders(rule=Code.COMMENT_NOT_ACKNOWLEDGED, user=cast.ward1.secretary).get()
    assert reminder.details["member"] == own.full_name
    client.force_login(cast.ward1.secretary)
    landing = client.get(reverse("reminders:open", args=[reminder.pk]), follow=True)
    assert landing.status_code == 200
    text = landing.content.decode()
    assert own.full_name in text
    # The other comment is the health department's to acknowledge, not the ward's.
    assert others.full_name not in text


# -- names in the e-mails read in the wrong order -------------------------------------------------------------------


def test_the_e_mail_greets_and_addresses_the_officer_family_name_first(cast):
    user = make_officer(
        cast.tree.ward1, username="phuong-le", email="le@example.vn", first_name="Văn Hùng", last_name="Lê"
    )
    _introduced(cast, D0, ward=cast.tree.ward1)
    update(plus(D0, 7))
    message = reminder_message(user, reminders(user=user).get())
    assert "Lê Văn Hùng" in message.body
    assert message.to == ["Lê Văn Hùng <le@example.vn>"]


# -- thresholds: a city staff of one root sets another root's ----------------------------------------------------------


def test_city_staff_of_one_root_cannot_set_the_thresholds_of_another(cast, client):
    other_root = make_organisation(kind=Kind.ROOT, name="Đảng bộ tỉnh khác")
    staff = make_officer(other_root, role=Officer.Role.STAFF, username="staff-other-root")
    # A viewer post in the first root's ward 1 (a secondment, a cross-root reader): it writes nothing there.
    Officer.objects.create(
        user=staff, organisation=cast.tree.ward1, role=Officer.Role.VIEWER, started_on=datetime.date(2000, 1, 1)
    )
    client.force_login(staff)
    data = {field.name: field.default for field in ReminderSettings._meta.fields if field.name.endswith("_days")}
    client.post(reverse("reminders:settings"), {**data, "receive_after_days": 3})
    assert not ReminderSettings.objects.filter(organisation=cast.tree.root).exists()


# -- thresholds: two staff editing at once ----------------------------------------------------------------------------


class _Inputs(HTMLParser):
    """The name and value of each input of the page's thresholds form, as a browser would post them."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self.inside = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "reminder-settings-form":
            self.inside = True
        elif tag == "input" and self.inside and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def _form_of(response) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(response.content.decode())
    return parser.values


def test_a_thresholds_form_loaded_before_a_colleagues_change_does_not_undo_it(cast, client):
    first, second = cast.root.secretary, cast.root.deputy
    client.force_login(first)
    shown = _form_of(client.get(reverse("reminders:settings")))
    assert shown["receive_after_days"] == "7"
    # Meanwhile a colleague changes the reception threshold.
    colleague = Client()
    colleague.force_login(second)
    theirs = _form_of(colleague.get(reverse("reminders:settings")))
    colleague.post(reverse("reminders:settings"), {**theirs, "receive_after_days": "10"})
    assert ReminderSettings.objects.get(organisation=cast.tree.root).receive_after_days == 10
    # The first saves the page they loaded before, changing another threshold only.
    client.post(reverse("reminders:settings"), {**shown, "place_after_days": "20"})
    assert ReminderSettings.objects.get(organisation=cast.tree.root).receive_after_days == 10


# -- controls: what the audit tried and found sound (kept as regression guards) ---------------------------------------


def test_next_leaving_the_site_falls_back_to_the_list(cast, client):
    _introduced(cast, D0, ward=cast.tree.ward1)
    update(plus(D0, 7))
    reminder = reminders(user=cast.ward1.secretary).get()
    client.force_login(cast.ward1.secretary)
    for target in ("//evil.example/", "/\\evil.example/", "https://evil.example/", "http:/evil.example", "home"):
        response = client.post(reverse("reminders:read", args=[reminder.pk]), {"next": target})
        assert response.status_code == 302
        assert response["Location"] == reverse("reminders:list"), target


def test_the_posts_refuse_a_request_without_the_csrf_token(cast):
    _introduced(cast, D0, ward=cast.tree.ward1)
    update(plus(D0, 7))
    reminder = reminders(user=cast.ward1.secretary).get()
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.ward1.secretary)
    for url, data in (
        (reverse("reminders:read", args=[reminder.pk]), {}),
        (reverse("reminders:read-all"), {}),
        (reverse("reminders:preferences"), {"email": "x@example.vn", "delivery": "none"}),
    ):
        assert client.post(url, data).status_code == 403, url
    client.force_login(cast.root.secretary)
    assert client.post(reverse("reminders:settings"), {"receive_after_days": 3}).status_code == 403
    reminder.refresh_from_db()
    assert reminder.read_at is None
