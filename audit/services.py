"""Recording that personal data left the screen: one row per export, download or national ID shown."""

from django.http import HttpRequest

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
