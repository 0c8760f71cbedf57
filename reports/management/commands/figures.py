import json

from django.core.management.base import BaseCommand, CommandError

from branches.models import Organisation
from dongha76.db_router import reading_replica
from dongha76.periods import PeriodError, parse_iso_day, parse_year
from reports.report import build_report, report_as_json


class Command(BaseCommand):
    help = "Print the figures of an organisation and its subtree as of a day (a table, or JSON with --json)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organisation's code, e.g. DH.")
        parser.add_argument("--as-of", dest="as_of", required=True, help="The day, YYYY-MM-DD.")
        parser.add_argument("--year", default=None, help="The year of the comment round, YYYY (default: as-of's).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    @reading_replica()
    def handle(self, *args, org, as_of, year, **options):
        try:
            day = parse_iso_day(as_of)
        except PeriodError as error:
            raise CommandError(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}: {error}") from error
        if day is None:
            raise CommandError(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}.")
        try:
            year = parse_year(year)
        except PeriodError as error:
            raise CommandError(f"--year must be a year YYYY, not {year!r}: {error}") from error
        organisation = Organisation.objects.filter(code=org).first()
        if organisation is None:
            raise CommandError(f"No organisation has the code {org!r}.")
        data = report_as_json(build_report(organisation, day, year=year))
        if options["json"]:
            self.stdout.write(_dumps(data))
            return
        self.stdout.write(f"{organisation.name} ({organisation.code}) as of {day:%d/%m/%Y}")
        for key, value in data.items():
            if isinstance(value, dict | list) or key in ("organisation", "as_of"):
                continue
            self.stdout.write(f"  {key:<26} {'-' if value is None else value}")
        meetings = data["meetings"]
        for half in meetings["half_years"]:
            self.stdout.write(f"  meetings {half['half_year']:<17} {half['cells_held']} of {half['cells_due']} cells")
        comments = data["comments"]
        self.stdout.write(
            f"  comments {comments['year']:<17} due {comments['due']}, written {comments['written']}, "
            f"sent {comments['sent']} ({comments['late']} late), received {comments['received']}, "
            f"missing {comments['missing']}"
        )


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
