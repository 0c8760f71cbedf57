"""Issue 15: the restructure forms never list every organisation (941 kB for a merge at province size).

Above ``ORGANISATION_OPTIONS_SHOWN`` organisations, a single choice (the organisation to split, rename or move, a
merge's target, a parent) is the forms' search picker keyed by code, and a merge's organisations are tick boxes: those
ticked plus the matches of a search box. The search is answered by the form's own page from the field's own queryset
(the organisations in force today, not the root); without JavaScript the box is sent with the form. The plans get
codes as before, and an unknown or out-of-scope code is refused with the same message as before.
"""

import datetime
import re

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from branches.models import Organisation
from tests.factories import make_officer, make_organisation, make_tree

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind
D = datetime.date
SHOWN = 5
DAY_TEXT = "01/01/2025"
MERGE = reverse("restructures:restructure-new", args=["merge"])
RENAME = reverse("restructures:restructure-new", args=["rename"])
MOVE = reverse("restructures:restructure-new", args=["move"])


@pytest.fixture(autouse=True)
def _few_options_shown(settings):
    settings.ORGANISATION_OPTIONS_SHOWN = SHOWN


def add_cells(ward, count: int, start: int = 0) -> list[Organisation]:
    return [
        make_organisation(
            kind=Kind.RESIDENTIAL_CELL,
            parent=ward,
            name=f"Chi bộ Tổ dân phố {n:02d}",
            code=f"{ward.code}T{n:02d}",
            valid_from=D(2020, 1, 1),
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def world():
    tree = make_tree()
    cells = add_cells(tree.ward1, SHOWN + 3)
    ended = make_organisation(
        kind=Kind.RESIDENTIAL_CELL,
        parent=tree.ward1,
        name="Chi bộ Tổ dân phố cũ",
        code="OLD1",
        valid_from=D(2000, 1, 1),
        valid_to=D(2010, 1, 1),
    )
    city = make_officer(tree.root, role="staff")
    return {"tree": tree, "cells": cells, "ended": ended, "city": city}


@pytest.fixture
def staff(client, world):
    client.force_login(world["city"])
    return client


def boxes(html: str, name: str = "codes") -> list[str]:
    """The values of the tick boxes named ``name``, in order."""
    return re.findall(rf'type="checkbox" name="{name}" value="([^"]*)"', html)


def ticked(html: str, name: str = "codes") -> list[str]:
    return re.findall(rf'type="checkbox" name="{name}" value="([^"]*)" id="[^"]*" checked', html)


def options_of(html: str, name: str) -> list[str]:
    select = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"', select)


def invalid_choice(value: str) -> str:
    """The message a plain choice gave for a code it does not offer, in Vietnamese (the pages' language)."""
    with translation.override("vi"):
        return str(forms.ChoiceField.default_error_messages["invalid_choice"]) % {"value": value}


def test_the_merge_form_lists_no_organisation_but_a_search_box(staff, world):
    page = staff.get(MERGE).content.decode()
    assert boxes(page) == []
    assert 'name="codes_term"' in page and 'hx-get="?options=codes"' in page
    assert 'hx-include="#id_codes_list input:checked"' in page
    assert '<label class="form-label small mb-1" for="id_codes_term">' in page
    assert options_of(page, "into") == [""]
    # the organisations that may hold others are few here: a plain select of them
    tree = world["tree"]
    assert options_of(page, "parent") == [
        "",
        *[org.code for org in (tree.root, tree.committee, tree.ward1, tree.ward2)],
    ]
    assert "Chi bộ Tổ dân phố 01" not in page
    for url in (RENAME, MOVE, reverse("restructures:restructure-new", args=["split"])):
        page = staff.get(url).content.decode()
        assert options_of(page, "code") == [""], url
        assert 'name="code_term"' in page, url


def test_a_few_organisations_stay_tick_boxes_and_a_plain_select(staff, world, settings):
    settings.ORGANISATION_OPTIONS_SHOWN = 100
    page = staff.get(MERGE).content.decode()
    every = list(Organisation.objects.valid_on(datetime.date.today()).exclude(kind=Kind.ROOT).order_by("path", "code"))
    assert boxes(page) == [org.code for org in every]
    assert 'name="codes_term"' not in page
    assert world["tree"].root.code not in boxes(page) and "OLD1" not in boxes(page)


def test_the_search_answers_tick_boxes_of_the_ticked_and_the_matches_in_scope(staff, world):
    tree, cells = world["tree"], world["cells"]
    answer = staff.get(MERGE, {"options": "codes", "codes_term": "dân phố", "codes": [tree.ward2_cell1.code]})
    assert answer.status_code == 200
    html = answer.content.decode()
    # the ticked one first and still ticked, then the matches (capped), none ticked; the ended cell is not found
    assert boxes(html) == [tree.ward2_cell1.code, *[cell.code for cell in cells[:SHOWN]]]
    assert ticked(html) == [tree.ward2_cell1.code]
    assert "OLD1" not in html and 'id="id_codes_found"' in html and 'hx-swap-oob="true"' in html
    # by code; the root and an ended organisation are out of the field's queryset: not found, not kept when ticked
    html = staff.get(MERGE, {"options": "codes", "codes_term": cells[6].code}).content.decode()
    assert boxes(html) == [cells[6].code]
    for term in (tree.root.code, "OLD1", tree.root.name):
        html = staff.get(MERGE, {"options": "codes", "codes_term": term, "codes": ["OLD1", tree.root.code]})
        assert boxes(html.content.decode()) == [], term
    # the single choices answer options, scoped the same way; the parent's are the organisations that hold others
    html = staff.get(RENAME, {"options": "code", "code_term": cells[6].code}).content.decode()
    assert re.findall(r'<option value="([^"]*)"', html) == ["", cells[6].code]
    html = staff.get(MOVE, {"options": "parent", "parent_term": "Phường"}).content.decode()
    assert re.findall(r'<option value="([^"]*)"', html) == ["", tree.ward1.code, tree.ward2.code]
    html = staff.get(MOVE, {"options": "parent", "parent_term": "dân phố"}).content.decode()
    assert re.findall(r'<option value="([^"]*)"', html) == [""]
    assert staff.get(MERGE, {"options": "note", "note_term": "x"}).status_code == 404


def test_nobody_but_city_staff_gets_the_search(client, world):
    client.force_login(make_officer(world["tree"].ward1, username="phuong1"))
    assert client.get(MERGE, {"options": "codes", "codes_term": "dân phố"}).status_code == 404


def merge_post(codes, **extra) -> dict:
    return {
        "step": "plan",
        "codes": codes,
        "into": codes[0] if codes else "",
        "effective_on": DAY_TEXT,
        "note": "Nghị quyết 01-NQ/ĐU",
        **extra,
    }


def test_a_merge_of_ticked_organisations_goes_to_the_preview_with_their_codes(staff, world):
    cells = world["cells"]
    response = staff.post(MERGE, merge_post([cells[0].code, cells[1].code], codes_term="dân phố"))
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["params"]["codes"] == [cells[0].code, cells[1].code]
    assert response.context["params"]["into"] == cells[0].code


def test_without_javascript_a_term_comes_back_with_its_matches_to_tick(staff, world):
    cells = world["cells"]
    # a term of many matches and no tick among them: the form comes back, the matches listed, the rest kept
    response = staff.post(MERGE, merge_post([cells[7].code], codes_term="Tổ dân phố 0", into=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert boxes(html) == [cells[7].code, *[cell.code for cell in cells[:SHOWN]]]
    assert ticked(html) == [cells[7].code]
    assert 'value="Tổ dân phố 0"' in html and "Nghị quyết 01-NQ/ĐU" in html
    assert "codes" in response.context["form"].errors
    # the user ticks two of them and sends again, the term still in the box
    response = staff.post(MERGE, merge_post([cells[7].code, cells[2].code, cells[3].code], codes_term="Tổ dân phố 0"))
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["params"]["codes"] == [cells[7].code, cells[2].code, cells[3].code]
    # a term that matches one organisation stands for it
    response = staff.post(MERGE, merge_post([cells[7].code], codes_term=cells[6].code))
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["params"]["codes"] == [cells[7].code, cells[6].code]
    # the single choices do the same: a rename's organisation typed by its code
    response = staff.post(RENAME, {"code": "", "code_term": cells[4].code, "name": "Mới", "effective_on": DAY_TEXT})
    assert response.status_code == 200 and response.context["params"]["code"] == cells[4].code


def test_an_unknown_or_out_of_scope_code_is_refused_as_before(staff, world):
    tree, cells = world["tree"], world["cells"]
    for bad in ("NOPE", "OLD1", tree.root.code):
        response = staff.post(MERGE, merge_post([cells[0].code, bad]))
        assert response.status_code == 400
        assert response.context["form"].errors["codes"] == [invalid_choice(bad)], bad
        response = staff.post(MERGE, merge_post([cells[0].code, cells[1].code], into=bad))
        assert response.context["form"].errors["into"] == [invalid_choice(bad)], bad
        post = {"code": bad, "name": "Mới", "effective_on": DAY_TEXT}
        assert staff.post(RENAME, post).context["form"].errors["code"] == [invalid_choice(bad)], bad
    # a cell cannot be a parent
    post = {"code": tree.committee.code, "parent": cells[0].code, "effective_on": DAY_TEXT}
    assert staff.post(MOVE, post).context["form"].errors["parent"] == [invalid_choice(cells[0].code)]
    # a merge target must be one of the merged, and two are needed (the form's own rules, unchanged)
    response = staff.post(MERGE, merge_post([cells[0].code, cells[1].code], into=cells[2].code))
    assert "into" in response.context["form"].errors
    assert "codes" in staff.post(MERGE, merge_post([cells[0].code])).context["form"].errors


def count_queries(client, url, data=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, data).status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_the_organisations(staff, world):
    cells = world["cells"]
    search = {"options": "codes", "codes_term": "dân phố", "codes": [cells[0].code, cells[1].code]}
    rename_search = {"options": "code", "code_term": "dân phố"}
    before = [
        count_queries(staff, MERGE),
        count_queries(staff, MERGE, search),
        count_queries(staff, RENAME, rename_search),
    ]
    add_cells(world["tree"].ward2, 3 * len(cells), start=50)
    after = [
        count_queries(staff, MERGE),
        count_queries(staff, MERGE, search),
        count_queries(staff, RENAME, rename_search),
    ]
    assert after == before
