"""The tracking book (sổ theo dõi) of an organisation for a year, as the paper book has it.

Two parts, depending on the side the organisation works on:

- the workplace side (a grassroots committee, a grassroots cell, a ward for its own agency cell, the root city-wide)
  keeps the introductions it issued: referrals whose issuing organisation lies in its subtree, introduced that year;
- the ward side (a ward, the root city-wide) keeps the receptions and placements: referrals addressed to the wards of
  its subtree that were received or placed that year, and apart from them the referrals introduced to those wards
  that are still not received (the ones a paper book misses).

The rows are read from the referrals the user may see (``visible_referrals``), a fixed number of queries whatever the
size of the book. The screen and the workbook use the same parts and the same row builders.
"""

import dataclasses
import datetime
from typing import BinaryIO

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import Organisation
from branches.selectors import name_on_expression, names_on
from dongha76.excel import StreamedSheet, new_write_only_workbook
from members.models import Placement, Referral

Kind = Organisation.Kind

# Organisations that keep a tracking book, and the parts each kind keeps.
WORKPLACE_BOOK_KINDS = (Kind.ROOT, Kind.UPPER_COMMITTEE, Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD)
WARD_BOOK_KINDS = (Kind.ROOT, Kind.UPPER_COMMITTEE, Kind.WARD)
BOOK_KINDS = WORKPLACE_BOOK_KINDS

# The years a book can be asked for (a date must exist on both ends of the year).
FIRST_YEAR = 1930
LAST_YEAR = 9998

BOOK_TITLE = gettext_lazy("Tracking book of working party members introduced to residence activities")


@dataclasses.dataclass(frozen=True)
class BookPart:
    """One part of the book: its rows (referrals, in the order of the paper book) and their totals."""

    key: str  # "issued", "received" or "not_received"
    title: str
    referrals: list[Referral]
    totals: dict[str, int]

    @property
    def count(self) -> int:
        return len(self.referrals)


@dataclasses.dataclass(frozen=True)
class TrackingBook:
    organisation: Organisation
    year: int
    organisation_name: str  # the names of the book's last day (an organisation renamed since keeps that name)
    parent_name: str
    issued: BookPart | None  # the workplace side, when the organisation issues introductions
    received: BookPart | None  # the ward side, when the organisation receives them
    not_received: BookPart | None  # the ward side: introduced and still not received

    @property
    def parts(self) -> tuple[BookPart, ...]:
        return tuple(part for part in (self.issued, self.received, self.not_received) if part is not None)

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, 1, 1)

    @property
    def last_day(self) -> datetime.date:
        return datetime.date(self.year, 12, 31)


def keeps_book(organisation: Organisation) -> bool:
    return organisation.kind in BOOK_KINDS


def book_organisations(organisations: QuerySet[Organisation]) -> QuerySet[Organisation]:
    """Among ``organisations`` (those the user may see), the ones that keep a tracking book, in tree order."""
    return organisations.filter(kind__in=BOOK_KINDS).order_by("path")


def _rows(referrals: QuerySet[Referral], day: datetime.date) -> QuerySet[Referral]:
    """The rows with the names of ``day`` (the book's last day): ``issuer_name``, ``ward_name`` and ``cell_name``,
    the cell the member was placed in that day (else the last one before it)."""
    cell_then = (
        Placement.objects.filter(referral=OuterRef("pk"), started_on__lte=day)
        .order_by("-started_on")
        .annotate(name_then=name_on_expression(day, "residential_cell__"))
        .values("name_then")[:1]
    )
    return referrals.select_related("member", "issuing_organisation", "receiving_ward", "residential_cell").annotate(
        issuer_name=name_on_expression(day, "issuing_organisation__"),
        ward_name=name_on_expression(day, "receiving_ward__"),
        cell_name=Coalesce(Subquery(cell_then), F("residential_cell__name")),
    )


def issued_in(referrals: QuerySet[Referral], *, organisation: Organisation, year: int) -> QuerySet[Referral]:
    """Introductions issued by the organisation or any organisation under it during ``year``, by date."""
    return (
        referrals.filter(issuing_organisation__path__startswith=organisation.path)
        .filter(introduced_on__gte=datetime.date(year, 1, 1), introduced_on__lte=datetime.date(year, 12, 31))
        .order_by("introduced_on", "pk")
    )


def received_or_placed_in(
    referrals: QuerySet[Referral], *, organisation: Organisation, year: int
) -> QuerySet[Referral]:
    """Referrals addressed to the wards of the subtree that were received or placed during ``year``, by date."""
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    return (
        referrals.filter(_addressed_to(organisation))
        .filter(Q(received_on__gte=first, received_on__lte=last) | Q(placed_on__gte=first, placed_on__lte=last))
        .order_by("received_on", "placed_on", "pk")
    )


def _addressed_to(organisation: Organisation) -> Q:
    """Addressed to a ward of the subtree, or to a ward merged into one of them (the successor keeps the book)."""
    return (
        Q(receiving_ward__path__startswith=organisation.path)
        | Q(receiving_ward__successor__path__startswith=organisation.path)
        | Q(receiving_ward__successor__successor__path__startswith=organisation.path)
    )


def not_received_by(referrals: QuerySet[Referral], *, organisation: Organisation, year: int) -> QuerySet[Referral]:
    """Referrals introduced to the wards of the subtree by the end of ``year`` and still open and not received."""
    return (
        referrals.filter(_addressed_to(organisation))
        .filter(introduced_on__lte=datetime.date(year, 12, 31), received_on__isnull=True, ended_on__isnull=True)
        .order_by("introduced_on", "pk")
    )


def _totals(referrals: QuerySet[Referral], **counts: Q) -> dict[str, int]:
    """Counts of ``referrals`` in one query: ``lines`` plus one count per named condition."""
    return referrals.order_by().aggregate(
        lines=Count("pk"), **{name: Count("pk", filter=condition) for name, condition in counts.items()}
    )


def tracking_book(
    *, organisation: Organisation, year: int, referrals: QuerySet[Referral], day: datetime.date
) -> TrackingBook:
    """The book of ``organisation`` for ``year``, read from ``referrals`` (the ones the user may see); ``day`` is today,
    from which the referrals not received count their days of waiting (``waiting_days``).

    Five queries at most: the rows and the totals of the two parts, and the list of referrals not received.
    """
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    name_day = min(last, day)
    issued = received = not_received = None
    if organisation.kind in WORKPLACE_BOOK_KINDS:
        rows = issued_in(referrals, organisation=organisation, year=year)
        issued = BookPart(
            key="issued",
            title=_("Introductions issued"),
            referrals=list(_rows(rows, name_day)),
            totals=_totals(
                rows,
                received=Q(received_on__isnull=False),
                placed=Q(placed_on__isnull=False),
                ended=Q(ended_on__isnull=False),
            ),
        )
    if organisation.kind in WARD_BOOK_KINDS:
        rows = received_or_placed_in(referrals, organisation=organisation, year=year)
        received = BookPart(
            key="received",
            title=_("Receptions and placements"),
            referrals=list(_rows(rows, name_day)),
            totals=_totals(
                rows,
                received=Q(received_on__gte=first, received_on__lte=last),
                placed=Q(placed_on__gte=first, placed_on__lte=last),
                from_outside=Q(issuing_organisation__kind=Kind.OUTSIDE),
                ended=Q(ended_on__isnull=False),
            ),
        )
        waiting = list(_rows(not_received_by(referrals, organisation=organisation, year=year), name_day))
        for referral in waiting:
            referral.waiting_days = (day - referral.introduced_on).days
        not_received = BookPart(
            key="not_received",
            title=_("Introduced and not received yet"),
            referrals=waiting,
            totals={"lines": len(waiting)},
        )
    names = names_on([o for o in (organisation, organisation.parent) if o is not None], name_day)
    return TrackingBook(
        organisation=organisation,
        year=year,
        organisation_name=names[organisation.pk],
        parent_name=names.get(organisation.parent_id, ""),
        issued=issued,
        received=received,
        not_received=not_received,
    )


# -- the workbook ---------------------------------------------------------------------------------------------------


def _short(day: datetime.date | None) -> str:
    return date_format(day, "SHORT_DATE_FORMAT") if day else ""


def end_note(referral: Referral) -> str:
    """The notes column: the end (date and reason) when the referral ended, then the notes written on it."""
    parts = []
    if referral.ended_on:
        parts.append(
            _("Ended on %(date)s: %(reason)s")
            % {"date": _short(referral.ended_on), "reason": referral.get_end_reason_display()}
        )
    if referral.notes:
        parts.append(referral.notes)
    return "; ".join(parts)


def _columns(part: BookPart) -> list[tuple[str, object]]:
    """The columns of a part in the workbook: (header, function of the referral giving the cell's value)."""
    issued = part.key == "issued"
    columns = [
        (_("Full name"), lambda r: r.member.full_name),
        (_("Date of birth"), lambda r: r.member.date_of_birth),
        (_("Party card number"), lambda r: r.member.card_number),
    ]
    if issued:
        columns.append((_("Introduced to"), lambda r: r.ward_name))
    else:
        columns.append((_("Introduced by"), lambda r: r.issuer_name))
    if part.key == "not_received":
        columns.append((_("Introduced to"), lambda r: r.ward_name))
    columns += [
        (_("Letter number"), lambda r: r.letter_number),
        (_("Letter date"), lambda r: r.introduced_on),
    ]
    if part.key != "not_received":
        columns += [
            (_("Received on"), lambda r: r.received_on),
            (_("Residential cell"), lambda r: r.cell_name or ""),
            (_("Placed on"), lambda r: r.placed_on),
            (_("Reported on"), lambda r: r.reported_on),
        ]
    if part.key == "not_received":
        columns.append((_("Days waiting"), lambda r: r.waiting_days))
    columns.append((_("Notes"), end_note))
    return columns


def _width(header: str) -> int:
    return max(12, min(40, len(header) + 2))


def write_book_workbook(book: TrackingBook, target: BinaryIO) -> int:
    """The book as a workbook, written to ``target`` (write-only): one sheet per part, headed by the organisation
    and the year. Returns the number of rows written."""
    workbook = new_write_only_workbook()
    rows = 0
    for part in book.parts:
        columns = _columns(part)
        heading = _("%(title)s – %(organisation)s – year %(year)s: %(part)s") % {
            "title": BOOK_TITLE,
            "organisation": book.organisation_name,
            "year": book.year,
            "part": part.title,
        }
        headers = [_("No."), *(header for header, _value in columns)]
        sheet = StreamedSheet(
            workbook,
            title=part.title,
            heading=heading,
            headers=headers,
            widths=[6, 28, 12, 12, *(_width(str(header)) for header in headers[4:])],
        )
        for number, referral in enumerate(part.referrals, start=1):
            sheet.append([number, *(value(referral) for _header, value in columns)])
        rows += sheet.rows_written
    workbook.save(target)
    return rows


def book_filename(book: TrackingBook) -> str:
    return f"so-theo-doi-{book.organisation.code}-{book.year}.xlsx"
