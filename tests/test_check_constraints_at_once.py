"""``validate_model`` asks every check constraint of a row in one query (``dongha76.services._broken_checks``), where
Django asks one each, in a savepoint each: a referral's seven checks took 21 statements. The answers are Django's:
the same errors, for every check broken, with a field that has an error already left out."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from branches.models import Organisation
from dongha76 import services as shared
from members import services
from members.models import Meeting, Member, MemberHome, Referral, ResidenceComment
from tests.factories import make_member, make_referral, make_tree

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def referral():
    tree = make_tree()
    referral = make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=D(2024, 3, 1))
    referral.tree = tree
    return referral


def errors_of(instance, messages) -> dict:
    with pytest.raises(ValidationError) as caught:
        shared.validate_model(instance, messages)
    return {
        field: [(e.message % (e.params or {}), e.code) for e in errors]
        for field, errors in caught.value.error_dict.items()
    }


def errors_one_query_each(instance, messages, monkeypatch) -> dict:
    """The errors as Django's own checks give them (one query each)."""
    with monkeypatch.context() as patched:
        patched.setattr(shared, "_broken_checks", lambda instance, exclude: None)
        return errors_of(instance, messages)


def test_a_valid_row_is_checked_in_one_query(referral, monkeypatch):
    def statements(checks_at_once: bool) -> list[str]:
        with monkeypatch.context() as patched, CaptureQueriesContext(connection) as queries:
            if not checks_at_once:
                patched.setattr(shared, "_broken_checks", lambda instance, exclude: None)
            shared.validate_model(referral, services.REFERRAL_MESSAGES)
        return [query["sql"] for query in queries.captured_queries]

    checks = sum(isinstance(c, models.CheckConstraint) for c in Referral._meta.constraints)
    at_once, one_each = statements(True), statements(False)
    assert checks == 7
    assert len([sql for sql in at_once if "SAVEPOINT" not in sql]) == (
        len([sql for sql in one_each if "SAVEPOINT" not in sql]) - checks + 1
    )
    assert len([sql for sql in at_once if sql.startswith("SAVEPOINT")]) == (
        len([sql for sql in one_each if sql.startswith("SAVEPOINT")]) - checks + 1
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"received_on": D(2024, 2, 1)},  # before the introduction
        {"received_on": D(2024, 3, 5), "placed_on": D(2024, 3, 2)},  # placed before received, and no cell
        {"ended_on": D(2024, 2, 1)},  # before the introduction, and without a reason
        {"end_reason": Referral.EndReason.MOVED_RESIDENCE},  # a reason without an end
        {"reported_on": D(2024, 4, 1)},  # reported, never placed
    ],
)
def test_the_errors_are_djangos(referral, broken, monkeypatch):
    for field, value in broken.items():
        setattr(referral, field, value)
    assert errors_of(referral, services.REFERRAL_MESSAGES) == errors_one_query_each(
        referral, services.REFERRAL_MESSAGES, monkeypatch
    )
    # Without the messages, each broken check is a non-field error of its own.
    assert errors_of(referral, {}) == errors_one_query_each(referral, {}, monkeypatch)


def test_a_field_with_an_error_leaves_out_the_checks_naming_it(referral, monkeypatch):
    referral.end_reason = "not a reason"  # an error of its own: "a reason if and only if ended" is not asked
    referral.received_on = D(2024, 2, 1)
    found = errors_of(referral, services.REFERRAL_MESSAGES)
    assert set(found) == {"end_reason", "received_on"}
    assert found == errors_one_query_each(referral, services.REFERRAL_MESSAGES, monkeypatch)


def broken_one_query_each(instance) -> set[str]:
    """The check constraints ``instance`` breaks, each asked as Django asks it."""
    broken = set()
    for constraint in instance._meta.constraints:
        if isinstance(constraint, models.CheckConstraint):
            try:
                constraint.validate(type(instance), instance)
            except ValidationError:
                broken.add(constraint.name)
    return broken


def rows_breaking_checks(tree) -> list[models.Model]:
    member = make_member(tree.cell, admitted_on=D(2010, 1, 1))
    return [
        MemberHome(member=member, organisation=tree.cell, started_on=D(2020, 1, 1), ended_on=D(2019, 1, 1)),
        Member(
            full_name="Nguyễn Văn A",
            admitted_on=D(2010, 1, 1),
            official_on=D(2009, 1, 1),  # before the admission
            left_on=D(2008, 1, 1),  # before the admission, and without a reason
            home_organisation=tree.cell,
        ),
        Organisation(
            name="X", kind=Organisation.Kind.ROOT, parent=tree.root, valid_from=D(2020, 1, 1), valid_to=D(2019, 1, 1)
        ),
        ResidenceComment(
            member=member,
            year=2024,
            residential_cell=tree.ward1_cell1,
            verdict="good",
            written_on=D(2024, 11, 2),
            sent_on=D(2024, 11, 1),  # before it was written
            received_on=D(2024, 10, 1),  # before it was sent
        ),
        Referral(
            member=member,
            introduced_on=D(2024, 3, 1),
            received_on=D(2024, 2, 1),
            ended_on=D(2024, 1, 1),
            placed_on=D(2024, 5, 1),
        ),
    ]


def test_the_checks_broken_are_djangos():
    """Each row breaks some of its model's checks (none pre-empted by a field's error here): the one query finds
    exactly those Django's own checks find, with NULL read as passing."""
    for row in rows_breaking_checks(make_tree()):
        expected = broken_one_query_each(row)
        assert expected, row
        assert shared._broken_checks(row, set()) == expected, type(row).__name__
        # Every field named by a broken check left out: nothing asked, nothing broken.
        assert shared._broken_checks(row, {f.name for f in row._meta.concrete_fields}) == set()


def test_a_check_answering_null_passes_as_in_django():
    """SQL's NULL (an unknown half-year) is not a broken check, for Django nor here."""
    meeting = Meeting(residential_cell=make_tree().ward1_cell1, held_on=D(2024, 5, 10), year=2024, half=None)
    assert broken_one_query_each(meeting) == set()
    assert shared._broken_checks(meeting, set()) == set()
    meeting.half = 3
    assert shared._broken_checks(meeting, set()) == broken_one_query_each(meeting) == {"meeting_half_is_1_or_2"}
