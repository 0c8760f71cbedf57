"""The connection settings for more than one machine: JIT off and the statement timeout on PostgreSQL, the replica
alias only when DATABASE_REPLICA_URL is set (and then a test mirror), gunicorn's timeout passed to the database, the
cache in the database, and nothing changed by the router without a replica.

Settings are read once per process, so those of another environment are read in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dongha76.db_router import PIN_COOKIE, REPLICA, ReplicaRouter, reading_replica, reads_from_replica
from members.models import Member
from tests.factories import make_member, make_officer, make_tree

ROOT = Path(__file__).resolve().parent.parent
PRIMARY = "postgres://app@db1.example.vn:5432/dongha76"
STANDBY = "postgres://reader@db2.example.vn:5432/dongha76"


def databases_of(**env: str) -> dict:
    """settings.DATABASES as a process with ``env`` reads it (the variables the settings read, and only those)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CONN_MAX_AGE", "DEBUG", "SECRET_KEY", "GUNICORN_"))
    }
    environment.update(env, DJANGO_SETTINGS_MODULE="dongha76.settings")
    script = "import json\nfrom django.conf import settings\nprint(json.dumps(settings.DATABASES, default=str))"
    done = subprocess.run(  # noqa: S603 - this project's own settings
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


# The figures' queries join more than 8 relations: PostgreSQL's default limits would keep their written join order.
COLLAPSE = "-c join_collapse_limit=16 -c from_collapse_limit=16"


def test_postgresql_connections_run_without_jit_and_are_checked_before_reuse():
    databases = databases_of(DATABASE_URL=PRIMARY, CONN_MAX_AGE="60")
    assert set(databases) == {"default"}  # no replica without DATABASE_REPLICA_URL
    default = databases["default"]
    assert default["OPTIONS"] == {"options": f"-c jit=off {COLLAPSE}"}
    assert default["CONN_MAX_AGE"] == 60 and default["CONN_HEALTH_CHECKS"] is True


def test_sqlite_gets_no_postgresql_options():
    default = databases_of(DATABASE_URL="sqlite:////tmp/dongha76-scaleout.db")["default"]
    assert "options" not in default.get("OPTIONS", {})


def test_the_replica_is_a_second_alias_with_the_same_settings_and_a_mirror_in_tests():
    databases = databases_of(DATABASE_URL=PRIMARY, DATABASE_REPLICA_URL=STANDBY, DATABASE_STATEMENT_TIMEOUT="120")
    assert set(databases) == {"default", "replica"}
    replica = databases["replica"]
    assert (replica["HOST"], replica["USER"], replica["NAME"]) == ("db2.example.vn", "reader", "dongha76")
    assert replica["TEST"] == {"MIRROR": "default"}
    for alias in ("default", "replica"):
        assert databases[alias]["OPTIONS"] == {"options": f"-c jit=off {COLLAPSE} -c statement_timeout=120s"}


def test_gunicorn_gives_its_workers_its_request_timeout_as_the_statement_timeout():
    """The workers inherit the master's environment, set by the config file before they start."""
    script = (
        "import os, runpy\n"
        "config = runpy.run_path('dongha76/gunicorn.conf.py')\n"
        "print(config['timeout'], os.environ['DATABASE_STATEMENT_TIMEOUT'])"
    )

    def run(**env: str) -> list[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "DATABASE_"))}
        environment.update(env)
        done = subprocess.run(  # noqa: S603 - this project's own config
            [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
        )
        return done.stdout.split()

    assert run() == ["120", "120"]
    assert run(GUNICORN_TIMEOUT="300") == ["300", "300"]
    assert run(DATABASE_STATEMENT_TIMEOUT="0") == ["120", "0"]  # lifted on purpose


@pytest.mark.django_db
def test_the_apps_connection_has_jit_off_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's JIT")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW join_collapse_limit")
        assert cursor.fetchone()[0] == "16"


@pytest.mark.django_db
def test_the_cache_is_a_table_of_the_database_every_process_reads():
    assert isinstance(caches["default"], DatabaseCache)
    with CaptureQueriesContext(connection) as queries:
        cache.set("scaleout-probe", "Đông Hà", 60)
        assert cache.get("scaleout-probe") == "Đông Hà"
    assert any("dongha76_cache" in query["sql"] for query in queries.captured_queries)


@pytest.mark.django_db
def test_without_a_replica_nothing_changes(client):
    """The tests' own settings have no DATABASE_REPLICA_URL: one alias, every read and write on it, no cookie."""
    assert REPLICA not in connections
    tree = make_tree()
    make_member(tree.ward1_cell1)
    with reading_replica():
        assert not reads_from_replica()
        assert ReplicaRouter().db_for_read(Member) is None  # Django's own choice: "default"
        member = Member.objects.get()
        assert member._state.db == DEFAULT_DB_ALIAS
        member._state.db = "bench"  # an object of a script's own alias stays on it, as without the router
        assert ReplicaRouter().db_for_read(Member, instance=member) is None
        assert ReplicaRouter().db_for_write(Member, instance=member) is None
    client.force_login(make_officer(tree.root, role="staff"))
    response = client.get(reverse("reports:workbook") + f"?org={tree.root.code}&year=2026")  # reads, then writes
    assert response.status_code == 200
    assert PIN_COOKIE not in response.cookies


def test_migrate_alone_creates_the_cache_table(transactional_db):
    """`make run`, a deployment or a generated benchmark database run only `migrate`: the shared cache's table must
    come with it (dongha76.apps), else the API's throttle fails on every request."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE dongha76_cache")
    assert "dongha76_cache" not in connection.introspection.table_names()
    call_command("migrate", verbosity=0)
    assert "dongha76_cache" in connection.introspection.table_names()
