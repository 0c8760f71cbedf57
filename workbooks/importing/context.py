"""What every phase of an import shares: who imports (and where they may write), the problems found, the counts."""

import dataclasses
from collections.abc import Callable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from dongha76.services import User
from workbooks.importing.scope import ImportScope
from workbooks.layout import Sheet
from workbooks.reading import CellError, Problem, Row, SheetData, as_text, cell_value

BATCH = 1000


@dataclasses.dataclass
class SheetCounts:
    create: int = 0
    update: int = 0
    unchanged: int = 0
    rows: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RowOutcome:
    """What one row of a sheet creates or changes, for the preview: its key as the sheet shows it, and for an update
    each field that changes as (column header, before, after), the values as text."""

    sheet: str  # the sheet's key
    row: int
    key: str
    kind: str  # "create" or "update"
    changes: tuple[tuple[str, str, str], ...] = ()


class ImportContext:
    """The importer, their scope, and the problems, counts and row outcomes gathered by the phases."""

    def __init__(
        self,
        *,
        by: User | None,
        scope: ImportScope,
        reason: str,
        dry_run: bool = False,
        update_existing: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ):
        self.by = by
        self.scope = scope
        self.reason = reason
        self.dry_run = dry_run
        # Whether rows of organisations and members already recorded may change them (the upload form's tick).
        self.update_existing = update_existing
        self.on_progress = progress  # (step, done, total), called now and then while the rows are checked
        self.outcomes: list[RowOutcome] = []
        # Answers that told the importer a national ID belongs to a member they do not see (members phase).
        self.national_ids_found = 0
        self.problems: list[Problem] = []
        self.counts: dict[str, SheetCounts] = {}
        self.failed_rows: dict[str, set[int]] = {}

    # -- writing: the rows are written even when another row has a problem (the whole import is then rolled back),
    # so that the next sheet is checked against the database as it would be. A dry run (the preview) is rolled back
    # whatever happens: its rows need no history, and history is a third of the preview's time.

    def create(self, objects: list, model, *, batch_size: int = BATCH) -> None:
        if self.dry_run:
            model.objects.bulk_create(objects, batch_size=batch_size)
        else:
            bulk_create_with_history(
                objects, model, batch_size=batch_size, default_user=self.by, default_change_reason=self.reason
            )

    def update(self, objects: list, model, fields: list[str], *, batch_size: int = BATCH) -> None:
        if self.dry_run:
            model.objects.bulk_update(objects, fields, batch_size=batch_size)
        else:
            bulk_update_with_history(
                objects, model, fields, batch_size=batch_size, default_user=self.by, default_change_reason=self.reason
            )

    def outcome(self, sheet: Sheet, row: Row, key: str, kind: str, changes=()) -> None:
        """Record what a row creates ("create") or changes ("update", with its (header, before, after) changes)."""
        self.outcomes.append(RowOutcome(sheet.key, row.number, key, kind, tuple(changes)))

    def problem(self, sheet: Sheet, row: Row | None, column: str, message) -> None:
        self.problems.append(Problem(sheet.title, row.number if row else None, column, message))
        if row is not None:
            self.failed_rows.setdefault(sheet.key, set()).add(row.number)

    def header(self, sheet: Sheet, key: str) -> str:
        return sheet.column(key).header

    def values(self, data: SheetData, row: Row) -> dict | None:
        """The row's cells as values, or None after recording the problem of each cell that is not valid."""
        values, ok = {}, True
        for key, raw in row.cells.items():
            column = data.sheet.column(key)
            try:
                values[key] = cell_value(column, raw)
            except CellError as exc:
                self.problem(data.sheet, row, column.header, exc.message)
                ok = False
        return values if ok else None

    def validation_problems(self, sheet: Sheet, row: Row, exc: ValidationError, columns: dict[str, str]) -> None:
        """A service's or a model's field-keyed errors, each on the column that holds the field."""
        for field, errors in exc.update_error_dict({}).items():
            header = columns.get(field) or (sheet.columns[0].header if field == NON_FIELD_ERRORS else field)
            for error in errors:
                for message in error.messages if hasattr(error, "messages") else [str(error)]:
                    self.problem(sheet, row, header, message)

    def duplicate(self, sheet: Sheet, row: Row, column: str, first: int) -> None:
        self.problem(
            sheet, row, column, _("The same value already appears on row %(row)s of this sheet.") % {"row": first}
        )

    def keyed_rows(self, data: SheetData, key: str, failed: set[str]) -> dict[str, tuple[Row, dict]]:
        """The rows of a sheet by their key, with their cells as values. A row with a problem, or whose key appeared
        before, is reported and left out, and its key joins ``failed`` (the later sheets say nothing more of it)."""
        rows: dict[str, tuple[Row, dict]] = {}
        seen: dict[str, int] = {}  # key -> first row, for rows with or without a problem
        header = data.sheet.column(key).header
        for row in data.rows:
            values = self.values(data, row)
            value = values[key] if values else as_text(row.cells.get(key))
            if value and value in seen:
                self.duplicate(data.sheet, row, header, seen[value])
                failed.add(value)
                rows.pop(value, None)
                continue
            seen[value] = row.number
            if values is None:
                failed.add(value)
            elif not value:
                self.problem(data.sheet, row, header, _("This cell must not be blank."))
            else:
                rows[value] = (row, values)
        return rows
