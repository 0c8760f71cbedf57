"""The committees' workbook: its sheets, their columns and what a cell may hold. A contract with users' files and
scripts: the names below are kept exactly (``docs/import.md`` describes them with examples).

Headers are matched ignoring case, accents and surrounding spaces (``dongha76.text.search_key``); extra columns are
ignored; a sheet may be absent. A column marked ``required`` must be present when its sheet is; an optional column that
is absent leaves the field as it is on an existing row (and at its default on a new one), while a present column with a
blank cell means "none" / "no".
"""

import dataclasses
import enum

from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.text import search_key
from members.models import Member, Referral


class Value(enum.Enum):
    TEXT = "text"  # numbers stored by Excel are read back as the digits typed (no "123.0", leading zeros kept)
    DATE = "date"  # an Excel date, or text dd/mm/yyyy
    FLAG = "flag"  # x or có: yes; blank: no
    CHOICE = "choice"  # the model's code or its label (Vietnamese or English), accents and case ignored


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    header: str
    value: Value = Value.TEXT
    required: bool = False
    choices: type | None = None  # a TextChoices class for Value.CHOICE
    example: object = None
    help: str = ""

    @property
    def match_key(self) -> str:
        return search_key(self.header)


@dataclasses.dataclass(frozen=True)
class Sheet:
    key: str
    title: str
    columns: tuple[Column, ...]
    heading: str

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if column.required)


ORGANISATIONS = Sheet(
    key="organisations",
    title="Tổ chức",
    heading="Danh sách tổ chức đảng",
    columns=(
        Column("code", "Mã", required=True, example="VD-P1-KP3"),
        Column("name", "Tên", required=True, example="Chi bộ khu phố 3"),
        Column("kind", "Loại", Value.CHOICE, required=True, choices=Organisation.Kind, example="residential_cell"),
        Column("parent", "Mã cấp trên", example="VD-P1", help=_("Blank for the city organisation and outside ones.")),
        Column("sector", "Khối", Value.CHOICE, choices=Organisation.Sector, example="ward"),
        Column("valid_from", "Ngày thành lập", Value.DATE, example="01/01/2000"),
        Column("valid_to", "Ngày giải thể", Value.DATE, help=_("The first day it no longer exists.")),
        Column(
            "successor",
            "Mã kế tục",
            help=_("Only with the day it was dissolved; in this sheet or already recorded."),
        ),
        Column("address", "Địa chỉ"),
    ),
)

MEMBERS = Sheet(
    key="members",
    title="Đảng viên",
    heading="Danh sách đảng viên",
    columns=(
        Column("card_number", "Số thẻ", required=True, example="VD-45012345"),
        Column("full_name", "Họ và tên", required=True, example="Nguyễn Văn An"),
        Column("date_of_birth", "Ngày sinh", Value.DATE, required=True, example="15/04/1980"),
        Column("gender", "Giới tính", Value.CHOICE, required=True, choices=Member.Gender, example="Nam"),
        Column("admitted_on", "Ngày vào Đảng", Value.DATE, required=True, example="03/02/2005"),
        Column("home_organisation", "Mã chi bộ", required=True, example="VD-GDDT-01"),
        Column("working", "Đang công tác", Value.FLAG, required=True, example="x"),
        Column("exempt_introduction", "Miễn giới thiệu", Value.FLAG, required=True),
        Column("exempt_activities", "Miễn sinh hoạt", Value.FLAG, required=True),
        Column("national_id", "Số CCCD", example="045080012345"),
        Column("phone", "Điện thoại", example="0912345678"),
        Column("residential_address", "Địa chỉ", example="12 Lê Lợi, khu phố 3, Phường 1"),
        Column("official_on", "Ngày chính thức", Value.DATE),
        Column("retired_on", "Ngày nghỉ hưu", Value.DATE, help=_("Only for a member who is no longer working.")),
        Column("exempt_from", "Ngày miễn", Value.DATE, help=_("When the exemption began; blank: since admission.")),
        Column("exempt_until", "Ngày hết miễn", Value.DATE, help=_("The day the exemption was lifted, if it was.")),
        Column("exempt_reason", "Lý do miễn"),
        Column("left_on", "Ngày ra khỏi Đảng", Value.DATE),
        Column("left_reason", "Lý do ra khỏi Đảng", Value.CHOICE, choices=Member.LeftReason),
    ),
)

REFERRALS = Sheet(
    key="referrals",
    title="Giới thiệu",
    heading="Danh sách giới thiệu sinh hoạt nơi cư trú",
    columns=(
        Column("card_number", "Số thẻ", required=True, example="VD-45012345"),
        Column("letter_number", "Số giấy", example="12-GT/ĐU"),
        Column("introduced_on", "Ngày giới thiệu", Value.DATE, required=True, example="10/03/2018"),
        Column(
            "issuing_organisation",
            "Mã nơi giới thiệu",
            example="VD-GDDT",
            help=_("Blank: the grassroots organisation of the member's cell, or the outside organisation itself."),
        ),
        Column("receiving_ward", "Mã đảng ủy nơi cư trú", required=True, example="VD-P1"),
        Column("received_on", "Ngày tiếp nhận", Value.DATE, example="20/03/2018"),
        Column("residential_cell", "Mã chi bộ nơi cư trú", example="VD-P1-KP3"),
        Column("ended_on", "Ngày kết thúc", Value.DATE),
        Column("end_reason", "Lý do kết thúc", Value.CHOICE, choices=Referral.EndReason),
        Column("placed_on", "Ngày phân công", Value.DATE, help=_("Blank: the day of reception.")),
        Column("reported_on", "Ngày báo cáo", Value.DATE),
    ),
)

# A member's home from a day on (chuyển sinh hoạt, retirement into a residential cell, a restructure): the row with the
# latest "Từ ngày" on or before a day is the home on that day. The first row holds from the admission; the latest is
# the "Mã chi bộ" of the sheet "Đảng viên". A member without rows keeps the history recorded (one home since admission
# for a new member).
HOMES = Sheet(
    key="homes",
    title="Quá trình sinh hoạt",
    heading="Quá trình sinh hoạt của đảng viên (chi bộ từ ngày)",
    columns=(
        Column("card_number", "Số thẻ", required=True, example="VD-45012345"),
        Column("organisation", "Mã chi bộ", required=True, example="VD-GDDT-01"),
        Column(
            "started_on",
            "Từ ngày",
            Value.DATE,
            required=True,
            example="01/06/2015",
            help=_("The member's first row holds from the admission."),
        ),
    ),
)

# The re-placements of a referral (after a khu phố merger, a move within the ward): its first placement is the cell
# and the day of the sheet "Giới thiệu"; each row places the member in another residential cell from a day on.
PLACEMENTS = Sheet(
    key="placements",
    title="Chuyển chi bộ nơi cư trú",
    heading="Chuyển chi bộ nơi cư trú của đảng viên được giới thiệu",
    columns=(
        Column("card_number", "Số thẻ", required=True, example="VD-45012345"),
        Column("introduced_on", "Ngày giới thiệu", Value.DATE, required=True, example="10/03/2018"),
        Column("residential_cell", "Mã chi bộ nơi cư trú", required=True, example="VD-P1-KP4"),
        Column("started_on", "Từ ngày", Value.DATE, required=True, example="01/07/2020"),
    ),
)

# In the order they are imported: a later sheet may name what an earlier one creates.
SHEETS: tuple[Sheet, ...] = (ORGANISATIONS, MEMBERS, HOMES, REFERRALS, PLACEMENTS)

YES_WORDS = frozenset({"x", "co", "yes", "1", "true"})
NO_WORDS = frozenset({"", "khong", "no", "0", "false"})
