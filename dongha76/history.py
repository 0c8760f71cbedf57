"""The change log of a record, for its detail page: who changed what, when, from what to what."""

import dataclasses
import datetime
from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

KINDS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


@dataclasses.dataclass(frozen=True)
class Change:
    field: str
    old: object
    new: object


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    when: datetime.datetime
    who: object  # the user, or None when recorded by a command (the demo data, an import)
    kind: str
    reason: str
    changes: tuple[Change, ...]


def _same(value):
    return value


def _shown(record, field_name: str):
    field = record.instance_type._meta.get_field(field_name)
    if field.is_relation:
        return getattr(record, field_name)  # the related object (history queries select it below)
    display = getattr(record, f"get_{field_name}_display", None)
    return display() if display and field.choices else getattr(record, field_name)


def history_of(
    instance, *, related: tuple[str, ...] = (), masked: dict[str, Callable[[object], object]] | None = None
) -> list[HistoryEntry]:
    """Newest first. One query for the records (with the users and ``related`` foreign keys), none per record.
    ``masked`` maps a field to how its values are shown (a national ID: its last digits only, to anyone)."""
    masked = masked or {}
    records = list(instance.history.select_related("history_user", *related).order_by("-history_date", "-pk"))
    entries = []
    # Each record is compared with the one before it; the oldest with nothing. Rows loaded in bulk have no record.
    for newer, older in zip(records, [*records[1:], None][: len(records)], strict=True):
        changes: tuple[Change, ...] = ()
        if older is not None and newer.history_type == "~":
            delta = newer.diff_against(older)
            changes = tuple(
                Change(
                    field=str(instance._meta.get_field(change.field).verbose_name),
                    old=masked.get(change.field, _same)(_shown(older, change.field)),
                    new=masked.get(change.field, _same)(_shown(newer, change.field)),
                )
                for change in delta.changes
            )
        entries.append(
            HistoryEntry(
                when=newer.history_date,
                who=newer.history_user,
                kind=str(KINDS.get(newer.history_type, newer.history_type)),
                reason=newer.history_change_reason or "",
                changes=changes,
            )
        )
    return entries
