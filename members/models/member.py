import datetime

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Organisation
from dongha76.db import date_indexes
from dongha76.fields import recorded_by_field
from dongha76.periods import PAST_DAY_VALIDATORS, validate_birth_day
from dongha76.text import normalise_line, search_key, validate_name, validate_text
from members.models.history import MemberHome, home_on_q, in_force_q

national_id_validator = RegexValidator(r"^\d{12}$", _("A national ID (CCCD) has exactly 12 digits."))
card_number_validator = RegexValidator(
    r"^[0-9A-Za-z./-]{4,20}$", _("A party card number has 4 to 20 digits or letters, without spaces.")
)


# The definitions of the figures, as conditions on a member (``prefix`` reaches the member through a relation, e.g.
# "member__"). The queryset methods below and the reports' counts both use them, so each is written once.


# A member whose home is one of these is not at a workplace of the tree, so not introduced by it.
NOT_WORKPLACE_HOMES = (Organisation.Kind.RESIDENTIAL_CELL, Organisation.Kind.OUTSIDE)


def member_on_q(day: datetime.date, prefix: str = "") -> Q:
    """Admitted on or before ``day`` and not gone from the party on or before it."""
    return Q(**{f"{prefix}admitted_on__lte": day}) & (
        Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gt": day})
    )


def working_on_q(day: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}retired_on__isnull": True}) | Q(**{f"{prefix}retired_on__gt": day})


def exempt_on_q(day: datetime.date, kind: str, prefix: str = "") -> Q:
    in_force = Exemption.objects.in_force_on(day).filter(member=OuterRef(f"{prefix}pk"), kind=kind)
    return Q(Exists(in_force))


def at_workplace_on_q(day: datetime.date, prefix: str = "", *, per_member: bool = False) -> Q:
    """The member's home on ``day`` is a workplace cell of the tree (neither a residential cell nor outside).

    Half the homes are workplaces, so the default shape (an ``IN`` over the homes) makes PostgreSQL hash every
    workplace home of the city: right for the whole city, ~50,000 rows read for a ward's few hundred members.
    ``per_member`` asks each member's own homes instead (an index lookup per member): the same rows, for a small set
    of members (a ward's, a cell's, a workplace's scope). A correlated ``EXISTS`` is not enough, since the planner
    turns it back into the same hashed semi-join; a count per member is a subquery it cannot pull up.
    """
    if not per_member:
        return home_on_q(day, ~Q(kind__in=NOT_WORKPLACE_HOMES), prefix)
    homes = (
        MemberHome.objects.filter(in_force_q(day), member=OuterRef(f"{prefix}pk"))
        .exclude(organisation__kind__in=NOT_WORKPLACE_HOMES)
        .order_by()
        .values("member")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Q(GreaterThan(Subquery(homes, output_field=IntegerField()), 0))


def in_subtree_on_q(organisation: Organisation, day: datetime.date, prefix: str = "") -> Q:
    """The member's home on ``day`` is ``organisation`` or under it. Organisations do not change place once they have
    members (a move is a restructure that creates a successor), so the path of today is the path of that day."""
    return home_on_q(day, Q(path__startswith=organisation.path), prefix)


def eligible_q(day: datetime.date, prefix: str = "", *, per_member: bool = False) -> Q:
    """Working members of a workplace cell on ``day``, not exempt from introduction: those the regulation must
    introduce. ``per_member``: see ``at_workplace_on_q`` (the same rows, a shape for a small set of members)."""
    return (
        member_on_q(day, prefix)
        & working_on_q(day, prefix)
        & at_workplace_on_q(day, prefix, per_member=per_member)
        & ~exempt_on_q(day, "introduction", prefix)
    )


class MemberQuerySet(models.QuerySet):
    def in_subtree(self, organisation: Organisation) -> "MemberQuerySet":
        """Members whose home of today is in the subtree (the screens of today; figures use ``in_subtree_on``)."""
        return self.filter(home_organisation__path__startswith=organisation.path)

    def in_subtree_on(self, organisation: Organisation, day: datetime.date) -> "MemberQuerySet":
        return self.filter(in_subtree_on_q(organisation, day))

    def members_on(self, day: datetime.date) -> "MemberQuerySet":
        return self.filter(member_on_q(day))

    def working_on(self, day: datetime.date) -> "MemberQuerySet":
        return self.filter(working_on_q(day))

    def exempt_on(self, day: datetime.date, kind: str) -> "MemberQuerySet":
        return self.filter(exempt_on_q(day, kind))

    def not_exempt_on(self, day: datetime.date, kind: str) -> "MemberQuerySet":
        return self.exclude(exempt_on_q(day, kind))

    def eligible_on(self, day: datetime.date) -> "MemberQuerySet":
        return self.filter(eligible_q(day, per_member=self._few))

    # A hint on the shape of the query, not on its rows: ``few()`` says the set is a small scope (a ward's, a cell's),
    # so that conditions written for the whole city (``at_workplace_on_q``) ask each member instead. Carried through
    # the queryset's clones, so that selectors taking a queryset of members keep it.
    _few = False

    def few(self) -> "MemberQuerySet":
        clone = self._chain()
        clone._few = True
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._few = self._few
        return clone

    def search(self, text: str) -> "MemberQuerySet":
        key = search_key(text)
        if not key:
            return self
        return self.filter(Q(search_name__contains=key) | Q(card_number__startswith=text.strip()))


class Member(models.Model):
    class Gender(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")

    class LeftReason(models.TextChoices):
        LEFT_PARTY = "left_party", _("Left the party")
        DIED = "died", _("Died")

    card_number = models.CharField(
        _("party card number"), max_length=20, unique=True, validators=[card_number_validator]
    )
    full_name = models.CharField(_("full name"), max_length=100)
    # Lower-case, accents removed, đ -> d: what people type. Kept in sync by save() for every write path.
    search_name = models.CharField(max_length=100, db_index=True, editable=False)
    date_of_birth = models.DateField(_("date of birth"), validators=[validate_birth_day])
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices)
    national_id = models.CharField(
        _("national ID (CCCD)"), max_length=12, blank=True, validators=[national_id_validator]
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[validate_text])
    admitted_on = models.DateField(_("admitted to the party on"), validators=PAST_DAY_VALIDATORS)
    official_on = models.DateField(_("official member since"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    home_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("home cell"),
        on_delete=models.PROTECT,
        related_name="home_members",
        help_text=_("The cell the member belongs to: a workplace cell, a residential cell or an outside organisation."),
    )
    # Working (đang công tác) until retired_on; as a date so that figures can be taken as of any past day.
    retired_on = models.DateField(_("retired on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    working = models.GeneratedField(
        expression=Q(retired_on__isnull=True), output_field=models.BooleanField(_("working")), db_persist=True
    )
    residential_address = models.CharField(
        _("residential address"), max_length=255, blank=True, validators=[validate_text]
    )
    left_on = models.DateField(_("left the party on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    left_reason = models.CharField(_("reason for leaving"), max_length=20, choices=LeftReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["search_name", "working", "created_at", "updated_at"])
    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("party member")
        verbose_name_plural = _("party members")
        ordering = ["search_name", "card_number"]
        indexes = date_indexes("member", always=("admitted_on",), sometimes=("retired_on", "left_on"))
        constraints = [
            models.UniqueConstraint(
                fields=["national_id"], condition=~Q(national_id=""), name="member_national_id_unique_when_given"
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True, left_reason="") | Q(left_on__isnull=False) & ~Q(left_reason=""),
                name="member_left_reason_iff_left_on",
            ),
            models.CheckConstraint(
                condition=Q(official_on__isnull=True) | Q(official_on__gte=models.F("admitted_on")),
                name="member_official_after_admitted",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("admitted_on")),
                name="member_left_after_admitted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.card_number})"

    def save(self, *args, **kwargs) -> None:
        self.full_name = normalise_line(self.full_name)
        self.set_search_name()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "full_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        created = self._state.adding
        super().save(*args, **kwargs)
        if created:
            # Every write path (services, admin, shell, tests) gives a new member the first period of its home; a
            # later change of home is a move on a day (``members.places.move_home``), which a plain save refuses.
            from members.models.history import MemberHome

            MemberHome.objects.create(
                member=self, organisation_id=self.home_organisation_id, started_on=self.admitted_on
            )

    def clean(self) -> None:
        """The rules of the check constraints, in Python, so that many rows can be validated without a query each
        (the workbook import); the constraints stay as the database's last line of defence."""
        super().clean()
        errors = {}
        if self.full_name:  # blank: already said by the field
            # Normalised here and not only in save(): the workbook import writes in bulk, after full_clean().
            self.full_name = normalise_line(self.full_name)
            self.set_search_name()
            try:
                validate_name(self.full_name)
            except ValidationError as error:
                errors["full_name"] = error
        if bool(self.left_on) != bool(self.left_reason):
            errors["left_reason"] = _("Give both the date and the reason for leaving the party, or neither.")
        if self.official_on and self.admitted_on and self.official_on < self.admitted_on:
            errors["official_on"] = _("A member becomes official on or after the day of admission.")
        if self.left_on and self.admitted_on and self.left_on < self.admitted_on:
            errors["left_on"] = _("The day of leaving the party cannot be before the admission.")
        if errors:
            raise ValidationError(errors)

    def set_search_name(self) -> None:
        self.search_name = search_key(self.full_name)

    def is_member_on(self, day: datetime.date) -> bool:
        return self.admitted_on <= day and (self.left_on is None or self.left_on > day)

    def is_working_on(self, day: datetime.date) -> bool:
        return self.retired_on is None or self.retired_on > day


class ExemptionQuerySet(models.QuerySet):
    def in_force_on(self, day: datetime.date) -> "ExemptionQuerySet":
        return self.filter(Q(started_on__lte=day), Q(ended_on__isnull=True) | Q(ended_on__gt=day))


class Exemption(models.Model):
    """A period during which a member is exempt, so that figures as of a past day stay true after it is lifted."""

    class Kind(models.TextChoices):
        INTRODUCTION = "introduction", _("Exempt from introduction")
        ACTIVITIES = "activities", _("Exempt from residence activities")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="exemptions")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=255, validators=[validate_text])
    started_on = models.DateField(_("exempt since"), validators=PAST_DAY_VALIDATORS)
    ended_on = models.DateField(_("exemption lifted on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    recorded_by = recorded_by_field(_("recorded by"))

    history = HistoricalRecords()
    objects = ExemptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")
        ordering = ["member", "-started_on"]
        indexes = date_indexes("exemption", always=("started_on",), sometimes=("ended_on",))
        constraints = [
            # The two kinds exclude each other: a member exempt from introduction is not referred at all.
            models.UniqueConstraint(fields=["member"], condition=Q(ended_on__isnull=True), name="one_open_exemption"),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gt=models.F("started_on")),
                name="exemption_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.member}"
