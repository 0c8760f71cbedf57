"""Finding 9 of issue 10: names made only of zero-width spaces, or holding right-to-left overrides, were accepted.
Names are stored NFC with single spaces; hidden and direction-changing characters are refused with a message naming
them, by every write path: the services (and so the pages), the model's ``full_clean`` (the workbook import), plain
``save()`` (normalisation only)."""

import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from branches import services as branch_services
from branches.models import Organisation
from members import services
from members.models import Member
from tests.factories import make_member, make_officer, member_fields

pytestmark = pytest.mark.django_db

HIDDEN_NAMES = ["\u200b\u200b\u200b", "Nguyễn Văn \u202eĐức", "\u2067Trần Thị Lan\u2069", "\u3164", "Lê\u200dHoa"]


@pytest.mark.parametrize("name", HIDDEN_NAMES)
def test_the_member_service_refuses_a_name_with_hidden_characters(tree, name):
    with pytest.raises(ValidationError) as error:
        services.member_create(by=None, **member_fields(tree.cell, full_name=name))

    assert "U+" in " ".join(error.value.message_dict["full_name"])
    assert not Member.objects.exists()


@pytest.mark.parametrize("name", ["   ", "\u00a0\u3000"])
def test_a_name_blank_once_cleaned_is_refused(tree, name):
    with pytest.raises(ValidationError) as error:
        services.member_create(by=None, **member_fields(tree.cell, full_name=name))

    assert "full_name" in error.value.message_dict


def test_a_decomposed_name_is_stored_composed(tree):
    typed = unicodedata.normalize("NFD", " Nguyễn   Văn Đức ")

    member = services.member_create(by=None, **member_fields(tree.cell, full_name=typed))

    member.refresh_from_db()
    assert member.full_name == unicodedata.normalize("NFC", "Nguyễn Văn Đức")
    assert member.search_name == "nguyen van duc"


def test_full_clean_refuses_and_normalises_as_the_import_needs(tree):
    member = Member(**member_fields(tree.cell, full_name="Trần\u202e Lan"))
    with pytest.raises(ValidationError) as error:
        member.full_clean(validate_unique=False, validate_constraints=False)
    assert "full_name" in error.value.message_dict

    member = Member(**member_fields(tree.cell, full_name=unicodedata.normalize("NFD", "Trần  Lan")))
    member.full_clean(validate_unique=False, validate_constraints=False)
    assert member.full_name == unicodedata.normalize("NFC", "Trần Lan")
    assert member.search_name == "tran lan"


def test_a_plain_save_normalises_the_name(tree):
    member = make_member(tree.cell, full_name=unicodedata.normalize("NFD", "Phạm  Thị Xa"))
    member.refresh_from_db()
    assert member.full_name == unicodedata.normalize("NFC", "Phạm Thị Xa")


def test_an_address_with_an_override_is_refused(tree):
    with pytest.raises(ValidationError) as error:
        services.member_create(by=None, **member_fields(tree.cell, residential_address="Số 1 \u202eLê Lợi"))
    assert "residential_address" in error.value.message_dict


def test_the_member_page_shows_the_message(client, tree):
    member = make_member(tree.cell)
    client.force_login(make_officer(tree.committee))
    url = reverse("members:member-edit", args=[member.pk])
    payload = {
        name: value.strftime("%d/%m/%Y") if hasattr(value, "strftime") else value
        for name, value in client.get(url).context["form"].initial.items()
        if value is not None
    }
    payload["home_organisation"] = member.home_organisation_id

    response = client.post(url, {**payload, "full_name": "\u200b\u200b"})

    assert response.status_code == 200
    assert "U+200B" in str(response.context["form"].errors["full_name"])
    member.refresh_from_db()
    assert member.full_name != "\u200b\u200b"


@pytest.mark.parametrize("name", ["\u200b", "Đảng bộ \u202ePhường 9", "  "])
def test_an_organisation_name_with_hidden_characters_is_refused(tree, name):
    with pytest.raises(ValidationError) as error:
        branch_services.organisation_create(code="P9", name=name, kind=Organisation.Kind.WARD, parent=tree.root)
    assert "name" in error.value.message_dict
    assert not Organisation.objects.filter(code="P9").exists()


def test_an_organisation_name_is_stored_composed(tree):
    organisation = branch_services.organisation_create(
        code="P9",
        name=unicodedata.normalize("NFD", "Đảng bộ  Phường 9 "),
        kind=Organisation.Kind.WARD,
        parent=tree.root,
    )
    organisation.refresh_from_db()
    assert organisation.name == unicodedata.normalize("NFC", "Đảng bộ Phường 9")
