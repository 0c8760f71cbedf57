"""The import validates its rows with ``workbooks.importing.validating.ModelChecks`` (issue 15): the errors
``full_clean(validate_unique=False, validate_constraints=False)`` gives, for valid and wrong values met once or again,
with each field's check of a valid value run once an import."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from members.models import Member, Referral
from tests.factories import make_member, make_tree, member_fields
from workbooks.importing import validating
from workbooks.importing.validating import ModelChecks

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)
WRONG_MEMBERS = [
    {"admitted_on": TOMORROW},
    {"date_of_birth": datetime.date(1899, 12, 31)},
    {"gender": "other"},
    {"card_number": "12 34"},
    {"national_id": "12345"},
    {"residential_address": "Khu phố\u200b 3"},
    {"phone": "0" * 21},
    {"full_name": ""},
    {"full_name": "\u200b"},
    {"left_on": datetime.date(2010, 1, 1)},
    {"official_on": datetime.date(2000, 1, 1), "admitted_on": TOMORROW, "gender": ""},
]


def errors_of(clean) -> dict | None:
    """Each field's errors as (message, code, params), or None when valid."""
    try:
        clean()
    except ValidationError as exc:
        return {
            field: [(str(error.message), error.code, error.params) for error in errors]
            for field, errors in exc.error_dict.items()
        }
    return None


def assert_same_errors(checks: ModelChecks, fields: dict, exclude) -> None:
    ours, django = Member(**fields), Member(**fields)
    expected = errors_of(lambda: django.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False))
    assert errors_of(lambda: checks.full_clean(ours, exclude=exclude)) == expected
    assert {f.attname: getattr(ours, f.attname) for f in Member._meta.concrete_fields if hasattr(ours, f.attname)} == {
        f.attname: getattr(django, f.attname) for f in Member._meta.concrete_fields if hasattr(django, f.attname)
    }


def test_members_get_the_errors_full_clean_gives_when_their_values_are_met_again():
    tree = make_tree()
    checks = ModelChecks(Member)
    for _round in range(2):  # the second time, every valid value is remembered
        assert_same_errors(checks, member_fields(tree.cell), ["home_organisation"])
        for wrong in WRONG_MEMBERS:
            assert_same_errors(checks, member_fields(tree.cell, **wrong), [])
        # A field excluded (a problem said already) is not checked.
        assert_same_errors(checks, member_fields(tree.cell, admitted_on=TOMORROW), ["home_organisation", "admitted_on"])


def test_referrals_get_the_errors_full_clean_gives():
    tree = make_tree()
    member = make_member(tree.cell)
    checks = ModelChecks(Referral)
    relations = ["member", "issuing_organisation", "receiving_ward", "residential_cell"]

    def referral(**fields):
        values = {
            "member": member,
            "issuing_organisation": tree.cell.parent,
            "receiving_ward": tree.ward1,
            "introduced_on": datetime.date(2018, 3, 10),
            **fields,
        }
        return lambda: Referral(**values)

    cases = [
        referral(),
        referral(received_on=datetime.date(2018, 3, 1)),
        referral(introduced_on=TOMORROW),
        referral(receiving_ward=tree.cell, letter_number="x" * 200),
        referral(residential_cell=tree.ward2_cell1, received_on=datetime.date(2018, 4, 1)),
        referral(ended_on=datetime.date(2019, 1, 1)),
    ]
    for _round in range(2):
        for make in cases:
            ours, django = make(), make()
            expected = errors_of(
                lambda django=django: django.full_clean(
                    exclude=relations, validate_unique=False, validate_constraints=False
                )
            )
            assert errors_of(lambda ours=ours: checks.full_clean(ours, exclude=relations)) == expected


def test_a_valid_value_is_checked_once_and_values_that_do_not_repeat_are_not_kept(monkeypatch):
    tree = make_tree()
    checks = ModelChecks(Member)
    calls = {"admitted_on": 0, "full_name": 0}
    for name in calls:
        field = Member._meta.get_field(name)
        real = field.clean

        def counted(value, instance, name=name, real=real):
            calls[name] += 1
            return real(value, instance)

        monkeypatch.setattr(field, "clean", counted)
    monkeypatch.setattr(validating, "TRIAL", 20)
    for n in range(50):
        checks.full_clean(Member(**member_fields(tree.cell, full_name=f"Lê Văn {n}")), exclude=["home_organisation"])
    assert calls["admitted_on"] == 1  # the same day on every row
    assert calls["full_name"] == 50  # every name differs: checked each time
    assert not checks.remembered["full_name"].on and not checks.remembered["full_name"].cleaned
    assert checks.remembered["admitted_on"].on
