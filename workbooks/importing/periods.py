"""The dated histories the import writes: a member's homes (sheet "Quá trình sinh hoạt") and a referral's placements
(sheet "Chuyển chi bộ nơi cư trú").

A history is a chain of steps, each a place from a day on; a period ends where the next step starts, the last one is
open. The database holds the chains with triggers (``members`` migration 0007) that accept, per owner, only this
order of writes: remove the periods (or close the open one), change the owner's current place, add the periods in the
order of their start. The import compares each owner's chain with the stored one and rewrites only those that differ:
their stored rows are deleted before the owners are written, and the new rows are created after, sorted by start.
"""

import dataclasses
import datetime
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.services import day_text
from workbooks.layout import ORGANISATIONS

CHUNK = 2000
UNKNOWN_CODE = _("No organisation has the code “%(code)s”, in this workbook or in the database.")
FUTURE = _("This date is in the future (today is %(today)s).")


@dataclasses.dataclass(frozen=True)
class Step:
    """In ``place`` from ``started_on`` on (until the next step of the chain)."""

    place: Organisation
    started_on: datetime.date


def merged(steps: Iterable[Step]) -> list[Step]:
    """The steps in order, each one that stays in the place of the step before it dropped (it changes nothing)."""
    chain: list[Step] = []
    for step in steps:
        if not chain or chain[-1].place.pk != step.place.pk:
            chain.append(step)
    return chain


def chain_key(steps: list[Step]) -> tuple:
    return tuple((step.place.pk, step.started_on) for step in steps)


def stored_key(rows: list, place_field: str) -> tuple:
    """The key of a stored chain (rows sorted by start), comparable with ``chain_key``."""
    return tuple((getattr(row, f"{place_field}_id"), row.started_on) for row in rows)


def periods(steps: list[Step]) -> list[tuple[Step, datetime.date | None]]:
    """Each step with the day its period ends (the next step's start; None for the last, open one)."""
    return [(step, steps[index + 1].started_on if index + 1 < len(steps) else None) for index, step in enumerate(steps)]


def stored_rows(
    model, owner_field: str, place_field: str, pks: Iterable[int], *, moved_only: bool = False
) -> dict[int, list]:
    """The stored rows of each owner, sorted by start, with their place, in a query per chunk of owners; with
    ``moved_only``, only of the owners that moved (a closed period: the others' place is their current one)."""
    pks = [pk for pk in set(pks) if pk is not None]
    found: dict[int, list] = {}
    for start in range(0, len(pks), CHUNK):
        owners = model.objects.filter(**{f"{owner_field}__in": pks[start : start + CHUNK]})
        if moved_only:
            owners = model.objects.filter(
                **{f"{owner_field}__in": owners.filter(ended_on__isnull=False).values(owner_field)}
            )
        rows = owners.select_related(place_field).order_by(owner_field, "started_on")
        for row in rows:
            found.setdefault(getattr(row, f"{owner_field}_id"), []).append(row)
    return found


def delete_rows(model, owner_field: str, pks: Iterable[int]) -> None:
    pks = [pk for pk in set(pks) if pk is not None]
    for start in range(0, len(pks), CHUNK):
        model.objects.filter(**{f"{owner_field}__in": pks[start : start + CHUNK]}).delete()


def recorded_by_of(rows: list, place_field: str) -> dict[tuple, object]:
    """Who recorded each stored period, by (place, start, end): a period written again as it was keeps its recorder."""
    return {
        (getattr(row, f"{place_field}_id"), row.started_on, row.ended_on): row.recorded_by_id
        for row in rows
        if row.recorded_by_id is not None
    }


def own_steps(context, sheet, rows, organisations, column: str, today: datetime.date, *, future: bool = True):
    """The steps of a history's rows from their own cells, which need neither the owner nor the other rows: the
    place each names (``column``) and, with ``future``, days not after ``today``. None after a problem (reported; a
    row naming a refused organisation names its row)."""
    header = sheet.column(column).header
    steps, ok = [], True
    for row, values in rows:
        code = values[column]
        if code in organisations.failed_codes:
            context.depends(sheet, row, header, ORGANISATIONS, organisations.failed_codes, code)
            ok = False
        elif (place := organisations.organisation(code)) is None:
            context.problem(sheet, row, header, UNKNOWN_CODE % {"code": code})
            ok = False
        else:
            steps.append((row, Step(place, values["started_on"])))
    if future:
        future_days(context, sheet, rows, today)
    return steps if ok else None


def future_days(context, sheet, rows, today: datetime.date) -> None:
    """A problem on each row whose "Từ ngày" is after ``today``."""
    header = sheet.column("started_on").header
    for row, values in rows:
        if values["started_on"] > today:
            context.problem(sheet, row, header, FUTURE % {"today": day_text(today)})
