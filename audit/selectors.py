"""Reading the access log: city staff only."""

from django.db.models import QuerySet

from audit.models import AccessLog
from branches.access import access_for


def reads_access_log(user) -> bool:
    """City committee staff (and superusers) read the log; nobody else learns it exists."""
    return getattr(user, "is_authenticated", False) and access_for(user).is_city()


def access_log(user) -> QuerySet[AccessLog]:
    if not reads_access_log(user):
        return AccessLog.objects.none()
    return AccessLog.objects.select_related("organisation")
