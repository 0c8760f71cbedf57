"""How the API knows who calls: ``Authorization: Bearer <key>`` (or ``Token <key>``) with a key from the user's
API tokens page; the browser's session works too, for the description page and same-origin scripts."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from api.models import KEY_PREFIX, ApiToken, digest_of

KEYWORDS = ("bearer", "token")


class TokenAuthentication(authentication.BaseAuthentication):
    """A key of an active token of an active user. A request without an ``Authorization`` header is left to the
    next class (the session); one with a wrong, revoked or malformed key is refused with 401, never treated as
    anonymous."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header must be: Bearer <key>."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This API key is not valid or has been revoked.")) from None
        if not key.startswith(KEY_PREFIX) or len(key) > 100:
            raise exceptions.AuthenticationFailed(_("This API key is not valid or has been revoked."))
        token = (
            ApiToken.objects.active().select_related("user").filter(digest=digest_of(key), user__is_active=True).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid or has been revoked."))
        token.note_use()
        return token.user, token

    def authenticate_header(self, request):
        # Makes an anonymous request a 401 (with this challenge) rather than a 403.
        return 'Bearer realm="api"'
