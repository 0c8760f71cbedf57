"""The yearly workbook of the demo data (slow; the small hand-built cases are in test_workbook.py)."""

import io
import zipfile

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from reports.workbook import SUMMARY
from tests.reports.test_workbook import FIRST, rows_of, summary_value, total_row


@pytest.mark.slow
@pytest.mark.django_db
def test_the_2018_workbook_of_the_demo_data_holds_the_seed_figures(demo, tmp_path):
    target = tmp_path / "dh-2018.xlsx"
    call_command(
        "export_report",
        "--org",
        "DH",
        "--year",
        "2018",
        "--as-of",
        "2018-09-30",
        "-o",
        str(target),
        stdout=io.StringIO(),
    )
    sheet = load_workbook(target)[SUMMARY]
    assert summary_value(sheet, "Đảng viên") == 6150
    assert summary_value(sheet, "Thuộc diện giới thiệu") == 2142
    assert summary_value(sheet, "Đã giới thiệu") == 2127
    assert summary_value(sheet, "Tỷ lệ giới thiệu") == pytest.approx(0.993)
    assert summary_value(sheet, "Tiếp nhận từ ngoài Đảng bộ") == 3558
    labels = {row[1]: row[2] for row in rows_of(sheet) if row[1]}
    assert labels["Tổ chức cơ sở đảng"] == 35
    assert labels["Chi bộ trực thuộc"] == 233
    assert labels["Trong đó chi bộ khu phố/thôn"] == 83
    # 35 grassroots organisations, then the total.
    assert total_row(sheet) == FIRST + 35
    with zipfile.ZipFile(target) as archive:
        assert "xl/charts/chart1.xml" in archive.namelist()
