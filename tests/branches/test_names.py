"""Names of a day: a rename on a date keeps the row and its code and records the former name with its dates, so that
letters, books and workbooks of a past day show the name of that day."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from branches.models import Organisation, OrganisationName, Restructure
from branches.selectors import name_on_expression, names_on
from branches.services import organisation_rename, organisation_update
from tests.factories import make_organisation, make_tree, make_user

Kind = Organisation.Kind
D = datetime.date


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def ward(tree):
    return make_organisation(
        kind=Kind.WARD, parent=tree.root, code="P3", name="Đảng bộ Phường 3", valid_from=D(2000, 1, 1)
    )


def nothing_written(organisation: Organisation, name: str) -> None:
    assert Organisation.objects.get(pk=organisation.pk).name == name
    assert not OrganisationName.objects.exists()
    assert not Restructure.objects.exists()


# -- the rename ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rename_keeps_the_row_and_code_and_records_the_former_name(ward):
    user = make_user()

    renamed = organisation_rename(
        organisation=ward, name="Đảng bộ Phường Đông Thanh", effective_on=D(2019, 1, 1), by=user, note="NQ 01/2019"
    )

    assert renamed.pk == ward.pk
    stored = Organisation.objects.get(pk=ward.pk)
    assert (stored.code, stored.name) == ("P3", "Đảng bộ Phường Đông Thanh")
    former = OrganisationName.objects.get()
    assert (former.organisation, former.name, former.valid_from, former.valid_to) == (
        stored,
        "Đảng bộ Phường 3",
        D(2000, 1, 1),
        D(2019, 1, 1),
    )
    record = Restructure.objects.get()
    assert (record.kind, record.effective_on, record.recorded_by, record.note) == (
        Restructure.Kind.RENAME,
        D(2019, 1, 1),
        user,
        "NQ 01/2019",
    )
    assert list(record.predecessors.all()) == [stored] == list(record.successors.all())
    assert list(stored.restructures_ended.all()) == [record] == list(stored.restructures_started.all())
    assert former.history.get().history_user == user
    assert stored.history.first().history_user == user


@pytest.mark.django_db
def test_a_second_rename_dates_the_former_name_from_the_first(ward):
    organisation_rename(organisation=ward, name="Đảng bộ Phường Đông Thanh", effective_on=D(2019, 1, 1), by=None)
    organisation_rename(organisation=ward, name="Đảng bộ Phường Đông Hà", effective_on=D(2025, 7, 1), by=None)

    assert list(OrganisationName.objects.order_by("valid_from").values_list("name", "valid_from", "valid_to")) == [
        ("Đảng bộ Phường 3", D(2000, 1, 1), D(2019, 1, 1)),
        ("Đảng bộ Phường Đông Thanh", D(2019, 1, 1), D(2025, 7, 1)),
    ]
    assert Restructure.objects.filter(kind=Restructure.Kind.RENAME).count() == 2


@pytest.mark.django_db
def test_the_new_name_is_stored_as_every_name_is(ward):
    organisation_rename(organisation=ward, name="  Đảng bộ   Phường\u00a0Đông Lễ ", effective_on=D(2019, 1, 1), by=None)

    assert Organisation.objects.get(pk=ward.pk).name == "Đảng bộ Phường Đông Lễ"


# -- refusals: a message on the field, nothing written ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("effective_on", "code"),
    [
        (D(2000, 1, 1), "effective_on_too_early"),  # the day it started
        (D(1999, 6, 1), "effective_on_too_early"),  # before it existed
        (D(1900, 1, 1), "effective_on_out_of_bounds"),
    ],
)
def test_a_rename_takes_effect_after_the_organisation_started(ward, effective_on, code):
    with pytest.raises(ValidationError) as refusal:
        organisation_rename(organisation=ward, name="Đảng bộ Phường Mới", effective_on=effective_on, by=None)

    assert [error.code for error in refusal.value.error_dict["effective_on"]] == [code]
    nothing_written(ward, "Đảng bộ Phường 3")


@pytest.mark.django_db
@pytest.mark.parametrize("effective_on", [D(2018, 12, 31), D(2019, 1, 1)])
def test_a_rename_takes_effect_after_the_previous_rename(ward, effective_on):
    organisation_rename(organisation=ward, name="Đảng bộ Phường Đông Thanh", effective_on=D(2019, 1, 1), by=None)

    with pytest.raises(ValidationError) as refusal:
        organisation_rename(organisation=ward, name="Đảng bộ Phường Mới", effective_on=effective_on, by=None)

    assert refusal.value.error_dict["effective_on"][0].code == "effective_on_too_early"
    assert "01/01/2019" in refusal.value.message_dict["effective_on"][0]
    assert OrganisationName.objects.count() == 1
    assert Organisation.objects.get(pk=ward.pk).name == "Đảng bộ Phường Đông Thanh"


@pytest.mark.django_db
def test_a_rename_is_not_in_the_future(ward):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    with pytest.raises(ValidationError) as refusal:
        organisation_rename(organisation=ward, name="Đảng bộ Phường Mới", effective_on=tomorrow, by=None)

    assert refusal.value.error_dict["effective_on"][0].code == "effective_on_out_of_bounds"
    nothing_written(ward, "Đảng bộ Phường 3")


@pytest.mark.django_db
@pytest.mark.parametrize("effective_on", [D(2025, 7, 1), D(2025, 8, 1)])
def test_an_organisation_that_has_ended_is_not_renamed(tree, effective_on):
    ward = make_organisation(
        kind=Kind.WARD, parent=tree.root, name="Đảng bộ Phường 2", valid_from=D(2000, 1, 1), valid_to=D(2025, 7, 1)
    )

    with pytest.raises(ValidationError) as refusal:
        organisation_rename(organisation=ward, name="Đảng bộ Phường Mới", effective_on=effective_on, by=None)

    assert refusal.value.error_dict["effective_on"][0].code == "ended"
    nothing_written(ward, "Đảng bộ Phường 2")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Đảng bộ Phường 3", " Đảng bộ  Phường 3 "])
def test_a_rename_gives_another_name(ward, name):
    with pytest.raises(ValidationError) as refusal:
        organisation_rename(organisation=ward, name=name, effective_on=D(2019, 1, 1), by=None)

    assert refusal.value.error_dict["name"][0].code == "same_name"
    nothing_written(ward, "Đảng bộ Phường 3")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "\u200b", "Phường\u202e 3", "x" * 201])
def test_a_new_name_follows_the_rules_of_every_name(ward, name):
    with pytest.raises(ValidationError) as refusal:
        organisation_rename(organisation=ward, name=name, effective_on=D(2019, 1, 1), by=None)

    assert "name" in refusal.value.message_dict
    nothing_written(ward, "Đảng bộ Phường 3")


@pytest.mark.django_db
def test_a_note_with_hidden_characters_writes_nothing(ward):
    with pytest.raises(ValidationError) as refusal:
        organisation_rename(
            organisation=ward, name="Đảng bộ Phường Mới", effective_on=D(2019, 1, 1), by=None, note="a\u200bb"
        )

    assert "note" in refusal.value.message_dict
    nothing_written(ward, "Đảng bộ Phường 3")


@pytest.mark.django_db
def test_the_database_holds_the_dates_of_a_former_name(ward):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationName.objects.create(organisation=ward, name="A", valid_from=D(2010, 1, 1), valid_to=D(2010, 1, 1))
    OrganisationName.objects.create(organisation=ward, name="A", valid_from=D(2010, 1, 1), valid_to=D(2012, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationName.objects.create(organisation=ward, name="B", valid_from=D(2010, 1, 1), valid_to=D(2011, 1, 1))


# -- validity dates of a renamed organisation ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_renamed_organisation_existed_on_the_days_of_its_renames(ward):
    organisation_rename(organisation=ward, name="Đảng bộ Phường Đông Thanh", effective_on=D(2019, 1, 1), by=None)

    with pytest.raises(ValidationError) as late_start:
        organisation_update(organisation=ward, valid_from=D(2019, 1, 1))
    with pytest.raises(ValidationError) as early_end:
        organisation_update(organisation=ward, valid_to=D(2019, 1, 1))

    assert late_start.value.error_dict["valid_from"][0].code == "valid_from_after_rename"
    assert early_end.value.error_dict["valid_to"][0].code == "valid_to_before_rename"
    assert organisation_update(organisation=ward, valid_to=D(2019, 1, 2)).valid_to == D(2019, 1, 2)


# -- reading the name of a day ---------------------------------------------------------------------------------------


@pytest.fixture
def renamed(ward):
    organisation_rename(organisation=ward, name="Đảng bộ Phường Đông Thanh", effective_on=D(2019, 1, 1), by=None)
    organisation_rename(organisation=ward, name="Đảng bộ Phường Đông Hà", effective_on=D(2025, 7, 1), by=None)
    return Organisation.objects.get(pk=ward.pk)


NAMES_OF_DAYS = [
    (D(1995, 1, 1), "Đảng bộ Phường 3"),  # before it existed: the first name it had
    (D(2000, 1, 1), "Đảng bộ Phường 3"),
    (D(2018, 12, 31), "Đảng bộ Phường 3"),
    (D(2019, 1, 1), "Đảng bộ Phường Đông Thanh"),
    (D(2025, 6, 30), "Đảng bộ Phường Đông Thanh"),
    (D(2025, 7, 1), "Đảng bộ Phường Đông Hà"),
    (D(2026, 1, 1), "Đảng bộ Phường Đông Hà"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("day", "name"), NAMES_OF_DAYS)
def test_the_name_of_a_day(renamed, day, name):
    assert renamed.name_on(day) == name


@pytest.mark.django_db
def test_the_name_of_a_day_reads_prefetched_former_names_without_a_query(renamed, django_assert_num_queries):
    organisation = Organisation.objects.prefetch_related("former_names").get(pk=renamed.pk)

    with django_assert_num_queries(0):
        assert [organisation.name_on(day) for day, _name in NAMES_OF_DAYS] == [name for _day, name in NAMES_OF_DAYS]


@pytest.mark.django_db
def test_names_of_a_day_for_a_list_in_one_query(tree, renamed, django_assert_num_queries):
    others = [tree.ward1, tree.ward2, tree.committee]

    with django_assert_num_queries(1):
        in_2018 = names_on([renamed, *others], D(2018, 9, 30))
    with django_assert_num_queries(1):
        today = names_on(Organisation.objects.filter(kind=Kind.WARD).order_by("name"), D(2026, 1, 1))

    assert in_2018 == {renamed.pk: "Đảng bộ Phường 3", **{o.pk: o.name for o in others}}
    assert today == {
        renamed.pk: "Đảng bộ Phường Đông Hà",
        tree.ward1.pk: tree.ward1.name,
        tree.ward2.pk: tree.ward2.name,
    }


@pytest.mark.django_db
def test_a_list_is_annotated_with_the_names_of_a_day(tree, renamed):
    from members.models import Referral
    from tests.factories import make_member, make_referral

    make_referral(make_member(tree.cell), receiving_ward=renamed, issuing_organisation=tree.committee)

    annotated = Referral.objects.annotate(ward_then=name_on_expression(D(2020, 5, 1), "receiving_ward__")).get()
    listed = Organisation.objects.filter(pk=renamed.pk).annotate(then=name_on_expression(D(2010, 5, 1))).get()

    assert annotated.ward_then == "Đảng bộ Phường Đông Thanh"
    assert listed.then == "Đảng bộ Phường 3"
