"""The API's errors: JSON with the message in the user's language (Vietnamese), never an HTML page.

- ``{"detail": "..."}`` for a refusal of the whole request (401, 403, 404, 405, 429, and 400/409 from ``Refused``);
- ``{"<field or parameter>": ["...", ...]}`` for values that are not valid (400), as DRF's ValidationError gives.
"""

import math

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework import exceptions, status, views
from rest_framework.exceptions import APIException
from rest_framework.pagination import CursorPagination


class Refused(APIException):
    """A step the service refuses (the same message the page shows), as ``{"detail": message}``."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("This step cannot be recorded.")
    default_code = "refused"


class Conflict(Refused):
    """The row changed meanwhile (or the step was already recorded): 409."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _messages():
    # Built per call: the messages are in the language of the request.
    return {
        exceptions.NotAuthenticated: _("Send an API key (Authorization: Bearer <key>) or sign in."),
        exceptions.UnsupportedMediaType: _("Send the request body as JSON (Content-Type: application/json)."),
        exceptions.ParseError: _("The request body is not valid JSON."),
        exceptions.NotAcceptable: _("This API answers in JSON only."),
    }


def exception_handler(exc, context):
    """DRF's handler, with its messages that have no Vietnamese translation replaced by the app's own. A 404 says
    the same of every object ("Not found."): not the model's name, and nothing that tells an object outside the
    scope from one that does not exist."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = views.exception_handler(exc, context)
    if response is None:
        return None
    message = None
    for kind, text in _messages().items():
        if isinstance(exc, kind):
            message = text
    if isinstance(exc, exceptions.Throttled):
        seconds = max(1, math.ceil(exc.wait or 1))
        message = ngettext(
            "Too many requests: try again in %(seconds)d second.",
            "Too many requests: try again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    if isinstance(exc, exceptions.NotFound) and str(exc.detail) == str(CursorPagination.invalid_cursor_message):
        message = _("This page link (cursor) is not valid: start again from the first page.")
    if message is not None:
        response.data = {"detail": str(message)}
    return response
