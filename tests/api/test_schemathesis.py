"""The API against its own schema: schemathesis generates requests for every operation of ``/api/v1/`` (the reads and
the workflow steps) from the OpenAPI schema the app serves, sends them to the app in-process (its WSGI application,
no server), as a ward secretary, as the city staff and without a key, and checks each answer: never a server error,
a status code the schema documents, and a body that conforms to the schema documented for it.

Bounded: few examples per operation, no deadline, derandomized (the same cases on every run), no example database
(about 80 test items of a few requests each; 5 min on the 2-core machine under a load of 15, much less idle).

A small tree of the factories is the data: a referral placed in a cell of the ward, one in the other ward, a
meeting, comments, so that the ids the generator tries hit rows inside and outside scope.
"""

import datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.models import ApiToken
from members.models import Meeting, ResidenceComment
from tests.factories import make_member, make_officer, make_referral, make_tree

D = datetime.date
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# The schema as /api/v1/schema/ serves it (the same generator, without a request: it needs no database). As the
# ward secretary, every phase runs (the coverage phase tries each parameter's bounds and wrong types); the other two
# roles get the fuzzing phase only, to keep the run short.
RAW = SchemaGenerator().get_schema(request=None, public=True)
full = schemathesis.openapi.from_dict(RAW)
quick = schemathesis.openapi.from_dict(
    RAW, config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
)
full.app = quick.app = get_wsgi_application()
BOUNDED = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
}


@pytest.fixture
def in_test_transaction():
    """The app answers inside the test's transaction, as Django's test client makes it: the end of a request must not
    close the database connection (on PostgreSQL that would close the test's transaction with it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def keys(db, settings, in_test_transaction):
    """Each role's key, on a small tree with rows inside and outside each role's scope."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        # the fuzz sends hundreds of requests a minute as one user: the throttles have their own tests
        "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "anon": "100000/minute"},
    }
    tree = make_tree()
    for member_home, ward, cell in (
        (tree.cell, tree.ward1, tree.ward1_cell1),
        (tree.cell, tree.ward2, tree.ward2_cell1),
    ):
        member = make_member(member_home)
        make_referral(
            member,
            receiving_ward=ward,
            issuing_organisation=tree.committee,
            introduced_on=D(2024, 3, 1),
            received_on=D(2024, 3, 5),
            residential_cell=cell,
            placed_on=D(2024, 3, 6),
        )
        Meeting.objects.create(residential_cell=cell, held_on=D(2024, 6, 1), kind="periodic", year=2024, half=1)
        ResidenceComment.objects.create(
            member=member, year=2024, residential_cell=cell, verdict="good", written_on=D(2024, 11, 20)
        )
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    users = {"ward": make_officer(tree.ward1), "city": make_officer(tree.root, role="staff")}
    return {role: ApiToken.issue(user, "schemathesis")[1] for role, user in users.items()}


def call(case, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    case.call_and_validate(headers=headers, checks=CHECKS)


@full.parametrize()
@settings(max_examples=3, **BOUNDED)
def test_as_a_ward_secretary(case, keys):
    call(case, keys["ward"])


@quick.parametrize()
@settings(max_examples=4, **BOUNDED)
def test_as_city_staff(case, keys):
    call(case, keys["city"])


@quick.parametrize()
@settings(max_examples=1, **BOUNDED)
def test_without_a_key(case, keys):
    call(case, None)
