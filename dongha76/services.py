"""Helpers every app's services share: validation with the model's own rules, clear field-keyed errors, and history.

Services are keyword-only, typed and atomic; they validate with the model's own rules (``clean()`` and the
constraints) and answer with a ``ValidationError`` keyed by field, never with an ``IntegrityError``. These helpers know
no app.
"""

import contextlib
import dataclasses
import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, FieldError, ValidationError
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db.models.functions import Coalesce
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE
from django.utils.functional import Promise

User = AbstractBaseUser


@dataclasses.dataclass(frozen=True)
class ConstraintMessage:
    """What to tell the user when a database constraint (or trigger) named in a model would be broken.

    ``markers`` are other pieces of text that identify the violation in a database error: SQLite names the columns of
    a broken unique index, not the index ("UNIQUE constraint failed: members_referral.member_id").
    """

    field: str
    message: str | Promise
    markers: tuple[str, ...] = ()


def day_text(day: datetime.date) -> str:
    """A date the way users read it: dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


class Errors:
    """Collects field-keyed errors (the first one per field wins) and raises them together."""

    def __init__(self) -> None:
        self._errors: dict[str, ValidationError] = {}

    def add(self, field: str, message: str | Promise, *, code: str, **params: Any) -> None:
        if field not in self._errors:
            self._errors[field] = ValidationError(message, code=code, params=params or None)

    def __contains__(self, field: str) -> bool:
        return field in self._errors

    def __bool__(self) -> bool:
        return bool(self._errors)

    def items(self) -> Iterator[tuple[str, ValidationError]]:
        yield from self._errors.items()

    def raise_if_any(self) -> None:
        if self._errors:
            raise ValidationError(dict(self._errors))


def validate_model(
    instance: models.Model,
    messages: Mapping[str, ConstraintMessage] | None = None,
    *,
    errors: Errors | None = None,
) -> None:
    """``full_clean()``, but a broken constraint named in ``messages`` becomes an error on its field with its message.

    Django reports a broken check or conditional unique constraint as "Constraint “x” is violated.", not keyed to any
    field; the rules stay in the model's constraints and ``clean()``, only the words and the field come from here.
    ``errors`` found by the service beforehand are raised together with the model's (theirs first, one per field).
    """
    messages = messages or {}
    collected: dict[str, list[ValidationError]] = {}
    if errors is not None:
        collected.update((field, [error]) for field, error in errors.items())
    try:
        instance.full_clean(validate_constraints=False)
    except ValidationError as exc:
        for field, field_errors in exc.update_error_dict({}).items():
            collected.setdefault(field, field_errors)
    # As full_clean() does: a constraint on a field that already has an error is not checked again.
    exclude = {name for name in collected if name != NON_FIELD_ERRORS}
    checked_with = frozenset(exclude)
    broken = _broken_checks(instance, exclude)
    for constraint in instance._meta.constraints:
        try:
            if broken is not None and isinstance(constraint, models.CheckConstraint) and exclude == checked_with:
                if constraint.name in broken:
                    raise ValidationError(
                        constraint.get_violation_error_message(), code=constraint.violation_error_code
                    )
            else:  # another kind, or a field with an error since: Django's own check
                constraint.validate(type(instance), instance, exclude=exclude)
        except ValidationError as exc:
            known = messages.get(constraint.name)
            if known is None:
                collected.setdefault(NON_FIELD_ERRORS, []).extend(exc.error_list)
            elif known.field not in collected:
                collected[known.field] = [ValidationError(known.message, code=constraint.name)]
                exclude.add(known.field)
    if collected:
        raise ValidationError(collected)


def _broken_checks(instance: models.Model, exclude: set[str]) -> set[str] | None:
    """The names of the check constraints ``instance`` breaks, all asked in one query; None when that query fails
    (each is then asked as Django asks it).

    Django's ``CheckConstraint.validate`` asks one query per check, inside a savepoint of its own when in a
    transaction: a referral's step (seven checks) took 21 statements, and the demo's reform spent a tenth of its
    build there under the profiler. Here every condition is one column of a single SELECT, NULL read as passing (as
    Django reads it); a check naming a field left out (``exclude``: it has an error already) is skipped, as Django
    skips it."""
    checks = [c for c in instance._meta.constraints if isinstance(c, models.CheckConstraint)]
    if not checks:
        return set()
    using = router.db_for_write(type(instance), instance=instance)
    query = Query(None)
    for name, value in instance._get_field_expression_map(meta=instance._meta, exclude=exclude).items():
        query.add_annotation(value if hasattr(value, "resolve_expression") else models.Value(value), name, select=False)
    asked = []
    for index, check in enumerate(checks):
        passing = Coalesce(
            models.ExpressionWrapper(models.Q(check.condition), output_field=models.BooleanField()),
            models.Value(True),
            output_field=models.BooleanField(),
        )
        try:
            query.add_annotation(passing, f"check_{index}")
        except FieldError:
            continue
        asked.append(check.name)
    if not asked:
        return set()
    savepoint = transaction.atomic(using=using) if connections[using].in_atomic_block else contextlib.nullcontext()
    try:
        with savepoint:
            row = query.get_compiler(using=using).execute_sql(SINGLE)
    except DatabaseError:
        return None
    return {name for name, passed in zip(asked, row, strict=True) if not passed}


@contextlib.contextmanager
def integrity_errors_as_validation(messages: Mapping[str, ConstraintMessage]) -> Iterator[None]:
    """The last line of defence: a constraint or trigger the database enforced after our checks passed (two users at
    the same moment) becomes the same ``ValidationError`` our checks would have raised."""
    try:
        yield
    except IntegrityError as exc:
        text = str(exc)
        for name, known in messages.items():
            if any(marker in text for marker in (name, *known.markers)):
                raise ValidationError({known.field: ValidationError(known.message, code=name)}) from exc
        raise


def save_recorded(instance: models.Model, *, by: User | None, reason: str | None = None, **save_kwargs: Any) -> None:
    """Save and tell django-simple-history who did it (and why), whatever the request context."""
    if by is not None:
        instance._history_user = by
    if reason:
        instance._change_reason = reason
    try:
        instance.save(**save_kwargs)
    finally:
        for attribute in ("_history_user", "_change_reason"):
            if hasattr(instance, attribute):
                delattr(instance, attribute)


def reject_unknown_fields(fields: Iterable[str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(f"Unexpected field(s): {', '.join(unknown)}")
