"""Writes to the organisation tree."""

import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.services import (
    ConstraintMessage,
    Errors,
    User,
    integrity_errors_as_validation,
    reject_unknown_fields,
    save_recorded,
    validate_model,
)

# ---------------------------------------------------------------------------------------------------------------------
# Organisations

ORGANISATION_MESSAGES: dict[str, ConstraintMessage] = {
    "organisation_valid_to_after_valid_from": ConstraintMessage(
        "valid_to", _("The organisation must stop existing after the day it started.")
    ),
    "organisation_parent_iff_not_root_or_outside": ConstraintMessage(
        "parent", _("Only the city/provincial organisation and outside organisations stand under no organisation.")
    ),
    "code": ConstraintMessage(
        "code", _("Another organisation already uses this code."), markers=("branches_organisation.code", "(code)")
    ),
}

ORGANISATION_UPDATABLE_FIELDS = frozenset(
    {"code", "name", "kind", "parent", "sector", "valid_from", "valid_to", "address"}
)


def _lock_tree_for_move() -> None:
    """Moves are rare: let one happen at a time (two crossing moves could otherwise make a cycle or stale paths)."""
    list(Organisation.objects.select_for_update().filter(kind=Organisation.Kind.ROOT).values_list("pk", flat=True))


@transaction.atomic
def organisation_create(
    *,
    code: str,
    name: str,
    kind: str,
    parent: Organisation | None = None,
    sector: str = Organisation.Sector.OTHER,
    valid_from: datetime.date | None = None,
    valid_to: datetime.date | None = None,
    address: str = "",
    by: User | None = None,
) -> Organisation:
    if parent is not None:
        # Lock the parent so that a concurrent move of it waits for us (and we read its path after that move).
        parent = Organisation.objects.select_for_update().get(pk=parent.pk)
    organisation = Organisation(
        code=code, name=name, kind=kind, parent=parent, sector=sector, valid_to=valid_to, address=address
    )
    if valid_from is not None:
        organisation.valid_from = valid_from
    validate_model(organisation, ORGANISATION_MESSAGES)
    with integrity_errors_as_validation(ORGANISATION_MESSAGES):
        save_recorded(organisation, by=by)
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, by: User | None = None, **fields: Any) -> Organisation:
    """Change an organisation; giving another ``parent`` moves it with its whole subtree.

    Returns the organisation as saved (read again under a row lock, so the instance passed in may be stale).
    """
    reject_unknown_fields(fields, ORGANISATION_UPDATABLE_FIELDS)
    moving = "parent" in fields
    if moving:
        _lock_tree_for_move()
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if moving:
        parent = fields["parent"]
        if parent is not None:
            parent = fields["parent"] = Organisation.objects.get(pk=parent.pk)  # its path as it is now
        moving = (parent.pk if parent else None) != organisation.parent_id
    if moving:
        # Lock the subtree about to be re-rooted: a child being created under it waits, or we wait for it.
        list(Organisation.objects.select_for_update().filter(path__startswith=organisation.path).values_list("pk"))
    errors = Errors()
    if fields.get("kind", organisation.kind) != organisation.kind and _has_dependents(organisation):
        errors.add(
            "kind",
            _(
                "Members, referrals, meetings or posts belong to this organisation as a %(kind)s: its kind cannot "
                "change. Create an organisation of the new kind and move them to it."
            ),
            code="kind_with_dependents",
            kind=organisation.get_kind_display(),
        )
    for name, value in fields.items():
        setattr(organisation, name, value)
    validate_model(organisation, ORGANISATION_MESSAGES, errors=errors)
    with integrity_errors_as_validation(ORGANISATION_MESSAGES):
        save_recorded(organisation, by=by)
    return organisation


def _has_dependents(organisation: Organisation) -> bool:
    """Whether rows of any app refer to the organisation (members, referrals, meetings, posts...), found through the
    model's reverse relations so that the tree needs to know nothing of the apps above it. Its children and its own
    history are not dependents: the tree's rules (``clean``) judge the children."""
    for relation in Organisation._meta.related_objects:
        if relation.related_model is Organisation or relation.related_model is Organisation.history.model:
            continue
        if not relation.one_to_many and not relation.one_to_one:
            continue
        if relation.related_model._default_manager.filter(**{relation.field.name: organisation}).exists():
            return True
    return False
