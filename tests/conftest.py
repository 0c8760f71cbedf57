import datetime
import hashlib

import pytest

from members.demo.builder import clear_domain_data
from members.models import Attendance, Member, Referral, ResidenceComment, YearEndRating
from tests import demo_snapshot

# The day the demo data is built up to in tests, so that what it holds does not depend on the day the tests run.
DEMO_TODAY = datetime.date(2026, 11, 30)
_built_fingerprint: str | None = None


@pytest.fixture(autouse=True)
def _vietnamese(settings):
    """Tests see what users see: the Vietnamese UI."""
    settings.LANGUAGE_CODE = "vi"


def fingerprint() -> str:
    """A digest of the data that a different random draw would change."""
    rows = [
        *Member.objects.order_by("card_number").values_list("card_number", "full_name", "date_of_birth", "retired_on"),
        *Referral.objects.order_by("member__card_number", "introduced_on").values_list(
            "member__card_number", "receiving_ward__code", "introduced_on", "received_on", "ended_on"
        ),
        (Attendance.objects.count(), ResidenceComment.objects.count(), YearEndRating.objects.count()),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The whole Đông Hà demo data for the test module that asks for it, deleted after it (slow: mark the module
    ``pytest.mark.slow``). Each test still runs in its own rolled-back transaction.

    Built by ``seed_demo`` once per test process, then copied back for each module (tests/demo_snapshot.py says
    how); the fingerprint of each copy is held to that of the build."""
    global _built_fingerprint
    with django_db_blocker.unblock():
        output, copied = demo_snapshot.load(DEMO_TODAY)
        found = fingerprint()
        if copied:
            assert found == _built_fingerprint, "the demo copied back differs from the demo built"
        else:
            _built_fingerprint = found
        yield {"output": output, "fingerprint": found}
        clear_domain_data()
