"""The bell of the menu: the count of the user's unread open reminders, of the posts they hold today (one query;
the posts are those the header reads, cached on the user for the request)."""

from reminders.selectors import unread_count


def bell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_reminders": unread_count(user)}
