"""Issue 15: a form's choice of an organisation never renders every organisation as an <option>.

Above ``ORGANISATION_OPTIONS_SHOWN`` choices the select holds the chosen one only, a search box asks the form's own
page for the matches (``?options=<field>&<field>_term=``), scoped exactly as the field's queryset; without JavaScript
the box is sent with the form. The field still refuses an organisation out of its queryset.
"""

import datetime

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.models import Organisation
from members.forms.common import OrganisationPicker
from members.models import Member
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree
from tests.members.test_views_people import client_for, member_post

pytestmark = pytest.mark.django_db

Kind = Organisation.Kind
D = datetime.date
CREATE = reverse("members:member-create")
SHOWN = 5


@pytest.fixture(autouse=True)
def _few_options_shown(settings):
    settings.ORGANISATION_OPTIONS_SHOWN = SHOWN


@pytest.fixture
def tree():
    tree = make_tree()
    for n in range(SHOWN + 3):  # more cells in ward 1 than a select shows
        make_organisation(
            kind=Kind.RESIDENTIAL_CELL, parent=tree.ward1, name=f"Chi bộ Tổ dân phố {n:02d}", code=f"P1T{n:02d}"
        )
    return tree


@pytest.fixture
def city(tree):
    return make_officer(tree.root, role="staff")


def options_of(page: str, name: str) -> list[str]:
    select = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return [part.split('"', 1)[0] for part in select.split('<option value="')[1:]]


def test_city_staff_new_member_form_lists_no_cell_but_a_search_box(client, tree, city):
    page = client_for(city).get(CREATE).content.decode()
    assert options_of(page, "home_organisation") == [""]  # the empty choice only
    assert 'name="home_organisation_term"' in page and 'hx-get="?options=home_organisation"' in page
    assert '<label class="form-label small mb-1" for="id_home_organisation_term">' in page
    assert "Chi bộ Tổ dân phố 01" not in page


def test_a_few_choices_stay_a_plain_select(client, tree, settings):
    settings.ORGANISATION_OPTIONS_SHOWN = 50
    page = client_for(make_officer(tree.root, role="staff")).get(CREATE).content.decode()
    assert "home_organisation_term" not in page
    assert str(tree.ward1_cell1.pk) in options_of(page, "home_organisation")


def test_the_search_answers_the_fields_own_queryset(client, tree, city):
    answer = client_for(city).get(CREATE, {"options": "home_organisation", "home_organisation_term": "dân phố 0"})
    assert answer.status_code == 200
    text = answer.content.decode()
    assert text.count("<option") == SHOWN + 1  # the empty choice and the first matches, no more
    assert 'id="id_home_organisation_found"' in text and 'hx-swap-oob="true"' in text
    by_code = client_for(city).get(CREATE, {"options": "home_organisation", "home_organisation_term": "p1t03"})
    assert f'<option value="{Organisation.objects.get(code="P1T03").pk}" selected>' in by_code.content.decode()
    outside = client_for(city).get(CREATE, {"options": "home_organisation", "home_organisation_term": "Sở Tài"})
    assert "Sở Tài chính" not in outside.content.decode()  # an outside organisation is no home cell here
    assert client_for(city).get(CREATE, {"options": "full_name"}).status_code == 404


def test_a_ward_cannot_find_another_wards_cells(client, tree):
    for n in range(SHOWN + 1):
        make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2, name=f"Chi bộ Tổ dân phố {n:02d} (P5)")
    member = make_member(tree.cell)
    referral = make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    referral.received_on = referral.introduced_on
    referral.save()
    ward = client_for(make_officer(tree.ward1))
    url = reverse("members:referral-place", args=[referral.pk])
    page = ward.get(url).content.decode()
    assert 'name="residential_cell_term"' in page
    answer = ward.get(url, {"options": "residential_cell", "residential_cell_term": "Tổ dân phố"}).content.decode()
    assert "(P5)" not in answer and "Chi bộ Tổ dân phố 00" in answer
    ward5 = client_for(make_officer(tree.ward2))
    assert ward5.get(url, {"options": "residential_cell", "residential_cell_term": ""}).status_code == 404

    refused = ward.post(url, {"residential_cell": tree.ward2_cell1.pk, "placed_on": "12/03/2024"})
    assert "residential_cell" in refused.context["form"].errors
    # Typed instead of picked (no JavaScript): a term matching a cell of another ward only matches nothing here.
    typed = ward.post(url, {"residential_cell": "", "residential_cell_term": "(P5)", "placed_on": "12/03/2024"})
    assert "residential_cell" in typed.context["form"].errors
    assert "No organisation matches" in typed.content.decode() or "Không có tổ chức" in typed.content.decode()
    referral.refresh_from_db()
    assert referral.residential_cell is None


def test_posting_a_picked_cell_creates_the_member(client, tree, city):
    cell = Organisation.objects.get(code="P1T04")
    response = client_for(city).post(CREATE, {**member_post(cell), "home_organisation_term": "dân phố 04"})
    member = Member.objects.get(card_number="80001234")
    assert response.status_code == 302 and member.home_organisation == cell


def test_without_javascript_a_term_that_matches_one_cell_stands_for_it(client, tree, city):
    data = {**member_post(tree.cell), "home_organisation": "", "home_organisation_term": "P1T06"}
    response = client_for(city).post(CREATE, data)
    assert response.status_code == 302
    assert Member.objects.get(card_number="80001234").home_organisation.code == "P1T06"


def test_without_javascript_a_term_that_matches_several_lists_them_and_keeps_the_other_fields(client, tree, city):
    data = {**member_post(tree.cell), "home_organisation": "", "home_organisation_term": "dân phố 0"}
    response = client_for(city).post(CREATE, data)
    assert response.status_code == 200 and not Member.objects.exists()
    page = response.content.decode()
    assert "home_organisation" in response.context["form"].errors
    assert len(options_of(page, "home_organisation")) == SHOWN + 1  # the matches to choose from
    assert 'value="dân phố 0"' in page and 'value="Nguyễn Thị Lan"' in page


def test_a_form_with_errors_keeps_the_chosen_cell_shown(client, tree, city):
    cell = Organisation.objects.get(code="P1T02")
    response = client_for(city).post(CREATE, member_post(cell, full_name=""))
    assert response.status_code == 200 and "full_name" in response.context["form"].errors
    page = response.content.decode()
    assert options_of(page, "home_organisation") == ["", str(cell.pk)]
    assert f'<option value="{cell.pk}" selected>{cell.name}</option>' in page


def test_an_unknown_or_out_of_scope_key_is_refused(client, tree):
    cadre = make_officer(tree.committee, role="secretary")  # the committee's cells only
    for value in (tree.ward1_cell1.pk, 999_999, "?Chi bộ"):
        response = client_for(cadre).post(CREATE, member_post(tree.cell, home_organisation=value))
        assert "home_organisation" in response.context["form"].errors
    assert not Member.objects.exists()


def test_every_form_of_organisations_searches(client, tree, city):
    """The end step's new ward, the introduction's ward, the book's organisation and the outside member's choices."""
    for n in range(SHOWN + 1):
        make_organisation(kind=Kind.WARD, parent=tree.root, name=f"Đảng bộ Phường {n + 10}")
        make_organisation(kind=Kind.OUTSIDE, name=f"Sở ngoài {n}")
    member = make_member(tree.cell)
    c = client_for(city)
    introduce = c.get(reverse("members:referral-introduce", args=[member.pk])).content.decode()
    assert 'name="receiving_ward_term"' in introduce
    book = c.get(reverse("members:tracking-book-index")).content.decode()
    assert 'name="organisation_term"' in book
    found = c.get(reverse("members:tracking-book-index"), {"options": "organisation", "organisation_term": "Phường 1"})
    assert "Đảng bộ Phường 10" in found.content.decode()
    chosen = c.get(
        reverse("members:tracking-book-index"), {"organisation": "", "organisation_term": "Phường 15", "year": 2024}
    )
    assert chosen.status_code == 302


def test_the_forms_queries_do_not_grow_with_the_organisations(client, tree, city):
    staff = client_for(city)
    chosen = Organisation.objects.get(code="P1T01")

    def queries() -> tuple[int, int]:
        counts = []
        for data in ({}, {"options": "home_organisation", "home_organisation_term": "Tổ"}):
            with CaptureQueriesContext(connection) as captured:
                assert staff.get(CREATE, data).status_code == 200
            counts.append(len(captured))
        with CaptureQueriesContext(connection) as captured:
            staff.post(CREATE, member_post(chosen, full_name=""))  # re-rendered with the chosen cell
        return (*counts, len(captured))

    before = queries()
    for n in range(3 * SHOWN):
        make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2, name=f"Chi bộ Tổ {n:02d} (P5)")
    assert queries() == before


def test_a_field_keyed_by_code_is_searched_too(tree):
    """For forms that name organisations by code (e.g. the restructures'): the picker keeps the field's key."""

    class CodeForm(forms.Form):
        cell = forms.ModelChoiceField(
            queryset=Organisation.objects.filter(kind=Kind.RESIDENTIAL_CELL).order_by("code"),
            to_field_name="code",
            widget=OrganisationPicker,
        )

    chosen = CodeForm({"cell": "P1T03"})
    assert chosen.is_valid() and chosen.cleaned_data["cell"].code == "P1T03"
    assert '<option value="P1T03" selected>' in str(chosen["cell"]) and str(chosen["cell"]).count("<option") == 2
    typed = CodeForm({"cell": "", "cell_term": "dân phố 05"})
    assert typed.is_valid() and typed.cleaned_data["cell"].code == "P1T05"
    several = CodeForm({"cell": "", "cell_term": "dân phố"})
    assert not several.is_valid() and str(several["cell"]).count("<option") == SHOWN + 1
