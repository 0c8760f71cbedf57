"""Building workbooks in memory for the import tests, and a snapshot of the database to assert "nothing written".

``workbook({"Tổ chức": [headers, *rows], ...})`` gives an .xlsx as a ``BytesIO``; ``title=True`` puts a title and a
blank row above the headers, as the template does. ``org_row``, ``member_row`` and ``referral_row`` give rows in the
order of ``ORG_HEADERS``, ``MEMBER_HEADERS`` and ``REFERRAL_HEADERS`` with sensible defaults.
"""

import hashlib
import io
import zipfile

from openpyxl import Workbook

from branches.models import Organisation
from members.models import Exemption, Member, MemberHome, Placement, Referral

ORGS = "Tổ chức"
MEMBERS = "Đảng viên"
REFERRALS = "Giới thiệu"

ORG_HEADERS = ["Mã", "Tên", "Loại", "Mã cấp trên"]
MEMBER_HEADERS = [
    "Số thẻ",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Ngày vào Đảng",
    "Mã chi bộ",
    "Đang công tác",
    "Miễn giới thiệu",
    "Miễn sinh hoạt",
]
REFERRAL_HEADERS = [
    "Số thẻ",
    "Số giấy",
    "Ngày giới thiệu",
    "Mã đảng ủy nơi cư trú",
    "Ngày tiếp nhận",
    "Mã chi bộ nơi cư trú",
    "Ngày kết thúc",
    "Lý do kết thúc",
]

NOT_XLSX = "This file is not an Excel workbook (.xlsx). Save it from Excel as .xlsx and retry."


def org_sheet(*rows) -> list[list]:
    return [ORG_HEADERS, *rows]


def member_sheet(*rows) -> list[list]:
    return [MEMBER_HEADERS, *rows]


def referral_sheet(*rows) -> list[list]:
    return [REFERRAL_HEADERS, *rows]


def workbook(sheets: dict[str, list[list]], *, title: bool = False) -> io.BytesIO:
    """An .xlsx holding ``sheets`` ({title: [header row, *rows]}), in the order given."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        if title:
            sheet.append([f"Danh sách {name.lower()}"])
            sheet.append([])
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def org_row(code, name=None, kind="residential_cell", parent=None) -> list:
    return [code, name or f"Tổ chức {code}", kind, parent]


def member_row(
    card,
    home,
    *,
    name=None,
    born="01/01/1980",
    gender="Nam",
    admitted="19/05/2005",
    working="x",
    exempt_introduction=None,
    exempt_activities=None,
) -> list:
    return [
        card,
        name or f"Nguyễn Văn {card}",
        born,
        gender,
        admitted,
        home,
        working,
        exempt_introduction,
        exempt_activities,
    ]


def referral_row(
    card,
    ward,
    *,
    letter="12-GT/ĐU",
    introduced="10/03/2018",
    received=None,
    cell=None,
    ended=None,
    reason=None,
) -> list:
    return [card, letter, introduced, ward, received, cell, ended, reason]


def layout_workbook(rows: dict[str, list[dict]]) -> io.BytesIO:
    """A workbook with the layout's sheets named in ``rows`` (by sheet key), in the layout's order: every header of
    the sheet on row 1, then one row per dict (column key -> value; a missing key is a blank cell)."""
    from workbooks.layout import SHEETS

    book = Workbook()
    book.remove(book.active)
    for sheet in SHEETS:
        if sheet.key not in rows:
            continue
        worksheet = book.create_sheet(sheet.title)
        worksheet.append([column.header for column in sheet.columns])
        for row in rows[sheet.key]:
            worksheet.append([row.get(column.key) for column in sheet.columns])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def zip_bytes(entries: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    out.seek(0)
    return out


def replace_in_zip(book: io.BytesIO, name: str, content: bytes) -> io.BytesIO:
    """A copy of the .xlsx ``book`` with one part replaced (to make a workbook corrupt inside a valid zip)."""
    book.seek(0)
    entries = {}
    with zipfile.ZipFile(book) as archive:
        for info in archive.infolist():
            entries[info.filename] = archive.read(info.filename)
    entries[name] = content
    return zip_bytes(entries)


SNAPSHOT_MODELS = (Organisation, Member, Exemption, Referral)
HISTORY_MODELS = (MemberHome, Placement)  # the dated histories: no history tables of their own


def snapshot() -> dict[str, tuple[int, str]]:
    """Per table (the six the import writes and the history tables of four): the row count and a digest of every
    row."""
    state = {}
    for model in HISTORY_MODELS:
        rows = list(model.objects.order_by("pk").values_list())
        state[model._meta.db_table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    for model in SNAPSHOT_MODELS:
        for table in (model, model.history.model):
            rows = list(table.objects.order_by("pk").values_list())
            state[table._meta.db_table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


def history_count() -> int:
    return sum(model.history.model.objects.count() for model in SNAPSHOT_MODELS)
