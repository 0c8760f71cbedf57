"""Every column of the demo's workbooks adds up (slow; the hand-built cases are in test_workbook_sums.py)."""

import datetime

import pytest

from branches.models import Organisation
from members.models import Referral
from reports.workbook import RECEIVED_COMMENTS
from tests.conftest import DEMO_TODAY
from tests.reports.test_workbook_sums import DAY, check_workbook

D = datetime.date
Kind = Organisation.Kind


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_workbooks_add_up(demo):
    """The city as of the seed day, and the root organisation for the demo's current year."""
    city = Organisation.objects.get(code="DH")
    _, rows, total = check_workbook(city, 2018, DAY)
    assert len(rows) >= 35
    assert total["Đảng viên"] == 6150
    assert total["Tiếp nhận từ ngoài Đảng bộ"] == 3558
    root = Organisation.objects.get(kind=Kind.ROOT)
    _, rows, total = check_workbook(root, DEMO_TODAY.year, DEMO_TODAY)
    assert total["Gửi đến, chờ tiếp nhận quá 30 ngày"] > 0 and total[f"{RECEIVED_COMMENTS} phải có"] > 0
    assert Referral.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_workbook_of_the_reform_year_adds_up(demo):
    """2025: the wards merged on 01/07 keep their rows (their cells met in the first half-year) next to the new
    ones, and every column still adds up to the province's figures."""
    root = Organisation.objects.get(kind=Kind.ROOT)
    _, rows, _ = check_workbook(root, 2025, D(2025, 12, 31))
    ended = [row for row in rows if "(đến 30/06/2025)" in row["Tổ chức cơ sở đảng"]]
    assert ended, "the wards merged away on 01/07/2025 keep their rows"
    assert sum(row["Chi bộ đã sinh hoạt 6 tháng đầu năm"] for row in ended) > 0
    assert all(row["Chi bộ phải sinh hoạt 6 tháng cuối năm"] == 0 for row in ended)
