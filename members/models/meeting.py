from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Organisation
from dongha76.db import SameValueRows
from dongha76.fields import recorded_by_field
from dongha76.periods import PAST_DAY_VALIDATORS, validate_year
from dongha76.text import validate_text
from members.models.member import Member
from members.periods import HalfYear


class Meeting(models.Model):
    """A meeting of a residential cell with its referred members (once per half-year, and when needed)."""

    class Kind(models.TextChoices):
        PERIODIC = "periodic", _("Periodic meeting")
        AD_HOC = "ad_hoc", _("Ad hoc meeting")

    residential_cell = models.ForeignKey(
        Organisation,
        verbose_name=_("residential cell"),
        on_delete=models.PROTECT,
        related_name="meetings",
        limit_choices_to={"kind": Organisation.Kind.RESIDENTIAL_CELL},
    )
    held_on = models.DateField(_("held on"), validators=PAST_DAY_VALIDATORS)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERIODIC)
    # The half-year the meeting counts for; usually the one of held_on, but a late meeting may make up the previous one.
    year = models.PositiveSmallIntegerField(_("year"), validators=[validate_year])
    half = models.PositiveSmallIntegerField(_("half-year"), choices=[(1, _("First half")), (2, _("Second half"))])
    summary = models.TextField(_("summary of content"), blank=True, validators=[validate_text])
    recorded_by = recorded_by_field(_("recorded by"))
    created_at = models.DateTimeField(auto_now_add=True)
    # For querysets: the placements in the meeting's cell (on any day; the day's are those in force on held_on),
    # joined on the cell's column directly (``reports.figures.with_expected_attendees``). No column, no migration.
    cell_placements = SameValueRows("members.Placement", from_field="residential_cell", to_field="residential_cell")

    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_on", "-pk"]
        indexes = [models.Index(fields=["residential_cell", "year", "half"], name="meeting_cell_half_year")]
        constraints = [
            models.CheckConstraint(condition=Q(half__in=[1, 2]), name="meeting_half_is_1_or_2"),
            # The same form posted twice records one meeting (issue 10): a cell holds one meeting of a kind a day.
            models.UniqueConstraint(
                fields=["residential_cell", "held_on", "kind"], name="one_meeting_per_cell_day_and_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.residential_cell} – {self.held_on:%d/%m/%Y}"

    @property
    def half_year(self) -> HalfYear:
        return HalfYear(self.year, self.half)


class Attendance(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        EXCUSED = "excused", _("Excused absence")
        ABSENT = "absent", _("Absent")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="attendances"
    )
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="attendances")
    status = models.CharField(_("attendance"), max_length=10, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True, validators=[validate_text])

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        # The figures ask, for each member expected at a meeting, whether they were marked present
        # (``reports.figures.with_expected_attendees``: 72,376 lookups at the province's root): with the status in
        # the condition, the lookup is answered from this index alone, without reading the table.
        # The misses (``members.selectors.meetings.missed_periodic_meetings``: the irregular attendees of the home,
        # the member list and the dashboard) are one attendance in fifteen: read from their own index, by meeting,
        # rather than from every attendance of the city (337,914 rows at the province's size, for 21,925 misses).
        indexes = [
            models.Index(fields=["meeting", "member"], condition=Q(status="present"), name="attendance_present"),
            models.Index(fields=["meeting", "member"], condition=Q(status="absent"), name="attendance_absent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="one_attendance_per_meeting_and_member"),
            models.CheckConstraint(condition=~Q(status="excused", reason=""), name="attendance_excused_needs_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.get_status_display()}"
