"""Writes to the organisation tree."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation, OrganisationName, Restructure
from dongha76.services import (
    ConstraintMessage,
    Errors,
    User,
    day_text,
    integrity_errors_as_validation,
    reject_unknown_fields,
    save_recorded,
    validate_model,
)
from dongha76.text import normalise_line

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
    "organisation_successor_only_when_ended": ConstraintMessage(
        "successor", _("Only an organisation that has ended has a successor: give the day it ended first.")
    ),
    "organisation_successor_not_itself": ConstraintMessage(
        "successor", _("An organisation cannot be its own successor.")
    ),
}

ORGANISATION_UPDATABLE_FIELDS = frozenset(
    {"code", "name", "kind", "parent", "sector", "valid_from", "valid_to", "address", "successor"}
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
    successor: Organisation | None = None,
    by: User | None = None,
    reason: str | None = None,
) -> Organisation:
    if parent is not None:
        # Lock the parent so that a concurrent move of it waits for us (and we read its path after that move).
        parent = Organisation.objects.select_for_update().get(pk=parent.pk)
    organisation = Organisation(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        sector=sector,
        valid_to=valid_to,
        address=address,
        successor=successor,
    )
    if valid_from is not None:
        organisation.valid_from = valid_from
    validate_model(organisation, ORGANISATION_MESSAGES)
    with integrity_errors_as_validation(ORGANISATION_MESSAGES):
        save_recorded(organisation, by=by, reason=reason)
    return organisation


@transaction.atomic
def organisation_update(
    *, organisation: Organisation, by: User | None = None, reason: str | None = None, **fields: Any
) -> Organisation:
    """Change an organisation. Giving another ``parent`` is a correction, allowed only while nothing has happened
    in the organisation (no member, referral, meeting... of the apps above, no subordinate organisation): once it has
    a history, a change of place is a restructure (it ends and a successor starts under the new parent), so that the
    tree of every past day stays as it was. A corrected organisation is moved with its path (``save()``).

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
    if fields.get("successor") is not None:
        fields["successor"] = Organisation.objects.get(pk=fields["successor"].pk)  # its validity as it is now
    if moving:
        # Lock the subtree about to be re-rooted: a child being created under it waits, or we wait for it.
        list(Organisation.objects.select_for_update().filter(path__startswith=organisation.path).values_list("pk"))
    errors = organisation_change_errors(organisation, fields)
    for name, value in fields.items():
        setattr(organisation, name, value)
    validate_model(organisation, ORGANISATION_MESSAGES, errors=errors)
    with integrity_errors_as_validation(ORGANISATION_MESSAGES):
        save_recorded(organisation, by=by, reason=reason)
    return organisation


def organisation_change_errors(organisation: Organisation, fields: dict[str, Any]) -> Errors:
    """The rules of changing the stored ``organisation`` by ``fields`` that read its history rather than its row
    (``clean()`` judges the row): a move once something has happened in it, a kind change under rows that refer to
    it, validity dates that would no longer hold its renames or the day a predecessor handed over to it. Given apart
    so that the admin's form shows them as field errors."""
    errors = Errors()
    if "parent" in fields:
        parent = fields["parent"]
        if (parent.pk if parent else None) != organisation.parent_id and _has_history(organisation):
            errors.add(
                "parent",
                _(
                    "Members, referrals, meetings or subordinate organisations have belonged to this organisation: "
                    "it cannot be moved under another one, or the past would change. A change of place is a "
                    "restructure: use the restructure, which ends this organisation and starts its successor under "
                    "the new parent."
                ),
                code="parent_with_history",
            )
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
    if "valid_from" in fields or "valid_to" in fields:
        _check_validity_against_history(
            organisation,
            fields.get("valid_from", organisation.valid_from),
            fields.get("valid_to", organisation.valid_to),
            errors,
        )
    return errors


def _check_validity_against_history(
    organisation: Organisation, valid_from: datetime.date | None, valid_to: datetime.date | None, errors: Errors
) -> None:
    """New validity dates must still hold the organisation's renames and keep it in force on the day each of its
    predecessors handed over to it."""
    if valid_from is None:
        return  # blank: the field says so
    renamed_on = list(organisation.former_names.order_by("valid_to").values_list("valid_to", flat=True))
    if renamed_on and valid_from >= renamed_on[0]:
        errors.add(
            "valid_from",
            _("The organisation was renamed on %(day)s: it existed before that day."),
            code="valid_from_after_rename",
            day=day_text(renamed_on[0]),
        )
    if renamed_on and valid_to and valid_to <= renamed_on[-1]:
        errors.add(
            "valid_to",
            _("The organisation was renamed on %(day)s: it existed on that day."),
            code="valid_to_before_rename",
            day=day_text(renamed_on[-1]),
        )
    for handed_over_on in organisation.predecessors.order_by("valid_to").values_list("valid_to", flat=True):
        if handed_over_on is None or (valid_from <= handed_over_on and (valid_to is None or valid_to > handed_over_on)):
            continue
        errors.add(
            "valid_from" if valid_from > handed_over_on else "valid_to",
            _("This organisation took over from another one on %(day)s: it must exist on that day."),
            code="successor_not_in_force",
            day=day_text(handed_over_on),
        )


def _referred_to(organisation: Organisation, *, apps_above_only: bool) -> bool:
    """Whether rows refer to the organisation through a foreign key, found through the model's reverse relations so
    that the tree needs to know nothing of the apps above it. The tree's own rows (children, successors, former
    names, restructure records) never count; its posts count unless ``apps_above_only``."""
    for relation in Organisation._meta.related_objects:
        model = relation.related_model
        if model in (Organisation, Organisation.history.model, OrganisationName):
            continue
        if getattr(model, "written_by_triggers", False):  # the ancestor relation follows the organisation
            continue
        if apps_above_only and model._meta.app_label == Organisation._meta.app_label:
            continue
        if not relation.one_to_many and not relation.one_to_one:
            continue
        if model._default_manager.filter(**{relation.field.name: organisation}).exists():
            return True
    return False


def _has_dependents(organisation: Organisation) -> bool:
    """Whether rows of any app refer to the organisation (members, referrals, meetings, posts...). Its children are
    not dependents here: the tree's rules (``clean``) judge whether they can stay under a new kind."""
    return _referred_to(organisation, apps_above_only=False)


def _has_history(organisation: Organisation) -> bool:
    """Whether something has happened in the organisation that figures of a past day read: a subordinate
    organisation (even one that has ended), or any row of the apps above (a member's home now or in the past, a
    referral, a placement, a meeting...). Posts and the tree's own records are not its history: a post follows the
    organisation wherever it stands."""
    return organisation.children.exists() or _referred_to(organisation, apps_above_only=True)


# ---------------------------------------------------------------------------------------------------------------------
# Names of a day

RENAME_MESSAGES: dict[str, ConstraintMessage] = {
    "organisation_name_one_per_day": ConstraintMessage(
        "effective_on", _("The organisation was already renamed on this day.")
    ),
    "organisation_name_valid_to_after_valid_from": ConstraintMessage(
        "effective_on", _("A rename takes effect after the organisation started and after its last rename.")
    ),
}


@transaction.atomic
def organisation_rename(
    *, organisation: Organisation, name: str, effective_on: datetime.date, by: User | None, note: str = ""
) -> Organisation:
    """Rename the organisation from ``effective_on`` on: the row and its code stay, the name it bore until then is
    kept with its dates (from its start or its previous rename), and a ``Restructure`` of kind rename is recorded.
    Letters, books and workbooks of a past day read the name of that day (``Organisation.name_on``)."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    errors = Errors()
    last_renamed_on = organisation.former_names.order_by("-valid_to").values_list("valid_to", flat=True).first()
    named_since = max(organisation.valid_from, last_renamed_on) if last_renamed_on else organisation.valid_from
    former = OrganisationName(
        organisation=organisation, name=organisation.name, valid_from=named_since, valid_to=effective_on
    )
    try:
        former.clean_fields(exclude=["organisation", "name", "valid_from"])  # the day's bounds, not in the future
    except ValidationError as error:
        for message in error.message_dict.get("valid_to", []):
            errors.add("effective_on", message, code="effective_on_out_of_bounds")
    if "effective_on" not in errors and effective_on <= named_since:
        errors.add(
            "effective_on",
            _("The organisation bears its name since %(day)s: a rename takes effect after that day."),
            code="effective_on_too_early",
            day=day_text(named_since),
        )
    if "effective_on" not in errors and organisation.valid_to is not None and organisation.valid_to <= effective_on:
        errors.add(
            "effective_on",
            _("The organisation no longer exists on that day (it ended on %(day)s)."),
            code="ended",
            day=day_text(organisation.valid_to),
        )
    if normalise_line(name or "") == organisation.name:
        errors.add("name", _("This is already the organisation's name."), code="same_name")
    organisation.name = name
    validate_model(organisation, ORGANISATION_MESSAGES, errors=errors)
    validate_model(former, RENAME_MESSAGES)
    with integrity_errors_as_validation(RENAME_MESSAGES):
        save_recorded(former, by=by)
    save_recorded(organisation, by=by, reason="rename")
    restructure_record(
        kind=Restructure.Kind.RENAME,
        effective_on=effective_on,
        predecessors=[organisation],
        successors=[organisation],
        by=by,
        note=note,
    )
    return organisation


# ---------------------------------------------------------------------------------------------------------------------
# The record of a restructure


@transaction.atomic
def restructure_record(
    *,
    kind: str,
    effective_on: datetime.date,
    predecessors: Iterable[Organisation],
    successors: Iterable[Organisation],
    by: User | None,
    note: str = "",
) -> Restructure:
    """Record one restructure: which organisations ended or changed on ``effective_on`` and which took over.

    The record says what happened; it moves nothing (the restructure operations do, and call this). Its shape is
    checked: a merger has several predecessors and one successor (one of them, or a new one), a split one predecessor
    and several successors, a move one predecessor and a successor under another parent, a rename one organisation
    on both sides; every organisation is of one kind and, outside organisations aside, of one tree; each predecessor
    existed the day before ``effective_on`` and each successor exists on that day.
    """
    before = _saved(predecessors)
    after = _saved(successors)
    errors = Errors()
    if not before:
        errors.add("predecessors", _("Name the organisations that ended or changed."), code="required")
    if not after:
        errors.add("successors", _("Name the organisations that took over."), code="required")
    if before and after and kind in Restructure.Kind.values:
        _check_shape(kind, before, after, errors)
        _check_same_kind_and_tree(before, after, errors)
        if effective_on is not None:
            _check_in_force(effective_on, before, after, errors)
    restructure = Restructure(kind=kind, effective_on=effective_on, note=note, recorded_by=by)
    validate_model(restructure, errors=errors)
    save_recorded(restructure, by=by)
    restructure.predecessors.set(before)
    restructure.successors.set(after)
    return restructure


def _saved(organisations: Iterable[Organisation]) -> list[Organisation]:
    """The organisations as stored now (their validity may have changed since the instances were read), once each."""
    pks = list(dict.fromkeys(organisation.pk for organisation in organisations))
    if None in pks:
        raise ValueError("A restructure names organisations already saved.")
    by_pk = Organisation.objects.in_bulk(pks)
    if len(by_pk) != len(pks):
        raise ValueError("A restructure names organisations that do not exist.")
    return [by_pk[pk] for pk in pks]


def _check_shape(kind: str, before: list[Organisation], after: list[Organisation], errors: Errors) -> None:
    Kind = Restructure.Kind
    if kind == Kind.RENAME and (len(before) != 1 or [o.pk for o in after] != [before[0].pk]):
        errors.add("successors", _("A rename names one organisation, before and after."), code="rename_shape")
    elif kind == Kind.MERGE and (len(before) < 2 or len(after) != 1):
        errors.add(
            "predecessors",
            _("A merger joins several organisations into one (a new one, or one of them)."),
            code="merge_shape",
        )
    elif kind == Kind.SPLIT and (len(before) != 1 or len(after) < 2):
        errors.add("successors", _("A split divides one organisation into several."), code="split_shape")
    elif kind == Kind.MOVE:
        if len(before) != 1 or len(after) != 1 or before[0].pk == after[0].pk:
            errors.add(
                "successors",
                _("A move ends one organisation and starts one successor under another organisation."),
                code="move_shape",
            )
        elif before[0].parent_id == after[0].parent_id:
            errors.add(
                "successors",
                _("The successor of a move stands under another organisation than its predecessor."),
                code="move_same_parent",
            )


def _check_same_kind_and_tree(before: list[Organisation], after: list[Organisation], errors: Errors) -> None:
    everyone = [*before, *after]
    kind = before[0].kind
    if any(organisation.kind != kind for organisation in everyone):
        errors.add(
            "successors",
            _("Every organisation of a restructure is of one kind (here: %(kind)s)."),
            code="other_kind",
            kind=before[0].get_kind_display(),
        )
    elif kind != Organisation.Kind.OUTSIDE and len({organisation.path.split("/")[0] for organisation in everyone}) > 1:
        errors.add(
            "successors",
            _("A restructure stays within one organisation tree."),
            code="across_roots",
        )


def _check_in_force(
    effective_on: datetime.date, before: list[Organisation], after: list[Organisation], errors: Errors
) -> None:
    for organisation in before:
        existed_the_day_before = organisation.valid_from < effective_on and (
            organisation.valid_to is None or organisation.valid_to >= effective_on
        )
        if not existed_the_day_before:
            errors.add(
                "predecessors",
                _("%(name)s did not exist the day before %(day)s."),
                code="predecessor_not_in_force",
                name=organisation.name,
                day=day_text(effective_on),
            )
    for organisation in after:
        if not organisation.is_valid_on(effective_on):
            errors.add(
                "successors",
                _("%(name)s does not exist on %(day)s."),
                code="successor_not_in_force",
                name=organisation.name,
                day=day_text(effective_on),
            )
