import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.models import AccessLog
from audit.services import record_access
from branches.models import Organisation
from dongha76.db_router import reading_replica
from reports.workbook import BadRequest, parse_period, write_workbook


class Command(BaseCommand):
    help = (
        "Write the yearly Excel workbook of an organisation and its subtree: the summary per grassroots organisation, "
        "the referrals, meetings and comments of the year."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organisation's code, e.g. DH.")
        parser.add_argument("--year", required=True, help="The year, YYYY.")
        parser.add_argument(
            "--as-of",
            dest="as_of",
            default=None,
            help="The day, YYYY-MM-DD, within the year (default: 31/12 of the year, or today in the current year).",
        )
        parser.add_argument("-o", "--output", required=True, help="The .xlsx file to write.")

    def handle(self, *args, org, year, as_of, output, **options):
        try:
            year_number, day = parse_period(year, as_of, timezone.localdate())
        except BadRequest as error:
            raise CommandError(f"{error} (--year {year!r}, --as-of {as_of!r}).") from error
        organisation = Organisation.objects.filter(code=org).first()
        if organisation is None:
            raise CommandError(f"No organisation has the code {org!r}.")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"The folder of {output!r} does not exist.")
        started = datetime.datetime.now()
        with reading_replica():
            written = write_workbook(organisation, year_number, day, path)
        seconds = (datetime.datetime.now() - started).total_seconds()
        record_access(
            kind=AccessLog.Kind.REPORT_EXPORT,
            by=None,
            organisation=organisation,
            subject=f"{path.name}: {year_number}, {day:%d/%m/%Y}",
            rows=written.data_rows,
        )
        report = written.report
        headline = report.headline
        self.stdout.write(
            f"{path}: {organisation.name} ({organisation.code}), {year_number} as of {day:%d/%m/%Y} — "
            f"{headline.members} members, {headline.introduced}/{headline.eligible} introduced "
            f"({'-' if headline.referral_rate is None else headline.referral_rate}%), written in {seconds:.1f} s."
        )
