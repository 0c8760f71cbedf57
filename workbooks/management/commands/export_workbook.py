import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.models import AccessLog
from audit.services import record_access
from branches.models import Organisation
from workbooks.exporting import write_workbook
from workbooks.layout import MEMBERS, REFERRALS, SHEETS


class Command(BaseCommand):
    help = (
        "Write the committees' workbook (sheets Tổ chức, Đảng viên, Quá trình sinh hoạt, Giới thiệu, Chuyển chi bộ "
        "nơi cư trú) in the layout import_workbook reads: every organisation, member (with the history of their "
        "homes) and referral (with its re-placements), or those of one organisation's subtree (with the outside "
        "organisations and their members)."
    )

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", required=True, help="The .xlsx file to write.")
        parser.add_argument(
            "--org", default=None, help="The code of the organisation whose subtree is written, e.g. DH (default: all)."
        )

    def handle(self, *args, output, org, **options):
        organisation = None
        if org is not None:
            organisation = Organisation.objects.filter(code=org).first()
            if organisation is None:
                raise CommandError(f"No organisation has the code {org!r}.")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"The folder of {output!r} does not exist.")
        started = time.perf_counter()
        counts = write_workbook(path, organisation=organisation)
        seconds = time.perf_counter() - started
        record_access(
            kind=AccessLog.Kind.WORKBOOK_EXPORT,
            by=None,
            organisation=organisation,
            subject=path.name,
            rows=counts[MEMBERS.key] + counts[REFERRALS.key],
        )
        scope = f"{organisation.name} ({organisation.code})" if organisation is not None else "all organisations"
        rows = ", ".join(f"{sheet.title}: {counts[sheet.key]}" for sheet in SHEETS)
        self.stdout.write(f"{path}: {scope} — {rows} rows, written in {seconds:.1f} s.")
