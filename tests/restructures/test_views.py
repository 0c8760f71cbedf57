"""The restructure pages (issue 11): city staff only, each operation's form, its preview (nothing written), the
confirm step (planned again from the preview's parameters, never from its counts), refusals shown in the preview,
the record's page, the section on the organisation's dashboard, the menu link. Through the test client with real
posts; the engine is ``restructures.plans`` / ``restructures.services``, unmocked."""

import datetime
import html
import io
import json
import re

import pytest
from django.urls import reverse
from openpyxl import Workbook

from branches.models import Officer, Organisation, Restructure
from members.models import Meeting, Member, Referral
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree

D = datetime.date
DAY = D(2025, 1, 1)
DAY_TEXT = "01/01/2025"
Kind = Organisation.Kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    tree = make_tree()
    # ward 1's two cells: a retired member living in each, and a referred member placed in each
    retired = [
        make_member(tree.ward1_cell1, full_name="Lê Văn Hưu", retired_on=D(2015, 1, 1)),
        make_member(tree.ward1_cell2, full_name="Trần Thị Lan", retired_on=D(2015, 1, 1)),
    ]
    referred = []
    for cell in (tree.ward1_cell1, tree.ward1_cell2):
        member = make_member(tree.cell)
        referred.append(
            make_referral(
                member,
                receiving_ward=tree.ward1,
                issuing_organisation=tree.committee,
                introduced_on=D(2024, 3, 1),
                received_on=D(2024, 3, 5),
                residential_cell=cell,
                placed_on=D(2024, 3, 6),
            )
        )
    return {
        "tree": tree,
        "retired": retired,
        "referred": referred,
        "city": make_officer(tree.root, role="staff", username="thanhuy"),
        "viewer": make_officer(tree.root, role="viewer", username="thanhuy-viewer"),
        "ward": make_officer(tree.ward1, username="phuong1"),
    }


def merge_post(tree, **extra) -> dict:
    return {
        "step": "plan",
        "codes": [tree.ward1_cell1.code, tree.ward1_cell2.code],
        "into": tree.ward1_cell1.code,
        "effective_on": DAY_TEXT,
        "note": "Nghị quyết 01-NQ/ĐU",
        **extra,
    }


def carried(response) -> str:
    """The parameters the preview's confirm form carries (HTML-unescaped)."""
    match = re.search(r'id="confirm-form".*?name="params" value="([^"]*)"', response.content.decode(), re.S)
    assert match, "the preview has no confirm form"
    return html.unescape(match.group(1))


def confirm(client, kind: str, params: str, **extra):
    return client.post(
        reverse("restructures:restructure-confirm", args=[kind]),
        {"params": params, "note": "Nghị quyết 01-NQ/ĐU", "officers": "follow", **extra},
    )


def snapshot():
    return [
        list(model.objects.order_by("pk").values())
        for model in (Organisation, Restructure, Member, Referral, Officer, Meeting)
    ]


# -- who may ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "ward"])
def test_everyone_but_city_staff_who_write_gets_404_and_changes_nothing(client, world, who):
    tree = world["tree"]
    record = Restructure.objects.create(kind=Restructure.Kind.RENAME, effective_on=DAY)
    client.force_login(world[who])
    before = snapshot()
    for url in (
        reverse("restructures:restructure-list"),
        reverse("restructures:restructure-detail", args=[record.pk]),
        reverse("restructures:restructure-new", args=["merge"]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("restructures:restructure-new", args=["merge"]), merge_post(tree)).status_code == 404
    params = json.dumps({"codes": [tree.ward1_cell1.code, tree.ward1_cell2.code], "effective_on": "2025-01-01"})
    assert confirm(client, "merge", params).status_code == 404
    assert snapshot() == before
    # nor is the page in the menu
    assert 'id="nav-restructures"' not in client.get(reverse("home")).content.decode()


def test_anonymous_users_are_sent_to_log_in(client, world):
    response = client.get(reverse("restructures:restructure-list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_city_staff_see_the_menu_link_the_list_and_the_four_operations(client, world):
    client.force_login(world["city"])
    assert 'id="nav-restructures"' in client.get(reverse("home")).content.decode()
    page = client.get(reverse("restructures:restructure-list")).content.decode()
    assert 'id="restructure-none"' in page
    for kind in ("merge", "split", "rename", "move"):
        assert reverse("restructures:restructure-new", args=[kind]) in page
        assert client.get(reverse("restructures:restructure-new", args=[kind])).status_code == 200
    assert client.get(reverse("restructures:restructure-new", args=["explode"])).status_code == 404


# -- merge ----------------------------------------------------------------------------------------------------------


def test_a_merge_is_previewed_without_writing_then_confirmed(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    before = snapshot()
    preview = client.post(reverse("restructures:restructure-new", args=["merge"]), merge_post(tree))
    assert preview.status_code == 200
    page = preview.content.decode()
    assert snapshot() == before  # a preview writes nothing
    # which organisation ends, into which, and what moves: one retired member, one placed referral
    ending = re.search(r'id="preview-ending".*?</section>', page, re.S).group(0)
    assert tree.ward1_cell2.code in ending and tree.ward1_cell1.code in ending
    flow = re.search(
        rf'data-from="{tree.ward1_cell2.code}" data-to="{tree.ward1_cell1.code}">.*?</tr>', page, re.S
    ).group(0)
    assert re.search(r'data-count="homes">1<', flow) and re.search(r'data-count="placements">1<', flow)
    assert 'id="preview-problems"' not in page
    assert 'id="confirm-button" disabled' not in page

    response = confirm(client, "merge", carried(preview))
    record = Restructure.objects.get()
    assert response.status_code == 302 and response.url == reverse("restructures:restructure-detail", args=[record.pk])
    assert record.kind == "merge" and record.effective_on == DAY and record.recorded_by == world["city"]
    assert record.note == "Nghị quyết 01-NQ/ĐU"
    assert set(record.predecessors.values_list("code", flat=True)) == {tree.ward1_cell1.code, tree.ward1_cell2.code}
    assert list(record.successors.values_list("code", flat=True)) == [tree.ward1_cell1.code]
    tree.ward1_cell2.refresh_from_db()
    assert tree.ward1_cell2.valid_to == DAY and tree.ward1_cell2.successor_id == tree.ward1_cell1.pk
    world["retired"][1].refresh_from_db()
    assert world["retired"][1].home_organisation_id == tree.ward1_cell1.pk
    world["referred"][1].refresh_from_db()
    assert world["referred"][1].residential_cell_id == tree.ward1_cell1.pk

    # the record's page, and the list
    detail = client.get(response.url).content.decode()
    assert tree.ward1_cell2.name in detail and "Nghị quyết 01-NQ/ĐU" in detail
    listing = client.get(reverse("restructures:restructure-list")).content.decode()
    assert f'data-restructure="{record.pk}"' in listing and DAY_TEXT in listing


def test_the_dashboard_of_each_organisation_lists_its_restructures(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    preview = client.post(reverse("restructures:restructure-new", args=["merge"]), merge_post(tree))
    confirm(client, "merge", carried(preview))
    record = Restructure.objects.get()
    for organisation in (tree.ward1_cell1, tree.ward1_cell2):
        page = client.get(reverse("reports:dashboard-org", args=[organisation.code])).content.decode()
        section = re.search(r'id="restructures".*?</ul>', page, re.S).group(0)
        assert f'data-restructure="{record.pk}"' in section
        assert reverse("restructures:restructure-detail", args=[record.pk]) in section
    # another organisation has none; the ward's secretary sees the section without the city's link
    assert (
        'id="restructures"' not in client.get(reverse("reports:dashboard-org", args=[tree.ward2.code])).content.decode()
    )
    client.force_login(world["ward"])
    page = client.get(reverse("reports:dashboard-org", args=[tree.ward1_cell1.code])).content.decode()
    assert f'data-restructure="{record.pk}"' in page
    assert reverse("restructures:restructure-detail", args=[record.pk]) not in page


def test_a_merge_into_a_new_cell_lists_the_new_organisation(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    post = merge_post(tree, into="", new_code="P1-KPM", new_name="Chi bộ Khu phố Mới")
    preview = client.post(reverse("restructures:restructure-new", args=["merge"]), post)
    assert preview.status_code == 200
    starting = re.search(r'id="preview-starting".*?</section>', preview.content.decode(), re.S).group(0)
    assert "P1-KPM" in starting and "Chi bộ Khu phố Mới" in starting and tree.ward1.name in starting
    assert not Organisation.objects.filter(code="P1-KPM").exists()
    assert confirm(client, "merge", carried(preview)).status_code == 302
    new = Organisation.objects.get(code="P1-KPM")
    assert new.valid_from == DAY and new.parent_id == tree.ward1.pk
    assert Referral.objects.filter(residential_cell=new).count() == 2


def test_the_merge_form_says_what_is_missing(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    url = reverse("restructures:restructure-new", args=["merge"])
    before = snapshot()
    # one organisation, no target, a day that is no date
    response = client.post(url, {"step": "plan", "codes": [tree.ward1_cell1.code], "effective_on": "31/02/2025"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"codes", "effective_on", "new_code", "new_name"} <= set(errors)
    # an unknown code is not a choice
    response = client.post(url, merge_post(tree, codes=["NOPE", tree.ward1_cell1.code]))
    assert response.status_code == 400 and "codes" in response.context["form"].errors
    assert snapshot() == before


def test_a_refused_merge_shows_its_problems_and_cannot_be_confirmed(client, world):
    """A day before the last recorded event of the cells (the placements of 06/03/2024): the plan's problem is shown
    in red, the confirm button is disabled, and a confirm posted all the same writes nothing."""
    tree = world["tree"]
    client.force_login(world["city"])
    before = snapshot()
    preview = client.post(
        reverse("restructures:restructure-new", args=["merge"]), merge_post(tree, effective_on="01/01/2024")
    )
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'id="preview-problems"' in page and 'id="confirm-button" disabled' in page
    response = confirm(client, "merge", carried(preview))
    assert response.status_code == 400 and 'id="preview-problems"' in response.content.decode()
    assert snapshot() == before


def test_confirm_plans_again_and_refuses_what_changed_since_the_preview(client, world):
    """A meeting recorded in the merged-away cell on the effective day after the preview was shown: the confirm
    re-plans from the parameters, finds it, and writes nothing."""
    tree = world["tree"]
    client.force_login(world["city"])
    preview = client.post(reverse("restructures:restructure-new", args=["merge"]), merge_post(tree))
    Meeting.objects.create(residential_cell=tree.ward1_cell2, held_on=DAY, kind="periodic", year=2025, half=1)
    before = snapshot()
    response = confirm(client, "merge", carried(preview))
    assert response.status_code == 400
    assert 'id="preview-problems"' in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    "params",
    [
        "",
        "not json",
        "[]",
        '{"codes": "P1", "effective_on": "2025-01-01"}',
        '{"codes": ["A", "B"], "effective_on": "01/01/2025"}',
        '{"codes": ["A", "B"], "effective_on": "0001-01-01"}',
        '{"codes": ["A\\u0000", "B"], "effective_on": "2025-01-01"}',
        '{"codes": [1, 2], "effective_on": "2025-01-01"}',
        '{"codes": ["A", "B"], "effective_on": "2025-01-01", "children": ["x"]}',
        "[" * 5000,
    ],
)
def test_a_confirm_with_parameters_no_preview_gave_is_a_400_and_writes_nothing(client, world, params):
    client.force_login(world["city"])
    before = snapshot()
    response = confirm(client, "merge", params)
    assert response.status_code == 400
    assert snapshot() == before


def test_a_confirm_with_an_unknown_choice_for_the_posts_shows_the_preview_again(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    preview = client.post(reverse("restructures:restructure-new", args=["merge"]), merge_post(tree))
    before = snapshot()
    response = confirm(client, "merge", carried(preview), officers="promote")
    assert response.status_code == 400 and 'id="preview-problems"' in response.content.decode()
    assert snapshot() == before


def test_the_children_of_merged_wards_are_mapped_in_the_preview_and_can_be_changed(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    post = {
        "step": "plan",
        "codes": [tree.ward1.code, tree.ward2.code],
        "into": tree.ward1.code,
        "effective_on": DAY_TEXT,
    }
    preview = client.post(reverse("restructures:restructure-new", args=["merge"]), post)
    assert preview.status_code == 200
    page = preview.content.decode()
    children = re.search(r'id="preview-children".*?</section>', page, re.S).group(0)
    assert f'name="child:{tree.ward2_cell1.code}"' in children and f'name="child:{tree.ward2_cell2.code}"' in children
    # ward 2's first cell is merged into ward 1's first cell, its second becomes a new cell "W-NEW"
    update = client.post(
        reverse("restructures:restructure-new", args=["merge"]),
        {
            "step": "update",
            "params": carried(preview),
            f"child:{tree.ward2_cell1.code}": tree.ward1_cell1.code,
            f"child:{tree.ward2_cell2.code}": "W-NEW",
        },
    )
    assert update.status_code == 200
    params = json.loads(carried(update))
    assert params["children"] == {tree.ward2_cell1.code: tree.ward1_cell1.code, tree.ward2_cell2.code: "W-NEW"}
    assert confirm(client, "merge", carried(update)).status_code == 302
    tree.ward2_cell1.refresh_from_db()
    assert tree.ward2_cell1.successor_id == tree.ward1_cell1.pk
    assert Organisation.objects.get(code="W-NEW").parent_id == tree.ward1.pk


# -- split, rename, move --------------------------------------------------------------------------------------------


def split_post(tree, **extra) -> dict:
    return {
        "step": "plan",
        "code": tree.ward1_cell2.code,
        "parts": "KP2A = Chi bộ Khu phố 2A\nKP2B = Chi bộ Khu phố 2B",
        "effective_on": DAY_TEXT,
        **extra,
    }


def test_a_split_is_assigned_in_the_table_then_confirmed(client, world):
    tree = world["tree"]
    retired, placed = world["retired"][1], world["referred"][1]
    card = placed.member.card_number
    client.force_login(world["city"])
    preview = client.post(reverse("restructures:restructure-new", args=["split"]), split_post(tree))
    assert preview.status_code == 200
    page = preview.content.decode()
    # the member living in the cell and the member placed in it are rows of the table, in the first part by default
    assert f'name="assign:{retired.card_number}"' in page and f'name="assign:{card}"' in page
    assert json.loads(carried(preview))["assignment"] == {retired.card_number: "KP2A", card: "KP2A"}
    update = client.post(
        reverse("restructures:restructure-new", args=["split"]),
        {"step": "update", "params": carried(preview), f"assign:{retired.card_number}": "KP2B", f"assign:{card}": "X"},
    )
    # a part that is not one of the split's is ignored: the table offers only the parts
    assert json.loads(carried(update))["assignment"] == {retired.card_number: "KP2B", card: "KP2A"}
    assert Organisation.objects.filter(code__in=["KP2A", "KP2B"]).count() == 0
    response = confirm(client, "split", carried(update))
    assert response.status_code == 302
    retired.refresh_from_db()
    placed.refresh_from_db()
    assert retired.home_organisation.code == "KP2B" and placed.residential_cell.code == "KP2A"
    assert Restructure.objects.get().kind == "split"


def test_a_split_with_a_member_left_out_is_refused(client, world):
    tree = world["tree"]
    retired = world["retired"][1]
    client.force_login(world["city"])
    preview = client.post(reverse("restructures:restructure-new", args=["split"]), split_post(tree))
    params = json.loads(carried(preview))
    del params["assignment"][retired.card_number]
    before = snapshot()
    response = confirm(client, "split", json.dumps(params))
    assert response.status_code == 400
    assert retired.card_number in re.search(r'id="preview-problems".*?</div>', response.content.decode(), re.S).group(0)
    assert snapshot() == before


def test_a_split_reads_its_assignment_from_an_uploaded_workbook(client, world):
    tree = world["tree"]
    retired = world["retired"][1]
    client.force_login(world["city"])
    book = Workbook()
    book.active.append(["Số thẻ", "Mã kế tục"])
    book.active.append([retired.card_number, "KP2B"])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.name = "phan-cong.xlsx"
    buffer.seek(0)
    preview = client.post(
        reverse("restructures:restructure-new", args=["split"]), {**split_post(tree), "assignment_file": buffer}
    )
    assert preview.status_code == 200
    assert json.loads(carried(preview))["assignment"][retired.card_number] == "KP2B"


def test_a_split_refuses_a_file_of_another_type_and_bad_lines(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    url = reverse("restructures:restructure-new", args=["split"])
    upload = io.BytesIO(b"MZ\x00\x00")
    upload.name = "virus.exe"
    response = client.post(url, {**split_post(tree), "assignment_file": upload})
    assert response.status_code == 400 and "assignment_file" in response.context["form"].errors
    response = client.post(url, split_post(tree, parts="KP2A Chi bộ Khu phố 2A"))
    assert response.status_code == 400 and "parts" in response.context["form"].errors
    response = client.post(url, split_post(tree, parts="KP2A = A\nKP2A = B"))
    assert response.status_code == 400 and "parts" in response.context["form"].errors


def test_a_rename_keeps_the_code_and_the_former_name(client, world):
    tree = world["tree"]
    client.force_login(world["city"])
    post = {"step": "plan", "code": tree.ward1.code, "name": "Đảng bộ Phường Đông Hà", "effective_on": DAY_TEXT}
    preview = client.post(reverse("restructures:restructure-new", args=["rename"]), post)
    assert preview.status_code == 200 and "Đảng bộ Phường Đông Hà" in preview.content.decode()
    assert confirm(client, "rename", carried(preview)).status_code == 302
    tree.ward1.refresh_from_db()
    assert tree.ward1.name == "Đảng bộ Phường Đông Hà"
    assert tree.ward1.name_on(D(2024, 12, 31)) == "Đảng bộ Phường 1"


def test_a_move_starts_a_successor_under_the_new_parent(client, world):
    tree = world["tree"]
    upper = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root, code="KHOI", valid_from=D(2020, 1, 1))
    client.force_login(world["city"])
    post = {"step": "plan", "code": tree.committee.code, "parent": upper.code, "effective_on": DAY_TEXT}
    preview = client.post(reverse("restructures:restructure-new", args=["move"]), post)
    assert preview.status_code == 200
    assert confirm(client, "move", carried(preview)).status_code == 302
    tree.committee.refresh_from_db()
    assert tree.committee.valid_to == DAY
    assert tree.committee.successor.parent_id == upper.pk


def test_the_list_shows_fifty_restructures_a_page_newest_first_in_a_bounded_number_of_queries(
    client, world, django_assert_max_num_queries
):
    """Issue 15: the nation's 1,197 restructures made a 1 MB page. The list is paged: the newest 50 first, the rest on
    the next pages, with their organisations read for the page's rows only."""
    from restructures.views import PER_PAGE

    tree = world["tree"]
    records = Restructure.objects.bulk_create(
        [
            Restructure(kind=Restructure.Kind.RENAME, effective_on=DAY - datetime.timedelta(days=i))
            for i in range(PER_PAGE + 3)
        ]
    )
    for record in records:
        record.predecessors.add(tree.ward1_cell1)
    client.force_login(world["city"])
    url = reverse("restructures:restructure-list")

    with django_assert_max_num_queries(12):
        first = client.get(url).content.decode()
    shown = [int(pk) for pk in re.findall(r'data-restructure="(\d+)"', first)]
    newest = sorted(records, key=lambda r: (r.effective_on, r.pk), reverse=True)
    assert shown == [record.pk for record in newest[:PER_PAGE]]
    assert 'id="restructure-pages"' in first and 'href="?page=2"' in first
    second = client.get(url, {"page": 2}).content.decode()
    assert [int(pk) for pk in re.findall(r'data-restructure="(\d+)"', second)] == [r.pk for r in newest[PER_PAGE:]]
    assert tree.ward1_cell1.code in second
    assert client.get(url, {"page": "abc"}).status_code == 200
