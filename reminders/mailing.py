"""The e-mails of the reminders: one per reminder, or a day's digest; Vietnamese, with absolute links."""

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from reminders import texts
from reminders.models import Reminder


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _item(reminder: Reminder) -> dict:
    return {
        "title": texts.title(reminder),
        "sentence": texts.sentence(reminder),
        "lines": texts.digest_lines(reminder) if reminder.rule == "weekly_digest" else [],
        "url": absolute(reverse("reminders:open", args=[reminder.pk])),
    }


def _message(user, subject: str, template: str, context: dict) -> EmailMessage:
    body = render_to_string(template, context)
    return EmailMessage(subject=subject, body=body, to=[user.email])


def reminder_message(user, reminder: Reminder) -> EmailMessage:
    with translation.override(settings.LANGUAGE_CODE):
        item = _item(reminder)
        context = {"user": user, "item": item, "reminders_url": absolute(reverse("reminders:list"))}
        subject = f"[dongha76] {item['title']}"
        return _message(user, subject, "reminders/email/reminder.txt", context)


def digest_message(user, reminders: list[Reminder], day: datetime.date) -> EmailMessage:
    from django.utils.formats import date_format
    from django.utils.translation import ngettext

    with translation.override(settings.LANGUAGE_CODE):
        items = [_item(reminder) for reminder in reminders]
        context = {
            "user": user,
            "items": items,
            "day": day,
            "reminders_url": absolute(reverse("reminders:list")),
        }
        subject = ngettext(
            "[dongha76] %(count)d reminder on %(day)s", "[dongha76] %(count)d reminders on %(day)s", len(items)
        ) % {"count": len(items), "day": date_format(day, "SHORT_DATE_FORMAT")}
        return _message(user, subject, "reminders/email/digest.txt", context)
