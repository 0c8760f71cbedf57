import datetime
import hashlib
import io

import pytest
from django.core.management import call_command

from members.demo.builder import clear_domain_data
from members.models import Attendance, Member, Referral, ResidenceComment, YearEndRating

# The day the demo data is built up to in tests, so that what it holds does not depend on the day the tests run.
DEMO_TODAY = datetime.date(2026, 11, 30)


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
    """The whole Đông Hà demo data, built once for the test module that asks for it and deleted after it (slow: mark
    the module ``pytest.mark.slow``). Each test still runs in its own rolled-back transaction."""
    with django_db_blocker.unblock():
        out = io.StringIO()
        call_command("seed_demo", today=DEMO_TODAY, stdout=out)
        yield {"output": out.getvalue(), "fingerprint": fingerprint()}
        clear_domain_data()
