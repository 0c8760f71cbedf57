"""The dashboard's grassroots organisations a page at a time (a province has a thousand: issue 15), and the dashboard
computing only the figures it shows."""

import re

import pytest
from django.urls import reverse

from branches.models import Organisation
from reports import views
from tests.factories import make_officer, make_organisation, make_tree

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind
DASHBOARD = reverse("reports:dashboard")


@pytest.fixture
def tree():
    return make_tree()


def codes_on(page: str) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)">', page)


def test_the_grassroots_table_is_paginated_and_counts_them_all(client, tree, monkeypatch):
    monkeypatch.setattr(views, "GRASSROOTS_PER_PAGE", 2)
    for n in range(3):
        make_organisation(kind=Kind.COMMITTEE, parent=tree.root, name=f"Đảng bộ {n}")
    total = Organisation.objects.filter(
        path__startswith=tree.root.path, kind__in=Organisation.GRASSROOTS_KINDS, valid_to__isnull=True
    ).count()
    client.force_login(make_officer(tree.root))

    first = client.get(DASHBOARD).content.decode()
    # The headline's count links to #grassroots, which still counts every one of them.
    assert f'id="grassroots" data-row-count="{total}"' in first
    assert len(codes_on(first)) == 2
    assert f'href="{DASHBOARD}?page=2#grassroots"' in first

    seen = []
    for number in range(1, (total + 1) // 2 + 1):
        page = client.get(DASHBOARD, {"page": number}).content.decode()
        seen += codes_on(page)
    assert len(seen) == len(set(seen)) == total  # every organisation once, weakest first across the pages

    # The as-of day and the year are carried to the other pages.
    dated = client.get(DASHBOARD, {"as_of": "01/01/2025", "year": "2024"}).content.decode()
    assert "?as_of=01%2F01%2F2025&amp;year=2024&amp;page=2#grassroots" in dated


def test_a_page_out_of_range_shows_the_last(client, tree, monkeypatch):
    monkeypatch.setattr(views, "GRASSROOTS_PER_PAGE", 2)
    client.force_login(make_officer(tree.root))
    assert client.get(DASHBOARD, {"page": "99"}).status_code == 200
    assert client.get(DASHBOARD, {"page": "x"}).status_code == 200


def test_the_dashboard_leaves_out_the_breakdowns_it_does_not_show(client, tree, monkeypatch):
    """The comments by side, by sector, by ward and cell and the endings by reason are the API's and the command's."""
    called = []
    for name in ("comment_sides", "by_sector", "by_ward_and_cell", "endings_by_reason"):
        monkeypatch.setattr(f"reports.figures.{name}", lambda *args, name=name, **kwargs: called.append(name))
    client.force_login(make_officer(tree.root))
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    assert called == []
    assert response.context["report"].by_sector is None
