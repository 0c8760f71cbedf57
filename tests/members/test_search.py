"""Finding a member the way people type: without accents, any case, any spacing, part of the name."""

import pytest

from members import services
from members.models import Member
from tests.factories import make_member, make_tree, make_user


@pytest.fixture
def people():
    tree = make_tree()
    return {
        "duc": make_member(tree.cell, full_name="Nguyễn Văn Đức", card_number="93001001"),
        "dung": make_member(tree.cell, full_name="Nguyễn Văn Dũng", card_number="93001002"),
        "lan": make_member(tree.ward1_cell1, full_name="Trần Thị Lan", card_number="94001003"),
        "duc2": make_member(tree.outside, full_name="Đặng Đức Anh", card_number="95001004"),
    }


def found(text: str) -> set[str]:
    return set(Member.objects.search(text).values_list("full_name", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    ["nguyen van duc", "Nguyễn Văn Đức", "NGUYỄN văn  đức", "  nguyen   VAN duc ", "van duc", "VĂN ĐỨC", "n van d"],
)
def test_search_finds_the_name_however_it_is_typed(people, text):
    assert "Nguyễn Văn Đức" in found(text)
    assert "Trần Thị Lan" not in found(text)


@pytest.mark.django_db
def test_search_without_accents_also_finds_near_names(people):
    assert found("nguyen van d") == {"Nguyễn Văn Đức", "Nguyễn Văn Dũng"}
    assert found("duc") == {"Nguyễn Văn Đức", "Đặng Đức Anh"}
    assert found("dung") == {"Nguyễn Văn Dũng"}


@pytest.mark.django_db
def test_search_by_the_start_of_the_card_number(people):
    assert found("93001") == {"Nguyễn Văn Đức", "Nguyễn Văn Dũng"}
    assert found("94001003") == {"Trần Thị Lan"}
    assert found("001003") == set()  # the start of a card number, not any part


@pytest.mark.django_db
def test_blank_search_returns_everyone_and_nonsense_no_one(people):
    assert Member.objects.search("   ").count() == 4
    assert found("xyz") == set()


@pytest.mark.django_db
def test_search_name_is_set_on_save(people):
    assert Member.objects.get(pk=people["duc"].pk).search_name == "nguyen van duc"
    assert Member.objects.get(pk=people["duc2"].pk).search_name == "dang duc anh"


@pytest.mark.django_db
def test_search_name_follows_a_rename_through_the_service(people):
    services.member_update(member=people["lan"], by=make_user(), full_name="Trần Thị Ngọc Lan")
    assert Member.objects.get(pk=people["lan"].pk).search_name == "tran thi ngoc lan"
    assert found("ngoc lan") == {"Trần Thị Ngọc Lan"}
    assert found("thi lan") == set()


@pytest.mark.django_db
def test_search_name_follows_a_rename_saved_with_update_fields(people):
    member = people["dung"]
    member.full_name = "Phạm Văn Dũng"
    member.save(update_fields=["full_name"])
    assert Member.objects.get(pk=member.pk).search_name == "pham van dung"
    assert found("pham van dung") == {"Phạm Văn Dũng"}
