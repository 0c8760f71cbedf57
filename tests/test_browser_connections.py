"""The browser tests' Playwright (tests/e2e/conftest.py) and Django's connections: while its event loop runs in the
main thread, Django keeps this thread's connections apart from the ones it had, and those opened then are closed when
Playwright stops. One left open - the demo data deleted at the end of a browser test module, after the last test's
teardown - kept the test database from being dropped at the end of the session.

Outside tests/e2e: there the package's Playwright may be running already, and its sync API cannot be started twice
in one thread. PostgreSQL only: a connection left open there is what kept the test database from being dropped."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from tests.e2e.conftest import running_playwright

pytestmark = [pytest.mark.e2e, pytest.mark.postgresql]


@pytest.mark.django_db
def test_the_connections_opened_while_playwright_runs_are_closed_when_it_stops():
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        pytest.skip("a connection left open keeps a PostgreSQL test database from being dropped, not SQLite's file")
    before = connections[DEFAULT_DB_ALIAS]
    before.ensure_connection()
    with running_playwright():
        meanwhile = connections[DEFAULT_DB_ALIAS]
        with meanwhile.cursor() as cursor:  # as a module fixture's teardown queries, after the last test's
            cursor.execute("SELECT 1")
        assert meanwhile is not before  # apart: no teardown of the tests would reach it once the loop stops
        assert meanwhile.connection is not None
    assert connections[DEFAULT_DB_ALIAS] is before
    assert meanwhile.connection is None  # closed, not left open until the process ends
    assert before.connection is not None  # the test's own, untouched
