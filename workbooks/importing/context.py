"""What every phase of an import shares: who imports (and where they may write), the problems found, the counts."""

import contextlib
import dataclasses
from collections.abc import Callable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_create_with_history, get_history_manager_for_model

from dongha76.services import User
from workbooks.importing import copying
from workbooks.importing.changes import key_text
from workbooks.importing.scope import ImportScope
from workbooks.layout import Sheet
from workbooks.reading import CellError, Problem, Row, SheetData, as_text, cell_reader, cell_value

BATCH = 1000
PERIODS_BATCH = 2000
DEPENDS_ON = _("This row depends on row %(row)s of the sheet “%(sheet)s”, which has a problem; fix that row first.")
# The upload form's tick "cập nhật những dòng đã có" (issue 12: "đã có; chọn cập nhật nếu muốn sửa").
UPDATE_NOT_TICKED = _("Already recorded; tick “update existing rows” to change it.")


def update_rows(objects: list, model, fields: list[str], *, batch_size: int = BATCH) -> None:
    """``bulk_update(objects, fields)``, written as one ``UPDATE ... WHERE id IN (...)`` for each set of values the
    objects share when they share them (the referrals a merger re-placed take a few dozen cells between thousands):
    Django's CASE of one WHEN per object and field was built and compiled for each of them (the demo's 6,387
    re-placed referrals, with their history: 3.0 of the 14.5 s of its import into an empty database on SQLite; 1.1 s
    by cell). Objects whose values mostly differ are left to ``bulk_update``.
    Like it, the values are written as the objects hold them (no ``auto_now``, no signals)."""
    if not objects:
        return
    columns = [model._meta.get_field(name).attname for name in fields]
    groups: dict[tuple, list] = {}
    try:
        for obj in objects:
            groups.setdefault(tuple(getattr(obj, column) for column in columns), []).append(obj.pk)
    except TypeError:  # a value that cannot be a key (a JSON field's dict): no sharing to find
        groups = {}
    if not groups or len(groups) * 2 > len(objects):
        model._base_manager.bulk_update(objects, fields, batch_size=batch_size)
        return
    step = min(batch_size, connection.ops.bulk_batch_size(["pk"], objects))
    for values, keys in groups.items():
        changes = dict(zip(columns, values, strict=True))
        for start in range(0, len(keys), step):
            model._base_manager.filter(pk__in=keys[start : start + step]).update(**changes)


class Failed(set):
    """The keys of the rows of a sheet that have a problem, each with the number of its (first) refused row: a row of
    a later sheet that depends on one names that row. A key added without a row (a row not to be named) has none."""

    def __init__(self, *args):
        super().__init__(*args)
        self.rows: dict = {}

    def add(self, key, row: "Row | int | None" = None) -> None:
        super().add(key)
        if row is not None:
            self.rows.setdefault(key, row if isinstance(row, int) else row.number)


PROGRESS_EVERY = 200  # rows between two reports of the progress: a report costs nothing, a row a few µs
# The work on a row, for the progress: its values, its check, its writing (each about as long, measured on 20,000
# members; the values are the quickest).
PASSES = 3
# The steps of an import's progress besides its sheets (whose step is the sheet's key).
READING, FINISHING = "reading", "finishing"


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
        # The rows of every sheet (set once the workbook is read) and the work done on them, in passes over a row
        # (``PASSES`` a row): each phase takes its sheet's values once a row (``values``), then checks its rows and
        # writes them (``passed``, a sheet at a time: the phases' own loops say nothing).
        self.rows_total = 0
        self.passes_done = 0
        self.step = ""
        self.outcomes: list[RowOutcome] = []
        # Answers that told the importer a national ID belongs to a member they do not see (members phase).
        self.national_ids_found = 0
        self.problems: list[Problem] = []
        self.counts: dict[str, SheetCounts] = {}
        self.failed_rows: dict[str, set[int]] = {}
        self._readers: dict[str, dict] = {}  # sheet key -> column key -> (its cells' reader, its header)
        # The rows written, for the undo (``workbooks.undo``); none for a dry run, which is rolled back anyway.
        self.journal = None
        if not dry_run:
            from workbooks.undo import Journal  # workbooks.undo asks this package for the import's scope

            self.journal = Journal()

    # -- writing: the rows are written even when another row has a problem (the whole import is then rolled back),
    # so that the next sheet is checked against the database as it would be. A dry run (the preview) is rolled back
    # whatever happens: its rows need no history, and history is a third of the preview's time.

    def create(self, objects: list, model, *, batch_size: int = BATCH) -> None:
        if objects and copying.usable(model) and all(obj.pk is None for obj in objects):
            # PostgreSQL: one COPY for the rows and one for their history (issue 15); the same rows as below.
            copying.copy_create(objects, model, history=not self.dry_run, user=self.by, reason=self.reason)
            self.created(model, objects)
            return
        if self.dry_run:
            model.objects.bulk_create(objects, batch_size=batch_size)
        else:
            bulk_create_with_history(
                objects, model, batch_size=batch_size, default_user=self.by, default_change_reason=self.reason
            )
            self.created(model, objects)

    def insert(self, objects: list, model) -> None:
        """New rows of a model without history of its own (the periods of a home or a placement), in the order
        given (the database's triggers want each owner's periods in the order of their start)."""
        if objects and copying.usable(model) and all(obj.pk is None for obj in objects):
            copying.copy_create(objects, model, history=False)
        else:
            model.objects.bulk_create(objects, batch_size=PERIODS_BATCH)
        self.created(model, objects)

    def update(self, objects: list, model, fields: list[str], *, batch_size: int = BATCH) -> None:
        if self.dry_run:
            update_rows(objects, model, fields, batch_size=batch_size)
            return
        with self.updating(model, objects), transaction.atomic(savepoint=False):
            update_rows(objects, model, fields, batch_size=batch_size)
            if copying.usable(model):
                # One COPY (PostgreSQL) or INSERT run (SQLite), as for new rows: ``bulk_history_create`` built a
                # historical instance of each row (the demo's re-placed referrals: 1.1 → 0.7 s with their update).
                copying.copy_history(objects, model, user=self.by, reason=self.reason, update=True)
            else:
                get_history_manager_for_model(model).bulk_history_create(
                    objects,
                    batch_size=batch_size,
                    update=True,
                    default_user=self.by,
                    default_change_reason=self.reason,
                )

    # -- the journal of an applied import (``workbooks.undo``); nothing for a dry run

    def created(self, model, objects) -> None:
        if self.journal is not None:
            self.journal.created(model, objects)

    def updating(self, model, objects):
        """Around a write that updates ``objects``: their values before it are journalled once it succeeded."""
        return self.journal.updating(model, list(objects)) if self.journal is not None else contextlib.nullcontext()

    def deleting(self, model, owner_field: str, owner_pks) -> None:
        """Before the rows of the owners ``owner_pks`` are deleted."""
        if self.journal is not None:
            self.journal.deleting(model, owner_field, owner_pks)

    def outcome(self, sheet: Sheet, row: Row, key: str, kind: str, changes=()) -> None:
        """Record what a row creates ("create") or changes ("update", with its (header, before, after) changes)."""
        self.outcomes.append(RowOutcome(sheet.key, row.number, key, kind, tuple(changes)))

    def problem(self, sheet: Sheet, row: Row | None, column: str, message) -> None:
        key = row_key(sheet, row) if row is not None else ""
        self.problems.append(Problem(sheet.title, row.number if row else None, column, message, key))
        if row is not None:
            self.failed_rows.setdefault(sheet.key, set()).add(row.number)

    def depends(self, sheet: Sheet, row: Row, column: str, on: Sheet, failed: Failed, key) -> None:
        """The row cannot be checked whole because the row of ``on`` it depends on (``key`` of ``failed``) has a
        problem: say which. A refused row that is not to be named (``Failed.add`` without a row) is not named."""
        number = failed.rows.get(key)
        if number is not None:
            self.problem(sheet, row, column, DEPENDS_ON % {"row": number, "sheet": on.title})

    def header(self, sheet: Sheet, key: str) -> str:
        return sheet.column(key).header

    def report(self, step: str, passes: int | None = None) -> None:
        """Tell ``on_progress`` (if any) the step and how far the work is, in rows (whole when ``passes`` is None)."""
        self.step = step
        if self.on_progress is not None:
            done = self.rows_total if passes is None else min(passes // PASSES, self.rows_total)
            self.on_progress(step, done, self.rows_total)

    def passed(self, data: SheetData | None) -> None:
        """A pass over a sheet's rows is over (its check, or its writing)."""
        if self.on_progress is not None and data is not None:
            self.passes_done += len(data.rows)
            self.report(data.sheet.key, self.passes_done)

    def values(self, data: SheetData, row: Row) -> dict | None:
        """The row's cells as values, or None after recording the problem of each cell that is not valid."""
        if self.on_progress is not None:
            self.passes_done += 1
            if data.sheet.key != self.step or self.passes_done % PROGRESS_EVERY == 0:
                self.report(data.sheet.key, self.passes_done)
        readers = self._readers.get(data.sheet.key)
        if readers is None:  # each column's reader, chosen once (issue 15)
            readers = self._readers[data.sheet.key] = {
                column.key: (cell_reader(column), column.header) for column in data.sheet.columns
            }
        values, ok = {}, True
        for key, raw in row.cells.items():
            read, header = readers[key]
            try:
                values[key] = read(raw)
            except CellError as exc:
                self.problem(data.sheet, row, header, exc.message)
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

    def keyed_rows(self, data: SheetData, key: str, failed: Failed) -> dict[str, tuple[Row, dict]]:
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
                failed.add(value, row)
                rows.pop(value, None)
                continue
            seen[value] = row.number
            if values is None:
                failed.add(value, row)
            elif not value:
                self.problem(data.sheet, row, header, _("This cell must not be blank."))
            else:
                rows[value] = (row, values)
        return rows


# The columns that find a row of each sheet (docs/import.md), to name a row with a problem in the preview.
KEY_COLUMNS = {
    "organisations": ("code",),
    "members": ("card_number",),
    "homes": ("card_number", "started_on"),
    "referrals": ("card_number", "introduced_on"),
    "placements": ("card_number", "introduced_on", "started_on"),
}


def row_key(sheet: Sheet, row: Row) -> str:
    """The row's key as the sheet shows it, from its raw cells: a cell that cannot be read is shown as typed."""
    parts = []
    for key in KEY_COLUMNS.get(sheet.key, ()):
        raw = row.cells.get(key)
        try:
            value = cell_value(sheet.column(key), raw)
        except CellError:
            value = as_text(raw) if isinstance(raw, str) else ("" if raw is None else str(raw))
        parts.append("" if value is None else value)
    return key_text(*parts) if any(parts) else ""
