"""The writes of the reminders app: make what is due, close what is done, deliver by e-mail.

``send_reminders`` (the command, hourly) calls ``run``: in one transaction it closes the open reminders whose cause
is gone, makes the reminders due on the day (once per user, rule, object and step: the unique constraint holds it
even when two runs overlap), closes those a later step replaced; then it delivers the pending e-mails, one user at a
time, each in its own transaction so that a failed send stays pending for the next run. The number of queries grows
with the number of organisations with officers and of users with mail, never with the number of members.
"""

import dataclasses
import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import Committee
from branches.models import Officer, Organisation
from reminders.delivery import deliver, email_states
from reminders.models import Reminder, ReminderPreference, ReminderSettings
from reminders.rules import RULE_BY_CODE, RULES
from reminders.selectors import thresholds_version

Closed = Reminder.Closed
KINDS = {kind for rule in RULES for kind in rule.kinds}


@dataclasses.dataclass
class Run:
    """What a run did (or, dry, would do)."""

    day: datetime.date
    created: list[Reminder] = dataclasses.field(default_factory=list)
    closed: list[Reminder] = dataclasses.field(default_factory=list)
    emails: list[EmailMessage] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)


def root_id_of(organisation: Organisation) -> int:
    return int(organisation.path.split("/")[0])


def thresholds_by_root() -> dict[int, ReminderSettings]:
    return {row.organisation_id: row for row in ReminderSettings.objects.all()}


def thresholds_for(organisation: Organisation, rows: dict[int, ReminderSettings]) -> ReminderSettings:
    return rows.get(root_id_of(organisation)) or ReminderSettings.defaults()


def acting_officers(day: datetime.date, *, user_ids=None) -> dict[Organisation, list[int]]:
    """The organisations (existing on ``day``) whose officers act on some rule, with the active users holding a post
    there that writes on ``day`` (only the users of ``user_ids`` when given)."""
    posts = Officer.objects.all() if user_ids is None else Officer.objects.filter(user_id__in=user_ids)
    posts = (
        posts.filter(started_on__lte=day, user__is_active=True, organisation__kind__in=KINDS)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))
        .exclude(role=Officer.Role.VIEWER)
        .filter(organisation__in=Organisation.objects.valid_on(day))
        .select_related("organisation")
        .order_by("organisation__path", "user_id")
    )
    by_organisation: dict[Organisation, list[int]] = defaultdict(list)
    for post in posts:
        by_organisation[post.organisation].append(post.user_id)
    return by_organisation


def _close(reminders: list[Reminder], reasons: dict[int, str], day: datetime.date) -> list[Reminder]:
    by_reason: dict[str, list[int]] = defaultdict(list)
    closed = []
    for reminder in reminders:
        reason = reasons.get(reminder.pk)
        if reason:
            by_reason[reason].append(reminder.pk)
            reminder.closed_on, reminder.closed_because = day, reason
            closed.append(reminder)
    for reason, pks in by_reason.items():
        Reminder.objects.filter(pk__in=pks, closed_on__isnull=True).update(closed_on=day, closed_because=reason)
    return closed


def close_gone(*, day: datetime.date, reminders: list[Reminder], officers: dict[Organisation, list[int]]):
    """Close the open ``reminders`` whose user no longer holds the post, or whose cause is gone on ``day``."""
    posts = {(user_id, organisation.pk) for organisation, user_ids in officers.items() for user_id in user_ids}
    reasons: dict[int, str] = {}
    groups: dict[tuple[str, Organisation], list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        if (reminder.user_id, reminder.organisation_id) not in posts:
            reasons[reminder.pk] = Closed.POST_ENDED
        else:
            groups[(reminder.rule, reminder.organisation)].append(reminder)
    for (code, organisation), group in groups.items():
        reasons.update(RULE_BY_CODE[code].closing(Committee(organisation), day, group))
    return _close(reminders, reasons, day)


def make_due(*, day: datetime.date, officers: dict[Organisation, list[int]]) -> list[Reminder]:
    """Make the reminders due on ``day`` that were not made before; returns the new ones (without primary keys)."""
    thresholds = thresholds_by_root()
    candidates: dict[tuple, Reminder] = {}
    for rule in RULES:
        for organisation, user_ids in officers.items():
            if organisation.kind not in rule.kinds:
                continue
            for due in rule.due(Committee(organisation), day, thresholds_for(organisation, thresholds)):
                for user_id in user_ids:
                    key = (user_id, rule.code, due.object_id, due.step)
                    candidates.setdefault(
                        key,
                        Reminder(
                            user_id=user_id,
                            organisation=organisation,
                            rule=rule.code,
                            object_id=due.object_id,
                            step=due.step,
                            details=due.details,
                            due_on=day,
                        ),
                    )
    if not candidates:
        return []
    user_ids = {key[0] for key in candidates}
    made = {
        (user_id, rule, object_id, step): (pk, because)
        for pk, user_id, rule, object_id, step, because in Reminder.objects.filter(user_id__in=user_ids).values_list(
            "pk", "user_id", "rule", "object_id", "step", "closed_because"
        )
    }
    new = [reminder for key, reminder in candidates.items() if key not in made]
    # The same cause reached through another post of the user (a post that followed a merger to the successor): the
    # reminder closed with the old post opens again at the new one, since it is made once per step.
    taken_over: dict[Organisation, list[int]] = defaultdict(list)
    for key, reminder in candidates.items():
        pk, because = made.get(key, (None, ""))
        if because == Closed.POST_ENDED:
            taken_over[reminder.organisation].append(pk)
    for organisation, pks in taken_over.items():
        Reminder.objects.filter(pk__in=pks, closed_because=Closed.POST_ENDED).update(
            organisation=organisation, closed_on=None, closed_because=""
        )
    states = email_states({reminder.user_id for reminder in new})
    for reminder in new:
        reminder.email = states.get(reminder.user_id, Reminder.Email.NOT_SENT)
    # A run overlapping this one may have made some meanwhile: the unique constraint keeps one of each.
    Reminder.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    return new


def close_superseded(*, day: datetime.date) -> list[Reminder]:
    """Close an open reminder when a later step of the same rule and object is open for the same user."""
    open_rows = list(
        Reminder.objects.filter(closed_on__isnull=True, rule__in=[r.code for r in RULES])
        .order_by("user_id", "rule", "object_id", "-due_on", "-pk")
        .only("pk", "user_id", "rule", "object_id", "due_on", "step", "organisation_id")
    )
    latest: set[tuple] = set()
    reasons = {}
    for reminder in open_rows:
        key = (reminder.user_id, reminder.rule, reminder.object_id)
        if key in latest:
            reasons[reminder.pk] = Closed.SUPERSEDED
        latest.add(key)
    return _close(open_rows, reasons, day)


def update_reminders(*, day: datetime.date) -> Run:
    """Close what is done and make what is due on ``day``."""
    run = Run(day=day)
    officers = acting_officers(day)
    open_rows = list(Reminder.objects.filter(closed_on__isnull=True).select_related("organisation"))
    run.closed = close_gone(day=day, reminders=open_rows, officers=officers)
    run.created = make_due(day=day, officers=officers)
    run.closed += close_superseded(day=day)
    return run


def close_gone_for(user, *, day: datetime.date) -> list[Reminder]:
    """Close the user's open reminders whose cause is gone (the reminders page, before it lists them)."""
    reminders = list(Reminder.objects.filter(user=user, closed_on__isnull=True).select_related("organisation"))
    if not reminders:
        return []
    officers = acting_officers(day, user_ids=[user.pk])
    return close_gone(day=day, reminders=reminders, officers=officers)


def run(*, day: datetime.date, dry_run: bool = False) -> Run:
    """One run of ``send_reminders``; ``dry_run``: compute everything, send nothing, change nothing."""
    with transaction.atomic():
        result = update_reminders(day=day)
        if dry_run:
            result.emails, result.failures = deliver(day=day, send=False)
            transaction.set_rollback(True)
            return result
    result.emails, result.failures = deliver(day=day)
    return result


# -- what a user does on the pages ------------------------------------------------------------------------------------


def reminders_mark_read(*, reminders: QuerySet[Reminder]) -> int:
    """Mark ``reminders`` read; one read again keeps the time it was first read."""
    return reminders.filter(read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def reminder_preference_set(*, user, email: str, delivery: str) -> None:
    """The user's e-mail address and how they want their reminders by e-mail."""
    user.email = email
    user.save(update_fields=["email"])
    ReminderPreference.objects.update_or_create(user=user, defaults={"delivery": delivery})


def reminder_settings_set(*, settings: ReminderSettings, by, version: int) -> ReminderSettings:
    """Save the thresholds of a root (validated by the form: ``full_clean`` of the model), recording who did.

    ``version`` is the saved state the user's page showed (``selectors.thresholds_version``): when a colleague saved
    since, nothing is saved (``ValidationError``), since saving every field of the page would undo their change.
    """
    changed_meanwhile = ValidationError(
        _(
            "Someone else changed the thresholds while you were editing: the page now shows what is saved; make "
            "your change again."
        ),
        code="changed_meanwhile",
    )
    try:
        with transaction.atomic():
            # The row lock orders two saves; the first save of a root has no row: its unique key orders them.
            list(ReminderSettings.objects.select_for_update().filter(organisation_id=settings.organisation_id))
            if thresholds_version(settings.organisation) != version:
                raise changed_meanwhile
            settings.recorded_by = by
            settings.save()
    except IntegrityError as error:
        raise changed_meanwhile from error
    return settings
