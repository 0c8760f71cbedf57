"""Stored figures by sector (``reports.snapshots.by_sector_on``, ``ReportSnapshot`` part "by_sector"): a later day's
rows are the stored day's carried by the members whose rows changed in between, across years too (as the headline's
people); every snapshot still stored after a write that changes it equals ``figures.by_sector`` computed fresh, and the
report reads them. An organisation's sector, read for every day, makes every stored day stale.
"""

import datetime

import pytest
from django.db import connection

from branches import services as branch_services
from branches.models import Organisation
from members import places, services
from members.models import Exemption
from reports import figures, report, snapshots, stale, steps
from reports.models import ReportSnapshot
from tests.factories import make_member, make_organisation, make_referral
from tests.reports.test_snapshots import tree as headline_tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
DAYS = [D(2017, 12, 31), D(2018, 3, 31), D(2018, 9, 30)]
PUBLIC_SERVICE = Organisation.Sector.PUBLIC_SERVICE


@pytest.fixture(autouse=True)
def large(monkeypatch):
    """Every subtree counts as large: every one stores its days."""
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


@pytest.fixture
def tree(headline_tree):  # noqa: F811
    """``test_snapshots``'s tree, its grassroots cell (the teacher's home) a public-service unit."""
    Organisation.objects.filter(pk=headline_tree.grassroots_cell.pk).update(sector=PUBLIC_SERVICE)
    return headline_tree


def organisations() -> list[Organisation]:
    return list(Organisation.objects.order_by("path"))


def store_all() -> dict:
    stored = {(o.pk, day): snapshots.by_sector_on(o, day) for o in organisations() for day in DAYS}
    assert ReportSnapshot.objects.filter(part="by_sector").count() == len(stored)
    return stored


def assert_exact(before: dict, *, changed: bool = True) -> None:
    fresh = {(o.pk, day): figures.by_sector(o, day) for o in organisations() for day in DAYS}
    for row in ReportSnapshot.objects.filter(part="by_sector"):
        assert snapshots._decoded_sectors(row.figures) == fresh[row.organisation_id, row.day], row
    for organisation in organisations():
        for day in DAYS:
            assert snapshots.by_sector_on(organisation, day) == fresh[organisation.pk, day]
    differing = {key for key, rows in fresh.items() if before.get(key) != rows}
    assert bool(differing) == changed, differing


@pytest.fixture
def counted(monkeypatch) -> list:
    """The calls of ``figures.by_sector``: (as_of, whether only some members)."""
    calls = []
    function = figures.by_sector

    def recorded(organisation, as_of, members=None):
        calls.append((as_of, members is not None))
        return function(organisation, as_of, members)

    monkeypatch.setattr(figures, "by_sector", recorded)
    return calls


def sectors(rows) -> dict:
    return {row.sector: (row.eligible, row.introduced, str(row.referral_rate)) for row in rows}


def test_a_later_day_is_carried_from_the_nearest_stored_day_across_a_year(tree, counted):
    first = snapshots.by_sector_on(tree.root, D(2017, 12, 20))
    assert counted == [(D(2017, 12, 20), False)]  # nothing stored: whole
    assert sectors(first) == {"other": (2, 1, "50.0"), "public_service": (1, 0, "0.0")}
    counted.clear()
    # The teacher introduced on 02/05/2018 is 31 days away; a member admitted on 05/01/2018, eligible.
    make_member(tree.grassroots_cell, admitted_on=D(2018, 1, 5))
    snapshots.by_sector_on(tree.root, D(2017, 12, 20))
    counted.clear()
    carried = snapshots.by_sector_on(tree.root, D(2018, 1, 10))
    assert counted == [(D(2018, 1, 10), True), (D(2017, 12, 20), True)]  # the members who changed, on both days
    assert sectors(carried) == {"other": (2, 1, "50.0"), "public_service": (2, 0, "0.0")}
    assert carried == figures.by_sector(tree.root, D(2018, 1, 10))
    counted.clear()
    assert snapshots.by_sector_on(tree.root, D(2018, 1, 10)) == carried
    assert counted == []  # stored


def test_a_sector_left_without_eligible_members_is_left_out(tree):
    snapshots.by_sector_on(tree.root, D(2018, 5, 1))
    services.member_retire(member=tree.teacher, retired_on=D(2018, 5, 10), by=None)
    snapshots.by_sector_on(tree.root, D(2018, 5, 1))
    carried = snapshots.by_sector_on(tree.root, D(2018, 5, 20))
    assert "public_service" not in sectors(carried)
    assert carried == figures.by_sector(tree.root, D(2018, 5, 20))


def test_no_step_over_a_restructure(tree, counted):
    snapshots.by_sector_on(tree.root, D(2018, 7, 1))
    make_organisation(kind=Organisation.Kind.RESIDENTIAL_CELL, parent=tree.ward2, valid_from=D(2018, 7, 20))
    snapshots.by_sector_on(tree.root, D(2018, 7, 1))
    counted.clear()
    assert snapshots.by_sector_on(tree.root, D(2018, 7, 31)) == figures.by_sector(tree.root, D(2018, 7, 31))
    assert counted[0] == (D(2018, 7, 31), False)


def test_a_small_subtree_is_counted_whole_and_stored(tree, counted, monkeypatch):
    monkeypatch.setattr(steps, "STEPPED_FROM", 1000)
    assert snapshots.by_sector_on(tree.root, D(2018, 9, 30)) == figures.by_sector(tree.root, D(2018, 9, 30))
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {D(2018, 9, 30)}  # no day before it
    counted.clear()
    again = snapshots.by_sector_on(tree.root, D(2018, 9, 30))
    assert not counted  # read back
    assert again == figures.by_sector(tree.root, D(2018, 9, 30))


def test_the_report_reads_the_stored_rows(tree, counted):
    whole = figures.by_sector(tree.root, D(2018, 9, 30))
    snapshots.by_sector_on(tree.root, D(2018, 9, 29))
    counted.clear()
    built = report.build_report(tree.root, D(2018, 9, 30))
    assert built.by_sector == whole
    assert counted and all(members for _, members in counted)
    assert report.report_as_json(built)["by_sector"][0]["sector"] == "other"


# -- every write that changes a stored day's rows deletes it -----------------------------------------------------------


def test_without_the_sector_watched_a_snapshot_goes_stale(tree):
    """The organisations' update trigger made again without ``sector``: a sector changed goes unseen."""
    before = store_all()
    watched = stale.HEADLINE_WATCHED[0]
    without = (stale.Watched(watched.table, watched.dates, watched.columns, ("path", "parent_id", "kind")),)
    forward, backward = (
        (stale.postgresql_forward, stale.postgresql_backward)
        if connection.vendor == "postgresql"
        else (stale.sqlite_forward, stale.sqlite_backward)
    )
    name = "reports_stale_branches_organisation_update"
    with connection.cursor() as cursor:
        for statement in backward(without) + forward(without):
            if name in statement:
                cursor.execute(statement)
    Organisation.objects.filter(pk=tree.cell.pk).update(sector=PUBLIC_SERVICE)
    with pytest.raises(AssertionError):
        assert_exact(before)


def test_a_sector_changed(tree):
    before = store_all()
    branch_services.organisation_update(organisation=tree.cell, sector=PUBLIC_SERVICE)
    assert not ReportSnapshot.objects.exists()  # every day
    assert_exact(before)


def test_people_writes_back_dated(tree):
    before = store_all()
    make_referral(tree.waiting, receiving_ward=tree.ward2, introduced_on=D(2018, 2, 10))
    assert_exact(before)
    away = make_member(tree.grassroots_cell, admitted_on=D(2010, 1, 1))
    before = store_all()
    services.exemption_set(
        member=away, kind=Exemption.Kind.INTRODUCTION, reason="Công tác xa", started_on=D(2018, 3, 1), by=None
    )
    assert_exact(before)
    before = store_all()
    places.move_home(member_id=tree.teacher.pk, organisation=tree.cell, on=D(2018, 2, 1), by=None)
    assert_exact(before)


def test_an_empty_stored_part_is_read_not_counted_again(tree, counted):
    """A subtree without an eligible member stores no row of sectors: an empty list, which is still a stored day."""
    assert snapshots.by_sector_on(tree.ward2, D(2018, 9, 30)) == []
    assert counted == [(D(2018, 9, 30), False)]
    counted.clear()
    assert snapshots.by_sector_on(tree.ward2, D(2018, 9, 30)) == []
    assert counted == []
