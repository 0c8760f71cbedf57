"""The headline figures of past days, read from ``FigureSnapshot`` or computed once and stored.

A day before today has figures that change only when a write touches that day or an earlier one; the database's
triggers (``reports.stale``) delete the snapshots such a write makes wrong, in the write's own transaction. So a
snapshot that exists is exact, and ``headlines_on`` returns what ``figures.headline`` would compute now. Today and
later days change with every ordinary write: they are computed, never stored.

A day's headline is computed from the nearest stored day before it, up to ``steps.MAX_STEP_DAYS`` before, by the
members whose rows changed in between (``reports.steps``), and whole only when there is none. Today's, for a large
subtree (``steps.pays``), is carried from yesterday's, which is stored first: at the nation's root, after the first
day, a day's figures read that day's members instead of the nation's.

Storing a computed snapshot races with a concurrent write: the write may change the data after the figures were read
and delete the snapshots before this one is stored. On PostgreSQL the computation holds the snapshots' advisory lock
exclusively (each write holds it shared from its trigger to its commit), taken without waiting: when a write is in
progress, the figures are computed and shown but not stored. On SQLite a transaction is serialisable: the store fails
(and is skipped) when a write committed meanwhile.
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils import timezone

from branches.models import Organisation
from reports import figures, stale, steps
from reports.models import FigureSnapshot

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
    return FigureSnapshot.objects.using(using).all()._raw_delete(using)
