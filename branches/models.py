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

from dongha76.fields import recorded_by_field
from dongha76.periods import PAST_DAY_VALIDATORS, validate_day
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
        UPPER_COMMITTEE = "upper_committee", _("Upper-level committee")
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

    # Which kinds may stand directly under which: the rules of the Party statute as the product applies them. An
    # upper-level committee (cấp ủy cấp trên trực tiếp của cơ sở: a district, town or city committee under a province,
    # or a bloc committee) stands under the root or another one and holds grassroots organisations; it is never one.
    ALLOWED_PARENT_KINDS: dict[str, tuple[str, ...]] = {
        Kind.ROOT: (),
        Kind.OUTSIDE: (),
        Kind.UPPER_COMMITTEE: (Kind.ROOT, Kind.UPPER_COMMITTEE),
        Kind.COMMITTEE: (Kind.ROOT, Kind.UPPER_COMMITTEE, Kind.COMMITTEE),
        Kind.GRASSROOTS_CELL: (Kind.ROOT, Kind.UPPER_COMMITTEE, Kind.COMMITTEE),
        Kind.WARD: (Kind.ROOT, Kind.UPPER_COMMITTEE, Kind.COMMITTEE),
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
    # The workbook's "Mã kế tục": which organisation took over on ``valid_to`` (merged into it, or moved and started
    # again there). A split names its successors in its ``Restructure`` record only.
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="predecessors",
        help_text=_("The organisation that took over on the day this one ended."),
    )
    # Primary keys from the root down, each followed by "/": "00000001/00000007/". Maintained by save().
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    history = HistoricalRecords(excluded_fields=["path"])
    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["path"]
        indexes = [
            # The first options of a select by name: a nation's wards or residential cells (10,000-83,000 of a
            # kind), or its workplaces (52,000 of the kinds below, as members.selectors.comment_filter_choices and the
            # referral list's issuers ask for them), read in order from these rather than all read and sorted.
            models.Index(fields=["kind", "name"], name="organisation_kind_name"),
            models.Index(
                fields=["name"],
                # An OR of equalities, not ``kind__in``: PostgreSQL prints ``IN``'s array with casts that read back
                # differently (bench/generate.py rebuilds indexes from their printed definitions); both serve a
                # ``kind IN (...)`` query alike.
                condition=Q(kind="committee") | Q(kind="grassroots_cell") | Q(kind="ward") | Q(kind="outside"),
                name="organisation_workplace_name",
            ),
        ]
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
            models.CheckConstraint(
                condition=Q(successor__isnull=True) | Q(valid_to__isnull=False),
                name="organisation_successor_only_when_ended",
            ),
            models.CheckConstraint(
                condition=Q(successor__isnull=True) | ~Q(successor=models.F("id")),
                name="organisation_successor_not_itself",
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

    def name_on(self, day: datetime.date) -> str:
        """The organisation's name on ``day``: the former name in force then (``organisation_rename`` keeps them),
        else today's. Reads ``former_names`` when prefetched, else one query; for lists, ``selectors.names_on``.

        A day before the first former name started (before the organisation existed) gets the first name it had."""
        if self.pk is None:
            return self.name
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("former_names")
        if prefetched is not None:
            later = [former for former in prefetched if former.valid_to > day]
            return min(later, key=lambda former: former.valid_to).name if later else self.name
        former = self.former_names.filter(valid_to__gt=day).order_by("valid_to").values_list("name", flat=True)
        return next(iter(former[:1]), self.name)

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
        self.check_successor(self.successor if self.successor_id else None)

    def check_successor(self, successor: "Organisation | None") -> None:
        """Whether ``successor`` may be the organisation that took over on ``valid_to``: this one has ended, and the
        successor exists on that day (it started on or before it and has not ended by then)."""
        if successor is None:
            return
        if self.pk and successor.pk == self.pk:
            raise ValidationError({"successor": _("An organisation cannot be its own successor.")})
        if self.valid_to is None:
            raise ValidationError(
                {"successor": _("Only an organisation that has ended has a successor: give the day it ended first.")}
            )
        if not successor.is_valid_on(self.valid_to):
            raise ValidationError(
                {
                    "successor": _("The successor must exist on %(day)s, the first day without this organisation.")
                    % {"day": self.valid_to.strftime("%d/%m/%Y")}
                }
            )

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


class OrganisationAncestor(models.Model):
    """One pair of the tree: ``ancestor`` is ``descendant`` or stands above it, ``depth`` levels up (0: itself).

    The closure of ``Organisation.path`` as rows, so that "every organisation under each of these" is a join the
    database can serve from an index: a condition ``path LIKE outer.path || '%'`` correlated with another row can use
    none. The rows are written by database triggers on every write of an organisation's path (migration
    ``branches/0003``), whatever writes it: ``Organisation.save()`` and the statement that re-roots a moved subtree, an
    import, a COPY, a raw delete. ``branches.ancestors.rebuild_all`` writes them anew from the paths (after a load
    with the triggers disabled)."""

    ancestor = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="descendant_links", db_index=False
    )
    descendant = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="ancestor_links", db_index=False
    )
    depth = models.PositiveSmallIntegerField()

    # Derived rows: no one writes them but the triggers, so they are never a "row that refers to" an organisation
    # (a change of kind, an undo of the import that created it): they follow the organisation wherever it goes.
    written_by_triggers = True

    class Meta:
        constraints = [
            # Leads by the ancestor: the subtree of one organisation; covering (ancestor, descendant).
            models.UniqueConstraint(fields=["ancestor", "descendant"], name="organisation_ancestor_once"),
        ]
        # Leads by the descendant: the ancestors of each row of a grouped count (home, issuer, ward -> each above).
        indexes = [models.Index(fields=["descendant", "ancestor"], name="organisation_ancestor_up")]

    def __str__(self) -> str:
        return f"{self.ancestor_id} > {self.descendant_id} ({self.depth})"


class OrganisationName(models.Model):
    """A name the organisation bore before a rename (``branches.services.organisation_rename``), with its dates:
    ``valid_from`` inclusive, ``valid_to`` exclusive (the day of the rename). Today's name is the organisation's own."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="former_names"
    )
    name = models.CharField(_("name"), max_length=200)
    valid_from = models.DateField(_("from"), validators=PAST_DAY_VALIDATORS)
    valid_to = models.DateField(_("until"), validators=PAST_DAY_VALIDATORS, help_text=_("The day of the rename."))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("former name")
        verbose_name_plural = _("former names")
        ordering = ["organisation", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gt=models.F("valid_from")), name="organisation_name_valid_to_after_valid_from"
            ),
            models.UniqueConstraint(fields=["organisation", "valid_from"], name="organisation_name_one_per_day"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name = normalise_line(self.name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self.name:
            self.name = normalise_line(self.name)
            _collect(errors, "name", validate_name, self.name)
        if errors:
            raise ValidationError(errors)
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValidationError({"valid_to": _("A name is replaced after the day it was first borne.")})


class Restructure(models.Model):
    """One restructure of the tree on a day: which organisations ended or changed (``predecessors``) and which took
    over (``successors``). A rename names the same organisation on both sides (the row and its code continue).

    Written once by ``branches.services.restructure_record`` (the rename service and the restructure operations
    call it), shown on each organisation's page and in the admin."""

    class Kind(models.TextChoices):
        MERGE = "merge", _("Merger")
        SPLIT = "split", _("Split")
        RENAME = "rename", _("Rename")
        MOVE = "move", _("Move under another organisation")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, db_index=True)
    effective_on = models.DateField(_("effective on"), validators=PAST_DAY_VALIDATORS, db_index=True)
    predecessors = models.ManyToManyField(
        Organisation, verbose_name=_("predecessors"), related_name="restructures_ended"
    )
    successors = models.ManyToManyField(Organisation, verbose_name=_("successors"), related_name="restructures_started")
    recorded_by = recorded_by_field(_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("restructure")
        verbose_name_plural = _("restructures")
        ordering = ["effective_on", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_on.strftime('%d/%m/%Y') if self.effective_on else ''}"

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        _collect(errors, "note", validate_text, self.note)
        if errors:
            raise ValidationError(errors)


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
