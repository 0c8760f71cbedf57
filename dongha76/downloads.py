"""Serving a generated workbook: written to a temporary file, then streamed from it (``FileResponse``), so that a
large export is never held in memory whole and the worker does not buffer it."""

import tempfile
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from django.http import FileResponse

from dongha76.excel import XLSX_CONTENT_TYPE

T = TypeVar("T")


def xlsx_download(write: Callable[[BinaryIO], T], filename: str) -> tuple[FileResponse, T]:
    """The response serving what ``write`` writes to a file, and what ``write`` returned (e.g. the rows written)."""
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    try:
        result = write(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)
    return response, result
