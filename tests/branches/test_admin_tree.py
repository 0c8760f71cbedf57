"""The admin of the tree: former names and restructure records are shown (read-only, with their history), the
successor is edited with the tree's rules, and a move of an organisation with history is refused there too."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from branches.models import Organisation, Restructure
from branches.services import organisation_rename, organisation_update, restructure_record
from tests.factories import make_member, make_organisation, make_tree

Kind = Organisation.Kind
D = datetime.date
REFORM = D(2025, 7, 1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser(username="support", password="x-Dong-Ha-76", email="s@example.org")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def world(superuser):
    tree = make_tree()
    p1 = make_organisation(kind=Kind.WARD, parent=tree.root, code="P1X", name="Đảng bộ Phường 1", valid_to=REFORM)
    p2 = make_organisation(kind=Kind.WARD, parent=tree.root, code="P2X", name="Đảng bộ Phường 2", valid_to=REFORM)
    new = make_organisation(kind=Kind.WARD, parent=tree.root, code="DHW", name="Phường Đông Hà", valid_from=REFORM)
    merger = restructure_record(
        kind=Restructure.Kind.MERGE, effective_on=REFORM, predecessors=[p1, p2], successors=[new], by=superuser
    )
    organisation_rename(organisation=tree.ward2, name="Đảng bộ Phường Đông Lễ", effective_on=D(2019, 1, 1), by=None)
    rename = Restructure.objects.get(kind=Restructure.Kind.RENAME)
    return {"tree": tree, "p1": p1, "p2": p2, "new": new, "merger": merger, "rename": rename}


def _values(form) -> dict:
    values = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or isinstance(value, datetime.datetime):
            continue
        values[form.add_prefix(name)] = value.strftime("%d/%m/%Y") if isinstance(value, datetime.date) else value
    return values


def form_payload(response) -> dict:
    payload = _values(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        payload.update(_values(inline.formset.management_form))
        for form in inline.formset.forms:
            payload.update(_values(form))
    return payload


def change_url(organisation: Organisation) -> str:
    return reverse("admin:branches_organisation_change", args=[organisation.pk])


def test_the_organisation_page_shows_its_former_names_and_restructures(admin_client, world):
    page = admin_client.get(change_url(world["tree"].ward2))
    content = page.content.decode()

    assert page.status_code == 200
    assert "Đảng bộ Phường 5" in content  # the former name, in the read-only inline
    assert "01/01/2019" in content
    assert reverse("admin:branches_restructure_change", args=[world["rename"].pk]) in content
    merged = admin_client.get(change_url(world["p1"])).content.decode()
    assert reverse("admin:branches_restructure_change", args=[world["merger"].pk]) in merged


def test_the_successor_is_set_in_the_admin_with_the_tree_rules(admin_client, world):
    url = change_url(world["p1"])
    payload = form_payload(admin_client.get(url))

    too_early = make_organisation(kind=Kind.WARD, parent=world["tree"].root, valid_from=D(2025, 8, 1))
    refused = admin_client.post(url, {**payload, "successor": too_early.pk})
    saved = admin_client.post(url, {**payload, "successor": world["new"].pk})

    assert "successor" in refused.context["adminform"].form.errors
    assert saved.status_code == 302
    assert Organisation.objects.get(pk=world["p1"].pk).successor == world["new"]
    assert "Phường Đông Hà" in admin_client.get(reverse("admin:branches_organisation_changelist")).content.decode()


def test_a_move_of_an_organisation_with_history_is_refused_in_the_admin(admin_client, world):
    tree = world["tree"]
    make_member(tree.cell)
    other = make_organisation(kind=Kind.COMMITTEE, parent=tree.root)
    url = change_url(tree.cell)

    response = admin_client.post(url, {**form_payload(admin_client.get(url)), "parent": other.pk})

    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert Organisation.objects.get(pk=tree.cell.pk).parent == tree.committee


def test_the_restructures_are_listed_by_day_and_filtered_by_kind(admin_client, world):
    url = reverse("admin:branches_restructure_changelist")

    everything = admin_client.get(url)
    mergers = admin_client.get(url, {"kind__exact": "merge"})
    by_code = admin_client.get(url, {"q": "P2X"})

    assert list(everything.context["cl"].result_list) == [world["merger"], world["rename"]]
    content = everything.content.decode()
    assert "Đảng bộ Phường 1 (P1X)" in content and "Phường Đông Hà (DHW)" in content
    assert list(mergers.context["cl"].result_list) == [world["merger"]]
    assert list(by_code.context["cl"].result_list) == [world["merger"]]


def test_a_restructure_is_read_only_in_the_admin_with_its_history(admin_client, world):
    merger = world["merger"]
    url = reverse("admin:branches_restructure_change", args=[merger.pk])

    page = admin_client.get(url)
    changed = admin_client.post(url, {"kind": "split", "note": "x"})

    assert page.status_code == 200
    assert "Đảng bộ Phường 2 (P2X)" in page.content.decode()
    assert changed.status_code == 403
    assert admin_client.get(reverse("admin:branches_restructure_add")).status_code == 403
    assert admin_client.post(reverse("admin:branches_restructure_delete", args=[merger.pk])).status_code == 403
    assert Restructure.objects.get(pk=merger.pk).kind == Restructure.Kind.MERGE
    assert admin_client.get(reverse("admin:branches_restructure_history", args=[merger.pk])).status_code == 200


def test_former_names_are_not_edited_in_the_admin(admin_client, world):
    ward2 = world["tree"].ward2
    url = change_url(ward2)
    payload = form_payload(admin_client.get(url))
    name_fields = [key for key in payload if key.startswith("former_names-") and key.endswith("name")]

    response = admin_client.post(url, {**payload, "former_names-0-name": "Tên khác"})

    assert not name_fields  # read-only: no field of the inline is posted back
    assert response.status_code == 302
    assert ward2.former_names.get().name == "Đảng bộ Phường 5"


def test_an_organisation_updated_in_the_admin_keeps_a_successor_it_has(admin_client, world):
    organisation_update(organisation=world["p2"], successor=world["new"])
    url = change_url(world["p2"])

    response = admin_client.post(url, {**form_payload(admin_client.get(url)), "address": "Số 2 Lê Duẩn"})

    assert response.status_code == 302
    stored = Organisation.objects.get(pk=world["p2"].pk)
    assert (stored.successor, stored.address) == (world["new"], "Số 2 Lê Duẩn")


def test_a_kind_change_under_members_is_a_form_error_in_the_admin(admin_client, world):
    tree = world["tree"]
    make_member(tree.ward1_cell1)
    url = change_url(tree.ward1_cell1)

    response = admin_client.post(url, {**form_payload(admin_client.get(url)), "kind": Kind.CELL})

    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    assert Organisation.objects.get(pk=tree.ward1_cell1.pk).kind == Kind.RESIDENTIAL_CELL


def test_dates_that_would_lose_a_rename_are_a_form_error_in_the_admin(admin_client, world):
    url = change_url(world["tree"].ward2)

    response = admin_client.post(url, {**form_payload(admin_client.get(url)), "valid_from": "01/01/2020"})

    assert response.status_code == 200
    assert "valid_from" in response.context["adminform"].form.errors
