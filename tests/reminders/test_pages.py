"""The reminders in the app (issue 14): the bell, the list behind it, opening and marking read, the e-mail
preference and the city staff's thresholds.

The reminders are made by the rules from real rows (``reminders.services.update_reminders`` on today), so that a
reminder whose cause is gone is one whose referral was really received.
"""

import datetime
import re

import pytest
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from branches.models import Officer
from members import services as member_services
from reminders import texts
from reminders.models import Reminder, ReminderPreference, ReminderSettings, Rule
from reminders.services import update_reminders
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db


def ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


@pytest.fixture
def world():
    """Ward 1's and ward 2's secretaries, each with a referral that has awaited reception for 10 days, and the city
    staff; today's rules run once."""
    tree = make_tree()
    ward1 = make_officer(tree.ward1, username="ward1-secretary")
    ward2 = make_officer(tree.ward2, username="ward2-secretary")
    city = make_officer(tree.root, role=Officer.Role.STAFF, username="city-staff")
    referral1 = make_referral(
        make_member(tree.cell), receiving_ward=tree.ward1, issuing_organisation=tree.committee, introduced_on=ago(10)
    )
    referral2 = make_referral(
        make_member(tree.cell), receiving_ward=tree.ward2, issuing_organisation=tree.committee, introduced_on=ago(10)
    )
    update_reminders(day=timezone.localdate())
    return {
        "tree": tree,
        "ward1": ward1,
        "ward2": ward2,
        "city": city,
        "referral1": referral1,
        "referral2": referral2,
        "reminder1": Reminder.objects.get(user=ward1, rule=Rule.AWAITING_RECEPTION, object_id=referral1.pk),
        "reminder2": Reminder.objects.get(user=ward2, rule=Rule.AWAITING_RECEPTION, object_id=referral2.pk),
    }


def bell_count(response) -> int | None:
    """The number on the bell of the menu, or None when there is no badge."""
    match = re.search(r'id="nav-bell-count"[^>]*>(\d+)<', response.content.decode())
    return int(match.group(1)) if match else None


def listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-reminder="(\d+)"', response.content.decode())]


# -- the list ------------------------------------------------------------------------------------------------------


def test_the_list_shows_the_users_own_reminders_newest_first(client, world):
    older = Reminder.objects.create(
        user=world["ward1"],
        organisation=world["tree"].ward1,
        rule=Rule.AWAITING_RECEPTION,
        object_id=world["referral1"].pk,
        step="older",
        details=world["reminder1"].details,
        due_on=ago(3),
    )
    client.force_login(world["ward1"])
    response = client.get(reverse("reminders:list"))
    assert response.status_code == 200
    assert listed(response) == [world["reminder1"].pk, older.pk]
    with translation.override("vi"):
        sentence = texts.sentence(world["reminder1"])
    assert escape(sentence) in response.content.decode()
    assert reverse("reminders:open", args=[world["reminder1"].pk]) in response.content.decode()
    assert 'data-read="no"' in response.content.decode()


def test_the_list_leaves_out_the_reminders_of_a_post_no_longer_held(client, world):
    Officer.objects.filter(user=world["ward1"]).update(ended_on=ago(1))
    # a post elsewhere now: the reminders of the post left are not read any more
    Officer.objects.create(
        user=world["ward1"], organisation=world["tree"].ward2, role=Officer.Role.SECRETARY, started_on=ago(1)
    )
    client.force_login(world["ward1"])
    response = client.get(reverse("reminders:list") + "?show=all")
    assert world["reminder1"].pk not in listed(response)
    assert client.get(reverse("reminders:open", args=[world["reminder1"].pk])).status_code == 404


def test_the_bell_counts_the_unread_open_reminders(client, world):
    client.force_login(world["ward1"])
    assert bell_count(client.get(reverse("home"))) == 1
    response = client.get(reverse("home"))
    assert 'id="nav-bell"' in response.content.decode()
    world["reminder1"].read_at = timezone.now()
    world["reminder1"].save()
    response = client.get(reverse("home"))
    assert bell_count(response) is None  # no badge at 0
    assert 'id="nav-bell"' in response.content.decode()


def test_the_bell_has_an_accessible_name_with_the_count(client, world):
    client.force_login(world["ward1"])
    html = client.get(reverse("home")).content.decode()
    bell = re.search(r'<a [^>]*id="nav-bell"[^>]*>', html, re.S).group(0)
    label = re.search(r'aria-label="([^"]*)"', bell).group(1)
    assert "1" in label


def test_the_filter_shows_open_closed_or_all(client, world):
    closed = Reminder.objects.create(
        user=world["ward1"],
        organisation=world["tree"].ward1,
        rule=Rule.AWAITING_RECEPTION,
        object_id=world["referral1"].pk,
        step="closed",
        details=world["reminder1"].details,
        due_on=ago(30),
        closed_on=ago(20),
        closed_because=Reminder.Closed.SUPERSEDED,
    )
    client.force_login(world["ward1"])
    url = reverse("reminders:list")
    assert listed(client.get(url)) == [world["reminder1"].pk]
    assert listed(client.get(url + "?show=closed")) == [closed.pk]
    assert listed(client.get(url + "?show=all")) == [world["reminder1"].pk, closed.pk]
    assert listed(client.get(url + "?show=nonsense")) == [world["reminder1"].pk]
    html = client.get(url + "?show=closed").content.decode()
    with translation.override("vi"):
        assert escape(texts.closed_because(closed)) in html


def test_a_reminder_whose_cause_is_gone_closes_when_the_user_looks(client, world):
    member_services.referral_receive(referral=world["referral1"], received_on=timezone.localdate(), by=world["ward1"])
    client.force_login(world["ward1"])
    assert world["reminder1"].pk not in listed(client.get(reverse("reminders:list")))
    response = client.get(reverse("reminders:list") + "?show=closed")
    assert listed(response) == [world["reminder1"].pk]
    world["reminder1"].refresh_from_db()
    assert world["reminder1"].closed_on == timezone.localdate()
    assert world["reminder1"].closed_because == Reminder.Closed.RESOLVED
    with translation.override("vi"):
        reason = texts.closed_because(world["reminder1"])
    assert escape(reason) in response.content.decode()
    assert 'data-state="closed"' in response.content.decode()
    # the other ward's reminder is not touched by this user's look
    world["reminder2"].refresh_from_db()
    assert world["reminder2"].closed_on is None


def test_the_list_pages_fifty_at_a_time(client, world):
    Reminder.objects.bulk_create(
        Reminder(
            user=world["ward1"],
            organisation=world["tree"].ward1,
            rule=Rule.WEEKLY_DIGEST,
            object_id=world["tree"].ward1.pk,
            step=f"2020-W{i:02d}",
            details={},
            due_on=ago(100 + i),
        )
        for i in range(60)
    )
    client.force_login(world["ward1"])
    first = client.get(reverse("reminders:list"))
    assert len(listed(first)) == 50
    assert 'data-row-count="61"' in first.content.decode()
    assert 'href="?show=open&amp;page=2"' in first.content.decode()  # the pager keeps what is shown
    second = client.get(reverse("reminders:list") + "?page=2")
    assert len(listed(second)) == 11
    assert not set(listed(first)) & set(listed(second))


def test_the_list_costs_the_same_queries_for_many_reminders(client, world, django_assert_max_num_queries):
    client.force_login(world["ward1"])
    client.get(reverse("reminders:list"))  # the session, warmed
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("reminders:list"))
    tree = world["tree"]
    for _ in range(30):
        make_referral(
            make_member(tree.cell), receiving_ward=tree.ward1, issuing_organisation=tree.committee, introduced_on=ago(9)
        )
    update_reminders(day=timezone.localdate())
    assert Reminder.objects.filter(user=world["ward1"], closed_on__isnull=True).count() == 31
    with django_assert_max_num_queries(len(one)):
        response = client.get(reverse("reminders:list"))
    assert len(listed(response)) == 31


def test_the_weekly_digest_shows_its_numbers(client, world):
    update_reminders(day=timezone.localdate())
    digest = Reminder.objects.get(user=world["city"], rule=Rule.WEEKLY_DIGEST)
    client.force_login(world["city"])
    html = client.get(reverse("reminders:list")).content.decode()
    assert f'data-reminder="{digest.pk}"' in html
    with translation.override("vi"):
        lines = texts.digest_lines(digest)
    for label, _value in lines:
        assert escape(label) in html
    assert re.search(r'data-rule="weekly_digest".*?app-reminder-digest', html, re.S)


# -- open and mark read ----------------------------------------------------------------------------------------------


def test_open_marks_read_and_goes_where_the_work_is_done(client, world):
    client.force_login(world["ward1"])
    response = client.get(reverse("reminders:open", args=[world["reminder1"].pk]))
    assert response.status_code == 302
    assert response.url == reverse("members:referral-detail", args=[world["referral1"].pk])
    world["reminder1"].refresh_from_db()
    first_read = world["reminder1"].read_at
    assert first_read is not None
    # opened again, it keeps the time it was first read
    client.get(reverse("reminders:open", args=[world["reminder1"].pk]))
    world["reminder1"].refresh_from_db()
    assert world["reminder1"].read_at == first_read
    # and the page it leads to opens for this user
    assert client.get(response.url).status_code == 200


def test_someone_elses_reminder_answers_404(client, world):
    client.force_login(world["ward1"])
    other = world["reminder2"].pk
    assert client.get(reverse("reminders:open", args=[other])).status_code == 404
    assert client.post(reverse("reminders:read", args=[other])).status_code == 404
    assert client.get(reverse("reminders:read", args=[other])).status_code == 404  # 404 before 405
    world["reminder2"].refresh_from_db()
    assert world["reminder2"].read_at is None


def test_read_marks_one_and_goes_back(client, world):
    client.force_login(world["ward1"])
    url = reverse("reminders:read", args=[world["reminder1"].pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"next": reverse("reminders:list") + "?show=all"})
    assert response.status_code == 302 and response.url == reverse("reminders:list") + "?show=all"
    world["reminder1"].refresh_from_db()
    assert world["reminder1"].read_at is not None
    # a next outside the site is not followed
    response = client.post(url, {"next": "https://example.org/"})
    assert response.url == reverse("reminders:list")


def test_read_all_marks_only_the_users_reminders(client, world):
    extra = Reminder.objects.create(
        user=world["ward1"],
        organisation=world["tree"].ward1,
        rule=Rule.AWAITING_RECEPTION,
        object_id=world["referral1"].pk,
        step="another",
        details=world["reminder1"].details,
        due_on=ago(2),
    )
    client.force_login(world["ward1"])
    url = reverse("reminders:read-all")
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and response.url == reverse("reminders:list")
    assert not Reminder.objects.filter(pk__in=[world["reminder1"].pk, extra.pk], read_at__isnull=True).exists()
    world["reminder2"].refresh_from_db()
    assert world["reminder2"].read_at is None
    assert bell_count(client.get(reverse("home"))) is None


# -- the e-mail preference -------------------------------------------------------------------------------------------


def test_preferences_save_the_address_and_the_delivery(client, world):
    user = world["ward1"]
    client.force_login(user)
    url = reverse("reminders:preferences")
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["form"]["delivery"].value() == ReminderPreference.Delivery.DAILY
    response = client.post(url, {"email": "phuong1@example.org", "delivery": "immediate"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "phuong1@example.org"
    assert ReminderPreference.objects.get(user=user).delivery == ReminderPreference.Delivery.IMMEDIATE
    client.post(url, {"email": "", "delivery": "none"})
    user.refresh_from_db()
    assert user.email == ""
    assert ReminderPreference.objects.get(user=user).delivery == ReminderPreference.Delivery.NONE


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not an address", "delivery": "daily"},
        {"email": "", "delivery": "immediate"},  # an e-mail wanted, no address
        {"email": "a@example.org", "delivery": "hourly"},
    ],
)
def test_preferences_refuse_bad_values(client, world, data):
    user = world["ward1"]
    client.force_login(user)
    response = client.post(reverse("reminders:preferences"), data)
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    user.refresh_from_db()
    assert user.email == ""
    assert not ReminderPreference.objects.filter(user=user).exists()


def test_any_signed_in_user_has_preferences(client, db):
    user = make_officer(make_tree().ward1_cell1, role=Officer.Role.VIEWER)
    client.force_login(user)
    assert client.get(reverse("reminders:preferences")).status_code == 200


# -- the thresholds --------------------------------------------------------------------------------------------------


def thresholds(**changes) -> dict:
    """The form as a freshly loaded page posts it: with the saved state it showed (``version``)."""
    latest = ReminderSettings.history.aggregate(latest=Max("history_id"))["latest"] or 0
    values = {
        "version": latest,
        "introduce_after_days": 30,
        "letter_follow_up_after_days": 20,
        "acknowledge_after_days": 7,
        "receive_after_days": 7,
        "place_after_days": 14,
        "comments_first_notice_days": 30,
        "comments_last_notice_days": 7,
        "meeting_notice_days": 30,
        "report_after_days": 14,
    }
    return values | changes


def test_city_staff_set_the_thresholds_and_see_the_history(client, world):
    client.force_login(world["city"])
    url = reverse("reminders:settings")
    response = client.get(url)
    assert response.status_code == 200
    assert 'id="reminder-settings-defaults"' in response.content.decode()
    assert not ReminderSettings.objects.exists()

    response = client.post(url, thresholds(receive_after_days=5))
    assert response.status_code == 302
    row = ReminderSettings.objects.get()
    assert row.organisation == world["tree"].root
    assert row.receive_after_days == 5
    assert row.recorded_by == world["city"]

    client.post(url, thresholds(receive_after_days=3, place_after_days=10))
    row.refresh_from_db()
    assert (row.receive_after_days, row.place_after_days) == (3, 10)
    assert ReminderSettings.objects.count() == 1
    html = client.get(url).content.decode()
    assert 'id="history"' in html
    assert html.count('class="list-group-item"') >= 2  # created, changed
    assert "<del" in html  # the change from 5 to 3, from 14 to 10


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"comments_last_notice_days": 30}, "comments_last_notice_days"),  # not before the first notice
        ({"receive_after_days": 0}, "receive_after_days"),
        ({"place_after_days": 366}, "place_after_days"),
        ({"report_after_days": "abc"}, "report_after_days"),
    ],
)
def test_bad_thresholds_re_render_with_errors(client, world, changes, field):
    client.force_login(world["city"])
    response = client.post(reverse("reminders:settings"), thresholds(**changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}"' in response.content.decode()
    assert "is-invalid" in response.content.decode()
    assert not ReminderSettings.objects.exists()


def test_threshold_errors_are_in_the_users_language(client, world):
    client.force_login(world["city"])
    url = reverse("reminders:settings")
    response = client.post(url, thresholds(comments_last_notice_days=31))
    with translation.override("vi"):
        expected = translation.gettext("The last notice comes after the first: fewer days before the deadline.")
    # the model's clean() alone, not the database constraint's generic message as well
    assert response.context["form"].errors["comments_last_notice_days"] == [expected]
    response = client.post(url, thresholds(receive_after_days=0))
    with translation.override("vi"):
        expected = translation.gettext("Ensure this value is greater than or equal to %(limit_value)s.") % {
            "limit_value": 1
        }
    assert expected != "Ensure this value is greater than or equal to 1."  # Django's Vietnamese catalogue has it
    assert response.context["form"].errors["receive_after_days"] == [expected]


@pytest.mark.parametrize("who", ["ward1", "ward2"])
def test_others_get_404_on_the_thresholds(client, world, who):
    client.force_login(world[who])
    url = reverse("reminders:settings")
    assert client.get(url).status_code == 404
    assert client.post(url, thresholds(receive_after_days=2)).status_code == 404
    assert not ReminderSettings.objects.exists()


def test_a_city_viewer_gets_404_on_the_thresholds(client, world):
    viewer = make_officer(world["tree"].root, role=Officer.Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("reminders:settings")).status_code == 404


def test_the_list_offers_the_thresholds_only_to_city_staff(client, world):
    client.force_login(world["city"])
    assert 'id="reminders-settings"' in client.get(reverse("reminders:list")).content.decode()
    client.force_login(world["ward1"])
    assert 'id="reminders-settings"' not in client.get(reverse("reminders:list")).content.decode()


# -- the admin -------------------------------------------------------------------------------------------------------


def test_the_admin_opens_the_reminders_settings_and_preferences(client, world):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser(username="root-admin", password="x-Dong-Ha-76")
    ReminderPreference.objects.create(user=world["ward1"])
    client.force_login(world["city"])
    client.post(reverse("reminders:settings"), thresholds(receive_after_days=5))
    client.force_login(admin)
    rows = {
        "reminder": world["reminder1"],
        "remindersettings": ReminderSettings.objects.get(),
        "reminderpreference": ReminderPreference.objects.get(),
    }
    for model, row in rows.items():
        assert client.get(reverse(f"admin:reminders_{model}_changelist")).status_code == 200, model
        assert client.get(reverse(f"admin:reminders_{model}_change", args=[row.pk])).status_code == 200, model
    assert (
        client.get(reverse("admin:reminders_remindersettings_history", args=[rows["remindersettings"].pk])).status_code
        == 200
    )
    # a reminder is made by send_reminders, not added by hand
    assert client.get(reverse("admin:reminders_reminder_add")).status_code == 403
