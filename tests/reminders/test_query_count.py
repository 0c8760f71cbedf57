"""The number of queries of a run of ``send_reminders`` does not grow with the number of members.

The same tree and officers (some wanting each reminder at once, some a daily digest, some no e-mail), once with N
members' worth of rows due under every rule and once with 3N: the two runs (make, close, e-mail) count the same
queries. Each measure runs in a savepoint rolled back afterwards, so both start from the same database.
"""

import collections
import math
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from members.models import Meeting, ResidenceComment
from reminders.models import Reminder, ReminderPreference
from reminders.services import run
from tests.factories import make_member, make_referral
from tests.reminders.conftest import Cast, day

pytestmark = pytest.mark.django_db

N = 3
ON = day(11, 24)  # every rule is due: the comments' last notice, the letters, the meeting notice of 1/12 is not
MEETING_ON = day(12, 1)


def rows_for(cast: Cast, n: int) -> None:
    """``n`` members' worth of rows due under each per-object rule, on both sides of the tree."""
    t = cast.tree
    for i in range(n):
        side = (t.cell, t.committee) if i % 2 == 0 else (t.grassroots_cell, t.grassroots_cell)
        ward, cell = (t.ward1, t.ward1_cell1) if i % 2 == 0 else (t.ward2, t.ward2_cell1)

        def referral(home=side[0], issuer=side[1], ward=ward, **fields):
            return make_referral(
                make_member(home), receiving_ward=ward, issuing_organisation=issuer, introduced_on=day(9, 1), **fields
            )

        referral()  # awaiting reception; the letter not received
        referral(received_on=day(9, 5))  # awaiting placement
        placed = referral(received_on=day(9, 5), placed_on=day(9, 10), residential_cell=cell)  # not reported
        ResidenceComment.objects.create(
            member=placed.member,
            year=2025,
            residential_cell=cell,
            verdict=ResidenceComment.Verdict.GOOD,
            written_on=day(10, 1),
            sent_on=day(10, 2),
        )  # not acknowledged
        referral(received_on=day(9, 5), placed_on=day(9, 10), residential_cell=cell, reported_on=day(9, 12))  # to write
        make_member(side[0], admitted_on=day(9, 1))  # not introduced


def with_email(cast: Cast) -> None:
    Delivery = ReminderPreference.Delivery
    for i, (_name, staff) in enumerate(sorted(cast.staff.items())):
        delivery = (Delivery.IMMEDIATE, Delivery.DAILY, Delivery.NONE)[i % 3]
        for user in staff.writers:
            user.email = f"{user.username}@example.org"
            user.save(update_fields=["email"])
            ReminderPreference.objects.create(user=user, delivery=delivery)


def shape(sql: str) -> str:
    """A statement without its values: what differs between the two runs when a query is added."""
    return re.sub(r"\d+", "N", re.sub(r"'[^']*'", "?", sql))[:160]


def measure(cast: Cast, n: int, on) -> tuple[list[str], int]:
    """The statements of a run on ``on`` with ``n`` members' rows (the reminders' inserts apart), and how many
    reminders it made."""
    with transaction.atomic():
        rows_for(cast, n)
        with CaptureQueriesContext(connection) as queries:
            result = run(day=on)
        made = len(result.created)
        assert made == Reminder.objects.count()
        transaction.set_rollback(True)
    statements = [q["sql"] for q in queries.captured_queries]
    inserts = [sql for sql in statements if is_insert(sql)]
    # The reminders are written by ``bulk_create``: one statement per batch, as many rows as the database takes in
    # one (on SQLite 999 parameters, 76 reminders; on PostgreSQL the batch of 1000). That is the one count that grows
    # with the rows, by one statement per batch, and it is checked apart.
    batch = min(
        1000,
        connection.ops.bulk_batch_size([f for f in Reminder._meta.concrete_fields if not f.primary_key], result.created)
        or 1000,
    )
    assert len(inserts) == math.ceil(made / batch), (len(inserts), made, batch)
    return [sql for sql in statements if not is_insert(sql)], made


def is_insert(sql: str) -> bool:
    return sql.startswith(('INSERT OR IGNORE INTO "reminders_reminder"', 'INSERT INTO "reminders_reminder"'))


@pytest.mark.parametrize("on", [ON, MEETING_ON], ids=["comments-last-notice", "meeting-notice"])
def test_the_queries_of_a_run_do_not_grow_with_the_members(cast, on, mailoutbox):
    with_email(cast)
    small, made_small = measure(cast, N, on)
    large, made_large = measure(cast, 3 * N, on)
    assert made_large > made_small > 0
    extra = collections.Counter(map(shape, large)) - collections.Counter(map(shape, small))
    assert len(large) == len(small), f"{len(small)} then {len(large)} queries; more of: {dict(extra)}"
    assert mailoutbox


def test_a_second_run_closing_what_is_done_does_not_grow_with_the_members(cast):
    """A run that closes reminders (causes gone) and makes none: the same count either way."""

    def measure_closing(n: int) -> int:
        with transaction.atomic():
            rows_for(cast, n)
            run(day=ON)
            from members.models import Referral

            Referral.objects.filter(received_on__isnull=True).update(received_on=ON)
            ResidenceComment.objects.filter(received_on__isnull=True).update(received_on=ON)
            for cell in (cast.tree.ward1_cell1, cast.tree.ward2_cell1):
                Meeting.objects.create(residential_cell=cell, held_on=ON, year=2025, half=2)
            with CaptureQueriesContext(connection) as queries:
                run(day=ON)
            assert Reminder.objects.filter(closed_because=Reminder.Closed.RESOLVED).exists()
            transaction.set_rollback(True)
        return len(queries)

    assert measure_closing(N) == measure_closing(3 * N)
