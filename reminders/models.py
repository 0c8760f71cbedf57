"""Reminders before each deadline, to the officers who can act, and how each user wants them by e-mail.

A reminder is created once per user, rule, object and step (``send_reminders``): the object is what the rule is
about (a member, a referral, a comment, an organisation), the step says which of the rule's moments it is (a
threshold passed, 30 or 7 days before a deadline, a half-year, a week). It stays open while its cause is there; it
closes itself when the cause is gone (the letter was received), when a later step of the same rule and object
replaces it, when its period is over, or when the user no longer holds the post it was sent for.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Organisation
from dongha76.fields import recorded_by_field


class Rule(models.TextChoices):
    # the workplace committee's
    NOT_INTRODUCED = "not_introduced", _("Eligible members not introduced")
    LETTER_NOT_RECEIVED = "letter_not_received", _("Letters not received by the ward")
    COMMENT_NOT_ACKNOWLEDGED = "comment_not_acknowledged", _("Comments arrived, not acknowledged")
    # the ward committee's
    AWAITING_RECEPTION = "awaiting_reception", _("Referrals awaiting reception")
    AWAITING_PLACEMENT = "awaiting_placement", _("Members awaiting placement")
    COMMENTS_NOT_SENT = "comments_not_sent", _("Comments not sent to the workplaces")
    # the residential cell's
    MEETING_DUE = "meeting_due", _("Meeting of the half-year not recorded")
    COMMENTS_TO_WRITE = "comments_to_write", _("Comments to write")
    NOT_REPORTED = "not_reported", _("Members who have not reported to the cell")
    # the city staff's
    WEEKLY_DIGEST = "weekly_digest", _("Weekly digest of the weak spots")


def _days(verbose_name, default: int, help_text) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        verbose_name,
        default=default,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=help_text,
    )


class ReminderSettings(models.Model):
    """The thresholds of the reminders of a root organisation, set by its city staff. Without a row, the defaults."""

    organisation = models.OneToOneField(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="reminder_settings",
        limit_choices_to={"kind": Organisation.Kind.ROOT},
    )
    introduce_after_days = _days(
        _("introduce within (days)"), 30, _("A member eligible this long and not introduced: remind the workplace.")
    )
    letter_follow_up_after_days = _days(
        _("letter received within (days)"),
        20,
        _("A letter not received this long after it was issued: remind the workplace to follow it up."),
    )
    acknowledge_after_days = _days(
        _("acknowledge a comment within (days)"),
        7,
        _("A comment sent this long ago and not recorded as arrived: remind the workplace."),
    )
    receive_after_days = _days(
        _("receive within (days)"), 7, _("A referral awaiting reception this long: remind the ward.")
    )
    place_after_days = _days(
        _("place within (days)"), 14, _("A member received this long ago and not placed: remind the ward.")
    )
    comments_first_notice_days = _days(
        _("first notice before the comment deadline (days)"),
        30,
        _("This many days before the deadline, the ward and each cell hear what is still missing."),
    )
    comments_last_notice_days = _days(
        _("last notice before the comment deadline (days)"),
        7,
        _("This many days before the deadline, they hear it again (then the ward once more the day after it)."),
    )
    meeting_notice_days = _days(
        _("meeting notice before the half-year ends (days)"),
        30,
        _("This many days before the half-year ends, a cell without its periodic meeting recorded hears it."),
    )
    report_after_days = _days(
        _("report to the cell within (days)"),
        14,
        _("A member placed this long ago who has not reported to the cell: remind the cell."),
    )
    recorded_by = recorded_by_field(_("recorded by"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reminder settings")
        verbose_name_plural = _("reminder settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(comments_last_notice_days__lt=models.F("comments_first_notice_days")),
                name="reminder_last_notice_after_first",
            ),
        ]

    def __str__(self) -> str:
        return str(self.organisation)

    def clean(self) -> None:
        super().clean()
        first, last = self.comments_first_notice_days, self.comments_last_notice_days
        if first is not None and last is not None and last >= first:
            raise ValidationError(
                {
                    "comments_last_notice_days": _(
                        "The last notice comes after the first: fewer days before the deadline."
                    )
                }
            )

    @classmethod
    def defaults(cls) -> "ReminderSettings":
        return cls()


class Reminder(models.Model):
    class Closed(models.TextChoices):
        RESOLVED = "resolved", _("Done: the cause is gone")
        SUPERSEDED = "superseded", _("Replaced by a later reminder")
        EXPIRED = "expired", _("Its period is over")
        POST_ENDED = "post_ended", _("You no longer hold the post")

    class Email(models.TextChoices):
        PENDING = "pending", _("to be sent")
        SENT = "sent", _("sent")
        NOT_SENT = "not_sent", _("not sent by e-mail")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="reminders"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="reminders"
    )
    rule = models.CharField(_("rule"), max_length=30, choices=Rule.choices)
    object_id = models.PositiveBigIntegerField(_("object"))
    step = models.CharField(_("step"), max_length=40)
    # What the reminder said when it was made (names, dates, counts): the page and the e-mail read it without a query
    # per row, and it stays what it was when the user read it.
    details = models.JSONField(_("details"), default=dict, blank=True)
    due_on = models.DateField(_("due on"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_because = models.CharField(_("closed because"), max_length=20, choices=Closed.choices, blank=True)
    email = models.CharField(_("e-mail"), max_length=10, choices=Email.choices, default=Email.PENDING)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-due_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "rule", "object_id", "step"], name="one_reminder_per_step"),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True, closed_because="")
                | Q(closed_on__isnull=False) & ~Q(closed_because=""),
                name="reminder_closed_with_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "closed_on", "read_at"], name="reminder_user_open_unread"),
            models.Index(fields=["rule", "closed_on"], name="reminder_rule_open"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_rule_display()} ({self.step})"

    @property
    def is_open(self) -> bool:
        return self.closed_on is None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class ReminderPreference(models.Model):
    class Delivery(models.TextChoices):
        IMMEDIATE = "immediate", _("Each reminder at once")
        DAILY = "daily", _("A daily digest")
        NONE = "none", _("No e-mail")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="reminder_preference",
    )
    delivery = models.CharField(
        _("reminders by e-mail"), max_length=10, choices=Delivery.choices, default=Delivery.DAILY
    )
    last_digest_on = models.DateField(_("last digest sent on"), null=True, blank=True)

    class Meta:
        verbose_name = _("reminder preference")
        verbose_name_plural = _("reminder preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.get_delivery_display()}"
