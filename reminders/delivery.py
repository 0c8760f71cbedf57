"""Delivering reminders by e-mail: each at once, or a day's digest, or none, as each user prefers.

One user at a time, each in its own transaction holding the user's pending reminders (``select_for_update``, skipping
those another run holds): a failed send rolls back and stays pending for the next run, and two overlapping runs do
not send the same reminder twice.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from reminders.mailing import digest_message, reminder_message
from reminders.models import Reminder, ReminderPreference

Delivery = ReminderPreference.Delivery


def delivery_of(user) -> str:
    try:
        return user.reminder_preference.delivery
    except ReminderPreference.DoesNotExist:
        return ReminderPreference._meta.get_field("delivery").default


def email_states(user_ids) -> dict[int, str]:
    """Whether a new reminder of each user waits for an e-mail: not when the user has no address or wants none."""
    users = get_user_model().objects.filter(pk__in=user_ids).select_related("reminder_preference")
    states = {}
    for user in users:
        delivery = delivery_of(user)
        wants = bool(user.email) and delivery != Delivery.NONE
        states[user.pk] = Reminder.Email.PENDING if wants else Reminder.Email.NOT_SENT
    return states


def deliver(*, day: datetime.date, send: bool = True) -> tuple[list[EmailMessage], list[str]]:
    """E-mail the pending reminders: each at once, or the day's digest (once a day), as each user prefers."""
    users = (
        get_user_model()
        .objects.filter(pk__in=Reminder.objects.filter(email=Reminder.Email.PENDING).values("user_id"))
        .select_related("reminder_preference")
    )
    messages, failures = [], []
    now = timezone.now()
    connection = get_connection() if send else None
    for user in users.order_by("pk"):
        delivery = delivery_of(user)
        try:
            with transaction.atomic():
                rows = list(
                    Reminder.objects.select_for_update(skip_locked=True)
                    .filter(user=user, email=Reminder.Email.PENDING)
                    .select_related("organisation")
                    .order_by("due_on", "pk")
                )
                open_rows = [r for r in rows if r.closed_on is None]
                if not open_rows or not user.email or delivery == Delivery.NONE:
                    Reminder.objects.filter(pk__in=[r.pk for r in rows]).update(email=Reminder.Email.NOT_SENT)
                    continue
                if delivery == Delivery.DAILY:
                    preference, _created = ReminderPreference.objects.get_or_create(user=user)
                    if preference.last_digest_on == day:
                        continue  # today's digest is out: these wait for tomorrow's
                    batch = [digest_message(user, open_rows, day)]
                    preference.last_digest_on = day
                    preference.save(update_fields=["last_digest_on"])
                else:
                    batch = [reminder_message(user, reminder) for reminder in open_rows]
                if send:
                    connection.send_messages(batch)
                Reminder.objects.filter(pk__in=[r.pk for r in open_rows]).update(
                    email=Reminder.Email.SENT, emailed_at=now
                )
                Reminder.objects.filter(pk__in=[r.pk for r in rows if r.closed_on is not None]).update(
                    email=Reminder.Email.NOT_SENT
                )
                messages += batch
        except Exception as error:
            failures.append(f"{user.username}: {error}")
    return messages, failures
