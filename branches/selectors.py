"""Reads about the organisation tree and users' posts in it."""

import datetime
from collections.abc import Iterable

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from branches.models import Officer, Organisation, OrganisationName

# How many successions ``successor_on`` follows: a ward merged, its successor merged again... A longer chain (or a
# cycle, which the dates forbid but a repair could write) is not a succession this product records.
MAX_SUCCESSIONS = 8


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


def subtree_ids(paths) -> QuerySet[Organisation]:
    """The primary keys of the organisations under any of ``paths`` (a subquery: one index scan of the path per
    path). Nothing for an empty list."""
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(path__startswith=path)
    return Organisation.objects.filter(condition).order_by().values("pk")


def in_subtrees(field: str, paths, *, access=None) -> Q:
    """``field`` (a foreign key to Organisation, or "" for the organisation itself) lies under any of ``paths``.

    An empty list of paths matches nothing, never everything. On a foreign key, the condition is ``field_id IN
    (SELECT id FROM organisations WHERE path LIKE 'p%')``: the subtree's few ids from the path index, then the rows
    from the foreign key's index, rather than a join that compares the path of every row's organisation. Given the
    ``branches.access.Access`` the paths are of, the subtree's ids are read once for it (``Access.keys``) and
    written out, on the organisation itself too.
    """
    paths = tuple(paths)
    if not paths:
        return Q(pk__in=[])
    if access is not None:
        return Q(**{f"{field}__in" if field else "pk__in": access.subtree_keys(paths)})
    if not field:
        condition = Q(pk__in=[])
        for path in paths:
            condition |= Q(path__startswith=path)
        return condition
    return Q(**{f"{field}__in": subtree_ids(paths)})


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


# The kinds of organisation a member of the tree belongs to: a workplace cell, or a residential cell when retired.
MEMBER_HOME_KINDS = (Organisation.Kind.CELL, Organisation.Kind.GRASSROOTS_CELL, Organisation.Kind.RESIDENTIAL_CELL)


def _with(queryset: QuerySet[Organisation], including: Organisation | None) -> QuerySet[Organisation]:
    """``queryset``, plus ``including`` (a member's current home, kept as a choice even when no longer offered).

    One OR of the queryset's own conditions and the key, not ``pk IN (subquery) OR pk = ...``: beside that subquery
    PostgreSQL expects half the tree and reads all of it by path for the first options (a ward's member form at the
    nation's size: 95 ms; now the path and key indexes, 1 ms)."""
    if including is None:
        return queryset
    return queryset | Organisation.objects.filter(pk=including.pk)


def member_home_cells(
    access, *, day: datetime.date | None = None, including: Organisation | None = None
) -> QuerySet[Organisation]:
    """The cells a user may put a member in (create or edit a member, workplace side): the cells, grassroots cells
    and residential cells existing on ``day`` in the user's writable workplace subtrees; every one for city staff."""
    day = day or timezone.localdate()
    cells = Organisation.objects.valid_on(day).filter(
        kind__in=[Organisation.Kind.CELL, Organisation.Kind.GRASSROOTS_CELL, Organisation.Kind.RESIDENTIAL_CELL]
    )
    if not access.is_city(write=True):
        cells = cells.filter(in_subtrees("", access.workplace_paths(write=True)))
    return _with(cells, including).order_by("path")


def outside_organisations(
    *, day: datetime.date | None = None, including: Organisation | None = None
) -> QuerySet[Organisation]:
    """Workplaces outside the tree, existing on ``day``: anyone registering their members may pick any of them."""
    day = day or timezone.localdate()
    return _with(Organisation.objects.valid_on(day).filter(kind=Organisation.Kind.OUTSIDE), including).order_by("name")


def wards_receiving_for(access, *, day: datetime.date | None = None) -> QuerySet[Organisation]:
    """The wards whose receptions the user records (all wards for city staff), existing on ``day``."""
    day = day or timezone.localdate()
    wards = Organisation.objects.valid_on(day).filter(kind=Organisation.Kind.WARD)
    if not access.is_city(write=True):
        wards = wards.filter(in_subtrees("", access.ward_paths(write=True)))
    return wards.order_by("name")


# -- names and successors of a day -------------------------------------------------------------------------------------


def name_on_expression(day: datetime.date, prefix: str = "") -> Coalesce:
    """An expression for the name of an organisation on ``day`` (reached through ``prefix``, e.g. "receiving_ward__";
    "" for the organisation itself), to annotate a list with in its own query: the former name in force then, else
    today's name."""
    former = (
        OrganisationName.objects.filter(organisation=OuterRef(f"{prefix}pk"), valid_to__gt=day)
        .order_by("valid_to")
        .values("name")[:1]
    )
    return Coalesce(Subquery(former), F(f"{prefix}name"))


def names_on(organisations: Iterable[Organisation] | QuerySet[Organisation], day: datetime.date) -> dict[int, str]:
    """The name of each organisation on ``day``, by primary key, in one query (for lists and workbooks)."""
    if isinstance(organisations, QuerySet):
        chosen = Q(pk__in=organisations.order_by().values("pk"))
    else:
        chosen = Q(pk__in=[organisation.pk for organisation in organisations])
    return dict(
        Organisation.objects.filter(chosen).annotate(name_then=name_on_expression(day)).values_list("pk", "name_then")
    )


def successor_on(organisation: Organisation, day: datetime.date) -> Organisation | None:
    """The organisation in force on ``day`` that stands for ``organisation``: itself while it exists, else the
    successor that took over when it ended, and that one's successor when it ended too (a few hops at most, one
    query each). ``None`` when the chain stops before ``day`` (no successor recorded, or a cycle) or when
    ``organisation`` did not exist yet on ``day``."""
    current, seen = organisation, set()
    for _hop in range(MAX_SUCCESSIONS + 1):
        if current.is_valid_on(day):
            return current
        if current.valid_to is None or current.valid_to > day or current.successor_id is None:
            return None  # not yet started on that day, or ended without a successor
        seen.add(current.pk)
        if current.successor_id in seen:
            return None
        current = Organisation.objects.get(pk=current.successor_id)
    return None
