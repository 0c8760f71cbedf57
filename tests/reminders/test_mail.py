"""Reminders by e-mail (issue 14): each at once or a daily digest or none, as each user prefers; once per reminder
however often the command runs; a failed send stays pending and the next run sends it; Vietnamese text with absolute
links that open the reminder. The e-mails go to Django's locmem backend (pytest-django's ``mailoutbox``).

The data: a grassroots committee's member referred to ward 1, the letter introduced ``N`` days before the day; ward
1's secretary is reminded once the referral has awaited reception 7 days (the default threshold). Days in March 2025:
far from the comment deadline and the end of a half-year, so that no other rule speaks.
"""

import datetime
import smtplib

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse
from django.utils import translation

from members.models import Referral
from reminders import mailing
from reminders.delivery import deliver
from reminders.mailing import digest_message, reminder_message
from reminders.models import Reminder, ReminderPreference, Rule
from reminders.services import run, update_reminders
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 3, 10)
SITE = "https://dangvien.example.vn"
ADDRESS = "bithu.phuong1@example.vn"
Delivery = ReminderPreference.Delivery


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = "Nhắc việc dongha76 <nhacviec@dangvien.example.vn>"


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def secretary(tree):
    return make_officer(tree.ward1, username="bithu-p1", email=ADDRESS, first_name="Lan", last_name="Trần Thị")


def prefer(user, delivery: str) -> None:
    ReminderPreference.objects.update_or_create(user=user, defaults={"delivery": delivery})


def referral(tree, *, waited: int, on: datetime.date = DAY, name: str | None = None) -> Referral:
    """A referral to ward 1 introduced ``waited`` days before ``on``, not received."""
    fields = {"full_name": name} if name else {}
    member = make_member(tree.cell, **fields)
    return make_referral(member, receiving_ward=tree.ward1, introduced_on=on - days(waited))


def pending(user) -> list[Reminder]:
    return list(Reminder.objects.filter(user=user, email=Reminder.Email.PENDING))


# --- immediate, digest, none ---------------------------------------------------------------------------------------


def test_each_reminder_at_once_is_one_e_mail(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.IMMEDIATE)
    first, second = referral(tree, waited=7), referral(tree, waited=9)
    result = run(day=DAY)
    assert result.failures == []
    assert len(mailoutbox) == 2
    subjects = " ".join(message.subject for message in mailoutbox)
    assert first.member.full_name in subjects and second.member.full_name in subjects
    for message in mailoutbox:
        assert message.to == [f"Trần Thị Lan <{ADDRESS}>"]
        assert message.from_email == settings.DEFAULT_FROM_EMAIL
        assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert Reminder.objects.filter(user=secretary, email=Reminder.Email.SENT).count() == 2
    assert not Reminder.objects.filter(user=secretary, emailed_at__isnull=True).exists()


def test_the_reminder_is_made_on_its_day_and_not_before(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.IMMEDIATE)
    referral(tree, waited=6)
    run(day=DAY)
    assert mailoutbox == []
    run(day=DAY + days(1))
    assert len(mailoutbox) == 1


def test_a_daily_digest_gathers_the_days_reminders_in_one_e_mail_grouped_by_rule(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.DAILY)
    referrals = [referral(tree, waited=7 + n) for n in range(3)]
    run(day=DAY)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert "3" in message.subject and "10/03/2025" in message.subject
    body = message.body
    for row in referrals:
        assert row.member.full_name in body
    # One heading for the rule, with its count, then the three reminders under it.
    with translation.override(settings.LANGUAGE_CODE):
        title = str(Rule(Rule.AWAITING_RECEPTION).label)
    assert body.count(f"{title} (3)") == 1
    assert Reminder.objects.filter(user=secretary, email=Reminder.Email.SENT).count() == 3
    assert ReminderPreference.objects.get(user=secretary).last_digest_on == DAY


def test_without_a_preference_the_user_gets_the_daily_digest(tree, secretary, mailoutbox):
    referral(tree, waited=7)
    referral(tree, waited=8)
    run(day=DAY)
    assert len(mailoutbox) == 1
    assert ReminderPreference.objects.get(user=secretary).delivery == Delivery.DAILY


def test_one_digest_a_day_what_comes_later_waits_for_tomorrows(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.DAILY)
    referral(tree, waited=7)
    run(day=DAY)
    later = referral(tree, waited=7)  # due the same day, made by a later run of that day
    run(day=DAY)
    assert len(mailoutbox) == 1
    assert [r.object_id for r in pending(secretary)] == [later.pk]
    run(day=DAY + days(1))
    assert len(mailoutbox) == 2
    assert later.member.full_name in mailoutbox[1].body
    assert mailoutbox[0].body.count("https://") > 0
    assert pending(secretary) == []


def test_a_run_for_an_earlier_day_sends_no_second_digest(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.DAILY)
    referral(tree, waited=10)
    run(day=DAY)
    referral(tree, waited=12)
    run(day=DAY - days(1))
    assert len(mailoutbox) == 1


def test_a_preference_of_none_sends_nothing(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.NONE)
    referral(tree, waited=7)
    run(day=DAY)
    run(day=DAY + days(1))
    assert mailoutbox == []
    reminder = Reminder.objects.get(user=secretary)
    assert reminder.email == Reminder.Email.NOT_SENT and reminder.is_open  # still on the page, under the bell


def test_a_user_without_an_address_gets_nothing(tree, mailoutbox):
    user = make_officer(tree.ward1, email="")
    prefer(user, Delivery.IMMEDIATE)
    referral(tree, waited=7)
    run(day=DAY)
    assert mailoutbox == []
    assert Reminder.objects.get(user=user).email == Reminder.Email.NOT_SENT


def test_choosing_none_or_removing_the_address_stops_what_is_pending(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.DAILY)
    referral(tree, waited=7)
    update_reminders(day=DAY)  # made, not yet e-mailed
    prefer(secretary, Delivery.NONE)
    deliver(day=DAY)
    assert mailoutbox == []
    assert Reminder.objects.get(user=secretary).email == Reminder.Email.NOT_SENT


# --- once, however often -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delivery", [Delivery.IMMEDIATE, Delivery.DAILY])
def test_two_runs_give_one_e_mail(tree, secretary, mailoutbox, delivery):
    prefer(secretary, delivery)
    referral(tree, waited=7)
    run(day=DAY)
    run(day=DAY)
    run(day=DAY + days(1))  # the next day: the same reminder (same rule, object and step) is not made again
    assert len(mailoutbox) == 1
    assert Reminder.objects.filter(user=secretary).count() == 1


def test_a_reminder_closed_before_its_digest_is_not_e_mailed(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.DAILY)
    gone, stays = referral(tree, waited=7), referral(tree, waited=8)
    update_reminders(day=DAY)
    Referral.objects.filter(pk=gone.pk).update(received_on=DAY)  # the ward received the letter
    run(day=DAY + days(1))
    assert len(mailoutbox) == 1
    assert stays.member.full_name in mailoutbox[0].body
    assert gone.member.full_name not in mailoutbox[0].body
    closed = Reminder.objects.get(user=secretary, object_id=gone.pk)
    assert closed.closed_because == Reminder.Closed.RESOLVED
    assert closed.email == Reminder.Email.NOT_SENT and closed.emailed_at is None


def test_a_reminder_closed_before_it_went_at_once_is_not_e_mailed(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.IMMEDIATE)
    gone = referral(tree, waited=7)
    update_reminders(day=DAY)
    Referral.objects.filter(pk=gone.pk).update(received_on=DAY)
    run(day=DAY + days(1))
    assert mailoutbox == []
    assert Reminder.objects.get(user=secretary).email == Reminder.Email.NOT_SENT


# --- failures ------------------------------------------------------------------------------------------------------


class FailingBackend(LocmemBackend):
    """The server refuses every message."""

    def send_messages(self, messages):
        raise smtplib.SMTPDataError(451, "try again later")


class SecondFailsBackend(LocmemBackend):
    """The server takes the first message of the run and refuses the next ones."""

    taken = 0

    def send_messages(self, messages):
        if SecondFailsBackend.taken >= 1:
            raise smtplib.SMTPServerDisconnected("connection lost")
        SecondFailsBackend.taken += 1
        return super().send_messages(messages)


class UnreachableBackend(LocmemBackend):
    opened = 0

    def open(self):
        UnreachableBackend.opened += 1
        raise ConnectionRefusedError(111, "Connection refused")


BACKENDS = "tests.reminders.test_mail"


@pytest.mark.parametrize("delivery", [Delivery.IMMEDIATE, Delivery.DAILY])
def test_a_failed_send_stays_pending_and_the_next_run_sends_it(tree, secretary, mailoutbox, settings, delivery):
    prefer(secretary, delivery)
    referral(tree, waited=7)
    settings.EMAIL_BACKEND = f"{BACKENDS}.FailingBackend"
    result = run(day=DAY)
    assert len(result.failures) == 1 and "bithu-p1" in result.failures[0] and "try again later" in result.failures[0]
    assert result.emails == [] and mailoutbox == []
    assert len(pending(secretary)) == 1
    if delivery == Delivery.DAILY:  # the digest did not go: today's is still to send
        assert ReminderPreference.objects.get(user=secretary).last_digest_on is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    result = run(day=DAY)
    assert result.failures == []
    assert len(mailoutbox) == 1
    assert pending(secretary) == []


def test_a_failure_in_the_middle_keeps_what_was_sent_sent(tree, secretary, mailoutbox, settings):
    prefer(secretary, Delivery.IMMEDIATE)
    referral(tree, waited=7)
    referral(tree, waited=8)
    SecondFailsBackend.taken = 0
    settings.EMAIL_BACKEND = f"{BACKENDS}.SecondFailsBackend"
    result = run(day=DAY)
    assert len(mailoutbox) == 1 and len(result.failures) == 1
    assert Reminder.objects.filter(user=secretary, email=Reminder.Email.SENT).count() == 1
    assert len(pending(secretary)) == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run(day=DAY)
    assert len(mailoutbox) == 2
    assert mailoutbox[0].subject != mailoutbox[1].subject  # the second run sent the other one, not the first again


def test_an_unreachable_server_is_tried_once_and_everything_stays_pending(tree, secretary, mailoutbox, settings):
    prefer(secretary, Delivery.IMMEDIATE)
    other = make_officer(tree.ward1, email="pho.bithu@example.vn")
    prefer(other, Delivery.DAILY)
    referral(tree, waited=7)
    UnreachableBackend.opened = 0
    settings.EMAIL_BACKEND = f"{BACKENDS}.UnreachableBackend"
    result = run(day=DAY)
    assert UnreachableBackend.opened == 1
    assert len(result.failures) == 1 and "2 user(s) left pending" in result.failures[0]
    assert len(pending(secretary)) == 1 and len(pending(other)) == 1


def test_dry_delivery_composes_the_messages_and_changes_nothing(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.DAILY)
    referral(tree, waited=7)
    update_reminders(day=DAY)
    messages, failures = deliver(day=DAY, send=False)
    assert len(messages) == 1 and failures == []
    assert mailoutbox == []
    assert len(pending(secretary)) == 1
    assert ReminderPreference.objects.get(user=secretary).last_digest_on is None


# --- what the e-mail says -------------------------------------------------------------------------------------------


def test_the_links_are_absolute_and_open_the_reminder(tree, secretary, mailoutbox, client):
    prefer(secretary, Delivery.IMMEDIATE)
    row = referral(tree, waited=7)
    run(day=DAY)
    reminder = Reminder.objects.get(user=secretary)
    link = SITE + reverse("reminders:open", args=[reminder.pk])
    message = mailoutbox[0]
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert link in message.body and f'href="{link}"' in html
    assert SITE + reverse("reminders:preferences") in message.body
    assert SITE + reverse("reminders:list") in message.body

    client.force_login(secretary)
    response = client.get(link.removeprefix(SITE))
    assert response.status_code == 302
    assert response.url.startswith(reverse("members:referral-detail", args=[row.pk]))

    stranger = make_officer(tree.ward2, email="other@example.vn")
    client.force_login(stranger)
    assert client.get(link.removeprefix(SITE)).status_code == 404


@pytest.mark.parametrize("delivery", [Delivery.IMMEDIATE, Delivery.DAILY])
def test_the_e_mail_is_in_vietnamese_whatever_language_is_active(tree, mailoutbox, delivery):
    city = make_officer(tree.root, email="thanhuy@example.vn", first_name="Hà", last_name="Nguyễn")
    prefer(city, delivery)
    referral(tree, waited=7)
    with translation.override("en"):
        run(day=DAY)
    digest = [m for m in mailoutbox if "thanhuy@example.vn" in m.to[0]]
    assert len(digest) == 1
    body = digest[0].body
    # The weekly digest's numbers carry the home page's labels, already in the catalogue.
    assert "Chờ tiếp nhận" in body
    assert "Đã tiếp nhận, chờ phân công về chi bộ" in body
    assert "Awaiting reception" not in body
    assert "10/03/2025" in body  # dates as dd/mm/yyyy


def test_the_sentence_names_the_member_and_the_day_of_the_letter(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.IMMEDIATE)
    row = referral(tree, waited=7, name="Lê Văn Tám")
    run(day=DAY)
    body = mailoutbox[0].body
    assert "Lê Văn Tám" in body and row.introduced_on.strftime("%d/%m/%Y") in body
    assert "Lan" in body  # the greeting names the user
    assert "Lê Văn Tám" in mailoutbox[0].subject


def test_the_html_part_escapes_what_comes_from_the_database(tree, secretary):
    prefer(secretary, Delivery.IMMEDIATE)
    referral(tree, waited=7, name='Nguyễn <b onclick="x">Văn</b> & Con')
    update_reminders(day=DAY)
    reminder = Reminder.objects.get(user=secretary)
    message = reminder_message(secretary, reminder)
    html = message.alternatives[0][0]
    assert "<b onclick" not in html and "&lt;b onclick=&quot;x&quot;&gt;" in html
    assert 'Nguyễn <b onclick="x">Văn</b> & Con' in message.body  # plain text is not escaped


def test_a_line_break_in_a_name_does_not_reach_a_header(tree, secretary):
    secretary.first_name = "Lan\r\nBcc: x@example.com"
    referral(tree, waited=7, name="Trần\nVăn Hai")
    update_reminders(day=DAY)
    reminder = Reminder.objects.get(user=secretary)
    for message in (reminder_message(secretary, reminder), digest_message(secretary, [reminder], DAY)):
        message.message()  # Django refuses a header with a line break (BadHeaderError)
        assert "\n" not in message.subject and "\n" not in message.to[0]


def test_a_long_subject_is_cut(tree, secretary, monkeypatch):
    monkeypatch.setattr(mailing, "SUBJECT_LENGTH", 60)
    referral(tree, waited=7, name="Nguyễn Văn " + "Thử " * 20)
    update_reminders(day=DAY)
    message = reminder_message(secretary, Reminder.objects.get(user=secretary))
    assert len(message.subject) <= 60 and message.subject.endswith("…")


def test_messages_go_through_djangos_mail_framework(tree, secretary, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    prefer(secretary, Delivery.IMMEDIATE)
    referral(tree, waited=7)
    mail.outbox = []
    run(day=DAY)
    assert len(mail.outbox) == 1
    raw = mail.outbox[0].message().as_string()
    assert "Auto-Submitted: auto-generated" in raw
    assert "multipart/alternative" in raw


def test_a_long_digest_lists_ten_reminders_of_a_rule_and_counts_the_rest(tree, secretary, mailoutbox):
    prefer(secretary, Delivery.DAILY)
    for n in range(12):
        referral(tree, waited=7 + n)
    run(day=DAY)
    message = mailoutbox[0]
    assert "12" in message.subject
    assert message.body.count("/open/") == 10 and message.alternatives[0][0].count("/open/") == 10
    assert "(12)" in message.body
    after_the_tenth = message.body.rsplit("/open/", 1)[1].split("\n-- \n")[0]
    assert "… " in after_the_tenth and " 2 " in after_the_tenth  # "… and 2 more on your reminders page."
    assert Reminder.objects.filter(user=secretary, email=Reminder.Email.SENT).count() == 12  # all told of, all sent


def test_more_at_once_than_the_limit_go_in_one_e_mail(tree, secretary, mailoutbox):
    """A backlog (the first run after going live) is one e-mail, not a flood: over IMMEDIATE_AT_MOST pending."""
    from reminders.delivery import IMMEDIATE_AT_MOST

    prefer(secretary, Delivery.IMMEDIATE)
    for waited in range(7, 7 + IMMEDIATE_AT_MOST + 1):
        referral(tree, waited=waited)
    run(day=DAY)
    assert len(mailoutbox) == 1
    assert not Reminder.objects.filter(email=Reminder.Email.PENDING).exists()
    referral(tree, waited=7, on=DAY + days(1))
    run(day=DAY + days(1))
    assert len(mailoutbox) == 2, "the next one alone goes at once, on its own"
