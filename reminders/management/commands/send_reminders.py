"""``manage.py send_reminders [--dry-run] [--today YYYY-MM-DD]``: make the reminders due, close those done, e-mail.

Run it hourly (docs/reminders.md): each reminder is made once per user, rule, object and step, and each e-mail sent
once, however often it runs. The exit status is 1 when some e-mail could not be sent (they stay pending for the next
run), so that the timer's failure shows in ``systemctl --failed`` and cron mails its output.
"""

import datetime
from collections import Counter

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reminders import texts
from reminders.services import Run, run


def parse_day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError as error:
        raise CommandError(f"--today {value!r} is not a day: write it YYYY-MM-DD, e.g. 2026-11-30.") from error


class Command(BaseCommand):
    help = (
        "Make the reminders due today, close those whose cause is gone, and e-mail them as each user prefers. "
        "Safe to run as often as you like: nothing is made or sent twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what it would make, close and send; change and send nothing."
        )
        parser.add_argument("--today", metavar="YYYY-MM-DD", help="Run as of this day instead of today.")

    def handle(self, *args, dry_run: bool, today: str | None, verbosity: int, **options):
        day = timezone.localdate() if today is None else parse_day(today)
        result = run(day=day, dry_run=dry_run)
        self.report(result, dry_run=dry_run, detailed=dry_run or verbosity >= 2, quiet=verbosity == 0)
        if result.failures:
            raise CommandError(
                f"{len(result.failures)} e-mail failure(s); those reminders stay pending and the next run retries."
            )

    def report(self, result: Run, *, dry_run: bool, detailed: bool, quiet: bool) -> None:
        would = "would " if dry_run else ""
        for failure in result.failures:
            self.stderr.write(f"e-mail failed: {failure}")
        if quiet:
            return
        heading = f"send_reminders {result.day.isoformat()}"
        self.stdout.write(heading + (" (dry run: nothing is changed or sent)" if dry_run else ""))
        ids = {r.user_id for r in result.created} | {r.user_id for r in result.closed}
        names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))

        self.stdout.write(f"{would}make {len(result.created)} reminder(s)")
        for rule, count in sorted(Counter(r.rule for r in result.created).items()):
            self.stdout.write(f"  {rule}: {count}")
        if detailed:
            for r in result.created:
                self.stdout.write(f"    {names.get(r.user_id)}: {r.rule} #{r.object_id} ({r.step}) {texts.sentence(r)}")

        self.stdout.write(f"{would}close {len(result.closed)} reminder(s)")
        for reason, count in sorted(Counter(r.closed_because for r in result.closed).items()):
            self.stdout.write(f"  {reason}: {count}")
        if detailed:
            for r in result.closed:
                self.stdout.write(f"    {names.get(r.user_id)}: {r.rule} #{r.object_id} ({r.closed_because})")

        self.stdout.write(f"{would}send {len(result.emails)} e-mail(s)")
        for message in result.emails:
            self.stdout.write(f"  {', '.join(message.to)}: {message.subject}")

        summary = (
            f"{result.day.isoformat()}: {would}make {len(result.created)}, {would}close {len(result.closed)}, "
            f"{would}send {len(result.emails)} e-mail(s)"
        )
        if result.failures:
            summary += f", {len(result.failures)} failed"
        self.stdout.write(summary, self.style.ERROR if result.failures else self.style.SUCCESS)
