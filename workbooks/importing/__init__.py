"""Importing the committees' workbook: all or nothing, with every problem at once.

The sheets are taken in order (organisations, members and their homes, referrals and their placements) inside one
transaction; each phase checks all its rows and writes those without a problem, so that the next phase is checked
against the database as it would be. At the end, if anything was wrong, or for a preview (``dry_run``), the
transaction is rolled back: a preview is the import itself, undone, so what it promises is what the import does.
"""

import dataclasses
import logging
from typing import IO

from django.db import DatabaseError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.models import AccessLog
from audit.services import record_access
from branches.access import Access
from dongha76.garbage import collected_rarely
from dongha76.periods import one_day
from dongha76.services import User
from workbooks.importing.context import FINISHING, READING, UPDATE_NOT_TICKED, ImportContext, RowOutcome, SheetCounts
from workbooks.importing.homes import HomePhase
from workbooks.importing.members import MemberPhase
from workbooks.importing.organisations import OrganisationPhase
from workbooks.importing.placements import PlacementPhase
from workbooks.importing.referrals import ReferralPhase, check_open_referrals
from workbooks.importing.scope import ImportScope
from workbooks.layout import SHEETS
from workbooks.reading import Problem, WorkbookRefused, read_workbook

__all__ = ["ImportResult", "ImportScope", "WorkbookRefused", "import_workbook"]

SHEET_ORDER = {sheet.title: index for index, sheet in enumerate(SHEETS)}
SHEET_ORDER_BY_KEY = {sheet.key: index for index, sheet in enumerate(SHEETS)}
CONCURRENT_CHANGE = _(
    "Someone else changed the same members or referrals while this workbook was being imported; nothing was "
    "imported. Check the workbook again."
)
logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ImportResult:
    problems: list[Problem]
    counts: dict[str, SheetCounts]
    applied: bool
    header_rows: dict[str, int]  # sheet title -> the row of its headers (0: not found)
    outcomes: list[RowOutcome] = dataclasses.field(default_factory=list)  # the rows that create or change something
    journal: object = None  # an applied import's ``workbooks.undo.Journal`` (what it wrote), for ``store_journal``

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_as_dicts(self) -> list[dict]:
        return [problem.as_dict() for problem in self.problems]

    def counts_as_dict(self) -> dict:
        return {key: counts.as_dict() for key, counts in self.counts.items()}


def import_workbook(
    upload: IO[bytes],
    *,
    by: User | None,
    access: Access | None = None,
    dry_run: bool = False,
    file_name: str = "",
    size: int | None = None,
    update_existing: bool = False,
    progress=None,
) -> ImportResult:
    """Check the workbook and, when nothing is wrong and it is not a dry run, write it in one transaction.

    ``access`` limits the import to the importer's part of the tree (None: everything, as for the command line).
    Raises ``WorkbookRefused`` for a file that cannot be read at all; every other problem is in the result.
    ``progress(step, done, total)``, if given, is told how far it is now and then: step ``reading`` (total: the rows
    the file claims, 0 when unknown), then the key of each sheet being checked (done and total: rows of every
    sheet; a row counts a third once its values are read, another once checked, the last once written), then
    ``finishing``.
    """
    # Every date of every row is read and checked against the same day, read once; the rows and models the import
    # keeps to its end are not walked again and again by the garbage collector.
    with one_day(), collected_rarely():
        return _import(
            upload,
            by=by,
            access=access,
            dry_run=dry_run,
            file_name=file_name,
            size=size,
            update_existing=update_existing,
            progress=progress,
        )


def _import(upload, *, by, access, dry_run, file_name, size, update_existing, progress) -> ImportResult:
    scope = ImportScope.of(access, by)
    if not scope.may_import:
        raise WorkbookRefused(
            _(
                "Importing workbooks is for city committee staff and the officers of grassroots committees, "
                "grassroots cells and wards."
            )
        )
    # While reading, the rows expected are only what the file claims: none once more have been read.
    reading = (lambda done, expected: progress(READING, done, expected if expected > done else 0)) if progress else None
    sheets, layout_problems = read_workbook(upload, size=size, progress=reading)
    reason = (
        gettext("Imported from the workbook %(name)s") % {"name": file_name}
        if file_name
        else gettext("Imported from a workbook")
    )
    context = ImportContext(
        by=by,
        scope=scope,
        reason=reason[:100],
        dry_run=dry_run,
        update_existing=update_existing,
        progress=progress,
    )
    context.problems.extend(layout_problems)
    context.rows_total = sum(len(data.rows) for data in sheets.values())
    with transaction.atomic():
        try:
            with transaction.atomic():
                organisations = OrganisationPhase(context, sheets.get("organisations"))
                organisations.run()
                context.passed(sheets.get("organisations"))  # checked and written
                context.passed(sheets.get("organisations"))
                # A dated history is checked with its owners as they would be, released before they are written
                # (the triggers refuse a current place that its open period contradicts) and written after them.
                members = MemberPhase(context, sheets.get("members"), organisations)
                members.check()
                context.passed(sheets.get("members"))
                homes = HomePhase(context, sheets.get("homes"), organisations, members)
                homes.check()
                context.passed(sheets.get("homes"))
                homes.release()
                members.write()
                context.passed(sheets.get("members"))
                homes.write()
                context.passed(sheets.get("homes"))
                referrals = ReferralPhase(context, sheets.get("referrals"), organisations, members)
                referrals.check()
                context.passed(sheets.get("referrals"))
                placements = PlacementPhase(context, sheets.get("placements"), organisations, members, referrals)
                placements.check()
                context.passed(sheets.get("placements"))
                placements.release()
                referrals.write()
                context.passed(sheets.get("referrals"))
                placements.write()
                context.passed(sheets.get("placements"))
                context.report(FINISHING)
                check_open_referrals(context, members, referrals)
                # As it would be: what was written is still the importer's (a ward's new member of an outside
                # organisation is referred to the ward, say).
                members.check_written()
                referrals.check_written()
        except DatabaseError:
            # Our checks passed but the database refused: another user or import wrote the same rows at the same
            # moment. Its own words name tables and values: they are for the log, not for the user.
            logger.warning("A workbook import was refused by the database", exc_info=True)
            context.problems.append(Problem("", None, "", CONCURRENT_CHANGE))
        applied = not context.problems and not dry_run
        if not applied:
            transaction.set_rollback(True)
    if context.national_ids_found:
        # Written after the transaction, which a refused workbook or a preview rolls back: the answer was given.
        record_access(
            kind=AccessLog.Kind.NATIONAL_ID_FOUND, by=by, subject=file_name or reason, rows=context.national_ids_found
        )
    problems = sorted(context.problems, key=lambda p: (SHEET_ORDER.get(p.sheet, -1), p.row or 0))
    header_rows = {data.sheet.title: data.header_row for data in sheets.values()}
    # A row with a problem shows its problem, not what it would change (a row told only later, once every sheet is
    # written, was recorded before it was found wrong); but an update refused only for want of the tick shows its
    # changes: they are what the importer decides on.
    titles = {sheet.key: sheet.title for sheet in SHEETS}
    refused_rows = {(p.sheet, p.row) for p in context.problems if p.message is not UPDATE_NOT_TICKED}
    outcomes = sorted(
        (o for o in context.outcomes if (titles.get(o.sheet), o.row) not in refused_rows),
        key=lambda o: (SHEET_ORDER_BY_KEY.get(o.sheet, -1), o.row),
    )
    return ImportResult(
        problems=problems,
        counts=context.counts,
        applied=applied,
        header_rows=header_rows,
        outcomes=outcomes,
        journal=context.journal if applied else None,
    )
