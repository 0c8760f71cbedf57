"""Stored figures of past days (``reports.snapshots``, ``reports.stale``): after every kind of write, each snapshot
read equals ``figures.headline`` computed fresh.

Each test stores the headline of every organisation of the tree for the days of ``DAYS``, makes one write through one
of the product's write paths, checks the write changed some figure of a stored day (so the test would fail if that
snapshot were kept), then reads every snapshot again and compares it with a fresh computation.
``test_without_the_triggers_a_snapshot_goes_stale`` shows that comparison failing with the triggers dropped.
"""

import datetime
import html
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches import services as branch_services
from branches.models import Organisation
from members import places, services
from members.demo.builder import clear_domain_data
from members.models import Exemption, Member, MemberHome, Placement, Referral
from reports import charts, figures, snapshots, stale
from reports.models import FigureSnapshot
from restructures.services import restructure
from tests.factories import make_member, make_officer, make_organisation, make_referral, make_tree

pytestmark = pytest.mark.django_db

D = datetime.date
Kind = Organisation.Kind
DAYS = [D(2016, 12, 31), D(2018, 3, 31), D(2018, 9, 30), D(2021, 12, 31)]


@pytest.fixture
def tree():
    return snapshot_tree()


def snapshot_tree():
    """The small tree of the factories with: two working members of the committee's cell, one introduced in 2017
    and placed in 2018, one never introduced; a member of the grassroots cell introduced in 2018, not received (stalled
    by 30/09/2018); a retired member living in a residential cell."""
    tree = make_tree()
    tree.placed = make_member(tree.cell, admitted_on=D(2010, 1, 1))
    tree.placed_referral = make_referral(
        tree.placed,
        receiving_ward=tree.ward1,
        introduced_on=D(2017, 6, 1),
        received_on=D(2017, 6, 10),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2018, 2, 1),
    )
    tree.waiting = make_member(tree.cell, admitted_on=D(2012, 1, 1))
    tree.teacher = make_member(tree.grassroots_cell, admitted_on=D(2011, 1, 1))
    tree.stalled_referral = make_referral(
        tree.teacher, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell, introduced_on=D(2018, 5, 2)
    )
    tree.retired = make_member(tree.ward1_cell2, admitted_on=D(1990, 1, 1), retired_on=D(2015, 1, 1))
    return tree


def organisations() -> list[Organisation]:
    return list(Organisation.objects.order_by("path"))


def store_all() -> dict:
    """Every organisation's headline of each of ``DAYS``, stored (and returned)."""
    stored = {}
    for organisation in organisations():
        for day, headline in snapshots.headlines_on(organisation, DAYS).items():
            stored[organisation.pk, day] = headline
    assert FigureSnapshot.objects.count() == len(stored)
    return stored


def assert_exact(before: dict, *, changed: bool = True) -> None:
    """Every snapshot still stored equals the headline computed now, and so does every read; ``changed``: the write
    changed the figures of some stored day (otherwise a kept stale snapshot would go unnoticed)."""
    fresh = {}
    for organisation in organisations():
        for day in DAYS:
            fresh[organisation.pk, day] = figures.headline(organisation, day)
    for row in FigureSnapshot.objects.all():
        assert snapshots.decode(row.figures) == fresh[row.organisation_id, row.day], (row.organisation_id, row.day)
    for organisation in organisations():
        for day, headline in snapshots.headlines_on(organisation, DAYS).items():
            assert headline == fresh[organisation.pk, day]
    differing = {key for key, headline in fresh.items() if before.get(key) != headline}
    assert bool(differing) == changed, differing


# -- the stored figures themselves -------------------------------------------------------------------------------------


def test_a_past_day_is_computed_once_then_read_in_one_query(tree):
    first = snapshots.headline_on(tree.root, D(2018, 9, 30))
    assert first == figures.headline(tree.root, D(2018, 9, 30))
    assert first.stalled == 1 and first.members == 4
    with CaptureQueriesContext(connection) as queries:
        assert snapshots.headlines_on(tree.root, DAYS)[D(2018, 9, 30)] == first
    assert len(queries) > 1  # the other days computed
    with CaptureQueriesContext(connection) as queries:
        again = snapshots.headlines_on(tree.root, DAYS)
    assert len(queries) == 1
    assert again[D(2018, 9, 30)] == first


def test_today_is_stored_and_later_days_never(tree):
    """A small subtree's today is counted whole and stored (a write of today deletes it); a later day never."""
    today = timezone.localdate()
    snapshots.headline_on(tree.root, today + datetime.timedelta(days=1))
    assert not FigureSnapshot.objects.exists()
    assert snapshots.headline_on(tree.root, today) == figures.headline(tree.root, today)
    assert list(FigureSnapshot.objects.values_list("day", flat=True)) == [today]
    snapshots.headline_on(tree.root, today - datetime.timedelta(days=1))
    assert FigureSnapshot.objects.count() == 2


def test_a_snapshot_stored_with_other_fields_is_computed_again(tree):
    day = D(2018, 9, 30)
    snapshots.headline_on(tree.root, day)
    FigureSnapshot.objects.update(figures={"members": 99})
    assert snapshots.headline_on(tree.root, day) == figures.headline(tree.root, day)
    assert snapshots.decode(FigureSnapshot.objects.get().figures) == figures.headline(tree.root, day)


def test_the_rate_is_stored_exactly(tree):
    headline = snapshots.headline_on(tree.root, D(2018, 9, 30))
    stored = FigureSnapshot.objects.get()
    assert stored.figures["referral_rate"] == str(headline.referral_rate)
    assert snapshots.decode(stored.figures).referral_rate == headline.referral_rate


def test_without_the_triggers_a_snapshot_goes_stale(tree):
    """The tests below can fail: with the triggers dropped (in this test's transaction), a back-dated reception
    leaves the snapshots of the days after it wrong."""
    before = store_all()
    backward = stale.postgresql_backward() if connection.vendor == "postgresql" else stale.sqlite_backward()
    with connection.cursor() as cursor:
        for statement in backward:
            cursor.execute(statement)
    services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 6, 1), by=None)
    with pytest.raises(AssertionError):
        assert_exact(before)


def test_every_trigger_is_in_the_database():
    """A table rebuilt by a later migration on SQLite loses its triggers: this says so."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'reports_stale_%%'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'reports_stale_%'")
        found = {row[0] for row in cursor.fetchall()}
    assert found == stale.trigger_names(connection.vendor)


# -- the referral workflow -------------------------------------------------------------------------------------------


def test_introduce_back_dated(tree):
    before = store_all()
    services.referral_introduce(
        member=tree.waiting,
        issuing_organisation=tree.committee,
        receiving_ward=tree.ward2,
        letter_number="7-GT/ĐU",
        introduced_on=D(2018, 1, 15),
        by=None,
    )
    assert_exact(before)


def test_receive_place_and_end_back_dated(tree):
    before = store_all()
    services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 6, 1), by=None)
    assert_exact(before)
    before = store_all()
    services.referral_place(
        referral=Referral.objects.get(pk=tree.stalled_referral.pk),
        residential_cell=tree.ward2_cell1,
        placed_on=D(2018, 7, 1),
        by=None,
    )
    assert_exact(before)
    before = store_all()
    services.referral_end(
        referral=Referral.objects.get(pk=tree.placed_referral.pk),
        ended_on=D(2018, 8, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
        by=None,
    )
    assert_exact(before)


def test_re_placement_back_dated(tree):
    before = store_all()
    places.move_placement(referral=tree.placed_referral, residential_cell=tree.ward1_cell2, on=D(2018, 6, 1), by=None)
    assert Placement.objects.filter(referral=tree.placed_referral).count() == 2
    # The figures of the headline count a referral under its ward: a cell of the same ward changes no figure.
    assert_exact(before, changed=False)


def test_a_write_dated_today_keeps_every_past_snapshot(tree):
    store_all()
    count = FigureSnapshot.objects.count()
    services.referral_receive(referral=tree.stalled_referral, received_on=timezone.localdate(), by=None)
    assert FigureSnapshot.objects.count() == count


def test_only_the_days_from_the_write_on_are_deleted_and_only_where_it_counts(tree):
    """The stalled referral (the teacher's, of the grassroots cell, to ward 2, introduced on 2/5/2018) counts under
    its issuer, its ward and the organisations above them: only theirs go, from its introduction on."""
    store_all()
    services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 6, 1), by=None)
    counted_under = {tree.root.pk, tree.grassroots_cell.pk, tree.ward2.pk}
    for organisation in organisations():
        days = set(FigureSnapshot.objects.filter(organisation=organisation).values_list("day", flat=True))
        if organisation.pk in counted_under:
            assert days == {d for d in DAYS if d < D(2018, 5, 2)}, organisation
        else:
            assert days == set(DAYS), organisation


# -- members --------------------------------------------------------------------------------------------------------


def test_member_edits(tree):
    before = store_all()
    services.member_update(member=tree.waiting, by=None, retired_on=D(2017, 3, 1))
    assert_exact(before)
    before = store_all()
    services.member_update(member=Member.objects.get(pk=tree.placed.pk), by=None, admitted_on=D(2018, 1, 1))
    assert_exact(before)
    before = store_all()
    services.member_create(by=None, **member_fields(tree.cell, admitted_on=D(2016, 5, 1)))
    assert_exact(before)


def member_fields(home, **fields):
    from tests.factories import member_fields as fields_of

    return fields_of(home, **fields)


def test_retirement_back_dated(tree):
    before = store_all()
    services.member_retire(member=tree.teacher, retired_on=D(2018, 6, 1), by=None)
    assert_exact(before)


def test_a_home_move_back_dated(tree):
    before = store_all()
    places.move_home(member_id=tree.waiting.pk, organisation=tree.ward2_cell2, on=D(2018, 2, 1), by=None)
    assert_exact(before)
    before = store_all()
    services.member_update(
        member=Member.objects.get(pk=tree.teacher.pk), by=None, home_organisation=tree.cell, home_since=D(2017, 1, 1)
    )
    assert_exact(before)


def test_exemptions(tree):
    before = store_all()
    services.exemption_set(
        member=tree.waiting, kind=Exemption.Kind.INTRODUCTION, reason="Ốm dài ngày", started_on=D(2017, 1, 1), by=None
    )
    assert_exact(before)
    before = store_all()
    services.exemption_clear(member=tree.waiting, ended_on=D(2018, 1, 1), by=None)
    assert_exact(before)


def test_an_admin_edit(client, tree):
    from tests.test_admin import form_payload

    admin = make_officer(tree.root, is_superuser=True, is_staff=True)
    client.force_login(admin)
    before = store_all()
    url = reverse("admin:members_member_change", args=[tree.waiting.pk])
    response = client.post(url, {**form_payload(client.get(url)), "retired_on": "01/03/2017"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Member.objects.get(pk=tree.waiting.pk).retired_on == D(2017, 3, 1)
    assert_exact(before)


# -- bulk writes that bypass Django's signals ----------------------------------------------------------------------


def test_queryset_update_and_bulk_create(tree):
    before = store_all()
    Referral.objects.filter(pk=tree.stalled_referral.pk).update(received_on=D(2018, 6, 1))
    assert_exact(before)
    before = store_all()
    other = make_member(tree.cell, admitted_on=D(2019, 1, 1))
    assert_exact(before)  # admitted in 2019: the last day only
    before = store_all()
    Member.objects.filter(pk=other.pk).update(admitted_on=D(2016, 1, 1))
    MemberHome.objects.filter(member=other).update(started_on=D(2016, 1, 1))
    assert_exact(before)
    before = store_all()
    Exemption.objects.bulk_create(
        [Exemption(member=tree.waiting, kind=Exemption.Kind.INTRODUCTION, reason="x", started_on=D(2017, 1, 1))]
    )
    assert_exact(before)


def test_a_raw_delete(tree):
    before = store_all()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM members_placement WHERE referral_id = %s", [tree.placed_referral.pk])
        cursor.execute(
            "UPDATE members_referral SET residential_cell_id = NULL, placed_on = NULL WHERE id = %s",
            [tree.placed_referral.pk],
        )
    assert_exact(before)


def test_columns_the_headline_does_not_read_keep_the_snapshots(tree):
    store_all()
    count = FigureSnapshot.objects.count()
    Referral.objects.update(letter_number="1-GT/ĐU", notes="ghi chú")
    Member.objects.update(phone="0912345678")
    Organisation.objects.filter(pk=tree.ward1.pk).update(name="Phường Một", address="1 Lê Duẩn")
    assert FigureSnapshot.objects.count() == count


# -- the tree ----------------------------------------------------------------------------------------------------------


def test_organisation_services(tree):
    before = store_all()
    make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=tree.ward2, valid_from=D(2018, 1, 1))
    assert_exact(before)
    before = store_all()
    branch_services.organisation_update(organisation=tree.ward2_cell2, by=None, valid_to=D(2018, 6, 1))
    assert_exact(before)


def test_restructure_merge(tree):
    before = store_all()
    merge_the_wards(tree)
    assert_exact(before)


def merge_the_wards(tree) -> Organisation:
    """Both wards merged into a new one on 1/7/2018."""
    restructure(
        "merge",
        by=None,
        codes=[tree.ward1.code, tree.ward2.code],
        effective_on=D(2018, 7, 1),
        new_code="PMOI",
        new_name="Phường Mới",
    )
    return Organisation.objects.get(code="PMOI")


def assert_a_reception_counts_under(tree, successor: Organisation, received_on: datetime.date) -> None:
    """The stalled referral (addressed to ward 2) received on ``received_on``: ``successor``'s stored figures of
    30/09/2018 change, and are deleted (``successor`` is not above ward 2: ``stale._ABOVE`` follows the successors)."""
    before = store_all()
    services.referral_receive(referral=tree.stalled_referral, received_on=received_on, by=None)
    assert before[successor.pk, D(2018, 9, 30)] != figures.headline(successor, D(2018, 9, 30))
    assert_exact(before)


def test_a_write_after_a_merge_counts_under_the_successor(tree):
    assert_a_reception_counts_under(tree, merge_the_wards(tree), D(2018, 8, 1))


def test_a_write_after_two_merges_counts_under_the_last_successor(tree):
    merge_the_wards(tree)
    make_organisation(kind=Kind.WARD, parent=tree.root, code="PBA", sector=Organisation.Sector.WARD)
    restructure(
        "merge", by=None, codes=["PMOI", "PBA"], effective_on=D(2018, 8, 1), new_code="PHAI", new_name="Phường Hai"
    )
    assert_a_reception_counts_under(tree, Organisation.objects.get(code="PHAI"), D(2018, 8, 15))


def test_restructure_rename_changes_no_figure(tree):
    before = store_all()
    restructure("rename", by=None, code=tree.ward1.code, effective_on=D(2018, 7, 1), name="Phường Một")
    assert_exact(before, changed=False)


def test_restructure_move(tree):
    upper = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root, code="KHOI", valid_from=D(2000, 1, 1))
    before = store_all()
    restructure("move", by=None, code=tree.committee.code, effective_on=D(2018, 7, 1), parent=upper.code, children={})
    assert_exact(before)


def test_a_move_in_place_of_the_tree_makes_every_day_stale(tree):
    upper = make_organisation(kind=Kind.UPPER_COMMITTEE, parent=tree.root, code="KHOI")
    store_all()
    committee = Organisation.objects.get(pk=tree.committee.pk)
    committee.parent = upper
    committee.save()
    assert not FigureSnapshot.objects.exists()


# -- whole loads ---------------------------------------------------------------------------------------------------


def test_clearing_the_data_leaves_no_snapshot(tree):
    store_all()
    clear_domain_data()
    assert not FigureSnapshot.objects.exists()


def test_a_bulk_load_deletes_every_snapshot_and_leaves_the_triggers_on(tree):
    """The demo's load runs with the triggers off (``suspended_for_a_bulk_load``): its writes go unseen, so every
    snapshot is deleted after it, and the triggers are on again for the writes that follow."""
    store_all()
    with stale.suspended_for_a_bulk_load(connection):
        services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 6, 1), by=None)
        assert FigureSnapshot.objects.exists()  # unseen while loading
    assert not FigureSnapshot.objects.exists()
    test_every_trigger_is_in_the_database()
    before = store_all()
    services.referral_place(
        referral=tree.stalled_referral, residential_cell=tree.ward2_cell1, placed_on=D(2018, 6, 5), by=None
    )
    assert_exact(before)


def test_a_workbook_import_writing_back_older_values(tree, tmp_path):
    workbook = tmp_path / "tree.xlsx"
    call_command("export_workbook", output=str(workbook), stdout=io.StringIO())
    services.referral_receive(referral=tree.stalled_referral, received_on=D(2018, 6, 1), by=None)
    before = store_all()
    call_command("import_workbook", str(workbook), "--update-existing", stdout=io.StringIO(), stderr=io.StringIO())
    assert Referral.objects.get(pk=tree.stalled_referral.pk).received_on is None
    assert_exact(before)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_truncate_makes_every_day_stale(tree):
    store_all()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE members_exemption")
    assert not FigureSnapshot.objects.exists()


# -- a write in progress elsewhere ---------------------------------------------------------------------------------


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_nothing_is_stored_while_another_transaction_writes(tree):
    """A write in progress in another connection holds the lock shared (from its trigger to its commit): the
    figures are computed (the write is not visible yet) and shown, not stored."""
    import psycopg2

    settings = connection.settings_dict
    other = psycopg2.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"]
    )
    try:
        other.cursor().execute("SELECT pg_advisory_xact_lock_shared(%s)", [stale.LOCK_KEY])
        headline = snapshots.headline_on(tree.root, D(2018, 9, 30))
        assert headline == figures.headline(tree.root, D(2018, 9, 30))
        assert not FigureSnapshot.objects.exists()
        other.rollback()
        snapshots.headline_on(tree.root, D(2018, 9, 30))
        assert FigureSnapshot.objects.count() == 1
    finally:
        other.close()


# -- the dashboard's trend -------------------------------------------------------------------------------------------


def test_the_dashboards_trend_reads_its_stored_years_in_one_query(client, tree, monkeypatch):
    from reports import views

    client.force_login(make_officer(tree.root))
    url = reverse("reports:dashboard") + "?as_of=30/09/2018"
    first = client.get(url)
    assert first.status_code == 200
    assert set(FigureSnapshot.objects.filter(organisation=tree.root).values_list("day", flat=True)) == {
        D(year, 12, 31) for year in (2014, 2015, 2016, 2017)
    } | {D(2018, 9, 30)}  # the as-of day's own headline, a past day's, with them
    with CaptureQueriesContext(connection) as queries:
        warm = client.get(url)
    trend = str(warm.context["trend_chart"])
    rate_2017 = figures.headline(tree.root, D(2017, 12, 31)).referral_rate
    assert rate_2017 is not None and f"2017: {charts._number(rate_2017)}%" in html.unescape(trend)
    assert trend == str(first.context["trend_chart"])
    assert sum("reports_figuresnapshot" in query["sql"] for query in queries.captured_queries) == 1
    monkeypatch.setattr(views, "TREND_YEARS", 1)  # the as-of day only: its stored headline, in the same one query
    with CaptureQueriesContext(connection) as without_past_years:
        client.get(url)
    assert len(queries) == len(without_past_years)
