"""The bell of the menu: the count of the user's unread open reminders, of the posts they hold today.

Counted when the menu first shows it, then kept on the request: a page rendering a template per row runs the
context processors for each, and must not count again for each row (one query a page).
"""

from reminders.selectors import unread_count


def bell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread_reminders() -> int:
        if not hasattr(request, "_unread_reminders"):
            request._unread_reminders = unread_count(user)
        return request._unread_reminders

    return {"unread_reminders": unread_reminders}
