"""The headline figures and the other parts of the report of past days, read from ``FigureSnapshot`` and
``ReportSnapshot`` or computed once and stored.

A day's figures change only when a write touches that day or an earlier one; the database's triggers
(``reports.stale``) delete the snapshots such a write makes wrong, in the write's own transaction. So a snapshot that
exists is exact, and ``headlines_on`` returns what ``figures.headline`` would compute now. That holds for today as for
any day before it: a write of today deletes today's snapshots (its first stale day is today or earlier), a row dated
after today counts on no day before its date. So the figures of today are stored too, and read back until the next
write; a view after a write counts them again (a large subtree's carried from yesterday's). Days after today are
computed, never stored (nobody reads them twice). Every subtree's are stored, a ward's or a cell's as the nation's: a
write deletes only the stored figures of the organisations it counts under (``reports.stale.CountedUnder``), so a
ward's outlive the writes of every other ward.

A day's headline is computed from the nearest stored day before it, up to ``steps.MAX_STEP_DAYS`` before, by the
members whose rows changed in between (``reports.steps``), and whole only when there is none. Today's, for a large
subtree (``steps.pays``), is carried from yesterday's, which is stored first: at the nation's root, after the first
day, a day's figures read that day's members instead of the nation's.

The meetings' counts of a large subtree are carried the same way, within a year (``meeting_counts_on``): the
attendance adds the meetings held since the stored day, the irregular attendees step by the members who changed. So
are the comment figures of the day's year (``comments_on``, ``comment_sides_on``): each counts members, and steps by
the members whose rows, comment or rating changed; and the members by sector, the breakdowns and the workbook's
summary. Each is a ``_Part``, read, stepped and stored by one path (``_part_on``, ``_part_computed``).

Storing a computed snapshot races with a concurrent write: the write may change the data after the figures were read
and delete the snapshots before this one is stored. On PostgreSQL the computation holds the snapshots' advisory lock
exclusively (each write holds it shared from its trigger to its commit), taken without waiting: when a write is in
progress, the figures are computed and shown but not stored. On SQLite a transaction is serialisable: the store fails
(and is skipped) when a write committed meanwhile.
"""

import dataclasses
import datetime
import json
from collections.abc import Callable
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils import timezone

from branches.models import Organisation, OrganisationAncestor
from reports import figures, stale, steps
from reports.models import FigureSnapshot, ReportSnapshot

FIELDS = tuple(field.name for field in dataclasses.fields(figures.Headline))


def encode(headline: figures.Headline) -> dict:
    data = dataclasses.asdict(headline)
    rate = data["referral_rate"]
    data["referral_rate"] = None if rate is None else str(rate)
    return data


def decode(data: dict) -> figures.Headline | None:
    """The stored headline, or None when it was stored with other fields (a headline since changed by a release)."""
    if set(data) != set(FIELDS):
        return None
    rate = data["referral_rate"]
    return figures.Headline(**{**data, "referral_rate": None if rate is None else Decimal(rate)})


def headline_on(organisation: Organisation, day: datetime.date, *, large: bool | None = None) -> figures.Headline:
    """``figures.headline(organisation, day)``, from its snapshot when ``day`` is today or before (``headlines_on``)."""
    return headlines_on(organisation, [day], large=large)[day]


def headlines_on(
    organisation: Organisation, days: list[datetime.date], *, large: bool | None = None
) -> dict[datetime.date, figures.Headline]:
    """The headline of each of ``days``: the stored ones in one query, the others computed (``computed``) and stored
    when today or past; today's and later, for a large subtree, carried from yesterday's, stored first (and today's
    stored in turn). Days after today are computed, never stored. ``large``: as ``_large``."""
    today = timezone.localdate()
    large = any(day >= today for day in days) and _large(organisation, large)
    storable = sorted({day for day in days if day <= today})
    found: dict[datetime.date, figures.Headline] = {}
    if storable:
        stored = FigureSnapshot.objects.using(DEFAULT_DB_ALIAS).filter(organisation=organisation, day__in=storable)
        for day, data in stored.values_list("day", "figures"):
            headline = decode(data)
            if headline is not None:
                found[day] = headline
    for day in sorted(set(days)):
        if day in found:
            continue
        if day == today and large:
            found[day] = _carried_from_yesterday(organisation, day, today)
        elif day <= today:
            found[day] = _computed_and_stored(organisation, day)
        else:
            found[day] = figures.headline(organisation, day)
    return found


def city_todo_if_large(
    city: Organisation, day: datetime.date, *, headline: figures.Headline | None = None
) -> dict[str, int] | None:
    """A large city's to-do counts that its dashboard shows too (``members.selectors.todo.CITY_FIGURES``): the eligible
    members not introduced (the headline's) and the irregular attendees (the meetings'), each carried from a stored
    day (``headline``: the day's, when the caller has it); None for a smaller city, which counts its lists."""
    if not steps.pays(city):
        return None
    headline = headline or headline_on(city, day)
    return {
        "eligible_not_introduced": headline.eligible - headline.introduced,
        "irregular_attendees": meeting_counts_on(city, day, large=True).irregular,
    }


def _carried_from_yesterday(organisation: Organisation, day: datetime.date, today: datetime.date) -> figures.Headline:
    """The headline of ``day`` (today or later) from yesterday's, stored first when it is not, in one transaction on
    the primary, with writes held off when none is in progress, so that the stored day and the step read the same
    data; today's stored in turn."""
    yesterday = today - datetime.timedelta(days=1)
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        alone = _lock_out_writes()
        base = _stored(organisation, yesterday) or _computed_and_stored(organisation, yesterday)
        headline = None
        if day - yesterday <= datetime.timedelta(days=steps.MAX_STEP_DAYS):
            headline = steps.stepped(organisation, base, yesterday, day)
        if headline is None:
            headline = figures.headline(organisation, day)
        if alone and day == today:
            _store(organisation, day, headline)
        return headline


def _stored(organisation: Organisation, day: datetime.date) -> figures.Headline | None:
    data = (
        FigureSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(organisation=organisation, day=day)
        .values_list("figures", flat=True)
        .first()
    )
    return None if data is None else decode(data)


def computed(organisation: Organisation, day: datetime.date) -> figures.Headline:
    """The headline of ``day``: for a large subtree (``steps.pays``), stepped from the nearest stored day before it,
    within ``steps.MAX_STEP_DAYS``, when there is one and the step can be taken; else computed whole."""
    if not steps.pays(organisation):
        return figures.headline(organisation, day)
    nearest = (
        FigureSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(organisation=organisation, day__lt=day, day__gte=day - datetime.timedelta(days=steps.MAX_STEP_DAYS))
        .order_by("-day")
        .values_list("day", "figures")
        .first()
    )
    base = None if nearest is None else decode(nearest[1])
    if base is not None:
        headline = steps.stepped(organisation, base, nearest[0], day)
        if headline is not None:
            return headline
    return figures.headline(organisation, day)


def _computed_and_stored(organisation: Organisation, day: datetime.date) -> figures.Headline:
    # The primary database, in a transaction: a snapshot is never computed from a replica that may lag behind it.
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        alone = _lock_out_writes()
        headline = computed(organisation, day)
        if alone:
            _store(organisation, day, headline)
    return headline


def _store(organisation: Organisation, day: datetime.date, headline: figures.Headline) -> None:
    """Store ``headline`` as ``day``'s, inside the caller's transaction that holds writes off (``_lock_out_writes``)."""
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            FigureSnapshot.objects.using(DEFAULT_DB_ALIAS).bulk_create(
                [FigureSnapshot(organisation=organisation, day=day, figures=encode(headline))],
                update_conflicts=True,
                unique_fields=["organisation", "day"],
                update_fields=["figures", "computed_at"],
            )
    except DatabaseError:
        pass  # SQLite: a write committed meanwhile; the figures shown are still this transaction's own


# -- parts of the report stored as JSON: the meetings' counts, the comment figures of the year, the breakdowns ------


def _large(organisation: Organisation, large: bool | None) -> bool:
    """``large``, or ``steps.pays(organisation)`` when the caller does not know it (a report asks it once for all its
    parts: ``reports.report.build_report``)."""
    return steps.pays(organisation) if large is None else large


def _decoded_meetings(data: list) -> figures.MeetingCounts:
    expected, present, irregular = data
    return figures.MeetingCounts(figures.AttendanceCounts(expected, present), irregular)


def _encoded_meetings(counts: figures.MeetingCounts) -> list[int]:
    return [counts.attendance.expected, counts.attendance.present, counts.irregular]


def _decoded_comments(data: dict) -> figures.CommentFigures:
    return figures.CommentFigures(**{**data, "deadline": datetime.date.fromisoformat(data["deadline"])})


def _decoded_sides(data: dict) -> figures.CommentSides:
    return figures.CommentSides(**{side: figures.CommentCounts(**counts) for side, counts in data.items()})


def _decoded_sectors(data: list) -> list[figures.SectorRow]:
    return [
        figures.SectorRow(
            **{**row, "referral_rate": None if row["referral_rate"] is None else Decimal(row["referral_rate"])}
        )
        for row in data
    ]


def _plain(counted) -> dict | list:
    """Figures as JSON: a dataclass (or a list of them) as dicts, dates and decimals as strings."""
    value = [dataclasses.asdict(row) for row in counted] if isinstance(counted, list) else dataclasses.asdict(counted)
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _encoded_by_key(names: tuple[str, ...]) -> Callable:
    """Counts by organisation key as JSON: by key, the counts in ``names``' order (the nation's root has 51,912
    grassroots rows: names repeated in each would treble it)."""
    return lambda counts: {str(pk): [row[name] for name in names] for pk, row in counts.items()}


def _decoded_by_key(names: tuple[str, ...]) -> Callable:
    return lambda data: {int(pk): dict(zip(names, row, strict=True)) for pk, row in data.items()}


_encoded_grassroots, _decoded_grassroots = _encoded_by_key(figures.ROW_COUNTS), _decoded_by_key(figures.ROW_COUNTS)
_encoded_residence = _encoded_by_key(figures.RESIDENCE_COUNTS)
_decoded_residence = _decoded_by_key(figures.RESIDENCE_COUNTS)
_encoded_summary, _decoded_summary = _encoded_by_key(figures.SUMMARY_COUNTS), _decoded_by_key(figures.SUMMARY_COUNTS)


@dataclasses.dataclass(frozen=True)
class _Part:
    """How one part of ``ReportSnapshot`` is computed whole, stepped, stored and read back."""

    part: str  # a field of ``reports.report.Report``, or the yearly workbook's "summary"
    whole: Callable  # (organisation, day) -> figures
    # (organisation, base, since, until) -> figures, or None when the step cannot be taken; None: never stepped (a
    # part that costs no more whole than a step would, read back when stored)
    stepped: Callable | None
    decoded: Callable  # (stored JSON) -> figures
    within_year: bool  # carried only from a day of the same year (the comment round of the day's year)
    encoded: Callable = _plain  # (figures) -> JSON


# The functions are looked up when called, not bound here (so that a test can watch them).
# The cells due to meet and those that met by half-year: one query over the subtree's cells (0.19 s at the nation's
# root), counted whole when not stored.
_HALF_YEARS = _Part(
    ReportSnapshot.Part.MEETING_HALF_YEARS,
    lambda organisation, day: figures.half_year_meetings(organisation, day),
    None,
    lambda data: [figures.HalfYearMeetings(*row) for row in data],
    within_year=True,
    encoded=lambda half_years: [[h.half_year, h.cells_due, h.cells_held] for h in half_years],
)


# The tracking book's gaps of the day's year: one query over the subtree's committees and wards (0.33 s at the
# nation's root), counted whole when not stored. Stored by the organisations' keys: their codes and names are not
# figures the triggers watch (a rename, an admin's corrected code), so they are read when the part is.
def _encoded_book(book: figures.TrackingBookActivity) -> dict:
    codes = [ref.code for ref in (*book.committees_without_introductions, *book.wards_without_receptions)]
    pks = dict(Organisation.objects.using(DEFAULT_DB_ALIAS).filter(code__in=codes).values_list("code", "pk"))
    return {
        "year": book.year,
        "committees": [pks[ref.code] for ref in book.committees_without_introductions],
        "wards": [pks[ref.code] for ref in book.wards_without_receptions],
    }


def _decoded_book(data: dict) -> figures.TrackingBookActivity:
    named = {
        pk: figures.OrganisationRef(code, name)
        for pk, code, name in Organisation.objects.using(DEFAULT_DB_ALIAS)
        .filter(pk__in=[*data["committees"], *data["wards"]])
        .values_list("pk", "code", "name")
    }
    return figures.TrackingBookActivity(
        year=data["year"],
        committees_without_introductions=[named[pk] for pk in data["committees"]],
        wards_without_receptions=[named[pk] for pk in data["wards"]],
    )


_TRACKING_BOOK = _Part(
    ReportSnapshot.Part.TRACKING_BOOK,
    lambda organisation, day: figures.tracking_book_activity(organisation, day.year, day),
    None,
    _decoded_book,
    within_year=True,
    encoded=_encoded_book,
)
_MEETINGS = _Part(
    ReportSnapshot.Part.MEETINGS,
    lambda organisation, day: figures.meeting_counts(organisation, day),
    lambda organisation, base, since, until: steps.stepped_meeting_counts(organisation, base, since, until),
    _decoded_meetings,
    within_year=True,
    encoded=_encoded_meetings,
)
_COMMENTS = _Part(
    ReportSnapshot.Part.COMMENTS,
    lambda organisation, day: figures.comments(organisation, day.year, day),
    lambda organisation, base, since, until: steps.stepped_comments(organisation, base, since, until),
    _decoded_comments,
    within_year=True,
)
_SIDES = _Part(
    ReportSnapshot.Part.COMMENTS_BY_SIDE,
    lambda organisation, day: figures.comment_sides(organisation, day.year, day),
    lambda organisation, base, since, until: steps.stepped_comment_sides(organisation, base, since, until),
    _decoded_sides,
    within_year=True,
)
_SECTORS = _Part(
    ReportSnapshot.Part.BY_SECTOR,
    lambda organisation, day: figures.by_sector(organisation, day),
    lambda organisation, base, since, until: steps.stepped_by_sector(organisation, base, since, until),
    _decoded_sectors,
    within_year=False,
)


# Not the rows themselves (their names are read as of the day, their meetings and comments by cell): the counts that
# add up member by member, by row (``figures.grassroots_counts``).
_GRASSROOTS = _Part(
    ReportSnapshot.Part.BY_GRASSROOTS_ORGANISATION,
    lambda organisation, day: figures.grassroots_counts(organisation, day),
    lambda organisation, base, since, until: steps.stepped_grassroots_counts(organisation, base, since, until),
    _decoded_grassroots,
    within_year=False,
    encoded=_encoded_grassroots,
)


_RESIDENCE = _Part(
    ReportSnapshot.Part.BY_WARD_AND_CELL,
    lambda organisation, day: figures.residence_counts(organisation, day),
    lambda organisation, base, since, until: steps.stepped_residence_counts(organisation, base, since, until),
    _decoded_residence,
    within_year=False,
    encoded=_encoded_residence,
)


# The counts of the yearly workbook's summary rows (``figures.summary_counts``), of the day's year.
_SUMMARY = _Part(
    ReportSnapshot.Part.SUMMARY,
    lambda organisation, day: figures.summary_counts(organisation, day.year, day),
    lambda organisation, base, since, until: steps.stepped_summary_counts(organisation, base, since, until),
    _decoded_summary,
    within_year=True,
    encoded=_encoded_summary,
)


def meetings_on(organisation: Organisation, day: datetime.date, *, large: bool | None = None) -> figures.MeetingFigures:
    """``figures.meetings(organisation, day)``, its counts from ``meeting_counts_on``; a large subtree's half-years
    stored as its counts are (part "meeting_half_years")."""
    large = _large(organisation, large)
    return figures.meetings(
        organisation,
        day,
        meeting_counts_on(organisation, day, large=large),
        _part_on(_HALF_YEARS, organisation, day, large),
    )


def meeting_counts_on(
    organisation: Organisation, day: datetime.date, *, large: bool | None = None
) -> figures.MeetingCounts:
    """``figures.meeting_counts(organisation, day)``. A large subtree's (``steps.pays``) is carried from a stored day
    of the same year (``steps.stepped_meeting_counts``): a past day's from the nearest stored day before it, stored in
    turn; today's from yesterday's, stored first. A smaller subtree's is counted whole, and stored. ``large``: whether
    the subtree is large, when the caller knows (``_large``)."""
    return _part_on(_MEETINGS, organisation, day, large)


def meeting_counts_computed(
    organisation: Organisation, day: datetime.date, *, store: bool = False
) -> figures.MeetingCounts:
    """The meeting counts of ``day``, carried from the nearest stored day before it in its year (``_part_computed``)."""
    return _part_computed(_MEETINGS, organisation, day, store=store)


def tracking_book_on(
    organisation: Organisation, year: int, day: datetime.date, *, large: bool | None = None
) -> figures.TrackingBookActivity:
    """``figures.tracking_book_activity(organisation, year, day)``: of the day's own year stored (part
    "tracking_book"), another year's counted and not stored."""
    if year != day.year:
        return figures.tracking_book_activity(organisation, year, day)
    return _part_on(_TRACKING_BOOK, organisation, day, large)


def comments_on(
    organisation: Organisation, year: int, day: datetime.date, *, large: bool | None = None
) -> figures.CommentFigures:
    """``figures.comments(organisation, year, day)``. A large subtree's (``steps.pays``) round of the day's own year is
    carried from a stored day of that year, as the meetings' counts are (``meeting_counts_on``); a smaller subtree's
    is counted whole and stored; another year's is counted whole and stores nothing."""
    if year != day.year:
        return figures.comments(organisation, year, day)
    return _part_on(_COMMENTS, organisation, day, large)


def comment_sides_on(
    organisation: Organisation, year: int, day: datetime.date, *, large: bool | None = None
) -> figures.CommentSides:
    """``figures.comment_sides(organisation, year, day)``, as ``comments_on``."""
    if year != day.year:
        return figures.comment_sides(organisation, year, day)
    return _part_on(_SIDES, organisation, day, large)


def by_sector_on(
    organisation: Organisation, day: datetime.date, *, large: bool | None = None
) -> list[figures.SectorRow]:
    """``figures.by_sector(organisation, day)``, a large subtree's carried from a stored day, as the headline is."""
    return _part_on(_SECTORS, organisation, day, large)


def by_grassroots_on(
    organisation: Organisation, day: datetime.date, *, large: bool | None = None
) -> list[figures.GrassrootsRow]:
    """``figures.by_grassroots_organisation(organisation, day)``: the rows read as of the day, with their counts
    stored (a large subtree's carried from a stored day, as ``by_sector_on``) and their meetings and comments counted
    that day."""
    counts = _part_on(_GRASSROOTS, organisation, day, large)
    return figures.by_grassroots_organisation(organisation, day, counts=counts)


def by_ward_and_cell_on(
    organisation: Organisation, day: datetime.date, *, large: bool | None = None
) -> list[figures.ResidenceRow]:
    """``figures.by_ward_and_cell(organisation, day)``: the rows read as of the day, with their counts stored
    (``by_grassroots_on``)."""
    return figures.by_ward_and_cell(organisation, day, counts=_part_on(_RESIDENCE, organisation, day, large))


def summary_rows_on(
    organisation: Organisation, year: int, day: datetime.date, *, large: bool | None = None
) -> list[figures.SummaryRow]:
    """``figures.summary_rows(organisation, year, day)``: the round of the day's own year with its counts stored (a
    large subtree's carried from a stored day of that year: ``by_grassroots_on``, ``comments_on``); another year's
    counted whole."""
    if year != day.year:
        return figures.summary_rows(organisation, year, day)
    return figures.summary_rows(organisation, year, day, counts=_part_on(_SUMMARY, organisation, day, large))


def summary_rows_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    """``summary_rows_on``'s rows of the day's year, their counts from ``_part_computed``."""
    counts = _part_computed(_SUMMARY, organisation, day, store=store)
    return figures.summary_rows(organisation, day.year, day, counts=counts)


def comments_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    """The comment figures of ``day``'s year as of ``day``, carried from the nearest stored day before it
    (``_part_computed``)."""
    return _part_computed(_COMMENTS, organisation, day, store=store)


def comment_sides_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    return _part_computed(_SIDES, organisation, day, store=store)


def by_sector_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    return _part_computed(_SECTORS, organisation, day, store=store)


def by_ward_and_cell_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    counts = _part_computed(_RESIDENCE, organisation, day, store=store)
    return figures.by_ward_and_cell(organisation, day, counts=counts)


def by_grassroots_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    """``by_grassroots_on``'s rows, their counts from ``_part_computed``."""
    counts = _part_computed(_GRASSROOTS, organisation, day, store=store)
    return figures.by_grassroots_organisation(organisation, day, counts=counts)


def _part_on(spec: _Part, organisation: Organisation, day: datetime.date, large: bool | None = None):
    """A part of a past day or today: stored, or counted and stored. A large subtree's is carried from the nearest
    stored day before it (today's from yesterday's, stored first); a smaller subtree's is counted whole. A day after
    today's is counted, never stored."""
    today = timezone.localdate()
    if day <= today:
        stored = _stored_part(spec, organisation, day)  # may be empty (no sector, no row): not "not stored"
        if stored is not None:
            return stored
    if not _large(organisation, large):
        if day > today:
            return spec.whole(organisation, day)
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            alone = _lock_out_writes()
            counted = spec.whole(organisation, day)
            if alone:
                _store_part(spec, organisation, day, counted)
            return counted
    yesterday = today - datetime.timedelta(days=1)
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        alone = _lock_out_writes()
        if day < today:
            return _part_computed(spec, organisation, day, store=alone)
        first_of_year = spec.within_year and yesterday.year != day.year  # nothing to carry it from
        if spec.stepped and not first_of_year and _stored_part(spec, organisation, yesterday) is None:
            _part_computed(spec, organisation, yesterday, store=alone)
        return _part_computed(spec, organisation, day, store=alone and day == today)


def _stored_part(spec: _Part, organisation: Organisation, day: datetime.date):
    data = (
        ReportSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(organisation=organisation, part=spec.part, day=day)
        .values_list("figures", flat=True)
        .first()
    )
    return None if data is None else spec.decoded(data)


def _part_computed(spec: _Part, organisation: Organisation, day: datetime.date, *, store: bool = False):
    """The part as of ``day``, stepped from the nearest stored day before it, up to ``steps.MAX_STEP_DAYS`` before
    (and in its year when ``spec.within_year``), by the members who changed in between (``reports.steps``); whole
    when no day is stored or the step cannot be taken. Stored when ``store`` (today or a day before it, no write in
    progress)."""
    earliest = day - datetime.timedelta(days=steps.MAX_STEP_DAYS)
    if spec.within_year:
        earliest = max(earliest, datetime.date(day.year, 1, 1))
    nearest = None
    if spec.stepped is not None:
        nearest = (
            ReportSnapshot.objects.using(DEFAULT_DB_ALIAS)
            .filter(organisation=organisation, part=spec.part, day__lt=day, day__gte=earliest)
            .order_by("-day")
            .values_list("day", "figures")
            .first()
        )
    counted = None
    if nearest is not None:
        since, data = nearest
        counted = spec.stepped(organisation, spec.decoded(data), since, day)
    if counted is None:
        counted = spec.whole(organisation, day)
    if store:
        _store_part(spec, organisation, day, counted)
    return counted


def _store_part(spec: _Part, organisation: Organisation, day: datetime.date, counted) -> None:
    """Store ``counted`` as ``day``'s part, inside the caller's transaction that holds writes off."""
    row = ReportSnapshot(organisation=organisation, part=spec.part, day=day, figures=spec.encoded(counted))
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            ReportSnapshot.objects.using(DEFAULT_DB_ALIAS).bulk_create(
                [row],
                update_conflicts=True,
                unique_fields=["organisation", "part", "day"],
                update_fields=["figures", "computed_at"],
            )
    except DatabaseError:
        pass  # SQLite: a write committed meanwhile; the figures shown are still this transaction's own


# -- the counts of the lists, by the organisation whose rows they hold ---------------------------------------------


# The largest subtree (in organisations) whose lists' counts are stored. They are counted whole while writes wait
# (``_lock_out_writes``), after every write under the organisation (under any, for a root). A province's root (3,822
# organisations, 100,000 members) counts each list in 20-50 ms; the nation's would take seconds, after every write of
# the nation: there they are counted on each view, as before, and no write waits for them.
LIST_COUNTS_STORED_UP_TO = 10_000


def _stores_list_counts(organisation: Organisation) -> bool:
    """Whether ``organisation``'s subtree is small enough to store its lists' counts (one count of the ancestor
    relation's index, stopped past ``LIST_COUNTS_STORED_UP_TO``)."""
    subtree = OrganisationAncestor.objects.using(DEFAULT_DB_ALIAS).filter(ancestor=organisation).order_by()
    return subtree[: LIST_COUNTS_STORED_UP_TO + 1].count() <= LIST_COUNTS_STORED_UP_TO


def list_counts_on(part: str, organisation: Organisation, day: datetime.date, count: Callable[[], dict]) -> dict:
    """The counts (numbers by name) ``count()`` takes of the lists of the users who see ``organisation``'s committee's
    rows (``members.selectors.counted_by``), stored as the day's ``part`` ("todo", "comment_counts", "rating_counts",
    "member_count") and read back, or counted and stored; a day after today's counted only.

    Exact as a figure is: every row those lists read names an organisation of the organisation's subtree, or of a
    ward merged into it, or belongs to a member who does (``reports.stale.CountedUnder``: a write deletes the stored
    rows of the organisations it counts under, and of every root: city staff see every row), and every column they
    read is one the triggers watch (the referral's ``reported_on`` among their ``list_dates``). A release that changes
    what a part holds deletes its stored rows in a migration (they are read back as they were stored). Counted, not
    stored, for a subtree of more than ``LIST_COUNTS_STORED_UP_TO`` organisations."""
    if not _stores_list_counts(organisation):
        return count()
    spec = _Part(
        ReportSnapshot.Part(part), lambda organisation, day: count(), None, dict, within_year=True, encoded=dict
    )
    return _part_on(spec, organisation, day, large=False)


# -- all ---------------------------------------------------------------------------------------------------------------


def _lock_out_writes() -> bool:
    """True when no write of the figures' data can be in progress until this transaction ends."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [stale.LOCK_KEY])
        return cursor.fetchone()[0]


@dataclasses.dataclass(frozen=True)
class Pruned:
    """The stored rows ``prune`` deleted (or would delete), by table."""

    headlines: int
    report_parts: int

    @property
    def total(self) -> int:
        return self.headlines + self.report_parts


def prune(before: datetime.date, *, dry_run: bool = False) -> Pruned:
    """Delete the stored figures of the days before ``before``, but the headlines of 31 December (every dashboard's
    trend reads them: at the nation's root each would take 20 s to count again). Never makes a figure wrong: a day
    without a stored row is computed again when asked, from a later stored day or whole. ``dry_run``: only count."""
    stored = {
        "headlines": FigureSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(day__lt=before)
        .exclude(day__month=12, day__day=31),
        "report_parts": ReportSnapshot.objects.using(DEFAULT_DB_ALIAS).filter(day__lt=before),
    }
    if dry_run:
        return Pruned(**{name: rows.count() for name, rows in stored.items()})
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        return Pruned(**{name: rows.delete()[0] for name, rows in stored.items()})


def clear_all(using: str = DEFAULT_DB_ALIAS) -> int:
    """Delete every snapshot: after a load that bypassed the triggers (``session_replication_role = replica``)."""
    stored = (FigureSnapshot, ReportSnapshot)
    return sum(model.objects.using(using).all()._raw_delete(using) for model in stored)
