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


def in_subtrees(field: str, paths) -> Q:
    """``field`` (a foreign key to Organisation, or "" for the organisation itself) lies under any of ``paths``.

    An empty list of paths matches nothing, never everything.
    """
    lookup = f"{field}__path__startswith" if field else "path__startswith"
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{lookup: path})
    return condition


def visible_organisations(access) -> QuerySet[Organisation]:
    """The organisations a user may look at: everything for city staff, else the subtrees of their posts."""
    if access.is_city():
        return Organisation.objects.all()
    return Organisation.objects.filter(in_subtrees("", [org.path for org in access.organisations]))


def grassroots_of(organisation: Organisation) -> Organisation | None:
    """The organisation that signs an introduction for a member of ``organisation``: the nearest grassroots
    organisation above or at it (a committee, a grassroots cell or a ward), or the outside organisation itself."""
    if organisation.kind == Organisation.Kind.OUTSIDE:
        return organisation
    ancestor_pks = [int(step) for step in organisation.path.strip("/").split("/") if step]
    return (
        Organisation.objects.filter(pk__in=ancestor_pks, kind__in=Organisation.GRASSROOTS_KINDS)
        .order_by("-path")
        .first()
    )


def wards_on(day: datetime.date) -> QuerySet[Organisation]:
    """The wards a member can be introduced to on ``day``."""
    return Organisation.objects.valid_on(day).filter(kind=Organisation.Kind.WARD).order_by("name")


def residential_cells_of(ward: Organisation, *, day: datetime.date) -> QuerySet[Organisation]:
    return (
        Organisation.objects.valid_on(day).filter(parent=ward, kind=Organisation.Kind.RESIDENTIAL_CELL).order_by("path")
    )


def root_of(organisation: Organisation) -> Organisation:
    """The top of the organisation's tree (the organisation itself for a root or an outside organisation)."""
    return Organisation.objects.get(pk=int(organisation.path.split("/")[0]))
