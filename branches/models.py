"""The party organisation tree and who may act where.

The tree is data, not fixed levels: organisations merge and are renamed, so each row carries its validity dates, and a
materialised ``path`` of primary keys makes "this organisation and everything under it" one indexed prefix query.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dongha76.periods import validate_day
from dongha76.text import normalise_line, validate_name, validate_text

PATH_STEP_DIGITS = 8  # room for 100 million organisations; 30 levels fit in the path column


def _collect(errors: dict, field: str, validator, value) -> None:
    try:
        validator(value)
    except ValidationError as error:
        errors[field] = error


def _bounded_days(instance: models.Model, *fields: str) -> dict:
    """Errors for the days outside the product's bounds (``dongha76.periods``); in ``clean()`` rather than as field
    validators, which would need a migration of the tree for a rule the database does not hold."""
    errors: dict = {}
    for field in fields:
        _collect(errors, field, validate_day, getattr(instance, field))
    return errors


class OrganisationQuerySet(models.QuerySet):
    def subtree(self, organisation: "Organisation") -> "OrganisationQuerySet":
        """The organisation and everything under it (outside organisations are never under anything)."""
        return self.filter(path__startswith=organisation.path)

    def valid_on(self, day: datetime.date) -> "OrganisationQuerySet":
        return self.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gt=day))


class Organisation(models.Model):
    class Kind(models.TextChoices):
        ROOT = "root", _("City/provincial organisation")
        COMMITTEE = "committee", _("Grassroots committee")
        GRASSROOTS_CELL = "grassroots_cell", _("Grassroots cell")
        CELL = "cell", _("Subordinate cell")
        WARD = "ward", _("Ward/commune committee")
        RESIDENTIAL_CELL = "residential_cell", _("Residential cell")
        OUTSIDE = "outside", _("Outside organisation")

    class Sector(models.TextChoices):
        PARTY_STATE = "party_state", _("Party and state bodies, mass organisations")
        ENTERPRISE = "enterprise", _("Enterprise")
        PUBLIC_SERVICE = "public_service", _("Public-service unit")
        ARMED_FORCES = "armed_forces", _("Armed forces")
        WARD = "ward", _("Ward/commune")
        OTHER = "other", _("Other")

    # Which kinds may stand directly under which: the rules of the Party statute as the product applies them.
    ALLOWED_PARENT_KINDS: dict[str, tuple[str, ...]] = {
        Kind.ROOT: (),
        Kind.OUTSIDE: (),
        Kind.COMMITTEE: (Kind.ROOT, Kind.COMMITTEE),
        Kind.GRASSROOTS_CELL: (Kind.ROOT, Kind.COMMITTEE),
        Kind.WARD: (Kind.ROOT, Kind.COMMITTEE),
        Kind.CELL: (Kind.COMMITTEE, Kind.WARD),
        Kind.RESIDENTIAL_CELL: (Kind.WARD,),
    }
    GRASSROOTS_KINDS = (Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD)
    SUBORDINATE_CELL_KINDS = (Kind.CELL, Kind.RESIDENTIAL_CELL)
    # Cells a member can belong to at a workplace (a residential cell is not a workplace).
    WORKPLACE_HOME_KINDS = (Kind.CELL, Kind.GRASSROOTS_CELL)

    code = models.CharField(
        _("code"),
        max_length=30,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_.-]+$", _("Use only letters without accents, digits, dot, dash and underscore.")
            )
        ],
        help_text=_("The short key people type, e.g. P1 or P1-KP3."),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices, default=Sector.OTHER)
    valid_from = models.DateField(_("valid from"), default=datetime.date(2000, 1, 1))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("First day it no longer exists."))
    address = models.CharField(_("address"), max_length=255, blank=True)
    # Primary keys from the root down, each followed by "/": "00000001/00000007/". Maintained by save().
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    history = HistoricalRecords(excluded_fields=["path"])
    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="organisation_valid_to_after_valid_from",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["root", "outside"], parent__isnull=True)
                | (~Q(kind__in=["root", "outside"]) & Q(parent__isnull=False)),
                name="organisation_parent_iff_not_root_or_outside",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @transaction.atomic
    def save(self, *args, **kwargs) -> None:
        self.name = normalise_line(self.name)
        manager = type(self).objects
        # The stored path, not the one in memory: this instance may predate a move of one of its ancestors.
        old_path = manager.filter(pk=self.pk).values_list("path", flat=True).first() or "" if self.pk else ""
        super().save(*args, **kwargs)
        parent_path = manager.values_list("path", flat=True).get(pk=self.parent_id) if self.parent_id else ""
        # Zero-padded so that ordering by path lists parents before children and siblings in creation order.
        new_path = f"{parent_path}{self.pk:0{PATH_STEP_DIGITS}d}/"
        if new_path == old_path:
            return
        manager.filter(pk=self.pk).update(path=new_path)
        if old_path:
            # Moved under another parent: re-root the whole subtree in one statement.
            manager.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
            )
        self.path = new_path

    @property
    def is_residential_cell(self) -> bool:
        return self.kind == self.Kind.RESIDENTIAL_CELL

    def is_valid_on(self, day: datetime.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or self.valid_to > day)

    def is_within(self, other: "Organisation") -> bool:
        """True when this organisation is ``other`` or stands under it."""
        return bool(self.path) and self.path.startswith(other.path)

    def clean(self) -> None:
        super().clean()
        errors = _bounded_days(self, "valid_from", "valid_to")
        if self.name:  # blank: already said by the field
            self.name = normalise_line(self.name)
            _collect(errors, "name", validate_name, self.name)
        _collect(errors, "address", validate_text, self.address)
        if errors:
            raise ValidationError(errors)
        if self.valid_to and self.valid_from and self.valid_to <= self.valid_from:
            raise ValidationError({"valid_to": _("The organisation must stop existing after the day it started.")})
        self.check_parent(self.parent if self.parent_id else None)

    def check_parent(self, parent: "Organisation | None") -> None:
        """Whether ``parent`` may stand above this organisation (given apart, so that a parent not yet saved, as in an
        imported workbook, can be checked before anything is written)."""
        allowed = self.ALLOWED_PARENT_KINDS.get(self.kind, ())
        if not allowed:
            if parent is not None:
                raise ValidationError({"parent": _("This kind of organisation has no parent organisation.")})
            return
        if parent is None:
            raise ValidationError({"parent": _("Choose the organisation this one stands under.")})
        if parent.kind not in allowed:
            raise ValidationError(
                {
                    "parent": _("A %(kind)s cannot stand under a %(parent_kind)s.")
                    % {"kind": self.get_kind_display(), "parent_kind": parent.get_kind_display()}
                }
            )
        if self.pk and parent.pk and (parent.pk == self.pk or parent.path.startswith(self.path)):
            raise ValidationError({"parent": _("An organisation cannot stand under itself or its own subtree.")})
        if self.pk and self.kind != self.Kind.ROOT:
            for child in self.children.all():
                if self.kind not in self.ALLOWED_PARENT_KINDS.get(child.kind, ()):
                    raise ValidationError(
                        {"kind": _("Its subordinate organisations could not stand under this kind of organisation.")}
                    )


class Officer(models.Model):
    """A user's post at an organisation: the basis of every scope check."""

    class Role(models.TextChoices):
        SECRETARY = "secretary", _("Secretary")
        DEPUTY = "deputy", _("Deputy secretary")
        STAFF = "staff", _("Staff")
        VIEWER = "viewer", _("Viewer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="officer_posts"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="officers"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    started_on = models.DateField(_("started on"), default=timezone.localdate)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("officer")
        verbose_name_plural = _("officers")
        ordering = ["organisation__path", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                condition=Q(ended_on__isnull=True),
                name="one_open_post_per_user_and_org",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="officer_ended_after_started",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()}, {self.organisation}"

    def clean(self) -> None:
        super().clean()
        errors = _bounded_days(self, "started_on", "ended_on")
        if errors:
            raise ValidationError(errors)

    @property
    def can_write(self) -> bool:
        return self.role != self.Role.VIEWER
