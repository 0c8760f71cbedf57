"""The preview of an import, row by row: what each row of the uploaded workbook creates, changes, or what is wrong
with it. Stored when a check or an import finishes (``store_preview``), one ``ImportChange`` per row, so that the
import page lists them a page at a time and the downloaded workbook writes them beside the rows they are about,
whatever their number (tens of thousands for the largest workbook).

Sheets are ordered as the workbook's (``workbooks.layout.SHEETS``, from 1); the problems of the whole file, which
belong to no sheet, come first (``sheet`` "", order 0, row 0).
"""

import dataclasses
import itertools

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count

from workbooks.importing import ImportResult
from workbooks.layout import SHEETS
from workbooks.models import ImportChange, WorkbookImport

BATCH = 1000
PER_PAGE = 50
FILE_ORDER = 0  # the problems of the whole file, before every sheet
SHEET_ORDER = {sheet.key: index for index, sheet in enumerate(SHEETS, start=1)}
SHEET_KEYS = {sheet.title: sheet.key for sheet in SHEETS}
SHEET_TITLES = {sheet.key: sheet.title for sheet in SHEETS}
Kind = ImportChange.Kind

# In the downloaded workbook, whose headers are Vietnamese whatever the user's language (like "Lỗi").
CHANGE_HEADER = "Thay đổi"
CREATED_TEXT = "Tạo mới"
BLANK_TEXT = "(trống)"


def store_preview(record: WorkbookImport, result: ImportResult) -> None:
    """Replace the record's preview rows by those of ``result``: one per row that creates or changes something, one
    per row with problems (all of them), one for the problems of each whole sheet and of the whole file. A row with
    problems is listed once, as a problem, with its key and what it would change when ``result`` gives them (the
    import leaves out the outcome of a row it refused). The record must be saved."""
    outcomes = {(outcome.sheet, outcome.row): outcome for outcome in result.outcomes}
    problem_rows: dict[tuple[str, int], ImportChange] = {}
    for problem in result.problems:
        sheet = SHEET_KEYS.get(problem.sheet, "")
        row = (problem.row or 0) if sheet else 0
        change = problem_rows.get((sheet, row))
        if change is None:
            # A problem row's key is known when the reader gave it, or when the row also had an outcome.
            outcome = outcomes.pop((sheet, row), None) if row else None
            key = (problem.key or (outcome.key if outcome else "")) if row else ""
            change = problem_rows[sheet, row] = ImportChange(
                record=record,
                sheet=sheet,
                sheet_order=SHEET_ORDER.get(sheet, FILE_ORDER),
                row=row,
                key=str(key or "")[:255],
                kind=Kind.PROBLEM,
                changes=_changes(outcome.changes) if outcome else [],
                problems=[],
            )
        # A problem of a sheet the layout does not know (none today) keeps the sheet's name beside its column.
        column = problem.column if sheet else " · ".join(filter(None, [problem.sheet, problem.column]))
        change.problems.append([str(column or ""), str(problem.message)])
    changes = (
        ImportChange(
            record=record,
            sheet=outcome.sheet,
            sheet_order=SHEET_ORDER.get(outcome.sheet, FILE_ORDER),
            row=outcome.row,
            key=outcome.key[:255],
            kind=outcome.kind,
            changes=_changes(outcome.changes),
        )
        for outcome in outcomes.values()
    )
    rows = itertools.chain(changes, problem_rows.values())
    with transaction.atomic():
        record.changes.all().delete()
        # A batch of model instances at a time: the largest workbook's 100,000 would cost far more than its rows.
        while batch := list(itertools.islice(rows, BATCH)):
            ImportChange.objects.bulk_create(batch)


def _changes(changes) -> list[list[str]]:
    return [[str(header), str(before), str(after)] for header, before, after in changes]


def change_text(kind: str, changes: list) -> str:
    """A row's change as the downloaded workbook writes it: "Tạo mới", or "Họ và tên: A → B; Ngày sinh: … → …"."""
    if kind == Kind.CREATE:
        return CREATED_TEXT
    return "; ".join(f"{header}: {before or BLANK_TEXT} → {after or BLANK_TEXT}" for header, before, after in changes)


def change_texts(record: WorkbookImport) -> dict[str, dict[int, str]]:
    """{sheet title: {row: change text}} of the rows that create or change something (or would, but for their
    problems), for the downloaded workbook."""
    texts: dict[str, dict[int, str]] = {}
    rows = record.changes.exclude(row=0).order_by().values_list("sheet", "row", "kind", "changes")
    for sheet, row, kind, changes in rows.iterator(chunk_size=BATCH):
        title = SHEET_TITLES.get(sheet)
        if title and (changes or kind == Kind.CREATE):
            texts.setdefault(title, {})[row] = change_text(kind, changes)
    return texts


# -- the import page's list ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Choice:
    value: str
    label: str
    count: int


@dataclasses.dataclass
class PreviewList:
    """One page of the preview rows of a record, with the filter's choices and their counts."""

    total: int  # preview rows of the record, all sheets and kinds
    problem_rows: int  # of them, rows with problems
    changed_rows: int  # of them, rows that create or change something
    sheets: list[Choice]  # the sheets with preview rows, counted within the chosen kind
    kinds: list[Choice]  # the kinds, counted within the chosen sheet
    sheet: str  # the chosen sheet key, "" for all
    kind: str  # the chosen kind, "" for all
    page: Page


def preview_list(record: WorkbookImport, *, sheet: str = "", kind: str = "", page: object = 1) -> PreviewList:
    """The page ``page`` (any value: Django's ``get_page`` falls back to the first or last page) of the record's
    preview rows of the sheet ``sheet`` and kind ``kind`` (each "" for all; the caller validates them). Two queries
    whatever the number of rows: the counts, then the page."""
    counts: dict[tuple[str, str], int] = {
        (row["sheet"], row["kind"]): row["n"]
        for row in record.changes.order_by().values("sheet", "kind").annotate(n=Count("pk"))
    }
    kinds = [
        Choice(value, str(label), sum(n for (s, k), n in counts.items() if k == value and (not sheet or s == sheet)))
        for value, label in Kind.choices
    ]
    present = {s for s, _k in counts}
    sheets = [
        Choice(key, title, sum(n for (s, k), n in counts.items() if s == key and (not kind or k == kind)))
        for key, title in SHEET_TITLES.items()
        if key in present
    ]
    rows = record.changes.all()
    if sheet:
        rows = rows.filter(sheet=sheet)
    if kind:
        rows = rows.filter(kind=kind)
    paginator = Paginator(rows.order_by("sheet_order", "row", "pk"), PER_PAGE)
    # The count is known from the counts above: the paginator asks no second count.
    paginator.count = sum(n for (s, k), n in counts.items() if (not sheet or s == sheet) and (not kind or k == kind))
    return PreviewList(
        total=sum(counts.values()),
        problem_rows=sum(n for (_s, k), n in counts.items() if k == Kind.PROBLEM),
        changed_rows=sum(n for (_s, k), n in counts.items() if k != Kind.PROBLEM),
        sheets=sheets,
        kinds=kinds,
        sheet=sheet,
        kind=kind,
        page=paginator.get_page(page),
    )
