"""Reads about the organisation tree and users' posts in it."""

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from branches.models import Officer, Organisation


def officer_posts_for(user, *, day: datetime.date | None = None) -> QuerySet[Officer]:
    """The posts a user holds on ``day`` (today by default), with their organisations, highest in the tree first."""
    if not user.is_authenticated:
        return Officer.objects.none()
    day = day or timezone.localdate()
    return (
        Officer.objects.filter(user=user, started_on__lte=day)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))
        .select_related("organisation")
        .order_by("organisation__path")
    )


def subtree_of(organisation: Organisation) -> QuerySet[Organisation]:
    return Organisation.objects.subtree(organisation)
