import datetime

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Organisation
from dongha76.fields import recorded_by_field
from dongha76.periods import PAST_DAY_VALIDATORS, validate_day, validate_year
from dongha76.text import validate_text
from members.models.member import Member


class ResidenceComment(models.Model):
    """The yearly comment (phiếu nhận xét) of the residential cell on a referred member, sent back to the workplace."""

    class Verdict(models.TextChoices):
        GOOD = "good", _("Good: sets an example at the place of residence")
        FAIR = "fair", _("Fair: fulfils the duties")
        LIMITED = "limited", _("Limited: falls short of the duties")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="residence_comments"
    )
    year = models.PositiveSmallIntegerField(_("year"), validators=[validate_year])
    residential_cell = models.ForeignKey(
        Organisation,
        verbose_name=_("residential cell"),
        on_delete=models.PROTECT,
        related_name="residence_comments",
        limit_choices_to={"kind": Organisation.Kind.RESIDENTIAL_CELL},
    )
    # The same criteria for everyone, as on the uniform form.
    keeps_contact = models.BooleanField(_("keeps contact with the cell committee"), default=True)
    citizen_example = models.BooleanField(
        _("sets an example in citizen duties at the place of residence"), default=True
    )
    attends_meetings = models.BooleanField(_("attends the cell's meetings"), default=True)
    joins_movements = models.BooleanField(_("takes part in local movements"), default=True)
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    text = models.TextField(_("comment"), blank=True, validators=[validate_text])
    written_on = models.DateField(_("written on"), validators=PAST_DAY_VALIDATORS)
    sent_on = models.DateField(_("sent to the workplace on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS)
    received_on = models.DateField(
        _("received by the workplace on"), null=True, blank=True, validators=PAST_DAY_VALIDATORS
    )
    written_by = recorded_by_field(_("written by"))
    sent_by = recorded_by_field(_("sent by"))
    received_by = recorded_by_field(_("receipt recorded by"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("residence comment")
        verbose_name_plural = _("residence comments")
        ordering = ["-year", "member"]
        indexes = [
            models.Index(fields=["residential_cell", "year"], name="comment_cell_year"),
            # The ratings list joins each member to their comment of one year, and counts them for the whole city:
            # without it, a year's comments are found by reading the index of every cell and year.
            models.Index(fields=["year", "member"], name="comment_year_member"),
            # A step of the comment figures finds the comments written, sent or received between two days
            # (``reports.steps.members_commented_between``).
            models.Index(fields=["written_on"], name="comment_written_on"),
            models.Index(fields=["sent_on"], condition=Q(sent_on__isnull=False), name="comment_sent_on"),
            models.Index(fields=["received_on"], condition=Q(received_on__isnull=False), name="comment_received_on"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="one_comment_per_member_and_year"),
            models.CheckConstraint(
                condition=Q(sent_on__isnull=True) | Q(sent_on__gte=F("written_on")), name="comment_sent_after_written"
            ),
            models.CheckConstraint(
                condition=Q(received_on__isnull=True) | Q(sent_on__isnull=False, received_on__gte=F("sent_on")),
                name="comment_received_after_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.year}"


class YearEndRating(models.Model):
    """The year-end quality rating (xếp loại chất lượng) the member's own cell decides; the comment is one input."""

    class Level(models.TextChoices):
        EXCELLENT = "excellent", _("Excellently fulfilled duties")
        GOOD = "good", _("Well fulfilled duties")
        FULFILLED = "fulfilled", _("Fulfilled duties")
        NOT_FULFILLED = "not_fulfilled", _("Did not fulfil duties")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="ratings")
    year = models.PositiveSmallIntegerField(_("year"), validators=[validate_year])
    level = models.CharField(_("rating"), max_length=15, choices=Level.choices)
    decided_on = models.DateField(_("decided on"), validators=PAST_DAY_VALIDATORS)
    recorded_by = recorded_by_field(_("recorded by"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("year-end rating")
        verbose_name_plural = _("year-end ratings")
        ordering = ["-year", "member"]
        constraints = [models.UniqueConstraint(fields=["member", "year"], name="one_rating_per_member_and_year")]
        indexes = [
            models.Index(fields=["decided_on"], name="rating_decided_on"),
            # The ratings list reads one year's ratings (its rows, "rated or working", its counts): without it every
            # year's ratings were read to find them (``members.selectors.comments.rating_rows``).
            models.Index(fields=["year", "member"], name="rating_year_member"),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.year}: {self.get_level_display()}"


class CommentRound(models.Model):
    """The yearly round of residence comments of a root organisation: its deadline for sending comments back.

    Without a row for a year the deadline is 30 November (``DEFAULT_DEADLINE``); the city staff set another one here.
    """

    DEFAULT_DEADLINE = (11, 30)  # month, day

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="comment_rounds",
        limit_choices_to={"kind": Organisation.Kind.ROOT},
    )
    year = models.PositiveSmallIntegerField(_("year"), validators=[validate_year])
    # A deadline, the one day of the product that may lie ahead: bounded, not "not in the future".
    deadline = models.DateField(_("deadline for sending the comments"), validators=[validate_day])
    recorded_by = recorded_by_field(_("recorded by"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("comment round")
        verbose_name_plural = _("comment rounds")
        ordering = ["-year"]
        constraints = [models.UniqueConstraint(fields=["organisation", "year"], name="one_comment_round_per_year")]

    def __str__(self) -> str:
        return f"{self.organisation} – {self.year}"

    @classmethod
    def default_deadline(cls, year: int) -> datetime.date:
        return datetime.date(year, *cls.DEFAULT_DEADLINE)
