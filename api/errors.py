"""The API's errors: JSON with the message in the user's language (Vietnamese), never an HTML page.

- ``{"detail": "..."}`` for a refusal of the whole request (401, 403, 404, 405, 429, and 400/409 from ``Refused``);
- ``{"<field or parameter>": ["...", ...]}`` for values that are not valid (400), as DRF's ValidationError gives.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class Refused(APIException):
    """A step the service refuses (the same message the page shows), as ``{"detail": message, "code": code}``."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("This step cannot be recorded.")
    default_code = "refused"


class Conflict(Refused):
    """The row changed meanwhile (or the step was already recorded): 409."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
