import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, FilteredRelation, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Organisation
from dongha76.db import SameValueRows, date_indexes
from dongha76.fields import recorded_by_field
from dongha76.periods import PAST_DAY_VALIDATORS
from dongha76.text import validate_text
from members.models.history import placed_in_q
from members.models.member import Member

# A referral introduced longer ago than this and still not received is stalled between workplace and ward.
STALLED_AFTER_DAYS = 30


# The definitions of a referral's state on a day, as conditions (the queryset methods and the reports use them).


def active_q(day: datetime.date) -> Q:
    """Introduced on or before ``day`` and not ended on or before it."""
    return Q(introduced_on__lte=day) & (Q(ended_on__isnull=True) | Q(ended_on__gt=day))


def received_q(day: datetime.date) -> Q:
    return active_q(day) & Q(received_on__lte=day)


def awaiting_reception_q(day: datetime.date) -> Q:
    return active_q(day) & (Q(received_on__isnull=True) | Q(received_on__gt=day))


def awaiting_placement_q(day: datetime.date) -> Q:
    return received_q(day) & (Q(placed_on__isnull=True) | Q(placed_on__gt=day))


def placed_q(day: datetime.date) -> Q:
    return active_q(day) & Q(placed_on__lte=day)


def with_placement_on(queryset: "ReferralQuerySet", day: datetime.date) -> "ReferralQuerySet":
    """``queryset`` joined to each referral's placement of ``day`` (``placement_on_day``, null when not placed that
    day): at most one row each, since the placements of a referral never overlap. ``ward_under_q`` needs it."""
    return queryset.annotate(
        placement_on_day=FilteredRelation(
            "placements",
            condition=Q(placements__started_on__lte=day)
            & (Q(placements__ended_on__isnull=True) | Q(placements__ended_on__gt=day)),
        )
    )


def ward_under_q(day: datetime.date, path) -> Q:
    """The ward of the referral on ``day`` is the organisation at ``path`` or under it (``path`` is a path, or an
    ``OuterRef`` to one in the query this condition is used in). Use on ``with_placement_on(queryset, day)``.

    The ward of a referral on a day is the ward of the residential cell it is placed in that day; before the
    placement, the ward it was addressed to, or, once that ward has been merged away, its successor in force that day
    (followed two steps: a ward merged twice before anyone placed the member). Cells and wards never change parent
    once used, so a path of today is the path of that day. A join to the placement of the day, not a subquery per
    referral: the breakdowns ask it of every referral for every organisation row.
    """
    placed = Q(placement_on_day__residential_cell__parent__path__startswith=path)
    ward, successor = "receiving_ward__", "receiving_ward__successor__"
    addressed = (
        (Q(**{f"{ward}valid_to__isnull": True}) | Q(**{f"{ward}valid_to__gt": day}))
        & Q(**{f"{ward}path__startswith": path})
    ) | (
        Q(**{f"{ward}valid_to__lte": day})
        & (
            (
                (Q(**{f"{successor}valid_to__isnull": True}) | Q(**{f"{successor}valid_to__gt": day}))
                & Q(**{f"{successor}path__startswith": path})
            )
            | (Q(**{f"{successor}valid_to__lte": day}) & Q(**{f"{successor}successor__path__startswith": path}))
        )
    )
    return placed | (Q(placement_on_day__isnull=True) & addressed)


def ward_on_expression(day: datetime.date) -> Coalesce:
    """The primary key of the referral's ward on ``day`` (``ward_under_q``'s definition, as a value to group by; null
    when its ward has ended without a successor). Use on ``with_placement_on(queryset, day)``."""
    ward, successor = "receiving_ward__", "receiving_ward__successor__"
    return Coalesce(
        F("placement_on_day__residential_cell__parent_id"),
        Case(
            When(
                Q(**{f"{ward}valid_to__isnull": True}) | Q(**{f"{ward}valid_to__gt": day}), then=F("receiving_ward_id")
            ),
            When(
                Q(**{f"{successor}valid_to__isnull": True}, **{f"{ward}successor__isnull": False})
                | Q(**{f"{successor}valid_to__gt": day}),
                then=F(f"{ward}successor_id"),
            ),
            default=F(f"{successor}successor_id"),
        ),
    )


def stalled_q(day: datetime.date, days: int = STALLED_AFTER_DAYS) -> Q:
    """Introduced more than ``days`` days before ``day`` and still not received."""
    return awaiting_reception_q(day) & Q(introduced_on__lt=day - datetime.timedelta(days=days))


class ReferralQuerySet(models.QuerySet):
    def active_on(self, day: datetime.date) -> "ReferralQuerySet":
        return self.filter(active_q(day))

    def received_as_of(self, day: datetime.date) -> "ReferralQuerySet":
        return self.filter(received_q(day))

    def awaiting_reception_on(self, day: datetime.date) -> "ReferralQuerySet":
        return self.filter(awaiting_reception_q(day))

    def awaiting_placement_on(self, day: datetime.date) -> "ReferralQuerySet":
        return self.filter(awaiting_placement_q(day))

    def placed_as_of(self, day: datetime.date) -> "ReferralQuerySet":
        return self.filter(placed_q(day))

    def placed_in_on(self, cells: Q, day: datetime.date) -> "ReferralQuerySet":
        """Placed, on ``day``, in a residential cell matching ``cells`` (a condition on the cell): the placement of
        that day, not the one of today."""
        return self.filter(placed_q(day) & placed_in_q(day, cells))

    def stalled_on(self, day: datetime.date, days: int = STALLED_AFTER_DAYS) -> "ReferralQuerySet":
        return self.filter(stalled_q(day, days))


class Referral(models.Model):
    """One introduction of a member to the ward where they live, and what became of it.

    The state is derived from the dates (introduced, received, placed, reported, ended) and never stored on its own, so
    any figure can be computed as of any day.
    """

    class State(models.TextChoices):
        INTRODUCED = "introduced", _("Awaiting reception")
        RECEIVED = "received", _("Received, awaiting placement")
        PLACED = "placed", _("Placed in a residential cell")
        REPORTED = "reported", _("Reported to the cell")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        MOVED_RESIDENCE = "moved_residence", _("Moved residence")
        CHANGED_WORKPLACE = "changed_workplace", _("Changed workplace")
        RETIRED = "retired", _("Retired")
        LEFT_PARTY = "left_party", _("Left the party")
        DIED = "died", _("Died")
        EXEMPTED = "exempted", _("Exempted")
        OTHER = "other", _("Other")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="referrals")
    issuing_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("introduced by organisation"),
        on_delete=models.PROTECT,
        related_name="issued_referrals",
    )
    receiving_ward = models.ForeignKey(
        Organisation,
        verbose_name=_("receiving ward"),
        on_delete=models.PROTECT,
        related_name="received_referrals",
        limit_choices_to={"kind": Organisation.Kind.WARD},
    )
    letter_number = models.CharField(_("letter number"), max_length=30, blank=True, validators=[validate_text])
    introduced_on = models.DateField(_("introduced on"), validators=PAST_DAY_VALIDATORS)
    received_on = models.DateField(_("received on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    residential_cell = models.ForeignKey(
        Organisation,
        verbose_name=_("residential cell"),
        on_delete=models.PROTECT,
        related_name="placed_referrals",
        null=True,
        blank=True,
        limit_choices_to={"kind": Organisation.Kind.RESIDENTIAL_CELL},
    )
    placed_on = models.DateField(_("placed on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    reported_on = models.DateField(_("reported to the cell on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    ended_on = models.DateField(_("ended on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    end_reason = models.CharField(_("end reason"), max_length=20, choices=EndReason.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True, validators=[validate_text])

    introduced_by = recorded_by_field(_("introduction recorded by"))
    received_by = recorded_by_field(_("reception recorded by"))
    placed_by = recorded_by_field(_("placement recorded by"))
    reported_by = recorded_by_field(_("report recorded by"))
    ended_by = recorded_by_field(_("end recorded by"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # For querysets: the comments of the referral's member (any year, any cell), joined on the member's column
    # directly. Through ``member__residence_comments`` PostgreSQL also joins every member (it cannot drop an inner
    # join): an index lookup per due referral in the city's comment counts. No column, no migration.
    member_comments = SameValueRows("members.ResidenceComment", from_field="member", to_field="member")

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])
    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-introduced_on", "-pk"]
        indexes = [
            models.Index(fields=["receiving_ward", "introduced_on"], name="referral_ward_introduced"),
            models.Index(fields=["issuing_organisation", "introduced_on"], name="referral_issuer_introduced"),
            # A ward's receptions in a period (the tracking book's wards without one): a probe per ward, where the
            # ward's index alone reads its every referral.
            models.Index(fields=["receiving_ward", "received_on"], name="referral_ward_received"),
            # A member's referral active on a day (the figures' "introduced"), read from the index alone.
            models.Index(fields=["member", "introduced_on", "ended_on"], name="referral_member_active"),
            # The rows whose dates fall between two days (``reports.steps``).
            *date_indexes("referral", always=("introduced_on",), sometimes=("received_on", "placed_on", "ended_on")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(ended_on__isnull=True), name="one_open_referral"),
            models.CheckConstraint(
                condition=Q(received_on__isnull=True) | Q(received_on__gte=F("introduced_on")),
                name="referral_received_after_introduced",
            ),
            models.CheckConstraint(
                condition=Q(placed_on__isnull=True) | Q(received_on__isnull=False, placed_on__gte=F("received_on")),
                name="referral_placed_after_received",
            ),
            models.CheckConstraint(
                condition=Q(reported_on__isnull=True) | Q(placed_on__isnull=False, reported_on__gte=F("placed_on")),
                name="referral_reported_after_placed",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("introduced_on")),
                name="referral_ended_after_introduced",
            ),
            models.CheckConstraint(
                # Nothing is received, placed or reported after the referral ended.
                condition=Q(ended_on__isnull=True)
                | (
                    (Q(received_on__isnull=True) | Q(received_on__lte=F("ended_on")))
                    & (Q(placed_on__isnull=True) | Q(placed_on__lte=F("ended_on")))
                    & (Q(reported_on__isnull=True) | Q(reported_on__lte=F("ended_on")))
                ),
                name="referral_steps_before_end",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True, end_reason="") | Q(ended_on__isnull=False) & ~Q(end_reason=""),
                name="referral_end_reason_iff_ended",
            ),
            models.CheckConstraint(
                condition=Q(residential_cell__isnull=True, placed_on__isnull=True)
                | Q(residential_cell__isnull=False, placed_on__isnull=False),
                name="referral_cell_iff_placed",
            ),
            # The residential cell belonging to the receiving ward is enforced by a database trigger too
            # (migration 0002): it needs another row, which a CHECK cannot read.
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.receiving_ward}"

    def save(self, *args, **kwargs) -> None:
        """Saved with the first period of its placement history: a placement step recorded (or corrected, while the
        member was never re-placed) on any write path is that period; re-placements are ``members.places``'s."""
        from members.models.history import Placement

        stored = None if self._state.adding else list(Placement.objects.filter(referral=self)[:2])
        if stored and len(stored) == 1 and stored[0].ended_on is None:
            first = stored[0]
            if (first.residential_cell_id, first.started_on) != (self.residential_cell_id, self.placed_on):
                first.delete()
                stored = []
        super().save(*args, **kwargs)
        if not stored and self.placed_on is not None:
            Placement.objects.create(
                referral=self, residential_cell_id=self.residential_cell_id, started_on=self.placed_on
            )

    def ward_in_charge(self, ward_id: int | None) -> bool:
        """Whether ``ward_id`` is the ward the referral was addressed to, or a ward that took it over (followed two
        steps, like ``ward_under_q``): after a merger, the successor places the members still waiting."""
        ward = self.receiving_ward
        if ward_id in (ward.pk, ward.successor_id):
            return True
        return bool(ward.successor_id) and ward.successor.successor_id == ward_id

    def state_on(self, day: datetime.date | None = None) -> "Referral.State":
        day = day or timezone.localdate()
        if self.ended_on and self.ended_on <= day:
            return self.State.ENDED
        if self.reported_on and self.reported_on <= day:
            return self.State.REPORTED
        if self.placed_on and self.placed_on <= day:
            return self.State.PLACED
        if self.received_on and self.received_on <= day:
            return self.State.RECEIVED
        return self.State.INTRODUCED

    @property
    def state(self) -> "Referral.State":
        return self.state_on()

    @property
    def is_open(self) -> bool:
        return self.ended_on is None

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.receiving_ward_id and self.receiving_ward.kind != Organisation.Kind.WARD:
            errors["receiving_ward"] = _("The receiving organisation must be a ward/commune committee.")
        if self.residential_cell_id:
            cell = self.residential_cell
            if cell.kind != Organisation.Kind.RESIDENTIAL_CELL:
                errors["residential_cell"] = _("Choose a residential cell.")
            elif not self.ward_in_charge(cell.parent_id):
                errors["residential_cell"] = _("This residential cell does not belong to the receiving ward.")
        order = [
            ("received_on", self.received_on, "introduced_on", self.introduced_on, _("introduction")),
            ("placed_on", self.placed_on, "received_on", self.received_on, _("reception")),
            ("reported_on", self.reported_on, "placed_on", self.placed_on, _("placement")),
            ("ended_on", self.ended_on, "introduced_on", self.introduced_on, _("introduction")),
        ]
        for field, value, _earlier_field, earlier, earlier_name in order:
            if value is None or field in errors:
                continue
            if earlier is None:
                errors[field] = _("This step cannot be recorded before the %(step)s.") % {"step": earlier_name}
            elif value < earlier:
                errors[field] = _("This date cannot be before the date of the %(step)s.") % {"step": earlier_name}
        if self.ended_on and "ended_on" not in errors:
            for field in ("received_on", "placed_on", "reported_on"):
                step = getattr(self, field)
                if step and step > self.ended_on:
                    errors["ended_on"] = _(
                        "The referral cannot end before a step already recorded on it (%(date)s)."
                    ) % {"date": step.strftime("%d/%m/%Y")}
                    break
        if self.end_reason and not self.ended_on:
            errors["end_reason"] = _("Give an end reason only when the referral has ended, with its date.")
        if self.placed_on and not self.residential_cell_id and "residential_cell" not in errors:
            errors["residential_cell"] = _("Choose the residential cell the member is placed in.")
        if self.ended_on and not self.end_reason:
            errors["end_reason"] = _("Give the reason the referral ended.")
        if errors:
            raise ValidationError(errors)
