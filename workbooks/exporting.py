"""Writing the committees' workbook back out, in exactly the layout the import reads (``workbooks.layout``), so that a
workbook exported and imported again changes nothing.

Codes, card numbers, national IDs and phone numbers are written as text (Excel keeps their leading zeros), dates as
dates shown dd/mm/yyyy, flags as "x" or blank, choices as the model's code. Rows are streamed (openpyxl's write-only
mode) from ``values_list`` queries read in chunks: memory does not grow with the number of members.
"""

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from typing import BinaryIO

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from branches.access import access_of
from branches.models import Organisation
from dongha76.excel import StreamedSheet, new_write_only_workbook
from members.models import Exemption, Member, MemberHome, Placement, Referral
from members.selectors import referrals_visible_with
from workbooks.layout import HOMES, MEMBERS, ORGANISATIONS, PLACEMENTS, REFERRALS, Column, Sheet, Value

CHUNK = 2000
YES = "x"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a column's value comes from: a field of the ``values_list`` query, and how it becomes a cell (by default,
    by the column's kind of value)."""

    field: str
    convert: Callable[[object], object] | None = None


def _text(value) -> str | None:
    return None if value is None or value == "" else str(value)


def _flag(value) -> str | None:
    return YES if value else None


CONVERTERS: dict[Value, Callable[[object], object]] = {
    Value.TEXT: _text,
    Value.CHOICE: _text,  # the code: it reads back exactly
    Value.DATE: lambda value: value,
    Value.FLAG: _flag,
}

# Column widths by kind of value, and for the columns that hold long texts.
WIDTHS = {Value.TEXT: 14, Value.CHOICE: 16, Value.DATE: 12, Value.FLAG: 10}
WIDE = {"name": 40, "full_name": 28, "address": 36, "residential_address": 40, "exempt_reason": 30}


ORGANISATION_SOURCES: dict[str, Source] = {
    "code": Source("code"),
    "name": Source("name"),
    "kind": Source("kind"),
    "parent": Source("parent__code"),
    "sector": Source("sector"),
    "valid_from": Source("valid_from"),
    "valid_to": Source("valid_to"),
    "successor": Source("successor__code"),
    "address": Source("address"),
}

MEMBER_SOURCES: dict[str, Source] = {
    "card_number": Source("card_number"),
    "full_name": Source("full_name"),
    "date_of_birth": Source("date_of_birth"),
    "gender": Source("gender"),
    "admitted_on": Source("admitted_on"),
    "home_organisation": Source("home_organisation__code"),
    "working": Source("retired_on", lambda retired_on: None if retired_on else YES),
    # The member's latest exemption period (whatever its end) says which kind is marked.
    "exempt_introduction": Source("exemption_kind", lambda kind: YES if kind == Exemption.Kind.INTRODUCTION else None),
    "exempt_activities": Source("exemption_kind", lambda kind: YES if kind == Exemption.Kind.ACTIVITIES else None),
    "national_id": Source("national_id"),
    "phone": Source("phone"),
    "residential_address": Source("residential_address"),
    "official_on": Source("official_on"),
    "retired_on": Source("retired_on"),
    "exempt_from": Source("exemption_started_on"),
    "exempt_until": Source("exemption_ended_on"),
    "exempt_reason": Source("exemption_reason"),
    "left_on": Source("left_on"),
    "left_reason": Source("left_reason"),
}

REFERRAL_SOURCES: dict[str, Source] = {
    "card_number": Source("member__card_number"),
    "letter_number": Source("letter_number"),
    "introduced_on": Source("introduced_on"),
    "issuing_organisation": Source("issuing_organisation__code"),
    "receiving_ward": Source("receiving_ward__code"),
    "received_on": Source("received_on"),
    # The first placement's cell (the referral's own while it was never re-placed); re-placements are the sheet
    # "Chuyển chi bộ nơi cư trú"'s.
    "residential_cell": Source("first_cell_code"),
    "ended_on": Source("ended_on"),
    "end_reason": Source("end_reason"),
    "placed_on": Source("placed_on"),
    "reported_on": Source("reported_on"),
}

HOME_SOURCES: dict[str, Source] = {
    "card_number": Source("member__card_number"),
    "organisation": Source("organisation__code"),
    "started_on": Source("started_on"),
}

PLACEMENT_SOURCES: dict[str, Source] = {
    "card_number": Source("referral__member__card_number"),
    "introduced_on": Source("referral__introduced_on"),
    "residential_cell": Source("residential_cell__code"),
    "started_on": Source("started_on"),
}

SOURCES: dict[str, dict[str, Source]] = {
    ORGANISATIONS.key: ORGANISATION_SOURCES,
    MEMBERS.key: MEMBER_SOURCES,
    HOMES.key: HOME_SOURCES,
    REFERRALS.key: REFERRAL_SOURCES,
    PLACEMENTS.key: PLACEMENT_SOURCES,
}


def write_workbook(target: str | BinaryIO, *, organisation: Organisation | None = None) -> dict[str, int]:
    """Write every organisation, member (with the history of their homes) and referral (with its re-placements) to
    ``target`` (a path or a binary file), or those of ``organisation``'s subtree: its organisations, the members whose
    cell is in it and the members of outside organisations referred to a ward in it (those its wards registered),
    those of their referrals its committee sees, and the outside organisations these members belong to. What one
    exports, one may import back. Returns the number of rows per sheet key."""
    workbook = new_write_only_workbook()
    organisations, members, referrals = Organisation.objects.all(), Member.objects.all(), Referral.objects.all()
    if organisation is not None:
        to_its_wards = Referral.objects.filter(
            member=OuterRef("pk"),
            receiving_ward__path__startswith=organisation.path,
            receiving_ward__kind=Organisation.Kind.WARD,
        )
        members = members.filter(
            Q(home_organisation__path__startswith=organisation.path)
            | Q(home_organisation__kind=Organisation.Kind.OUTSIDE) & Q(Exists(to_its_wards))
        )
        # Only the referrals the organisation's committee sees on its pages: a member of an outside organisation who
        # moved on to a ward elsewhere keeps that later referral out of this ward's export (and out of its reach).
        seen = referrals_visible_with(access_of(organisation))
        referrals = referrals.filter(member__in=members.values("pk"), pk__in=seen.values("pk"))
        organisations = organisations.filter(
            Q(path__startswith=organisation.path)
            | Q(kind=Organisation.Kind.OUTSIDE)
            & (Q(pk__in=members.values("home_organisation")) | Q(pk__in=referrals.values("issuing_organisation")))
        )
    suffix = f" — {organisation.name} ({organisation.code})" if organisation is not None else ""
    # Only the members who moved have rows of their history (one home since admission needs none), and only the
    # re-placements of a referral (its first placement is its row of "Giới thiệu").
    moved = MemberHome.objects.filter(member=OuterRef("member"), ended_on__isnull=False)
    homes = MemberHome.objects.filter(Exists(moved), member__in=members.values("pk"))
    earlier = Placement.objects.filter(referral=OuterRef("referral"), started_on__lt=OuterRef("started_on"))
    placements = Placement.objects.filter(Exists(earlier), referral__in=referrals.values("pk"))
    counts = {
        ORGANISATIONS.key: _write_sheet(workbook, ORGANISATIONS, organisations.order_by("path"), suffix),
        MEMBERS.key: _write_sheet(workbook, MEMBERS, _with_latest_exemption(members).order_by("card_number"), suffix),
        HOMES.key: _write_sheet(workbook, HOMES, homes.order_by("member__card_number", "started_on"), suffix),
        REFERRALS.key: _write_sheet(
            workbook,
            REFERRALS,
            _with_first_cell(referrals).order_by("member__card_number", "introduced_on", "pk"),
            suffix,
        ),
        PLACEMENTS.key: _write_sheet(
            workbook,
            PLACEMENTS,
            placements.order_by("referral__member__card_number", "referral__introduced_on", "started_on"),
            suffix,
        ),
    }
    workbook.save(target)
    return counts


def _with_latest_exemption(members: QuerySet) -> QuerySet:
    """Each member with the kind, dates and reason of their latest exemption period (the one begun last)."""
    latest = Exemption.objects.filter(member=OuterRef("pk")).order_by("-started_on", "-pk")
    return members.annotate(
        exemption_kind=Subquery(latest.values("kind")[:1]),
        exemption_started_on=Subquery(latest.values("started_on")[:1]),
        exemption_ended_on=Subquery(latest.values("ended_on")[:1]),
        exemption_reason=Subquery(latest.values("reason")[:1]),
    )


def _with_first_cell(referrals: QuerySet) -> QuerySet:
    """Each referral with the code of the cell of its first placement (its own cell when it has no history)."""
    first = Placement.objects.filter(referral=OuterRef("pk")).order_by("started_on")
    return referrals.annotate(
        first_cell_code=Coalesce(Subquery(first.values("residential_cell__code")[:1]), F("residential_cell__code"))
    )


def _plan(sheet: Sheet) -> tuple[list[str], list[tuple[int, Callable[[object], object]]]]:
    """The fields to select (each once) and, for each column of the layout in its order, where its value is in a
    selected row and how it is converted."""
    sources = SOURCES[sheet.key]
    fields: list[str] = []
    steps = []
    for column in sheet.columns:
        source = sources[column.key]
        if source.field not in fields:
            fields.append(source.field)
        steps.append((fields.index(source.field), source.convert or CONVERTERS[column.value]))
    return fields, steps


def _write_sheet(workbook, sheet: Sheet, rows: QuerySet, suffix: str) -> int:
    fields, steps = _plan(sheet)
    streamed = StreamedSheet(
        workbook,
        title=sheet.title,
        heading=sheet.heading + suffix,
        headers=[column.header for column in sheet.columns],
        widths=[_width(column) for column in sheet.columns],
    )
    for values in _rows(rows.values_list(*fields), steps):
        streamed.append(values)
    return streamed.rows_written


def _rows(rows: QuerySet, steps) -> Iterable[list]:
    for row in rows.iterator(chunk_size=CHUNK):
        yield [convert(row[index]) for index, convert in steps]


def _width(column: Column) -> float:
    return max(WIDE.get(column.key, WIDTHS[column.value]), len(column.header) + 2)


def export_file_name(organisation: Organisation | None, today: datetime.date) -> str:
    """A file name for a download: the organisation's code (or "all") and the day."""
    code = organisation.code if organisation is not None else "all"
    return f"workbook-{code}-{today:%Y%m%d}.xlsx"
