"""Delivering reminders by e-mail: each at once, or a day's digest, or none, as each user prefers.

What it guarantees, however often and however concurrently ``send_reminders`` runs:

- a reminder is e-mailed at most once: each user's pending reminders are locked (``select_for_update``, skipping
  those another run holds) and marked sent in the transaction that sends them;
- a reminder closed before its e-mail went, or of a user without an address or wanting none, is never e-mailed
  (marked ``not_sent``);
- a failed send leaves the reminders pending for the next run: the transaction rolls back, except for the e-mails
  of that user already accepted by the server, which stay marked sent;
- a daily digest goes once a day at most: with the first run of the day that finds something to send;
- ``send=False`` (``--dry-run``) composes the same messages, connects to no server and writes nothing.

The one gap: if the database fails between the server accepting a message and the commit, that message is sent again
by the next run (a second copy rather than a lost reminder).
"""

import datetime
import logging

from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from reminders.mailing import digest_message, reminder_message
from reminders.models import Reminder, ReminderPreference

logger = logging.getLogger(__name__)

Delivery = ReminderPreference.Delivery
Email = Reminder.Email


class Unreachable(Exception):
    """The mail server cannot be reached: the rest of the run would only wait for it."""


class NotAccepted(Exception):
    """The backend returned without error but did not send the message."""


class Outbox:
    """One connection for the whole run, opened with the first message; after a failed send it is dropped and the
    next message opens a new one (a server that hung up must not fail every later user)."""

    def __init__(self, *, send: bool):
        self.connection = get_connection() if send else None
        self.opened = False

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            return
        if not self.opened:
            try:
                self.connection.open()
            except Exception as error:
                raise Unreachable(str(error) or error.__class__.__name__) from error
            self.opened = True
        try:
            sent = self.connection.send_messages([message])
        except Exception:
            self.close()
            raise
        if sent != 1:
            raise NotAccepted(", ".join(message.to))

    def close(self) -> None:
        if not self.opened:
            return
        self.opened = False
        try:
            self.connection.close()
        except Exception:  # a failed connection may fail to close too: the next open starts over
            logger.warning("closing the mail connection failed", exc_info=True)


def delivery_of(user) -> str:
    try:
        return user.reminder_preference.delivery
    except ReminderPreference.DoesNotExist:
        return ReminderPreference._meta.get_field("delivery").default


def wants_email(user) -> bool:
    return bool(user.email) and delivery_of(user) != Delivery.NONE


def email_states(user_ids) -> dict[int, str]:
    """Whether a new reminder of each user waits for an e-mail: not when the user has no address or wants none."""
    users = get_user_model().objects.filter(pk__in=user_ids).select_related("reminder_preference")
    return {user.pk: Email.PENDING if wants_email(user) else Email.NOT_SENT for user in users}


def _locked_pending(user) -> list[Reminder]:
    """The user's open reminders waiting for an e-mail, locked; rows another run holds are skipped (it sends them).
    ``of=("self",)``: only the reminders' rows, never a joined table's."""
    return list(
        Reminder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(user=user, email=Email.PENDING, closed_on__isnull=True)
        .order_by("due_on", "pk")
    )


def _mark_sent(reminders: list[Reminder]) -> None:
    if reminders:
        Reminder.objects.filter(pk__in=[r.pk for r in reminders]).update(email=Email.SENT, emailed_at=timezone.now())


# More pending reminders than this for a user who wants each at once go in one e-mail, as a digest does.
IMMEDIATE_AT_MOST = 10


def _immediate(user, day: datetime.date, outbox: Outbox, send: bool) -> tuple[list[EmailMessage], Exception | None]:
    """One e-mail per reminder (more than ``IMMEDIATE_AT_MOST``: one for all). A failure stops this user: those
    sent before it stay sent (committed), the rest pending."""
    messages, sent, failure = [], [], None
    with transaction.atomic():
        rows = _locked_pending(user)
        if len(rows) > IMMEDIATE_AT_MOST:
            # A first run after going live, or a backlog: one e-mail with all of them rather than a flood.
            message = digest_message(user, rows, day)
            try:
                outbox.send(message)
            except Exception as error:  # any backend error: the reminders stay pending
                return [], error
            if send:
                _mark_sent(rows)
            return [message], None
        for reminder in rows:
            message = reminder_message(user, reminder)
            try:
                outbox.send(message)
            except Exception as error:  # any backend error: the reminder stays pending
                failure = error
                break
            messages.append(message)
            sent.append(reminder)
        if send:
            _mark_sent(sent)
    return messages, failure


def _digest(user, day: datetime.date, outbox: Outbox, send: bool) -> tuple[list[EmailMessage], Exception | None]:
    """The day's digest of every pending open reminder, unless today's (or a later day's) went already."""
    with transaction.atomic():
        if send:
            # Locked: an overlapping run waits here, then finds today's digest sent.
            preference, _created = ReminderPreference.objects.select_for_update().get_or_create(user=user)
        else:
            preference = ReminderPreference.objects.filter(user=user).first() or ReminderPreference(user=user)
        if preference.last_digest_on and preference.last_digest_on >= day:
            return [], None  # these wait for tomorrow's
        rows = _locked_pending(user)
        if not rows:
            return [], None
        message = digest_message(user, rows, day)
        try:
            outbox.send(message)
        except Exception as error:  # any backend error: the reminders stay pending
            return [], error
        if send:
            preference.last_digest_on = day
            preference.save(update_fields=["last_digest_on"])
            _mark_sent(rows)
        return [message], None


def _not_to_send(user, send: bool) -> None:
    """The user's pending reminders that will never be e-mailed: all of them without an address or when the user
    wants none, else the closed ones (closed before their e-mail or digest went)."""
    if not send:
        return
    rows = Reminder.objects.filter(user=user, email=Email.PENDING)
    if wants_email(user):
        rows = rows.filter(closed_on__isnull=False)
    rows.update(email=Email.NOT_SENT)


def deliver(*, day: datetime.date, send: bool = True) -> tuple[list[EmailMessage], list[str]]:
    """E-mail the pending reminders, each at once or in the day's digest, as each user prefers. Returns the messages
    sent (or, ``send=False``, that would be) and a line per failure (``username: error``)."""
    users = list(
        get_user_model()
        .objects.filter(pk__in=Reminder.objects.filter(email=Email.PENDING).values("user_id"))
        .select_related("reminder_preference")
        .order_by("pk")
    )
    outbox = Outbox(send=send)
    messages: list[EmailMessage] = []
    failures: list[str] = []
    try:
        for index, user in enumerate(users):
            _not_to_send(user, send)
            if not wants_email(user):
                continue
            if delivery_of(user) == Delivery.DAILY:
                sent, failure = _digest(user, day, outbox, send)
            else:
                sent, failure = _immediate(user, day, outbox, send)
            messages += sent
            if isinstance(failure, Unreachable):
                left = len(users) - index
                logger.error("the mail server cannot be reached: %s", failure)
                failures.append(f"the mail server cannot be reached ({failure}): {left} user(s) left pending")
                break
            if failure is not None:
                logger.error("e-mail to %s failed", user.username, exc_info=failure)
                failures.append(f"{user.username}: {failure.__class__.__name__}: {failure}")
    finally:
        outbox.close()
    return messages, failures
