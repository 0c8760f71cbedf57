"""The replica router (dongha76/db_router.py) with a second database alias, as settings make it from
DATABASE_REPLICA_URL in tests: a mirror of the test database, reached through a connection of its own, so the queries
each alias runs can be told apart. The tests commit (``transaction=True``): the mirror's connection sees only
committed rows, as a standby sees only what the primary committed."""

import copy

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AccessLog
from branches.models import Organisation
from dongha76.db_router import PIN_COOKIE, PIN_SECONDS, REPLICA, reading_replica, reads_from_replica
from members.models import Member
from tests.factories import make_member, make_officer, make_tree

pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture(scope="module", autouse=True)
def replica(django_db_setup, django_db_blocker):
    """The "replica" alias for this module: the test database's settings, marked as its mirror (so the test runner
    never flushes or migrates it), added before each test's database access is set up (a module fixture comes
    first)."""
    settings_dict = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[REPLICA] = settings_dict
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            connections[REPLICA].close()
        del connections.settings[REPLICA]
        if hasattr(connections._connections, REPLICA):
            delattr(connections._connections, REPLICA)


@pytest.fixture
def tree():
    tree = make_tree()
    for home in (tree.ward1_cell1, tree.ward2_cell1, tree.cell):
        make_member(home)
    return tree


@pytest.fixture
def city(client, tree):
    client.force_login(make_officer(tree.root, role="staff"))
    return client


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def warm(client, url: str) -> None:
    """A first request, for what a page may store of its own on a first view (the trend's past points): that write
    sends the rest of its request to the primary. Then as 15 s later: the browser's pin to the primary has expired."""
    assert client.get(url).status_code == 200
    client.cookies.pop(PIN_COOKIE, None)


def queries_on_both(client, url: str):
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        response = client.get(url)
    return response, statements(primary), statements(replica)


def test_the_dashboards_rows_are_read_from_the_replica_its_stored_figures_and_the_session_from_the_primary(city, tree):
    warm(city, reverse("reports:dashboard"))
    response, primary, replica = queries_on_both(city, reverse("reports:dashboard"))
    assert PIN_COOKIE not in response.cookies  # it wrote nothing
    assert response.status_code == 200
    # The organisations and what is counted on the day (the late comments by cell) from the replica.
    assert any("branches_organisation" in sql for sql in replica)
    assert any("members_residencecomment" in sql for sql in replica)
    assert not any(sql.lstrip().upper().startswith(WRITES) for sql in replica)
    # The figures the first view stored, from the primary (a replica's lag could show a row a write has deleted); the
    # session and the signed-in user too, before the view runs. Nothing is counted member by member.
    assert any("reports_reportsnapshot" in sql for sql in primary)
    assert any("django_session" in sql for sql in primary)
    assert any("auth_user" in sql for sql in primary)
    assert not any("members_member" in sql for sql in primary + replica)


def test_figures_counted_to_be_stored_are_counted_on_the_primary(city, tree):
    """A write under the ward deletes its stored figures: the next view counts them again on the primary, under the
    snapshots' lock, never on the replica, whose lag could store figures the write has already made wrong."""
    url = reverse("reports:dashboard-org", args=[tree.ward1.code])
    warm(city, url)
    make_member(tree.ward1_cell1)
    response, primary, replica = queries_on_both(city, url)
    assert response.status_code == 200
    assert any("members_member" in sql for sql in primary)
    assert not any("members_member" in sql for sql in replica)
    assert any(sql.startswith("INSERT") and "reports_reportsnapshot" in sql for sql in primary)


def test_a_drill_down_and_the_figures_json_and_api_read_the_replica_too(city, tree):
    for url in (
        reverse("reports:dashboard-org", args=[tree.ward1.code]),
        reverse("reports:figures-api") + f"?org={tree.ward1.code}",
        # The API counts the request in the cache (a write, not the user's) before it reads the figures.
        reverse("api:figures") + f"?organisation={tree.ward1.code}",
    ):
        warm(city, url)
        response, primary, replica = queries_on_both(city, url)
        assert response.status_code == 200, url
        assert any("branches_organisation" in sql for sql in replica), url
        assert any("reports_reportsnapshot" in sql for sql in primary), url
        assert not any("members_member" in sql for sql in primary), url


def test_the_workbooks_figures_come_from_the_replica_and_its_access_log_goes_to_the_primary(city, tree):
    url = reverse("reports:workbook") + f"?org={tree.root.code}&year=2026&as_of=2026-06-30"
    response, primary, replica = queries_on_both(city, url)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert any("members_member" in sql for sql in replica)
    assert not any(sql.lstrip().upper().startswith(WRITES) for sql in replica)
    assert any(sql.startswith("INSERT") and "audit_accesslog" in sql for sql in primary)
    assert AccessLog.objects.filter(kind=AccessLog.Kind.YEARLY_WORKBOOK).count() == 1


def test_after_a_request_that_wrote_the_browser_reads_the_primary_for_a_few_seconds(city, tree):
    dashboard = reverse("reports:dashboard")
    warm(city, dashboard)
    response = city.get(reverse("reports:workbook") + f"?org={tree.root.code}&year=2026")  # writes its access log
    assert response.status_code == 200
    pin = response.cookies[PIN_COOKIE]
    assert pin["max-age"] == PIN_SECONDS and pin["httponly"]
    response, primary, replica = queries_on_both(city, dashboard)
    assert response.status_code == 200
    assert replica == []
    assert any("branches_organisation" in sql for sql in primary)
    city.cookies.pop(PIN_COOKIE)  # expired
    response, primary, replica = queries_on_both(city, dashboard)
    assert any("branches_organisation" in sql for sql in replica)


def test_the_other_pages_never_touch_the_replica(city, tree):
    for url in (reverse("home"), reverse("members:member-list"), reverse("members:referral-list")):
        response, primary, replica = queries_on_both(city, url)
        assert response.status_code == 200, url
        assert replica == [], url
        assert primary


def test_a_write_sends_the_rest_of_the_block_to_the_primary(tree):
    """Read-your-writes: outside a request (the figures command), the block is the scope."""
    with reading_replica():
        assert reads_from_replica()
        with CaptureQueriesContext(connections[REPLICA]) as replica:
            member = Member.objects.first()
        assert len(replica) == 1 and member._state.db == REPLICA
        with (
            CaptureQueriesContext(connections[REPLICA]) as replica,
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        ):
            # An object read from the replica is saved to the primary, and what follows reads the primary.
            Member.objects.filter(pk=member.pk).update(phone="0912345678")
            assert not reads_from_replica()
            assert Member.objects.get(pk=member.pk).phone == "0912345678"
            home = member.home_organisation  # a relation of the replica's object: read where the router says
        assert statements(replica) == []
        assert len(primary) == 3
        assert home.pk == member.home_organisation_id
    with reading_replica():  # a new block starts clean
        assert reads_from_replica()
    assert not reads_from_replica()


def test_users_and_their_credentials_are_always_read_from_the_primary(city, tree):
    """A token or password revoked a moment ago must not work on the replica's lag (the API authenticates in its
    views, within the replica's scope)."""
    with reading_replica(), CaptureQueriesContext(connections[REPLICA]) as replica:
        assert get_user_model().objects.filter(username__startswith="user").exists()
        assert Session.objects.exists()
        assert Member.objects.exists()
    assert len(replica) == 1 and "members_member" in replica.captured_queries[0]["sql"]


def test_inside_a_transaction_everything_reads_the_primary(tree):
    with reading_replica(), transaction.atomic():
        with CaptureQueriesContext(connections[REPLICA]) as replica:
            assert Organisation.objects.filter(pk=tree.root.pk).exists()
            list(Member.objects.select_for_update().values_list("pk", flat=True))
        assert statements(replica) == []


def test_an_object_read_from_the_replica_is_saved_to_the_primary(tree):
    with reading_replica():
        organisation = Organisation.objects.get(pk=tree.ward1.pk)
    assert organisation._state.db == REPLICA
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        organisation.name = "Đảng bộ Phường Một"
        organisation.save()
        parent = organisation.parent  # a relation of a replica object, outside the block: the primary
    assert statements(replica) == []
    assert parent == tree.root
    assert Organisation.objects.get(pk=tree.ward1.pk).name == "Đảng bộ Phường Một"


def test_as_a_decorator_too(tree):
    @reading_replica()
    def count() -> int:
        return Member.objects.count()

    with CaptureQueriesContext(connections[REPLICA]) as replica:
        assert count() == 3
        assert count() == 3
    assert len(replica) == 2
    assert not reads_from_replica()  # nothing leaks out of the decorated call
