"""The headline figures, the meetings' counts and the comment figures of past days, read from ``FigureSnapshot``,
``MeetingSnapshot`` and ``ReportSnapshot`` or computed once and stored.

A day before today has figures that change only when a write touches that day or an earlier one; the database's
triggers (``reports.stale``) delete the snapshots such a write makes wrong, in the write's own transaction. So a
snapshot that exists is exact, and ``headlines_on`` returns what ``figures.headline`` would compute now. Today and
later days change with every ordinary write: they are computed, never stored.

A day's headline is computed from the nearest stored day before it, up to ``steps.MAX_STEP_DAYS`` before, by the
members whose rows changed in between (``reports.steps``), and whole only when there is none. Today's, for a large
subtree (``steps.pays``), is carried from yesterday's, which is stored first: at the nation's root, after the first
day, a day's figures read that day's members instead of the nation's.

The meetings' counts of a large subtree are carried the same way, within a year (``meeting_counts_on``): the
attendance adds the meetings held since the stored day, the irregular attendees step by the members who changed. So
are the comment figures of the day's year (``comments_on``, ``comment_sides_on``): each counts members, and steps by
the members whose rows, comment or rating changed.

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

from branches.models import Organisation
from reports import figures, stale, steps
from reports.models import FigureSnapshot, MeetingSnapshot, ReportSnapshot

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


def headline_on(organisation: Organisation, day: datetime.date) -> figures.Headline:
    """``figures.headline(organisation, day)``, from its snapshot when ``day`` is before today (``headlines_on``)."""
    return headlines_on(organisation, [day])[day]


def headlines_on(organisation: Organisation, days: list[datetime.date]) -> dict[datetime.date, figures.Headline]:
    """The headline of each of ``days``: the stored ones in one query, the others computed (``computed``) and stored
    when past; today and later, for a large subtree, carried from yesterday's, stored first."""
    today = timezone.localdate()
    past = sorted({day for day in days if day < today})
    found: dict[datetime.date, figures.Headline] = {}
    if past:
        stored = FigureSnapshot.objects.using(DEFAULT_DB_ALIAS).filter(organisation=organisation, day__in=past)
        for day, data in stored.values_list("day", "figures"):
            headline = decode(data)
            if headline is not None:
                found[day] = headline
    for day in sorted(set(days)):
        if day in found:
            continue
        if day < today:
            found[day] = _computed_and_stored(organisation, day)
        elif steps.pays(organisation):
            found[day] = _carried_from_yesterday(organisation, day, today)
        else:
            found[day] = figures.headline(organisation, day)
    return found


def todays_if_large(organisation: Organisation) -> figures.Headline | None:
    """Today's headline of a large subtree (``steps.pays``), carried from yesterday's; None for a smaller one, whose
    figures the caller counts its own way."""
    if not steps.pays(organisation):
        return None
    today = timezone.localdate()
    return _carried_from_yesterday(organisation, today, today)


def _carried_from_yesterday(organisation: Organisation, day: datetime.date, today: datetime.date) -> figures.Headline:
    """The headline of ``day`` (today or later) from yesterday's, stored first when it is not, in one transaction on
    the primary, with writes held off when none is in progress, so that the stored day and the step read the same
    data."""
    yesterday = today - datetime.timedelta(days=1)
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        _lock_out_writes()
        base = _stored(organisation, yesterday) or _computed_and_stored(organisation, yesterday)
        if day - yesterday <= datetime.timedelta(days=steps.MAX_STEP_DAYS):
            headline = steps.stepped(organisation, base, yesterday, day)
            if headline is not None:
                return headline
        return figures.headline(organisation, day)


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
    return headline


# -- the meetings' counts: attendance and irregular attendees ------------------------------------------------------


def meetings_on(organisation: Organisation, day: datetime.date) -> figures.MeetingFigures:
    """``figures.meetings(organisation, day)``, its counts from ``meeting_counts_on``."""
    return figures.meetings(organisation, day, meeting_counts_on(organisation, day))


def meeting_counts_on(organisation: Organisation, day: datetime.date) -> figures.MeetingCounts:
    """``figures.meeting_counts(organisation, day)``. A large subtree's (``steps.pays``) is carried from a stored day
    of the same year (``meeting_counts_computed``): a past day's from the nearest stored day before it, stored in
    turn; today's from yesterday's, stored first. A smaller subtree's is counted whole, and stores nothing."""
    if not steps.pays(organisation):
        return figures.meeting_counts(organisation, day)
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        alone = _lock_out_writes()
        if day < today:
            return _stored_meeting_counts(organisation, day) or meeting_counts_computed(organisation, day, store=alone)
        if yesterday.year != day.year:
            return figures.meeting_counts(organisation, day)
        if _stored_meeting_counts(organisation, yesterday) is None:
            meeting_counts_computed(organisation, yesterday, store=alone)
        return meeting_counts_computed(organisation, day)


def _stored_meeting_counts(organisation: Organisation, day: datetime.date) -> figures.MeetingCounts | None:
    found = (
        MeetingSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(organisation=organisation, day=day)
        .values_list("expected", "present", "irregular")
        .first()
    )
    return None if found is None else _counts(*found)


def _counts(expected: int, present: int, irregular: int) -> figures.MeetingCounts:
    return figures.MeetingCounts(figures.AttendanceCounts(expected, present), irregular)


def meeting_counts_computed(
    organisation: Organisation, day: datetime.date, *, store: bool = False
) -> figures.MeetingCounts:
    """The meeting counts of ``day``, carried from the nearest stored day before it in its year, up to
    ``steps.MAX_STEP_DAYS`` before: the attendance is the stored day's plus the meetings held since
    (``figures.attendance`` reads each meeting as of its own day), the irregular attendees are stepped by the members
    who changed (``steps.stepped_irregular``). Whole when no day is stored or the step cannot be taken. Stored when
    ``store`` (a day before today, no write in progress)."""
    nearest = (
        MeetingSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(
            organisation=organisation,
            day__lt=day,
            day__gte=max(datetime.date(day.year, 1, 1), day - datetime.timedelta(days=steps.MAX_STEP_DAYS)),
        )
        .order_by("-day")
        .values_list("day", "expected", "present", "irregular")
        .first()
    )
    counted = None
    if nearest is not None:
        since, *stored = nearest
        base = _counts(*stored)
        irregular = steps.stepped_irregular(organisation, base.irregular, since, day)
        if irregular is not None:
            attendance = base.attendance + figures.attendance(organisation, day, held_after=since)
            counted = figures.MeetingCounts(attendance, irregular)
    if counted is None:
        counted = figures.meeting_counts(organisation, day)
    if store:
        row = MeetingSnapshot(
            organisation=organisation,
            day=day,
            expected=counted.attendance.expected,
            present=counted.attendance.present,
            irregular=counted.irregular,
        )
        try:
            with transaction.atomic(using=DEFAULT_DB_ALIAS):
                MeetingSnapshot.objects.using(DEFAULT_DB_ALIAS).bulk_create(
                    [row],
                    update_conflicts=True,
                    unique_fields=["organisation", "day"],
                    update_fields=["expected", "present", "irregular", "computed_at"],
                )
        except DatabaseError:
            pass  # SQLite: a write committed meanwhile; the figures shown are still this transaction's own
    return counted


# -- the comment figures: the year's round and its sides -----------------------------------------------------------


def _decoded_comments(data: dict) -> figures.CommentFigures:
    return figures.CommentFigures(**{**data, "deadline": datetime.date.fromisoformat(data["deadline"])})


def _decoded_sides(data: dict) -> figures.CommentSides:
    return figures.CommentSides(**{side: figures.CommentCounts(**counts) for side, counts in data.items()})


@dataclasses.dataclass(frozen=True)
class _Part:
    """How one part of ``ReportSnapshot`` is computed whole, stepped, stored and read back."""

    part: str  # a field of ``reports.report.Report``
    whole: Callable  # (organisation, year, day) -> figures
    stepped: Callable  # (organisation, base, year, since, until) -> figures or None
    decoded: Callable  # (stored JSON) -> figures


# The functions are looked up when called, not bound here (so that a test can watch them).
_COMMENTS = _Part(
    ReportSnapshot.Part.COMMENTS,
    lambda organisation, year, day: figures.comments(organisation, year, day),
    lambda organisation, base, year, since, until: steps.stepped_comments(organisation, base, since, until),
    _decoded_comments,
)
_SIDES = _Part(
    ReportSnapshot.Part.COMMENTS_BY_SIDE,
    lambda organisation, year, day: figures.comment_sides(organisation, year, day),
    lambda organisation, base, year, since, until: steps.stepped_comment_sides(organisation, base, year, since, until),
    _decoded_sides,
)


def comments_on(organisation: Organisation, year: int, day: datetime.date) -> figures.CommentFigures:
    """``figures.comments(organisation, year, day)``. A large subtree's (``steps.pays``) round of the day's own year is
    carried from a stored day of that year, as the meetings' counts are (``meeting_counts_on``); another year's, or
    a smaller subtree's, is counted whole and stores nothing."""
    return _comment_figures_on(_COMMENTS, organisation, year, day)


def comment_sides_on(organisation: Organisation, year: int, day: datetime.date) -> figures.CommentSides:
    """``figures.comment_sides(organisation, year, day)``, as ``comments_on``."""
    return _comment_figures_on(_SIDES, organisation, year, day)


def comments_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    """The comment figures of ``day``'s year as of ``day``, carried from the nearest stored day before it
    (``_comment_figures_computed``)."""
    return _comment_figures_computed(_COMMENTS, organisation, day, store=store)


def comment_sides_computed(organisation: Organisation, day: datetime.date, *, store: bool = False):
    return _comment_figures_computed(_SIDES, organisation, day, store=store)


def _comment_figures_on(spec: _Part, organisation: Organisation, year: int, day: datetime.date):
    if year != day.year or not steps.pays(organisation):
        return spec.whole(organisation, year, day)
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        alone = _lock_out_writes()
        if day < today:
            return _stored_comment_figures(spec, organisation, day) or _comment_figures_computed(
                spec, organisation, day, store=alone
            )
        if yesterday.year != day.year:
            return spec.whole(organisation, year, day)
        if _stored_comment_figures(spec, organisation, yesterday) is None:
            _comment_figures_computed(spec, organisation, yesterday, store=alone)
        return _comment_figures_computed(spec, organisation, day)


def _stored_comment_figures(spec: _Part, organisation: Organisation, day: datetime.date):
    data = (
        ReportSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(organisation=organisation, part=spec.part, day=day)
        .values_list("figures", flat=True)
        .first()
    )
    return None if data is None else spec.decoded(data)


def _comment_figures_computed(spec: _Part, organisation: Organisation, day: datetime.date, *, store: bool = False):
    """The figures of ``day``'s year as of ``day``, stepped from the nearest stored day before it in its year, up to
    ``steps.MAX_STEP_DAYS`` before (``steps.stepped_comments``: by the members who changed in between); whole when
    no day is stored or the step cannot be taken. Stored when ``store`` (a day before today, no write in
    progress)."""
    nearest = (
        ReportSnapshot.objects.using(DEFAULT_DB_ALIAS)
        .filter(
            organisation=organisation,
            part=spec.part,
            day__lt=day,
            day__gte=max(datetime.date(day.year, 1, 1), day - datetime.timedelta(days=steps.MAX_STEP_DAYS)),
        )
        .order_by("-day")
        .values_list("day", "figures")
        .first()
    )
    counted = None
    if nearest is not None:
        since, data = nearest
        counted = spec.stepped(organisation, spec.decoded(data), day.year, since, day)
    if counted is None:
        counted = spec.whole(organisation, day.year, day)
    if store:
        row = ReportSnapshot(organisation=organisation, part=spec.part, day=day, figures=_plain(counted))
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
    return counted


def _plain(counted) -> dict:
    """Figures as JSON: their dataclass as a dict, dates as ISO strings."""
    return json.loads(json.dumps(dataclasses.asdict(counted), cls=DjangoJSONEncoder))


# -- all ---------------------------------------------------------------------------------------------------------------


def _lock_out_writes() -> bool:
    """True when no write of the figures' data can be in progress until this transaction ends."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [stale.LOCK_KEY])
        return cursor.fetchone()[0]


def clear_all(using: str = DEFAULT_DB_ALIAS) -> int:
    """Delete every snapshot: after a load that bypassed the triggers (``session_replication_role = replica``)."""
    stored = (FigureSnapshot, MeetingSnapshot, ReportSnapshot)
    return sum(model.objects.using(using).all()._raw_delete(using) for model in stored)
