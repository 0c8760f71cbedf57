"""Deletions of the rows the API lists, for synchronisation (``/api/v1/deletions/``).

A client keeping a copy reads ``changed_since`` for what was created or changed; a deleted row never shows up there.
``record`` writes a ``Deletion`` for each row about to be deleted, with the organisations whose subtrees held it then
(``DeletionPlace``), read in bulk while the row and the rows it refers to still exist; ``visible_deletions`` shows a
deletion to the users whose scope would have held the row: the same sides and subtrees as ``members.selectors.scope``
and ``branches.selectors.visible_organisations``, compared with the paths as they were at the deletion.

The app deletes such rows in one place: the undo of an import deletes the rows the import created
(``workbooks.undo``). Members and referrals are otherwise ended, never deleted, and the admin deletes none of them.
Call ``record`` wherever another deletion of these rows is written.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from api.models import Deletion, DeletionPlace
from branches.access import access_for
from branches.models import Organisation

Kind, Side = Deletion.Kind, DeletionPlace.Side
CHUNK = 1000  # rows read (and recorded) at a time: an undo deletes up to an import's tens of thousands of members


def _ward(lookup: str) -> tuple[str, ...]:
    """A ward addressed, and the wards it merged into (two successions deep): a referral addressed to a ward is in
    the book of the ward that took it over (``members.selectors.scope.wards_addressed``)."""
    return (f"{lookup}__path", f"{lookup}__successor__path", f"{lookup}__successor__successor__path")


# For each model the API lists: its kind, and the paths (lookups from the row) of the organisations whose subtrees
# hold it, by side. Mirrors members.selectors.scope: the workplace side sees the members whose home cell is in its
# subtree, their referrals and comments, and the referrals it issued; the residence side (wards, and residential
# cells as their own subtree) sees the referrals in its book, their members, its cells' meetings and comments.
PLACES: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "branches.organisation": (Kind.ORGANISATION, {Side.TREE: ("path",)}),
    "members.member": (
        Kind.MEMBER,
        {
            Side.WORKPLACE: ("home_organisation__path",),
            Side.RESIDENCE: (*_ward("referrals__receiving_ward"), "referrals__residential_cell__path"),
        },
    ),
    "members.referral": (
        Kind.REFERRAL,
        {
            Side.WORKPLACE: ("member__home_organisation__path", "issuing_organisation__path"),
            Side.RESIDENCE: (*_ward("receiving_ward"), "residential_cell__path"),
        },
    ),
    "members.meeting": (Kind.MEETING, {Side.RESIDENCE: ("residential_cell__path",)}),
    "members.residencecomment": (
        Kind.COMMENT,
        {Side.WORKPLACE: ("member__home_organisation__path",), Side.RESIDENCE: ("residential_cell__path",)},
    ),
}


def record(model: type[models.Model], pks: Iterable[int]) -> None:
    """Record the deletion of the rows ``pks`` of ``model``, about to be deleted (in the same transaction): a
    ``Deletion`` each, with its places. Three statements a thousand rows; nothing for a model the API does not
    list. Called while the rows, and the rows that place them in a scope, still exist."""
    described = PLACES.get(model._meta.label_lower)
    pks = list(pks)
    if described is None or not pks:
        return
    kind, sides = described
    lookups = [(side, lookup) for side, side_lookups in sides.items() for lookup in side_lookups]
    now = timezone.now()
    for start in range(0, len(pks), CHUNK):
        places: dict[int, set[tuple[str, str]]] = defaultdict(set)
        rows = model._base_manager.filter(pk__in=pks[start : start + CHUNK]).values_list(
            "pk", *(lookup for _side, lookup in lookups)
        )
        for pk, *paths in rows:
            places[pk].update((side, path) for (side, _lookup), path in zip(lookups, paths, strict=True) if path)
        deletions = Deletion.objects.bulk_create(
            [Deletion(kind=kind, object_id=pk, deleted_at=now) for pk in places], batch_size=CHUNK
        )
        DeletionPlace.objects.bulk_create(
            [
                DeletionPlace(deletion=deletion, side=side, path=path)
                for deletion in deletions
                for side, path in sorted(places[deletion.object_id])
            ],
            batch_size=CHUNK,
        )


def visible_deletions(user) -> QuerySet[Deletion]:
    """The deletions of rows the user's scope held: all for city staff; else those with a place in a subtree of the
    user's posts on its side (a residential cell's post: that cell, on either side)."""
    access = access_for(user)
    if access.is_city():
        return Deletion.objects.all()
    cells = [org.path for org in access.organisations if org.kind == Organisation.Kind.RESIDENTIAL_CELL]
    subtrees = {
        Side.TREE: [org.path for org in access.organisations],
        Side.WORKPLACE: access.workplace_paths(),
        Side.RESIDENCE: access.ward_paths(),
    }
    condition = Q(pk__in=[])
    for side, paths in subtrees.items():
        for path in paths:
            condition |= Q(side=side, path__startswith=path)
    if cells:
        condition |= Q(side__in=(Side.WORKPLACE, Side.RESIDENCE), path__in=cells)
    return Deletion.objects.filter(pk__in=DeletionPlace.objects.filter(condition).values("deletion_id"))


def in_subtree(queryset: QuerySet[Deletion], organisation: Organisation) -> QuerySet[Deletion]:
    """The deletions with a place in ``organisation``'s subtree (``?organisation=CODE``)."""
    places = DeletionPlace.objects.filter(path__startswith=organisation.path).values("deletion_id")
    return queryset.filter(pk__in=places)
