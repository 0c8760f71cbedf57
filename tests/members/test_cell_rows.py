"""The rows of the cell page's tables of placed and exempt members (``members/cell_placed_rows.html``: one include
looping over the rows, the column labels translated once, issue 15): every row carries each column's label for the
phone's cards, in the page's language, and the exempt rows their two columns more."""

import re

import pytest

from tests.members.test_views_cells import cell1, cell_url, people, section  # noqa: F401 - the fixtures

pytestmark = pytest.mark.django_db

PLACED_LABELS = ["Họ và tên", "Số thẻ đảng viên", "Nơi công tác", "Ngày phân công về chi bộ", "Đã báo cáo với chi ủy"]


def rows(html: str) -> list[str]:
    return re.findall(r"<tr data-member=.*?</tr>", html, flags=re.S)


def labels(row: str) -> list[str]:
    return re.findall(r'<td data-label="([^"]*)"', row)


def test_each_row_carries_its_columns_labels(client, tree, people, cell1):  # noqa: F811 - the fixtures
    client.force_login(people["ward1"])
    page = client.get(cell_url(tree.ward1_cell1)).content.decode()
    placed, exempt = rows(section(page, "cell-placed")), rows(section(page, "cell-exempt"))
    assert len(placed) == 2 and len(exempt) == 1
    assert all(labels(row) == PLACED_LABELS for row in placed)
    assert labels(exempt[0]) == [*PLACED_LABELS, "Miễn từ ngày", "Lý do"]
    assert "Công tác xa" in exempt[0]
    not_reported = next(row for row in placed if cell1["not_reported"].member.card_number in row)
    assert '<span class="badge text-bg-warning">chưa báo cáo</span>' in not_reported
