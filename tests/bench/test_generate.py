"""The data generators of ``bench/generate.py`` at a tiny size, on the test database: the rows keep every rule of the
schema, the schema ends as it began (keys, indexes, triggers), and the app's headline figures equal simple counts.

The generators write with PostgreSQL's COPY and generate_series: on SQLite only their refusal is tested."""

import datetime
import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from bench.generate import table_sizes
from bench.generate_load import DEMO_PASSWORD, GenerationError, load
from bench.generate_sessions import Step, StepFailed, run_in_sessions
from bench.generate_tree import SIZES, Size, build_tree, merge_day
from branches.models import Officer, Organisation, OrganisationName, Restructure
from members.models import (
    Attendance,
    Exemption,
    Meeting,
    Member,
    MemberHome,
    Placement,
    Referral,
    ResidenceComment,
    YearEndRating,
)
from reports import figures

AS_OF = datetime.date(2018, 9, 30)
# Two provinces under a national root, as the nation size, with a merged ward in each.
TINY = Size("tiny", provinces=2, districts=2, grassroots=20, members=1500)
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the generators need PostgreSQL")


def schema() -> tuple:
    """The keys, indexes and triggers of the database, as definitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"""
        )
        constraints = cursor.fetchall()
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
        indexes = cursor.fetchall()
        cursor.execute(
            """SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2"""
        )
        triggers = cursor.fetchall()
    return constraints, indexes, triggers


def fingerprint() -> str:
    rows = [
        list(Member.objects.order_by("id").values_list("id", "full_name", "admitted_on", "retired_on", "left_on")),
        list(Referral.objects.order_by("id").values_list("member_id", "introduced_on", "received_on", "ended_on")),
        Attendance.objects.count(),
        ResidenceComment.objects.count(),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is SQLite's")
def test_the_generators_refuse_another_database_than_postgresql():
    with pytest.raises(GenerationError, match="PostgreSQL"):
        load(TINY, as_of=AS_OF, seed=76, out=lambda line: None)
    assert not Organisation.objects.exists()


def test_the_sizes_are_those_of_the_issue():
    province = build_tree(SIZES["province"], 1, AS_OF)
    grassroots = [o for o in province.orgs if o.kind in Organisation.GRASSROOTS_KINDS and o.valid_to is None]
    assert len(grassroots) + len(province.merges) == 1000
    assert SIZES["province"].members == 100_000
    nation = SIZES["nation"]
    assert nation.provinces == 63
    assert nation.provinces * nation.grassroots >= 52_000
    assert nation.provinces * nation.members >= 5_600_000


@on_postgresql
@pytest.mark.django_db
def test_a_tiny_nation_keeps_every_rule_and_the_schema(django_assert_max_num_queries):
    before = schema()
    loader = load(TINY, as_of=AS_OF, seed=76, out=lambda line: None)
    assert schema() == before  # keys, indexes and triggers as the migrations left them, every trigger enabled
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()")
        assert cursor.fetchone()[0] == 0  # the staging tables dropped with the load, not left to the session's end

    assert Member.objects.count() == 2 * 1500
    root = Organisation.objects.get(kind=Organisation.Kind.ROOT)
    provinces = Organisation.objects.filter(parent=root)
    assert provinces.count() == 2 and {p.kind for p in provinces} == {Organisation.Kind.UPPER_COMMITTEE}
    merged = Organisation.objects.filter(kind=Organisation.Kind.WARD, valid_to=merge_day(AS_OF))
    assert merged.count() == 2 and all(ward.successor_id for ward in merged)
    assert Restructure.objects.filter(kind=Restructure.Kind.MERGE).count() == 2
    assert OrganisationName.objects.exists()
    assert Restructure.objects.filter(kind=Restructure.Kind.RENAME).count() == OrganisationName.objects.count()
    # The time-true history: moved homes, re-placements after the merger, lifted exemptions.
    assert MemberHome.objects.count() > Member.objects.count()
    assert Placement.objects.filter(ended_on=merge_day(AS_OF)).exists()
    assert Exemption.objects.filter(kind="activities", ended_on__isnull=False).exists()
    assert Meeting.objects.filter(kind=Meeting.Kind.AD_HOC).exists()
    assert YearEndRating.objects.count() == ResidenceComment.objects.count() > 0
    assert {"retired", "died", "moved_residence"} <= set(Referral.objects.values_list("end_reason", flat=True))
    assert [name for name, _seconds in loader.phases][-1].startswith("restructures")
    if "branches_organisationancestor" in connection.introspection.table_names():
        # The ancestor relation (written by a trigger the load turns off) rebuilt: a row per step of each path.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM branches_organisationancestor")
            assert cursor.fetchone()[0] == sum(
                len(path) // 9 for path in Organisation.objects.values_list("path", flat=True)
            )
    assert {t: r for t, r, _s in table_sizes()}["members_member"] == 3000

    # Every state of the workflow on the as-of day.
    states = {referral.state_on(AS_OF) for referral in Referral.objects.all()}
    assert states == set(Referral.State)
    assert Referral.objects.stalled_on(AS_OF).exists()

    # The users of the demo, with their posts on the generated tree.
    posts = {o.user.username: o for o in Officer.objects.select_related("user", "organisation")}
    assert posts["thanhuy"].organisation == root and posts["thanhuy"].user.is_staff
    assert posts["phuong1"].organisation.kind == posts["phuong2"].organisation.kind == Organisation.Kind.WARD
    assert posts["khupho1"].organisation.parent == posts["phuong1"].organisation
    assert posts["coquan1"].organisation.kind == Organisation.Kind.COMMITTEE
    assert get_user_model().objects.get(username="khupho1").check_password(DEMO_PASSWORD)

    # The triggers are back on: a placement in another ward's cell is refused by the database.
    referral = Referral.objects.filter(placed_on__isnull=False, ended_on__isnull=True).first()
    foreign_cell = Organisation.objects.filter(kind=Organisation.Kind.RESIDENTIAL_CELL, valid_to__isnull=True).exclude(
        parent__in=[referral.receiving_ward_id, referral.receiving_ward.successor_id]
    )[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Placement.objects.filter(referral=referral).update(residential_cell=foreign_cell)

    # The app's headline figures for the root equal simple counts over the rows.
    with django_assert_max_num_queries(10):
        headline = figures.headline(root, AS_OF)
    assert headline == figures.headline(root, AS_OF)
    expected = simple_counts(AS_OF)
    assert {field: getattr(headline, field) for field in expected} == expected
    assert headline.introduced / headline.eligible > 0.98


def simple_counts(day: datetime.date) -> dict[str, int]:
    """The root's figures by the definitions of the domain, in Python over all rows."""
    kinds = dict(Organisation.objects.values_list("pk", "kind"))
    homes = {
        home.member_id: home.organisation_id
        for home in MemberHome.objects.all()
        if home.started_on <= day and (home.ended_on is None or home.ended_on > day)
    }
    exempt = {
        (e.member_id, e.kind)
        for e in Exemption.objects.all()
        if e.started_on <= day and (e.ended_on is None or e.ended_on > day)
    }
    active = [r for r in Referral.objects.all() if r.introduced_on <= day and (r.ended_on is None or r.ended_on > day)]
    introduced = {r.member_id for r in active}
    members = eligible = exempt_count = introduced_count = 0
    for member in Member.objects.all():
        if not (member.admitted_on <= day and (member.left_on is None or member.left_on > day)):
            continue
        home = homes[member.pk]
        if kinds[home] == "outside":
            continue  # outside the tree
        members += 1
        working = member.retired_on is None or member.retired_on > day
        if working and kinds[home] not in ("residential_cell", "outside"):
            if (member.pk, "introduction") in exempt:
                exempt_count += 1
            else:
                eligible += 1
                introduced_count += member.pk in introduced
    received = [r for r in active if r.received_on and r.received_on <= day]
    waiting = [r for r in active if not (r.received_on and r.received_on <= day)]
    return {
        "members": members,
        "eligible": eligible,
        "exempt_from_introduction": exempt_count,
        "introduced": introduced_count,
        "received": len(received),
        "received_from_outside": sum(kinds[homes[r.member_id]] == "outside" for r in received),
        "awaiting_reception": len(waiting),
        "awaiting_placement": sum(not (r.placed_on and r.placed_on <= day) for r in received),
        "stalled": sum((day - r.introduced_on).days > 30 for r in waiting),
    }


@on_postgresql
@pytest.mark.django_db
def test_the_same_seed_gives_the_same_rows():
    prints = []
    for seed in (76, 76, 77):
        with transaction.atomic():
            load(TINY, as_of=AS_OF, seed=seed, out=lambda line: None)
            prints.append(fingerprint())
            transaction.set_rollback(True)
    assert prints[0] == prints[1] != prints[2]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_sessions_bring_back_the_same_schema_and_rows_after_the_load_commits():
    """Outside a transaction the load commits, then two sessions of their own build the indexes, validate the foreign
    keys and check the rules: the schema ends as the migrations left it (a foreign key left NOT VALID would show in
    its definition), with the rows of the one-transaction build."""
    before = schema()
    with transaction.atomic():
        load(TINY, as_of=AS_OF, seed=76, out=lambda line: None)
        in_one_transaction = fingerprint()
        transaction.set_rollback(True)

    loader = load(TINY, as_of=AS_OF, seed=76, sessions=2, out=lambda line: None)

    assert loader.sessions == 2
    assert schema() == before
    assert fingerprint() == in_one_transaction
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated")
        assert cursor.fetchone()[0] == 0
    assert get_user_model().objects.filter(username="phuong1").exists()


@on_postgresql
@pytest.mark.django_db
def test_other_sessions_are_refused_inside_a_transaction():
    with pytest.raises(GenerationError, match="one session"):
        load(TINY, as_of=AS_OF, seed=76, sessions=2, out=lambda line: None)
    assert not Organisation.objects.exists()


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_failing_statement_stops_the_sessions_and_is_raised():
    params = connection.get_connection_params()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE generate_sessions_probe (n int)")
    steps = [
        Step(statement, "generate_sessions_probe")
        for statement in ("INSERT INTO generate_sessions_probe VALUES (0)", "SELECT 1 / 0",
                          "INSERT INTO generate_sessions_probe VALUES (1)")
    ]  # fmt: skip
    try:
        with pytest.raises(StepFailed, match="division by zero"):
            run_in_sessions(steps, 1, params)
        with connection.cursor() as cursor:
            cursor.execute("SELECT array_agg(n ORDER BY n) FROM generate_sessions_probe")
            assert cursor.fetchone()[0] == [0]  # the statements after the failure were not run
        assert run_in_sessions([Step("SELECT 6 * 7", "x"), Step("SELECT 'a'", "x", True)], 2, params) == {
            "SELECT 6 * 7": 42,
            "SELECT 'a'": "a",
        }
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE generate_sessions_probe")
