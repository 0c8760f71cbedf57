"""The member list as a workbook: the rows of the list page, as the user filtered and sorted it, with the columns
that page and the member's own page show to that user.

Written in openpyxl's write-only mode from a ``values_list`` read in chunks, so that memory does not grow with the
number of members (the city's list is tens of thousands of rows); the file goes to a temporary file and is served
from it.
"""

import datetime
from typing import BinaryIO

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from dongha76.excel import StreamedSheet, new_write_only_workbook
from members.models import Exemption, Member
from members.tables import REFERRAL_STATE_LABELS

CHUNK = 2000
FIELDS = (
    "card_number",
    "full_name",
    "date_of_birth",
    "gender",
    "home_organisation__name",
    "retired_on",
    "left_on",
    "left_reason",
    "exemption_kind",
    "referral_state",
    "referral_ward_name",
    "referral_cell_name",
)


def member_list_headers() -> list[str]:
    return [
        _("No."),
        _("Card number"),
        _("Full name"),
        _("Date of birth"),
        _("Gender"),
        _("Home cell"),
        _("Working / retired"),
        _("Exemption"),
        _("Referral today"),
        _("Receiving ward"),
        _("Residential cell"),
    ]


WIDTHS = (6, 12, 28, 12, 9, 34, 16, 26, 30, 26, 26)


def write_member_list(members: QuerySet[Member], target: BinaryIO, *, day: datetime.date, heading: str) -> int:
    """Write ``members`` (rows of ``members.selectors.member_list``, in the order to show) to ``target``; returns
    the number of members written."""
    workbook = new_write_only_workbook()
    sheet = StreamedSheet(
        workbook, title=_("Party members"), heading=heading, headers=member_list_headers(), widths=WIDTHS
    )
    # The labels translated once, not once per row.
    genders = {value: str(label) for value, label in Member.Gender.choices}
    left_reasons = {value: str(label) for value, label in Member.LeftReason.choices}
    exemptions = {value: str(label) for value, label in Exemption.Kind.choices}
    states = {state: str(label) for state, (label, _badge) in REFERRAL_STATE_LABELS.items()}
    working, retired, left = str(_("Working")), str(_("Retired")), str(_("Left the party"))
    rows = members.values_list(*FIELDS).iterator(chunk_size=CHUNK)
    for number, (
        card,
        name,
        born,
        gender,
        home,
        retired_on,
        left_on,
        left_reason,
        exemption,
        state,
        ward,
        cell,
    ) in enumerate(rows, start=1):
        if left_on and left_on <= day:
            status = left_reasons.get(left_reason) or left
        else:
            status = retired if retired_on and retired_on <= day else working
        sheet.append(
            [
                number,
                card,
                name,
                born,
                genders.get(gender, gender),
                home,
                status,
                exemptions.get(exemption, ""),
                states.get(state, ""),
                ward or "",
                cell or "",
            ]
        )
    workbook.save(target)
    return sheet.rows_written
