"""Project-wide middleware."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.deprecation import MiddlewareMixin


class ChosenLanguageMiddleware(MiddlewareMixin):
    """Vietnamese unless the user chose another language with the switcher (the language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, and many office computers in Vietnam run an
    English browser: the committees' staff must see the Vietnamese UI all the same.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


REFRESHED_KEY = "_refreshed_at"  # when the session's end was last pushed back (seconds since the epoch)


def session_refreshed(request) -> None:
    """Mark the session as just refreshed (its end is pushed back when it is saved, as it is at login)."""
    request.session[REFRESHED_KEY] = int(timezone.now().timestamp())


class IdleSessionMiddleware:
    """A signed-in session ends ``SESSION_COOKIE_AGE`` after the user's last request: each request pushes the end
    back. Saving the session on every request (``SESSION_SAVE_EVERY_REQUEST``) would cost a write per page; saving it
    only when the last push is older than ``SESSION_REFRESH_INTERVAL`` keeps the idle limit right to within that
    interval for one write per interval. Placed after SessionMiddleware, which saves what this marks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        refreshed = session.get(REFRESHED_KEY) if session is not None else None
        if refreshed is not None and timezone.now().timestamp() - refreshed >= settings.SESSION_REFRESH_INTERVAL:
            session_refreshed(request)
        return self.get_response(request)


@receiver(user_logged_in)
def _refreshed_at_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        session_refreshed(request)
