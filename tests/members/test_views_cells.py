"""Residential cells through the test client: the list with its figures, one cell's referred members, who sees which
cell, and a constant number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import Exemption, Member, MemberHome, Placement, Referral
from tests.factories import make_member, make_officer, make_referral, member_fields

D = datetime.date

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def cell_url(cell) -> str:
    return reverse("members:cell-detail", args=[cell.pk])


@pytest.fixture
def people(tree):
    return {
        "city": make_officer(tree.root, role="staff"),
        "workplace": make_officer(tree.committee, role="staff"),
        "ward1": make_officer(tree.ward1),
        "ward1_viewer": make_officer(tree.ward1, role="viewer"),
        "ward2": make_officer(tree.ward2),
        "cell1": make_officer(tree.ward1_cell1),
    }


def placed(tree, cell, *, ward=None, reported=True, **fields):
    """A member of the committee's cell introduced, received and placed in ``cell`` (of ward 1 by default)."""
    member = fields.pop("member", None) or make_member(tree.cell)
    return make_referral(
        member,
        receiving_ward=ward or tree.ward1,
        introduced_on=fields.pop("introduced_on", D(2024, 2, 1)),
        received_on=fields.pop("received_on", D(2024, 2, 10)),
        residential_cell=cell,
        placed_on=fields.pop("placed_on", D(2024, 2, 15)),
        reported_on=fields.pop("reported_on", D(2024, 3, 1) if reported else None),
        **fields,
    )


@pytest.fixture
def cell1(tree):
    """Ward 1's first residential cell with referred members in every situation, by name."""
    exempt_member = make_member(tree.cell, full_name="Hồ Văn Miễn")
    Exemption.objects.create(
        member=exempt_member, kind=Exemption.Kind.ACTIVITIES, reason="Công tác xa", started_on=D(2024, 6, 1)
    )
    retired = [make_member(tree.ward1_cell1, retired_on=D(2019, 1, 1)) for _ in range(2)]
    make_member(tree.ward1_cell1, left_on=D(2020, 1, 1), left_reason=Member.LeftReason.DIED)
    return {
        "reported": placed(tree, tree.ward1_cell1, member=make_member(tree.cell, full_name="Trần Thị Báo")),
        "not_reported": placed(
            tree, tree.ward1_cell1, reported=False, member=make_member(tree.cell, full_name="Lê Văn Chưa")
        ),
        "exempt": placed(tree, tree.ward1_cell1, member=exempt_member),
        "left_recently": placed(
            tree,
            tree.ward1_cell1,
            member=make_member(tree.cell, full_name="Phan Văn Chuyển"),
            ended_on=days_ago(30),
            end_reason=Referral.EndReason.MOVED_RESIDENCE,
        ),
        "left_long_ago": placed(
            tree,
            tree.ward1_cell1,
            member=make_member(tree.cell, full_name="Võ Văn Cũ"),
            ended_on=days_ago(400),
            end_reason=Referral.EndReason.RETIRED,
        ),
        "other_cell": placed(tree, tree.ward1_cell2, member=make_member(tree.cell, full_name="Đỗ Văn Khác")),
        "received_only": make_referral(
            make_member(tree.cell, full_name="Ngô Văn Nhận"),
            receiving_ward=tree.ward1,
            introduced_on=D(2024, 2, 1),
            received_on=D(2024, 2, 10),
        ),
        "retired": retired,
    }


def section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


# -- the cell page -------------------------------------------------------------------------------------------------


def test_cell_page_lists_the_members_placed_today(client, tree, people, cell1):
    client.force_login(people["ward1"])
    response = client.get(cell_url(tree.ward1_cell1))
    assert response.status_code == 200
    assert [r.pk for r in response.context["placed"]] == [cell1["not_reported"].pk, cell1["reported"].pk]
    assert [r.pk for r in response.context["exempt"]] == [cell1["exempt"].pk]
    assert [r.pk for r in response.context["departed"]] == [cell1["left_recently"].pk]
    assert response.context["not_reported"] == 1  # as the cell list counts it

    page = response.content.decode()
    members = section(page, "cell-placed")
    assert "Trần Thị Báo" in members and "Lê Văn Chưa" in members
    reported, not_reported = cell1["reported"], cell1["not_reported"]
    assert reverse("members:member-detail", args=[reported.member.pk]) in members
    assert reported.member.card_number in members and tree.committee.name in members
    assert "15/02/2024" in members and "01/03/2024" in members  # placed on, reported on
    row = members[members.index(f'data-member="{not_reported.member.card_number}"') :]
    assert 'class="badge text-bg-warning"' in row[: row.index("</tr>")]
    for name in ("Hồ Văn Miễn", "Phan Văn Chuyển", "Võ Văn Cũ", "Đỗ Văn Khác", "Ngô Văn Nhận"):
        assert name not in members

    exempt = section(page, "cell-exempt")
    assert "Hồ Văn Miễn" in exempt and "Công tác xa" in exempt and "01/06/2024" in exempt

    departed = section(page, "cell-departed")
    assert "Phan Văn Chuyển" in departed and days_ago(30).strftime("%d/%m/%Y") in departed
    assert "Võ Văn Cũ" not in departed and "Võ Văn Cũ" not in page


def test_cell_secretary_sees_their_cell_and_no_other(client, tree, people, cell1):
    client.force_login(people["cell1"])
    page = client.get(cell_url(tree.ward1_cell1))
    assert page.status_code == 200
    assert "Trần Thị Báo" in page.content.decode()
    for other in (tree.ward1_cell2, tree.ward2_cell1, tree.ward1, tree.cell):
        assert client.get(cell_url(other)).status_code == 404, other


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("city", ["ward1_cell1", "ward1_cell2", "ward2_cell1"], ["ward1", "cell", "outside", "root"]),
        ("ward1", ["ward1_cell1", "ward1_cell2"], ["ward2_cell1", "ward2_cell2", "ward1", "cell"]),
        ("ward1_viewer", ["ward1_cell1", "ward1_cell2"], ["ward2_cell1"]),
        ("ward2", ["ward2_cell1", "ward2_cell2"], ["ward1_cell1", "ward1_cell2"]),
        ("workplace", [], ["ward1_cell1", "ward2_cell1", "cell"]),
        ("cell1", ["ward1_cell1"], ["ward1_cell2", "ward2_cell1"]),
    ],
)
def test_cells_in_and_out_of_scope(client, tree, people, role, allowed, refused):
    client.force_login(people[role])
    for name in allowed:
        assert client.get(cell_url(getattr(tree, name))).status_code == 200, name
    for name in refused:
        assert client.get(cell_url(getattr(tree, name))).status_code == 404, name


def test_anonymous_users_are_sent_to_log_in(client, tree):
    for url in (reverse("members:cell-list"), cell_url(tree.ward1_cell1)):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


# -- the list of cells ---------------------------------------------------------------------------------------------


def figures(response) -> dict:
    return {
        record.code: (record.placed_members, record.awaiting_report, record.own_members)
        for record in (row.record for row in response.context["table"].paginated_rows)
    }


def test_cell_list_counts(client, tree, people, cell1):
    placed(tree, tree.ward2_cell1, ward=tree.ward2, reported=False)
    client.force_login(people["ward1"])
    response = client.get(reverse("members:cell-list"))
    assert response.status_code == 200
    # cell 1: reported, not reported, exempt (placed today); 2 retired members living there (one more died)
    assert figures(response) == {tree.ward1_cell1.code: (3, 1, 2), tree.ward1_cell2.code: (1, 0, 0)}
    page = response.content.decode()
    assert cell_url(tree.ward1_cell1) in page and tree.ward1.name in page
    assert 'id="cell-filter"' not in page  # one ward: nothing to filter

    client.force_login(people["city"])
    response = client.get(reverse("members:cell-list"))
    assert figures(response) == {
        tree.ward1_cell1.code: (3, 1, 2),
        tree.ward1_cell2.code: (1, 0, 0),
        tree.ward2_cell1.code: (1, 1, 0),
        tree.ward2_cell2.code: (0, 0, 0),
    }
    assert 'id="cell-filter"' in response.content.decode()
    response = client.get(reverse("members:cell-list"), {"ward": tree.ward2.pk})
    assert set(figures(response)) == {tree.ward2_cell1.code, tree.ward2_cell2.code}

    client.force_login(people["cell1"])
    assert figures(client.get(reverse("members:cell-list"))) == {tree.ward1_cell1.code: (3, 1, 2)}

    client.force_login(people["workplace"])
    assert figures(client.get(reverse("members:cell-list"))) == {}


def test_cell_list_sorts_by_a_figure(client, tree, people, cell1):
    client.force_login(people["city"])
    response = client.get(reverse("members:cell-list"), {"sort": "-placed_members"})
    ordered = list(figures(response).items())
    assert ordered[0][0] == tree.ward1_cell1.code
    assert [count for _code, (count, _waiting, _own) in ordered] == [3, 1, 0, 0]


# -- a constant number of queries ----------------------------------------------------------------------------------


def add_placed(tree, count: int) -> None:
    """``count`` members placed in ward 1's first cell, some reported, some exempt, some gone in the last months."""
    members = Member.objects.bulk_create(
        [Member(**member_fields(tree.cell), search_name=f"x{i:05d}") for i in range(count)]
    )
    Exemption.objects.bulk_create(
        [
            Exemption(member=member, kind=Exemption.Kind.ACTIVITIES, reason="Học tập", started_on=D(2024, 5, 1))
            for member in members[::6]
        ]
    )
    residents = Member.objects.bulk_create(
        [Member(**member_fields(tree.ward1_cell1), retired_on=D(2020, 1, 1), search_name="y") for _ in range(count)]
    )
    # Bulk inserts write no history: the first home and placement periods are written as the import writes them.
    MemberHome.objects.bulk_create(
        MemberHome(member=m, organisation=m.home_organisation, started_on=m.admitted_on) for m in members + residents
    )
    referrals = Referral.objects.bulk_create(
        [
            Referral(
                member=member,
                issuing_organisation=tree.committee,
                receiving_ward=tree.ward1,
                introduced_on=D(2024, 1, 2),
                received_on=D(2024, 1, 10),
                residential_cell=tree.ward1_cell1 if i % 2 else tree.ward1_cell2,
                placed_on=D(2024, 1, 20),
                reported_on=D(2024, 2, 1) if i % 3 else None,
                ended_on=days_ago(10) if i % 5 == 0 else None,
                end_reason=Referral.EndReason.MOVED_RESIDENCE if i % 5 == 0 else "",
            )
            for i, member in enumerate(members)
        ]
    )
    Placement.objects.bulk_create(
        Placement(referral=r, residential_cell=r.residential_cell, started_on=r.placed_on) for r in referrals
    )


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["city", "ward1", "cell1"])
def test_cell_pages_run_a_constant_number_of_queries(client, tree, people, role):
    client.force_login(people[role])
    urls = [reverse("members:cell-list"), cell_url(tree.ward1_cell1)]
    add_placed(tree, 10)
    few = [count_queries(client, url) for url in urls]
    add_placed(tree, 190)
    response = client.get(cell_url(tree.ward1_cell1))
    assert len(response.context["placed"]) + len(response.context["exempt"]) == 80
    assert len(response.context["departed"]) == 20
    many = [count_queries(client, url) for url in urls]
    assert few == many
    assert max(few) <= 10
