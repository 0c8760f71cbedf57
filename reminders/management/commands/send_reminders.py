"""``manage.py send_reminders [--dry-run] [--today YYYY-MM-DD]``: make the reminders due, close those done, e-mail.

Run it hourly (docs/reminders.md): each reminder is made once per user, rule, object and step, and each e-mail sent
once, however often it runs.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reminders import texts
from reminders.services import run


class Command(BaseCommand):
    help = "Make the reminders due today, close those whose cause is gone, and send the e-mails."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what it would do; change and send nothing.")
        parser.add_argument("--today", help="Run as of this day (YYYY-MM-DD) instead of today.")

    def handle(self, *args, dry_run, today, **options):
        day = timezone.localdate()
        if today:
            try:
                day = datetime.date.fromisoformat(today)
            except ValueError as error:
                raise CommandError(f"--today {today!r}: not a day of the form YYYY-MM-DD.") from error
        result = run(day=day, dry_run=dry_run)
        prefix = "would " if dry_run else ""
        ids = {r.user_id for r in result.created} | {r.user_id for r in result.closed}
        names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
        for reminder in result.created:
            self.stdout.write(
                f"{prefix}remind {names.get(reminder.user_id)}: {reminder.rule} {reminder.object_id} ({reminder.step})"
                f" – {texts.sentence(reminder)}"
            )
        for reminder in result.closed:
            self.stdout.write(
                f"{prefix}close #{reminder.pk} of {names.get(reminder.user_id)}: {reminder.rule} {reminder.object_id}"
                f" ({reminder.closed_because})"
            )
        for message in result.emails:
            self.stdout.write(f"{prefix}e-mail {', '.join(message.to)}: {message.subject}")
        for failure in result.failures:
            self.stderr.write(f"failed to e-mail {failure}")
        self.stdout.write(
            f"{day.isoformat()}: {prefix}make {len(result.created)}, {prefix}close {len(result.closed)}, "
            f"{prefix}send {len(result.emails)} e-mail(s)"
            + (f", {len(result.failures)} failed" if result.failures else "")
        )
        if result.failures:
            raise CommandError(f"{len(result.failures)} e-mail(s) could not be sent; they stay pending.")
