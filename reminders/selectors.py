"""The reads of the reminders pages: a user's reminders, the bell's count, the thresholds of the user's root.

A user reads only the reminders of the organisations where they hold a post today: one who left a post no longer
reads what it was about, even before ``send_reminders`` closes those reminders (its next run does).
"""

import datetime

from django.db.models import Max, QuerySet
from django.utils import timezone

from branches.access import access_for
from branches.models import Organisation
from dongha76.history import HistoryEntry, history_of
from members.selectors import comment_root
from reminders.models import Reminder, ReminderSettings

OPEN, CLOSED, ALL = "open", "closed", "all"
SHOWN = (OPEN, CLOSED, ALL)


def visible_reminders(user, *, day: datetime.date | None = None) -> QuerySet[Reminder]:
    """The user's reminders of the organisations where they hold a post on ``day`` (today)."""
    if not getattr(user, "is_authenticated", False):
        return Reminder.objects.none()
    day = day or timezone.localdate()
    organisation_ids = {organisation.pk for organisation in access_for(user, day=day).organisations}
    return Reminder.objects.filter(user=user, organisation_id__in=organisation_ids)


def reminder_list(user, *, shown: str = OPEN) -> QuerySet[Reminder]:
    """Newest first; ``shown``: the open ones, the closed ones or all."""
    reminders = visible_reminders(user).select_related("organisation").order_by("-due_on", "-pk")
    if shown == OPEN:
        return reminders.filter(closed_on__isnull=True)
    if shown == CLOSED:
        return reminders.filter(closed_on__isnull=False)
    return reminders


def reminder_of(user, pk: int) -> Reminder:
    """One of the user's visible reminders; ``Reminder.DoesNotExist`` otherwise (a 404 through ``found_or_404``)."""
    return visible_reminders(user).select_related("organisation").get(pk=pk)


def unread_reminders(user) -> QuerySet[Reminder]:
    return visible_reminders(user).filter(closed_on__isnull=True, read_at__isnull=True)


def unread_count(user) -> int:
    """The bell's number: what the list marks as unread among the open ones (one query; the posts are cached)."""
    return unread_reminders(user).count()


def sets_reminder_thresholds(user) -> bool:
    """Whether the user sets the thresholds of the reminders: city staff who write, like the comment deadline."""
    return access_for(user).is_city(write=True)


def thresholds_root(user) -> Organisation | None:
    """The root organisation whose thresholds the user sets: the root above their posts (the comment rounds' root)."""
    return comment_root(user)


def thresholds_of(root: Organisation) -> ReminderSettings:
    """The root's settings row, or an unsaved one holding the defaults (saved on the first change)."""
    return ReminderSettings.objects.filter(organisation=root).first() or ReminderSettings(organisation=root)


def thresholds_version(root: Organisation) -> int:
    """Which saved state of the root's thresholds is the latest (0: never saved): a form carries the one it showed."""
    return ReminderSettings.history.filter(organisation_id=root.pk).aggregate(latest=Max("history_id"))["latest"] or 0


def thresholds_history(settings: ReminderSettings) -> list[HistoryEntry]:
    if settings.pk is None:
        return []
    return history_of(settings, related=("recorded_by",))
