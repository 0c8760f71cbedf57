"""The bell of the menu: the count of the user's unread open reminders (one query)."""

from reminders.models import Reminder


def bell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_reminders": Reminder.objects.filter(user=user, closed_on__isnull=True, read_at__isnull=True).count()
    }
