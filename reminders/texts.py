"""What a reminder says, in the user's language: its title, its sentence, and why it closed. The page, the bell and
the e-mails all read these, so a reminder says the same thing wherever it is read."""

import datetime

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reminders.models import Reminder
from reminders.models import Rule as Code
from reminders.rules import half_year_of


def _day(value: str | None) -> str:
    return date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT") if value else ""


def _half_year(value: str | None) -> str:
    return str(half_year_of(value)) if value else ""


def _waited(reminder: Reminder, since: str | None) -> int:
    return (reminder.due_on - datetime.date.fromisoformat(since)).days if since else 0


def title(reminder: Reminder) -> str:
    return reminder.get_rule_display()


def sentence(reminder: Reminder) -> str:
    d = reminder.details
    code = reminder.rule
    if code == Code.NOT_INTRODUCED:
        return _("%(member)s (%(card)s, %(home)s) has been eligible since %(since)s and is not introduced yet.") % {
            "member": d.get("member"),
            "card": d.get("card_number"),
            "home": d.get("home"),
            "since": _day(d.get("since")),
        }
    if code == Code.LETTER_NOT_RECEIVED:
        days = _waited(reminder, d.get("introduced_on"))
        return ngettext(
            "Letter %(letter)s introducing %(member)s to %(ward)s on %(introduced)s: not received after %(days)d day.",
            "Letter %(letter)s introducing %(member)s to %(ward)s on %(introduced)s: not received after %(days)d days.",
            days,
        ) % {
            "letter": d.get("letter_number") or "–",
            "member": d.get("member"),
            "ward": d.get("ward"),
            "introduced": _day(d.get("introduced_on")),
            "days": days,
        }
    if code == Code.COMMENT_NOT_ACKNOWLEDGED:
        return _("The %(year)s comment on %(member)s, sent by %(cell)s on %(sent)s: its arrival is not recorded.") % {
            "year": d.get("year"),
            "member": d.get("member"),
            "cell": d.get("cell"),
            "sent": _day(d.get("sent_on")),
        }
    if code == Code.AWAITING_RECEPTION:
        days = _waited(reminder, d.get("introduced_on"))
        return ngettext(
            "%(member)s, introduced by %(issuer)s on %(introduced)s, has awaited reception for %(days)d day.",
            "%(member)s, introduced by %(issuer)s on %(introduced)s, has awaited reception for %(days)d days.",
            days,
        ) % {
            "member": d.get("member"),
            "issuer": d.get("issuer"),
            "introduced": _day(d.get("introduced_on")),
            "days": days,
        }
    if code == Code.AWAITING_PLACEMENT:
        days = _waited(reminder, d.get("received_on"))
        return ngettext(
            "%(member)s, received on %(received)s, is not placed in a residential cell after %(days)d day.",
            "%(member)s, received on %(received)s, is not placed in a residential cell after %(days)d days.",
            days,
        ) % {"member": d.get("member"), "received": _day(d.get("received_on")), "days": days}
    if code == Code.NOT_REPORTED:
        return _("%(member)s, placed in %(cell)s on %(placed)s, has not reported to the cell.") % {
            "member": d.get("member"),
            "cell": d.get("cell"),
            "placed": _day(d.get("placed_on")),
        }
    if code == Code.COMMENTS_NOT_SENT:
        values = {
            "missing": d.get("missing", 0),
            "year": d.get("year"),
            "not_written": d.get("not_written", 0),
            "written": d.get("written", 0),
            "deadline": _day(d.get("deadline")),
        }
        if reminder.step.endswith("after"):
            return (
                ngettext(
                    "The deadline of %(deadline)s has passed: %(missing)d comment of %(year)s is not sent to the "
                    "workplace (%(not_written)d not written, %(written)d written and not sent).",
                    "The deadline of %(deadline)s has passed: %(missing)d comments of %(year)s are not sent to the "
                    "workplaces (%(not_written)d not written, %(written)d written and not sent).",
                    values["missing"],
                )
                % values
            )
        return (
            ngettext(
                "%(missing)d comment of %(year)s is not sent to the workplace yet (%(not_written)d not written, "
                "%(written)d written and not sent); the deadline is %(deadline)s.",
                "%(missing)d comments of %(year)s are not sent to the workplaces yet (%(not_written)d not written, "
                "%(written)d written and not sent); the deadline is %(deadline)s.",
                values["missing"],
            )
            % values
        )
    if code == Code.COMMENTS_TO_WRITE:
        values = {"missing": d.get("missing", 0), "year": d.get("year"), "deadline": _day(d.get("deadline"))}
        return (
            ngettext(
                "%(missing)d comment of %(year)s is still to write; the ward sends them by %(deadline)s.",
                "%(missing)d comments of %(year)s are still to write; the ward sends them by %(deadline)s.",
                values["missing"],
            )
            % values
        )
    if code == Code.MEETING_DUE:
        return _("%(cell)s has no periodic meeting recorded for %(half_year)s, which ends on %(ends)s.") % {
            "cell": d.get("cell"),
            "half_year": _half_year(d.get("half_year")),
            "ends": _day(d.get("ends_on")),
        }
    if code == Code.WEEKLY_DIGEST:
        return _("The weak spots of %(organisation)s on %(day)s.") % {
            "organisation": d.get("organisation"),
            "day": _day(d.get("day")),
        }
    return ""


def digest_lines(reminder: Reminder) -> list[tuple[str, int]]:
    """The weekly digest's numbers, each with its label (the labels of the home page's city section)."""
    d = reminder.details
    return [
        (_("Introduced more than 30 days ago and still not received"), d.get("stalled", 0)),
        (_("Awaiting reception"), d.get("awaiting_reception", 0)),
        (_("Received, awaiting placement"), d.get("awaiting_placement", 0)),
        (_("Eligible members not introduced"), d.get("eligible_not_introduced", 0)),
        (
            _("Residential cells that missed the periodic meeting of %(half_year)s")
            % {"half_year": _half_year(d.get("half_year"))},
            d.get("cells_missed", 0),
        ),
        (_("Residential cells without a periodic meeting this half-year"), d.get("cells_without_meeting", 0)),
        (_("Members attending irregularly"), d.get("irregular_attendees", 0)),
        (_("Comments of %(year)s sent after the deadline") % {"year": d.get("year")}, d.get("comments_late", 0)),
        (_("Comments of %(year)s not written") % {"year": d.get("year")}, d.get("comments_not_written", 0)),
    ]


RESOLVED = {
    Code.NOT_INTRODUCED: lambda: _("The member was introduced, or is no longer to introduce."),
    Code.LETTER_NOT_RECEIVED: lambda: _("The ward received the letter, or the referral ended."),
    Code.COMMENT_NOT_ACKNOWLEDGED: lambda: _("The comment's arrival was recorded."),
    Code.AWAITING_RECEPTION: lambda: _("The referral was received, or it ended."),
    Code.AWAITING_PLACEMENT: lambda: _("The member was placed in a residential cell, or the referral ended."),
    Code.COMMENTS_NOT_SENT: lambda: _("Every comment of the year was sent."),
    Code.COMMENTS_TO_WRITE: lambda: _("Every comment of the year was written."),
    Code.MEETING_DUE: lambda: _("The meeting was recorded."),
    Code.NOT_REPORTED: lambda: _("The member reported to the cell, or the referral ended."),
    Code.WEEKLY_DIGEST: lambda: _("Done."),
}


def closed_because(reminder: Reminder) -> str:
    """Why the reminder closed, in the rule's words when its cause is gone ("The referral was received")."""
    if not reminder.closed_because:
        return ""
    if reminder.closed_because == Reminder.Closed.RESOLVED:
        return RESOLVED[reminder.rule]()
    return reminder.get_closed_because_display()
