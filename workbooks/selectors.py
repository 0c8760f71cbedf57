"""Reads for the import pages: who may import, and which import records a user may look at."""

import dataclasses

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from branches.access import access_for
from workbooks.importing import ImportScope
from workbooks.layout import SHEETS
from workbooks.models import WorkbookImport
from workbooks.template import DESCRIPTIONS, VALUE_KINDS

RECENT_IMPORTS = 10


def may_import(user) -> bool:
    """City staff with a write role (and superusers), or a write post at a committee, grassroots cell or ward."""
    if not getattr(user, "is_authenticated", False):
        return False
    return ImportScope.of(access_for(user)).may_import


def imports_visible_to(user) -> QuerySet[WorkbookImport]:
    """The import records a user may open: their own; every record for city staff with a write role.

    The file itself is left out (``file_kept`` says whether it is still there): a page never loads megabytes it
    does not show.
    """
    records = WorkbookImport.objects.defer("content").annotate(
        file_kept=ExpressionWrapper(~Q(content=b""), output_field=BooleanField())
    )
    if not may_import(user):
        return records.none()
    if not access_for(user).is_city(write=True):
        records = records.filter(uploaded_by=user)
    return records.select_related("uploaded_by")


def recent_imports(user) -> QuerySet[WorkbookImport]:
    """The user's own last imports, newest first."""
    return imports_visible_to(user).filter(uploaded_by=user).defer("problems", "header_rows")[:RECENT_IMPORTS]


def import_with_content(user, pk: int) -> WorkbookImport:
    """A visible record with its file (for the workbook of errors); ``DoesNotExist`` when it is not visible."""
    return imports_visible_to(user).defer(None).get(pk=pk)


# -- the column reference ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ColumnInfo:
    header: str
    required: bool
    kind: str
    description: str
    example: str
    choices: tuple[tuple[str, str], ...]  # (code, label)


@dataclasses.dataclass(frozen=True)
class SheetInfo:
    title: str
    heading: str
    columns: tuple[ColumnInfo, ...]


def column_reference() -> list[SheetInfo]:
    """Every sheet of the workbook and what each of its columns holds: ``workbooks.layout`` described in the words
    of the template's instructions sheet."""
    return [
        SheetInfo(
            title=sheet.title,
            heading=sheet.heading,
            columns=tuple(
                ColumnInfo(
                    header=column.header,
                    required=column.required,
                    kind=str(VALUE_KINDS[column.value]),
                    description=" ".join(
                        str(text) for text in (DESCRIPTIONS.get((sheet.key, column.key), ""), column.help) if text
                    ),
                    example="" if column.example is None else str(column.example),
                    choices=tuple((code, str(label)) for code, label in column.choices.choices)
                    if column.choices is not None
                    else (),
                )
                for column in sheet.columns
            ),
        )
        for sheet in SHEETS
    ]


@dataclasses.dataclass(frozen=True)
class SheetCount:
    title: str
    rows: int
    create: int
    update: int
    unchanged: int


def sheet_counts(record: WorkbookImport) -> list[SheetCount]:
    """The counts of a record per sheet, in the order of the workbook's sheets."""
    counts = record.counts or {}
    return [
        SheetCount(
            title=sheet.title,
            rows=counts[sheet.key].get("rows", 0),
            create=counts[sheet.key].get("create", 0),
            update=counts[sheet.key].get("update", 0),
            unchanged=counts[sheet.key].get("unchanged", 0),
        )
        for sheet in SHEETS
        if sheet.key in counts
    ]
