"""A headline carried from one day to a later one (``reports.steps``) equals the headline computed whole on the later
day, on the factories' tree for each kind of date crossing the window (the demo's pairs of days:
``test_steps_demo.py``)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import Organisation
from members import places
from members.models import Exemption, Placement, Referral
from reports import figures, stale, steps
from tests.factories import make_member, make_referral, make_tree

pytestmark = pytest.mark.django_db

D = datetime.date
Kind = Organisation.Kind


def carried(organisation: Organisation, since: datetime.date, until: datetime.date) -> figures.Headline | None:
    return steps.stepped(organisation, figures.headline(organisation, since), since, until)


@pytest.fixture
def tree():
    tree = make_tree()
    tree.teacher = make_member(tree.grassroots_cell, admitted_on=D(2011, 1, 1))
    return tree


def assert_steps(tree, since: datetime.date, until: datetime.date) -> None:
    """Every organisation's step from ``since`` to ``until`` equals its whole headline, and the city's differs from
    ``since``'s (the test's write moved something inside the window)."""
    for organisation in Organisation.objects.filter(path__startswith=tree.root.path).order_by("path"):
        assert carried(organisation, since, until) == figures.headline(organisation, until), organisation.code
    assert figures.headline(tree.root, since) != figures.headline(tree.root, until)


def test_a_referral_turning_stalled_without_any_write(tree):
    """Introduced on 2 May, not received: stalled from 2 June, 30 days later. No date of the referral is inside the
    window (20 May, 10 June]: the step finds it by its introduction shifted by the 30 days."""
    make_referral(
        tree.teacher, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell, introduced_on=D(2018, 5, 2)
    )
    assert_steps(tree, D(2018, 5, 20), D(2018, 6, 10))
    assert figures.headline(tree.root, D(2018, 6, 10)).stalled == 1


def test_introduction_reception_placement_and_ending(tree):
    referral = make_referral(
        tree.teacher,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.grassroots_cell,
        introduced_on=D(2018, 3, 5),
        received_on=D(2018, 3, 12),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2018, 3, 20),
    )
    for since, until in (
        (D(2018, 3, 1), D(2018, 3, 6)),
        (D(2018, 3, 6), D(2018, 3, 15)),
        (D(2018, 3, 15), D(2018, 3, 25)),
    ):
        assert_steps(tree, since, until)
    Referral.objects.filter(pk=referral.pk).update(
        ended_on=D(2018, 4, 2), end_reason=Referral.EndReason.MOVED_RESIDENCE
    )
    Placement.objects.filter(referral=referral).update(ended_on=D(2018, 4, 2))
    assert_steps(tree, D(2018, 3, 25), D(2018, 4, 10))


def test_admission_retirement_leaving_and_a_home_move(tree):
    newcomer = make_member(tree.cell, admitted_on=D(2018, 3, 3))
    assert_steps(tree, D(2018, 3, 1), D(2018, 3, 5))
    tree.teacher.retired_on = D(2018, 4, 4)
    tree.teacher.save()
    assert_steps(tree, D(2018, 4, 1), D(2018, 4, 5))
    newcomer.left_on, newcomer.left_reason = D(2018, 5, 5), newcomer.LeftReason.DIED
    newcomer.save()
    assert_steps(tree, D(2018, 5, 1), D(2018, 5, 6))
    moved = make_member(tree.cell, admitted_on=D(2010, 1, 1))
    places.move_home(member_id=moved.pk, organisation=tree.ward2_cell2, on=D(2018, 6, 6), by=None)
    assert_steps(tree, D(2018, 6, 1), D(2018, 6, 10))


def test_an_exemption(tree):
    Exemption.objects.create(
        member=tree.teacher, kind=Exemption.Kind.INTRODUCTION, started_on=D(2018, 7, 7), reason="Ốm dài ngày"
    )
    assert_steps(tree, D(2018, 7, 1), D(2018, 7, 10))


def test_no_step_over_a_restructure(tree):
    """A ward that ended inside the window: its referrals change ward without a date of theirs in the window."""
    tree.ward2.valid_to = D(2018, 8, 8)
    tree.ward2.save()
    assert steps.members_changed(D(2018, 8, 1), D(2018, 8, 10)) is None
    assert steps.members_changed(D(2018, 8, 8), D(2018, 8, 10)) is not None


def test_every_watched_table_but_the_tree_reaches_its_members():
    """The step reads the triggers' own list of the headline's dates (``stale.HEADLINE_WATCHED``): a table added
    there without its way to its members would stop the step at import, not count wrong."""
    watched = {w.table for w in stale.HEADLINE_WATCHED} - {Organisation._meta.db_table}
    assert watched == set(steps.MEMBER_OF)
    assert {d.model._meta.db_table: d.dates for d in steps._dated_tables()} == {
        w.table: w.dates for w in stale.HEADLINE_WATCHED if w.table in watched
    }


def test_a_step_takes_six_queries_whatever_the_members(tree):
    def count(since, until):
        base = figures.headline(tree.root, since)
        with CaptureQueriesContext(connection) as queries:
            steps.stepped(tree.root, base, since, until)
        return len(queries)

    few = count(D(2018, 1, 1), D(2018, 1, 20))
    for n in range(5):
        member = make_member(tree.cell, admitted_on=D(2018, 1, 10 + n))
        make_referral(member, receiving_ward=tree.ward1, introduced_on=D(2018, 1, 15), received_on=D(2018, 1, 16))
    assert count(D(2018, 1, 1), D(2018, 1, 20)) == few == 6
