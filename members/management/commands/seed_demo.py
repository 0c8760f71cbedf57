import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from members.demo.builder import (
    DEMO_PASSWORD,
    DEMO_USERS,
    DemoDataError,
    clear_domain_data,
    domain_row_counts,
    seed_demo,
)


class Command(BaseCommand):
    help = "Load the Đông Hà demo data (the seed article's figures as of 30/09/2018) and the demo users."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=76, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            default=None,
            help="Build the story up to this day (YYYY-MM-DD) instead of today.",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--reset", action="store_true", help="Delete all organisations and members first.")
        mode.add_argument(
            "--if-empty", action="store_true", help="Do nothing (and succeed) when the database already has data."
        )

    def handle(self, *args, seed, today, reset, if_empty, **options):
        today = today or timezone.localdate()
        counts = domain_row_counts()
        if any(counts.values()) and not reset:
            if if_empty:
                self.stdout.write("The database already has data; demo data not loaded.")
                return
            raise CommandError(
                "The database is not empty ({organisations} organisations, {members} members, {referrals} referrals). "
                "Run with --reset to delete them and load the demo data again.".format(**counts)
            )
        started = time.monotonic()
        try:
            with transaction.atomic():
                if reset:
                    clear_domain_data()
                result = seed_demo(seed=seed, today=today)
        except DemoDataError as error:
            raise CommandError(str(error)) from error
        with connection.cursor() as cursor:
            # Fresh statistics for the query planner: without them PostgreSQL plans the first pages over ~250,000
            # new rows as if the tables were empty (seconds instead of tenths).
            cursor.execute("ANALYZE")
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {seconds:.1f} s: {result.organisations} organisations, {result.members} members, "
                f"{result.referrals} referrals, {result.meetings} meetings, {result.attendances} attendances, "
                f"{result.comments} comments, {result.ratings} ratings."
            )
        )
        self.stdout.write("As of 30/09/2018: " + ", ".join(f"{k} {v}" for k, v in result.figures.items()))
        self.stdout.write(f"Demo users (password {DEMO_PASSWORD}): {', '.join(DEMO_USERS)}")
