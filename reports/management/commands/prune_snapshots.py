import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import snapshots
from reports.steps import MAX_STEP_DAYS

DEFAULT_KEEP_DAYS = 2 * MAX_STEP_DAYS


class Command(BaseCommand):
    help = (
        "Delete the stored figures of past days (reports_figuresnapshot, reports_reportsnapshot) older than "
        "--keep-days, but the headlines of 31 December (the dashboards' trend). Safe at any time: a day without a "
        "stored row is computed again when asked. Run it from cron, e.g. weekly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-days",
            dest="keep_days",
            default=str(DEFAULT_KEEP_DAYS),
            help=f"Keep the days of the last N days (default {DEFAULT_KEEP_DAYS}: a stored day serves the "
            f"{MAX_STEP_DAYS} days after it).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count the rows that would be deleted.")

    def handle(self, *args, keep_days, dry_run, **options):
        try:
            days = int(keep_days)
        except ValueError:
            days = -1
        if days < 1:
            raise CommandError(f"--keep-days must be a whole number of days, 1 or more (not {keep_days!r}).")
        before = timezone.localdate() - datetime.timedelta(days=days)
        pruned = snapshots.prune(before, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {pruned.total} stored rows of days before {before:%Y-%m-%d}: {pruned.headlines} headlines, "
            f"{pruned.report_parts} report parts (31 December's headlines kept)."
        )
