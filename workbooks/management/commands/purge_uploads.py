import datetime

from django.core.management.base import BaseCommand, CommandError

from workbooks.exports import purge_expired
from workbooks.services import KEEP_FILES_FOR, upload_files_purge


class Command(BaseCommand):
    help = (
        "Delete the uploaded import workbooks (they hold national IDs) older than 7 days; the records of who imported "
        "what stay; and the yearly report workbooks prepared in the background that have expired (kept one day). "
        "Run it daily (docs/import.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=KEEP_FILES_FOR.days,
            help=f"Purge the files uploaded more than this many days ago (default {KEEP_FILES_FOR.days}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say how many files would be purged; change nothing."
        )

    def handle(self, *args, days, dry_run, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        count, size = upload_files_purge(older_than=datetime.timedelta(days=days), dry_run=dry_run)
        what = f"{count} uploaded file(s) older than {days} day(s) ({size / (1024 * 1024):.1f} MB)"
        exports, exports_size = purge_expired(dry_run=dry_run)
        expired = f"{exports} expired report workbook(s) ({exports_size / (1024 * 1024):.1f} MB)"
        if dry_run:
            self.stdout.write(f"Would purge {what} and {expired}; nothing changed (dry run).")
        else:
            self.stdout.write(f"Purged {what}; their import records are kept. Purged {expired}.")
