"""Recording that personal data left the screen: one row per export, download or national ID shown."""

import datetime

from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AccessLog
from branches.models import Organisation
from dongha76.services import User


def record_access(
    *,
    kind: str,
    by: User | None,
    request: HttpRequest | None = None,
    organisation: Organisation | None = None,
    subject: str = "",
    rows: int | None = None,
) -> AccessLog:
    """Log an access. ``by`` is None for the command line. The address is the client's as the server saw it
    (``REMOTE_ADDR``: behind nginx, the proxy's own unless it passes the real one on, see docs/deploy.md)."""
    user = by if by is not None and getattr(by, "is_authenticated", False) else None
    return AccessLog.objects.create(
        kind=kind,
        user=user,
        username=user.get_username() if user is not None else "",
        organisation=organisation,
        organisation_code=organisation.code if organisation is not None else "",
        subject=subject[:255],
        rows=rows,
        address=_address(request),
    )


def _address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or None
    return address


# A national ID shows only its last four digits to most readers; the other eight are the province, the century and
# sex, the year of birth and two random digits. Telling whether a typed ID is taken would let one try the hundred
# possible pairs: such answers are limited per user and day (and each is in the log).
NATIONAL_ID_ANSWERS_PER_DAY = 10


def national_id_answers_left(by: User | None) -> int:
    """How many more times today ``by`` may be told that a national ID they typed belongs to a member they do not
    see (the command line: no limit)."""
    if by is None or not getattr(by, "is_authenticated", False):
        return NATIONAL_ID_ANSWERS_PER_DAY * 1000
    since = timezone.now() - datetime.timedelta(days=1)
    given = (
        AccessLog.objects.filter(user=by, kind=AccessLog.Kind.NATIONAL_ID_FOUND, at__gte=since).aggregate(
            total=Sum("rows")
        )["total"]
        or 0
    )
    return max(0, NATIONAL_ID_ANSWERS_PER_DAY - given)
