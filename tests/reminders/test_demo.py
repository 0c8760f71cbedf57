"""The reminders on the Đông Hà demo data (issue 14, "Demo"): ``send_reminders`` on the demo's day gives each demo
user reminders of their role, each opening a page that user may open, none about a row outside their scope; the
e-mails go to the demo users' addresses, and a second run makes and sends nothing."""

import datetime
import io
from collections import defaultdict
from email.utils import getaddresses

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from branches.access import access_for
from members.demo.builder import DEMO_USERS
from members.selectors import scope
from reminders.mailing import absolute
from reminders.models import Reminder
from reminders.models import Rule as Code
from reminders.rules import RULE_BY_CODE
from tests.conftest import DEMO_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

TODAY = DEMO_TODAY.isoformat()
LINKS_PER_RULE = 10  # links opened per user and rule: hundreds of reminders open a handful of pages

# What each demo role has to act on by the demo's day (the deadline of the comments, 30/11): at least these rules.
EXPECTED = {
    "thanhuy": {Code.WEEKLY_DIGEST},
    "phuong1": {Code.COMMENTS_NOT_SENT, Code.AWAITING_RECEPTION},
    "phuong2": {Code.COMMENTS_NOT_SENT, Code.AWAITING_RECEPTION},
    "khupho1": {Code.COMMENTS_TO_WRITE, Code.NOT_REPORTED},
    "coquan1": {Code.LETTER_NOT_RECEIVED, Code.COMMENT_NOT_ACKNOWLEDGED},
}

# For the rules about one row: the queryset of rows of that kind the user may act on, as the pages scope it.
ROWS_IN_SCOPE = {
    Code.NOT_INTRODUCED: scope.members_introducible_by,
    Code.LETTER_NOT_RECEIVED: scope.referral_letters_writable_by,
    Code.COMMENT_NOT_ACKNOWLEDGED: scope.comments_receivable_by,
    Code.AWAITING_RECEPTION: scope.referrals_receivable_by,
    Code.AWAITING_PLACEMENT: scope.referrals_receivable_by,
    Code.NOT_REPORTED: scope.referrals_reportable_by,
    Code.MEETING_DUE: scope.residential_cells_writable_by,
}


@pytest.fixture(autouse=True)
def _demo_day(demo, monkeypatch):
    """The demo's day is today for the pages and the users' posts."""
    noon = datetime.datetime.combine(DEMO_TODAY, datetime.time(12), tzinfo=timezone.get_current_timezone())
    monkeypatch.setattr(timezone, "now", lambda: noon)


@pytest.fixture
def users():
    return {user.username: user for user in get_user_model().objects.filter(username__in=DEMO_USERS)}


def send(**options) -> str:
    out = io.StringIO()
    call_command("send_reminders", today=TODAY, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def sent(mailoutbox):
    """One run on the demo's day; the e-mails it sent."""
    send()
    messages = list(mailoutbox)
    mailoutbox.clear()
    return messages


def by_rule(user) -> dict[str, list[Reminder]]:
    rows = defaultdict(list)
    for reminder in Reminder.objects.filter(user=user).select_related("organisation").order_by("pk"):
        rows[reminder.rule].append(reminder)
    return rows


def sample(reminders: list[Reminder]) -> list[Reminder]:
    """Up to LINKS_PER_RULE reminders spread over the list (the oldest and the newest causes among them)."""
    if len(reminders) <= LINKS_PER_RULE:
        return reminders
    step = (len(reminders) - 1) / (LINKS_PER_RULE - 1)
    return [reminders[round(n * step)] for n in range(LINKS_PER_RULE)]


def test_each_demo_user_has_the_reminders_of_their_role(sent, users):
    assert set(users) == set(DEMO_USERS)
    for username, user in users.items():
        rules = by_rule(user)
        assert EXPECTED[username] <= set(rules), f"{username}: {sorted(rules)}"
        posts = {post.organisation_id for post in access_for(user).posts}
        for code, reminders in rules.items():
            for reminder in reminders:
                # Sent for a post the user holds today, at an organisation of a kind the rule reaches, still open.
                assert reminder.organisation_id in posts, (username, code, reminder.organisation)
                assert reminder.organisation.kind in RULE_BY_CODE[code].kinds, (username, code)
                assert reminder.is_open and reminder.due_on == DEMO_TODAY
                assert reminder.details, (username, code)


def test_no_reminder_names_a_row_outside_the_users_scope(sent, users):
    checked = 0
    for username, user in users.items():
        posts = {post.organisation_id for post in access_for(user).posts}
        for code, reminders in by_rule(user).items():
            object_ids = {reminder.object_id for reminder in reminders}
            if code in ROWS_IN_SCOPE:
                in_scope = set(ROWS_IN_SCOPE[code](user).filter(pk__in=object_ids).values_list("pk", flat=True))
                assert object_ids <= in_scope, f"{username} {code}: outside the scope: {sorted(object_ids - in_scope)}"
            else:
                # About an organisation as a whole: the user's own.
                assert object_ids <= posts, (username, code, object_ids)
            checked += len(object_ids)
    assert checked > 100


def test_every_link_opens_for_its_user_and_not_for_another(client, sent, users):
    pages: dict[str, set[str]] = defaultdict(set)
    for username, user in users.items():
        client.force_login(user)
        for code, reminders in by_rule(user).items():
            for reminder in sample(reminders):
                response = client.get(reverse("reminders:open", args=[reminder.pk]))
                assert response.status_code == 302, (username, code, response.status_code)
                target = RULE_BY_CODE[code].url(reminder)
                assert response.url == target, (username, code)
                pages[username].add(target)
        for target in sorted(pages[username]):
            assert client.get(target).status_code == 200, (username, target)
        assert client.get(reverse("reminders:list")).status_code == 200, username
    # Nobody opens another user's reminder, even one about a row they both see.
    client.force_login(users["phuong2"])
    theirs = Reminder.objects.filter(user=users["phuong1"]).first()
    assert client.get(reverse("reminders:open", args=[theirs.pk])).status_code == 404
    assert sum(len(targets) for targets in pages.values()) >= len(users)


def addresses_of(message) -> list[str]:
    return [address for _name, address in getaddresses(message.to)]


def test_the_emails_go_to_the_demo_users_addresses(sent, users):
    addresses = {user.email for user in users.values()}
    assert addresses == {f"{username}@dongha76.example" for username in DEMO_USERS}
    # The demo users keep the default, a daily digest: one e-mail each.
    assert sorted(address for message in sent for address in addresses_of(message)) == sorted(addresses)
    for message in sent:
        (user,) = [user for user in users.values() if user.email in addresses_of(message)]
        reminder = Reminder.objects.filter(user=user).order_by("pk").first()
        assert absolute(reverse("reminders:open", args=[reminder.pk])) in message.body
        assert absolute(reverse("reminders:open", args=[reminder.pk])).startswith(("http://", "https://"))
    assert not Reminder.objects.filter(email=Reminder.Email.PENDING).exists()


def test_a_second_run_makes_and_sends_nothing(sent, mailoutbox):
    made = Reminder.objects.count()
    assert sent and made
    output = send()
    assert Reminder.objects.count() == made
    assert mailoutbox == []
    assert f"{TODAY}: make 0, close 0, send 0 e-mail(s)" in output, output[-300:]


def test_the_dry_run_shows_the_emails_it_would_send(mailoutbox, users):
    output = send(dry_run=True)
    for user in users.values():
        # The reminders name the user, the e-mails the address (the lines' layout is the command's own business).
        assert user.email in output, user.username
    assert f"{TODAY}: would make " in output and f"would send {len(users)} e-mail(s)" in output, output[-300:]
    assert not Reminder.objects.exists()
    assert mailoutbox == []
