"""The e-mails of the reminders: one per reminder, or a day's digest grouped by rule; in the site's language
(Vietnamese), plain text with an HTML alternative, links absolute (``SITE_URL``).

Messages are composed under ``translation.override(settings.LANGUAGE_CODE)``: the command runs outside any request,
and a test or a shell may have another language active.
"""

import dataclasses
import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dongha76.names import person_name
from reminders import texts
from reminders.models import Reminder, Rule

# Long subjects are cut by mail clients anyway; a name from the database must not make a header of any length.
SUBJECT_LENGTH = 150

# RFC 3834: vacation responders and the like must not answer a machine's message (Exchange reads the second).
HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}

RULE_ORDER = {code: index for index, code in enumerate(Rule.values)}

# A digest lists this many reminders of each rule, then says how many more are on the reminders page: the first
# digest after a deployment may hold hundreds.
SHOWN_PER_RULE = 10


@dataclasses.dataclass
class Item:
    title: str
    sentence: str
    lines: list[tuple[str, int]]
    url: str


@dataclasses.dataclass
class Group:
    title: str
    items: list[Item]  # the first SHOWN_PER_RULE
    count: int

    @property
    def more(self) -> int:
        return self.count - len(self.items)


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def one_line(text: str) -> str:
    """``text`` on one line with single spaces: a header may not hold a line break (Django refuses it)."""
    return " ".join(str(text).split())


def _subject(text: str) -> str:
    text = one_line(text)
    return text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1].rstrip() + "…"


def recipient(user) -> str:
    """``Full Name <address>`` (the name quoted when it holds commas or quotes; Django encodes its Vietnamese when
    it sends), or the bare address when the name is empty or the address does not parse."""
    name = one_line(person_name(user)) if (user.first_name or user.last_name) else ""
    if not name:
        return user.email
    try:
        return str(Address(display_name=name, addr_spec=user.email))
    except (ValueError, IndexError, HeaderParseError):
        return user.email


def _item(reminder: Reminder) -> Item:
    return Item(
        title=texts.title(reminder),
        sentence=texts.sentence(reminder),
        lines=texts.digest_lines(reminder) if reminder.rule == Rule.WEEKLY_DIGEST else [],
        url=absolute(reverse("reminders:open", args=[reminder.pk])),
    )


def _about(reminder: Reminder) -> str:
    """What a single reminder is about, for its subject: the member, else the cell or the organisation."""
    details = reminder.details
    return details.get("member") or details.get("cell") or details.get("organisation") or ""


def groups_of(reminders: list[Reminder]) -> list[Group]:
    """The reminders by rule, in the rules' order (the workplace's, the ward's, the cell's, the city's)."""
    by_rule: dict[str, list[Reminder]] = {}
    for reminder in sorted(reminders, key=lambda r: (RULE_ORDER.get(r.rule, len(RULE_ORDER)), r.due_on, r.pk)):
        by_rule.setdefault(reminder.rule, []).append(reminder)
    return [
        Group(title=texts.title(rows[0]), items=[_item(row) for row in rows[:SHOWN_PER_RULE]], count=len(rows))
        for rows in by_rule.values()
    ]


def _context(user, **extra) -> dict:
    return {
        "name": one_line(person_name(user)),
        "reminders_url": absolute(reverse("reminders:list")),
        "preferences_url": absolute(reverse("reminders:preferences")),
        "language_code": translation.get_language(),
        **extra,
    }


def _message(user, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    subject = _subject(subject)
    context = {**context, "subject": subject}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"reminders/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient(user)],
        headers=HEADERS,
    )
    message.attach_alternative(render_to_string(f"reminders/email/{template}.html", context), "text/html")
    return message


def reminder_message(user, reminder: Reminder) -> EmailMultiAlternatives:
    """One reminder, at once."""
    with translation.override(settings.LANGUAGE_CODE):
        item = _item(reminder)
        about = _about(reminder)
        if about:
            subject = _("Reminder: %(title)s – %(about)s") % {"title": item.title, "about": about}
        else:
            subject = _("Reminder: %(title)s") % {"title": item.title}
        return _message(user, subject, "reminder", _context(user, item=item))


def digest_message(user, reminders: list[Reminder], day: datetime.date) -> EmailMultiAlternatives:
    """The day's digest: every reminder still open and not e-mailed, grouped by rule, each group with its count."""
    with translation.override(settings.LANGUAGE_CODE):
        groups = groups_of(reminders)
        count = len(reminders)
        values = {"count": count, "day": date_format(day, "SHORT_DATE_FORMAT")}
        subject = (
            ngettext(
                "Reminders of %(day)s: %(count)d thing to do", "Reminders of %(day)s: %(count)d things to do", count
            )
            % values
        )
        return _message(user, subject, "digest", _context(user, groups=groups, count=count, day=day))
