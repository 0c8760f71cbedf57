"""Where a member belonged and where a referral was placed, day by day.

A member's home cell and a referral's residential cell change: a transfer between workplace cells (chuyển sinh hoạt),
retirement into a residential cell, a re-placement after a khu phố merger, a restructure. Each change writes a new
row from its day on, so that every figure "as of a past day" reads the place of that day; the current place stays on
the member (``home_organisation``) and the referral (``residential_cell``), always equal to the open row, because
every screen of today reads it.

Each history is a chain of periods, ``started_on`` inclusive and ``ended_on`` exclusive (open: until now), without
overlap or gap. The database holds the chain, whatever writes (migration ``members/0006``: triggers on SQLite and
PostgreSQL, since a CHECK cannot read the other rows); ``members.homes`` is the service that writes it.
"""

import datetime

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.db import date_indexes
from dongha76.fields import recorded_by_field


def in_force_q(day: datetime.date, prefix: str = "") -> Q:
    """A period that holds on ``day``."""
    return Q(**{f"{prefix}started_on__lte": day}) & (
        Q(**{f"{prefix}ended_on__isnull": True}) | Q(**{f"{prefix}ended_on__gt": day})
    )


class PeriodQuerySet(models.QuerySet):
    def in_force_on(self, day: datetime.date):
        return self.filter(in_force_q(day))


def _period_constraints(owner: str, name: str) -> list:
    return [
        models.CheckConstraint(
            condition=Q(ended_on__isnull=True) | Q(ended_on__gt=models.F("started_on")),
            name=f"{name}_ends_after_start",
        ),
        models.UniqueConstraint(fields=[owner], condition=Q(ended_on__isnull=True), name=f"{name}_one_open"),
        models.UniqueConstraint(fields=[owner, "started_on"], name=f"{name}_one_start_per_day"),
    ]


class MemberHome(models.Model):
    """The member's home organisation (a workplace cell, a residential cell or an outside organisation) from a day."""

    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.CASCADE, related_name="homes"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("home cell"), on_delete=models.PROTECT, related_name="member_homes"
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True, help_text=_("First day in the next home."))
    recorded_by = recorded_by_field(_("recorded by"))

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("home cell history")
        verbose_name_plural = _("home cell history")
        ordering = ["member", "started_on"]
        indexes = [
            models.Index(fields=["organisation", "started_on"], name="member_home_org_started"),
            *date_indexes("member_home", always=("started_on",), sometimes=("ended_on",)),
        ]
        constraints = _period_constraints("member", "member_home")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.organisation} ({self.started_on}–{self.ended_on or ''})"


class Placement(models.Model):
    """The residential cell a referral is placed in, from a day (the first row starts on its ``placed_on``)."""

    referral = models.ForeignKey(
        "members.Referral", verbose_name=_("referral"), on_delete=models.CASCADE, related_name="placements"
    )
    residential_cell = models.ForeignKey(
        Organisation,
        verbose_name=_("residential cell"),
        on_delete=models.PROTECT,
        related_name="placements",
        limit_choices_to={"kind": Organisation.Kind.RESIDENTIAL_CELL},
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True, help_text=_("First day in the next cell."))
    recorded_by = recorded_by_field(_("recorded by"))

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("placement history")
        verbose_name_plural = _("placement history")
        ordering = ["referral", "started_on"]
        indexes = [
            models.Index(fields=["residential_cell", "started_on"], name="placement_cell_started"),
            *date_indexes("placement", always=("started_on",), sometimes=("ended_on",)),
        ]
        constraints = _period_constraints("referral", "placement")

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.residential_cell} ({self.started_on}–{self.ended_on or ''})"


def home_on_q(day: datetime.date, organisations: Q, prefix: str = "") -> Q:
    """The member (reached through ``prefix``) has, on ``day``, a home organisation matching ``organisations`` (a
    condition on an Organisation, e.g. ``Q(path__startswith=...)``, written relative to the organisation)."""
    homes = MemberHome.objects.filter(in_force_q(day)).filter(_relative(organisations, "organisation__"))
    return _member_of(homes, "member", prefix, correlated=_refers_out(organisations) or isinstance(day, OuterRef))


def placed_in_q(day: datetime.date, cells: Q, prefix: str = "") -> Q:
    """The referral (reached through ``prefix``) is placed, on ``day``, in a residential cell matching ``cells``."""
    rows = Placement.objects.filter(in_force_q(day)).filter(_relative(cells, "residential_cell__"))
    return _member_of(rows, "referral", prefix, correlated=_refers_out(cells) or isinstance(day, OuterRef))


def _member_of(periods: models.QuerySet, owner: str, prefix: str, *, correlated: bool) -> Q:
    """The owner (a member, a referral) has one of ``periods``.

    Without a reference to an outer query, an ``IN`` over the periods: the database reads the matching periods once
    (by their organisation) instead of asking every owner where it was. With one (a breakdown per organisation row),
    an ``EXISTS`` by the owner's key, since a correlated ``IN`` would be read again for every owner.
    """
    if correlated:
        return Q(Exists(periods.filter(**{owner: OuterRef(f"{prefix}pk")})))
    return Q(**{f"{prefix}pk__in": periods.values(f"{owner}_id")})


def _refers_out(condition: Q) -> bool:
    for child in condition.children:
        if isinstance(child, Q):
            if _refers_out(child):
                return True
        elif isinstance(child[1], OuterRef):
            return True
    return False


def _relative(condition: Q, prefix: str) -> Q:
    """``condition`` (on an organisation) rewritten for a relation named by ``prefix``."""
    rewritten = Q()
    rewritten.connector, rewritten.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            rewritten.children.append(_relative(child, prefix))
        else:
            key, value = child
            rewritten.children.append((f"{prefix}{key}", value))
    return rewritten
