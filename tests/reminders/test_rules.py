"""Every rule at its boundary days: the day before it is due (nothing), the day it is due (one reminder per writing
officer of the organisation that acts, none for a viewer or an inactive user), the day after (still one). Then each
reminder closing itself when its cause goes, a later step replacing an earlier one, a period ending, a post ending,
and thresholds of the root's settings moving the boundary.

Dates are in 2025 (see ``conftest``); a referral introduced on D0 reaches the ward on D0+7, the workplace on D0+20.
"""

import datetime

import pytest

from branches.models import Officer, Organisation
from members import services
from members.models import Exemption, Referral, ResidenceComment
from members.selectors import todo_for
from reminders.models import Reminder, ReminderSettings
from reminders.models import Rule as Code
from reminders.rules import RULE_BY_CODE, RULES, week_of
from reminders.services import run
from tests.factories import make_member, make_organisation, make_referral, move_home
from tests.reminders.conftest import Cast, day, ids, plus, recipients, reminders, update

pytestmark = pytest.mark.django_db

Closed = Reminder.Closed
D0 = day(3, 3)
FEBRUARY_1 = day(2, 1)


def assert_due_on(rule: str, due: datetime.date, object_id: int, acting, *, step: str | None = None) -> None:
    """Nothing the day before ``due``; on ``due`` one reminder per writer of ``acting`` (a ``Staff``), none for its
    viewer or inactive user; the day after, still one each."""
    update(plus(due, -1))
    assert recipients(rule, object_id) == [], f"{rule} made the day before {due}"
    update(due)
    assert recipients(rule, object_id) == ids(acting.writers), f"{rule} on {due}"
    update(plus(due, 1))
    assert recipients(rule, object_id) == ids(acting.writers), f"{rule} made twice"
    rows = reminders(rule=rule, object_id=object_id)
    assert {row.organisation_id for row in rows} == {acting.organisation.pk}
    assert {row.due_on for row in rows} == {due}
    assert all(row.is_open for row in rows)
    if step is not None:
        assert {row.step for row in rows} == {step}


def assert_closed(rule: str, object_id: int, because: str, on: datetime.date, *, step: str | None = None) -> None:
    rows = reminders(rule=rule, object_id=object_id)
    if step is not None:
        rows = rows.filter(step=step)
    assert rows.exists()
    assert {(row.closed_on, row.closed_because) for row in rows} == {(on, because)}


def introduced(cast: Cast, on: datetime.date, *, ward=None, **fields) -> Referral:
    """A member of the committee's subordinate cell introduced to ward 1 on ``on``."""
    member = make_member(cast.tree.cell)
    return make_referral(member, receiving_ward=ward or cast.tree.ward1, introduced_on=on, **fields)


def placed(cast: Cast, *, cell=None, placed_on=FEBRUARY_1, **fields) -> Referral:
    cell = cell or cast.tree.ward1_cell1
    return introduced(
        cast,
        plus(placed_on, -20),
        ward=cell.parent,
        received_on=plus(placed_on, -10),
        placed_on=placed_on,
        residential_cell=cell,
        **fields,
    )


def test_every_rule_is_tested():
    assert {rule.code for rule in RULES} == set(Code.values)
    assert set(RULE_BY_CODE) == set(Code.values)


# -- the ward ---------------------------------------------------------------------------------------------------------


def test_awaiting_reception_reaches_the_ward_seven_days_after_the_letter(cast):
    referral = introduced(cast, D0)
    assert_due_on(Code.AWAITING_RECEPTION, plus(D0, 7), referral.pk, cast.ward1, step="after")
    assert [r.details["letter_number"] for r in reminders(rule=Code.AWAITING_RECEPTION)][:1] == [referral.letter_number]

    services.referral_receive(referral=referral, received_on=plus(D0, 10), by=cast.ward1.secretary)
    update(plus(D0, 10))
    assert_closed(Code.AWAITING_RECEPTION, referral.pk, Closed.RESOLVED, plus(D0, 10))
    update(plus(D0, 11))
    assert recipients(Code.AWAITING_RECEPTION, referral.pk) == ids(cast.ward1.writers)


def test_the_roots_threshold_moves_the_boundary(cast):
    ReminderSettings.objects.create(organisation=cast.tree.root, receive_after_days=10, place_after_days=3)
    referral = introduced(cast, D0)
    assert_due_on(Code.AWAITING_RECEPTION, plus(D0, 10), referral.pk, cast.ward1)
    services.referral_receive(referral=referral, received_on=plus(D0, 12), by=None)
    assert_due_on(Code.AWAITING_PLACEMENT, plus(D0, 15), referral.pk, cast.ward1)


def test_the_settings_of_another_root_do_not_apply(cast):
    from tests.factories import make_organisation

    other_root = make_organisation(kind="root")
    ReminderSettings.objects.create(organisation=other_root, receive_after_days=2)
    referral = introduced(cast, D0)
    assert_due_on(Code.AWAITING_RECEPTION, plus(D0, 7), referral.pk, cast.ward1)


def test_awaiting_placement_reaches_the_ward_fourteen_days_after_the_reception(cast):
    received = plus(D0, 3)
    referral = introduced(cast, D0, received_on=received)
    assert_due_on(Code.AWAITING_PLACEMENT, plus(received, 14), referral.pk, cast.ward1)
    assert recipients(Code.AWAITING_RECEPTION, referral.pk) == []

    services.referral_place(
        referral=referral, residential_cell=cast.tree.ward1_cell2, placed_on=plus(received, 20), by=None
    )
    update(plus(received, 20))
    assert_closed(Code.AWAITING_PLACEMENT, referral.pk, Closed.RESOLVED, plus(received, 20))


def comment_round_members(cast: Cast) -> Referral:
    """A member placed in ward 1's first cell early in the year: a comment is due on them."""
    return placed(cast, placed_on=day(2, 1))


def test_comments_not_sent_first_last_and_after_the_default_deadline(cast):
    comment_round_members(cast)
    ward = cast.tree.ward1.pk
    # 30/11: the first notice 30 days before (31/10), the last 7 days before (23/11), then the day after (1/12).
    assert_due_on(Code.COMMENTS_NOT_SENT, day(10, 31), ward, cast.ward1, step="2025 first")
    row = reminders(rule=Code.COMMENTS_NOT_SENT).first()
    assert (row.details["missing"], row.details["not_written"], row.details["deadline"]) == (1, 1, "2025-11-30")

    update(day(11, 22))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 last") == []
    update(day(11, 23))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 last") == ids(cast.ward1.writers)
    assert_closed(Code.COMMENTS_NOT_SENT, ward, Closed.SUPERSEDED, day(11, 23), step="2025 first")
    update(day(11, 24))
    update(day(11, 30))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 after") == []
    update(day(12, 1))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 after") == ids(cast.ward1.writers)
    assert_closed(Code.COMMENTS_NOT_SENT, ward, Closed.SUPERSEDED, day(12, 1), step="2025 last")
    update(day(12, 2))
    assert len(recipients(Code.COMMENTS_NOT_SENT, ward)) == 6
    assert recipients(Code.COMMENTS_NOT_SENT, ward, open_only=True) == ids(cast.ward1.writers)
    # The other ward has nothing missing: nothing to say.
    assert recipients(Code.COMMENTS_NOT_SENT, cast.tree.ward2.pk) == []

    # A new year: the round of 2025 is over.
    update(day(1, 1, 2026))
    assert_closed(Code.COMMENTS_NOT_SENT, ward, Closed.EXPIRED, day(1, 1, 2026), step="2025 after")


def test_comments_not_sent_close_once_written_and_sent(cast):
    referral = comment_round_members(cast)
    update(day(11, 1))
    comment = services.residence_comment_write(
        member=referral.member,
        year=2025,
        residential_cell=referral.residential_cell,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=day(11, 2),
        by=cast.ward1_cell1.secretary,
    )
    update(day(11, 2))
    # Written, not sent: still missing for the ward (the cell's own reminder is resolved).
    assert recipients(Code.COMMENTS_NOT_SENT, cast.tree.ward1.pk, open_only=True) == ids(cast.ward1.writers)
    assert_closed(Code.COMMENTS_TO_WRITE, cast.tree.ward1_cell1.pk, Closed.RESOLVED, day(11, 2))
    services.residence_comment_send(comment=comment, sent_on=day(11, 3), by=cast.ward1.secretary)
    update(day(11, 3))
    assert_closed(Code.COMMENTS_NOT_SENT, cast.tree.ward1.pk, Closed.RESOLVED, day(11, 3))
    # Nothing missing at the last notice: nothing new.
    update(day(11, 25))
    assert recipients(Code.COMMENTS_NOT_SENT, cast.tree.ward1.pk, step="2025 last") == []


def test_a_comment_round_of_the_root_moves_the_notices(cast):
    comment_round_members(cast)
    services.comment_round_set(organisation=cast.tree.root, year=2025, deadline=day(11, 15), by=None)
    ward = cast.tree.ward1.pk
    assert_due_on(Code.COMMENTS_NOT_SENT, day(10, 16), ward, cast.ward1, step="2025 first")
    update(day(11, 7))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 last") == []
    update(day(11, 8))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 last") == ids(cast.ward1.writers)
    update(day(11, 15))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 after") == []
    update(day(11, 16))
    assert recipients(Code.COMMENTS_NOT_SENT, ward, step="2025 after") == ids(cast.ward1.writers)
    assert reminders(rule=Code.COMMENTS_NOT_SENT).first().details["deadline"] == "2025-11-15"


def test_the_roots_notice_days_move_the_comment_notices(cast):
    comment_round_members(cast)
    ReminderSettings.objects.create(
        organisation=cast.tree.root, comments_first_notice_days=20, comments_last_notice_days=3
    )
    assert_due_on(Code.COMMENTS_TO_WRITE, day(11, 10), cast.tree.ward1_cell1.pk, cast.ward1_cell1, step="2025 first")
    update(day(11, 26))
    assert recipients(Code.COMMENTS_TO_WRITE, cast.tree.ward1_cell1.pk, step="2025 last") == []
    update(day(11, 27))
    assert recipients(Code.COMMENTS_TO_WRITE, cast.tree.ward1_cell1.pk, step="2025 last") == ids(
        cast.ward1_cell1.writers
    )


# -- the residential cell ---------------------------------------------------------------------------------------------


def test_comments_to_write_reach_the_cell_thirty_and_seven_days_before_the_deadline(cast):
    comment_round_members(cast)
    cell = cast.tree.ward1_cell1.pk
    assert_due_on(Code.COMMENTS_TO_WRITE, day(10, 31), cell, cast.ward1_cell1, step="2025 first")
    update(day(11, 22))
    assert recipients(Code.COMMENTS_TO_WRITE, cell, step="2025 last") == []
    update(day(11, 23))
    assert recipients(Code.COMMENTS_TO_WRITE, cell, step="2025 last") == ids(cast.ward1_cell1.writers)
    assert_closed(Code.COMMENTS_TO_WRITE, cell, Closed.SUPERSEDED, day(11, 23), step="2025 first")
    # No notice of the cell's after the deadline (the ward's is), and no cell without a member due hears anything.
    update(day(12, 1))
    assert recipients(Code.COMMENTS_TO_WRITE, cell, step="2025 after") == []
    assert recipients(Code.COMMENTS_TO_WRITE, cast.tree.ward1_cell2.pk) == []
    assert recipients(Code.COMMENTS_TO_WRITE, cast.tree.ward2_cell1.pk) == []


def test_meeting_due_thirty_days_before_the_first_half_year_ends(cast):
    cell = cast.tree.ward1_cell1
    assert_due_on(Code.MEETING_DUE, day(5, 31), cell.pk, cast.ward1_cell1, step="2025H1")
    assert reminders(rule=Code.MEETING_DUE, object_id=cell.pk).first().details["ends_on"] == "2025-06-30"
    services.meeting_create(residential_cell=cell, held_on=day(6, 10), by=cast.ward1_cell1.secretary)
    update(day(6, 10))
    assert_closed(Code.MEETING_DUE, cell.pk, Closed.RESOLVED, day(6, 10))
    # Another cell never met: its reminder expires with the half-year.
    other = cast.tree.ward2_cell2.pk
    update(day(6, 30))
    assert recipients(Code.MEETING_DUE, other, open_only=True) == ids(cast.ward2_cell2.writers)
    update(day(7, 1))
    assert_closed(Code.MEETING_DUE, other, Closed.EXPIRED, day(7, 1))
    assert recipients(Code.MEETING_DUE, other, step="2025H2") == []


def test_meeting_due_thirty_days_before_the_second_half_year_ends(cast):
    cell = cast.tree.ward2_cell1
    assert_due_on(Code.MEETING_DUE, day(12, 1), cell.pk, cast.ward2_cell1, step="2025H2")


def test_a_cell_that_met_hears_nothing(cast):
    cell = cast.tree.ward1_cell1
    services.meeting_create(residential_cell=cell, held_on=day(3, 1), by=None)
    update(day(6, 1))
    assert recipients(Code.MEETING_DUE, cell.pk) == []
    assert recipients(Code.MEETING_DUE, cast.tree.ward1_cell2.pk) == ids(cast.ward1_cell2.writers)


def test_the_roots_meeting_notice_days_move_the_boundary(cast):
    ReminderSettings.objects.create(organisation=cast.tree.root, meeting_notice_days=10)
    assert_due_on(Code.MEETING_DUE, day(6, 20), cast.tree.ward1_cell1.pk, cast.ward1_cell1)


def test_not_reported_reaches_the_cell_fourteen_days_after_the_placement(cast):
    placed_on = day(4, 2)
    referral = placed(cast, placed_on=placed_on)
    assert_due_on(Code.NOT_REPORTED, plus(placed_on, 14), referral.pk, cast.ward1_cell1)
    assert recipients(Code.NOT_REPORTED, referral.pk, organisation=cast.tree.ward1) == []
    services.referral_report(referral=referral, reported_on=plus(placed_on, 16), by=cast.ward1_cell1.secretary)
    update(plus(placed_on, 16))
    assert_closed(Code.NOT_REPORTED, referral.pk, Closed.RESOLVED, plus(placed_on, 16))


def test_a_report_recorded_later_does_not_hide_a_day_before_it(cast):
    """Run as of a past day (``--today``), a member who reported after that day had not reported yet."""
    placed_on = day(4, 2)
    referral = placed(cast, placed_on=placed_on, reported_on=plus(placed_on, 30))
    update(plus(placed_on, 14))
    assert recipients(Code.NOT_REPORTED, referral.pk) == ids(cast.ward1_cell1.writers)
    update(plus(placed_on, 30))
    assert_closed(Code.NOT_REPORTED, referral.pk, Closed.RESOLVED, plus(placed_on, 30))


# -- the workplace ---------------------------------------------------------------------------------------------------


def test_letter_not_received_reaches_the_workplace_twenty_days_after_it(cast):
    referral = introduced(cast, D0)
    assert_due_on(Code.LETTER_NOT_RECEIVED, plus(D0, 20), referral.pk, cast.committee)
    assert recipients(Code.LETTER_NOT_RECEIVED, referral.pk, organisation=cast.tree.grassroots_cell) == []
    # Stalled at 30 days: still the one reminder.
    update(plus(D0, 31))
    assert recipients(Code.LETTER_NOT_RECEIVED, referral.pk) == ids(cast.committee.writers)
    services.referral_receive(referral=referral, received_on=plus(D0, 32), by=None)
    update(plus(D0, 32))
    assert_closed(Code.LETTER_NOT_RECEIVED, referral.pk, Closed.RESOLVED, plus(D0, 32))


def test_a_grassroots_cells_letter_reaches_the_grassroots_cell(cast):
    member = make_member(cast.tree.grassroots_cell)
    referral = make_referral(
        member, receiving_ward=cast.tree.ward2, issuing_organisation=cast.tree.grassroots_cell, introduced_on=D0
    )
    assert_due_on(Code.LETTER_NOT_RECEIVED, plus(D0, 20), referral.pk, cast.grassroots_cell)


def test_comment_not_acknowledged_reaches_the_workplace_seven_days_after_it_was_sent(cast):
    referral = placed(cast, placed_on=day(2, 1))
    sent_on = day(10, 6)
    comment = ResidenceComment.objects.create(
        member=referral.member,
        year=2025,
        residential_cell=referral.residential_cell,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=day(10, 1),
        sent_on=sent_on,
    )
    assert_due_on(Code.COMMENT_NOT_ACKNOWLEDGED, plus(sent_on, 7), comment.pk, cast.committee)
    services.residence_comment_receive(comment=comment, received_on=plus(sent_on, 9), by=None)
    update(plus(sent_on, 9))
    assert_closed(Code.COMMENT_NOT_ACKNOWLEDGED, comment.pk, Closed.RESOLVED, plus(sent_on, 9))


def test_a_comment_on_a_member_retired_into_a_residential_cell_is_nobodys_to_acknowledge(cast):
    referral = placed(cast, placed_on=day(2, 1))
    comment = ResidenceComment.objects.create(
        member=referral.member,
        year=2025,
        residential_cell=referral.residential_cell,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=day(10, 1),
        sent_on=day(10, 2),
    )
    update(day(10, 9))
    assert recipients(Code.COMMENT_NOT_ACKNOWLEDGED, comment.pk) == ids(cast.committee.writers)
    services.member_retire(member=referral.member, retired_on=day(10, 20), by=None, transfer_to=cast.tree.ward1_cell2)
    update(day(10, 20))
    assert_closed(Code.COMMENT_NOT_ACKNOWLEDGED, comment.pk, Closed.RESOLVED, day(10, 20))
    assert recipients(Code.COMMENT_NOT_ACKNOWLEDGED, comment.pk, organisation=cast.tree.ward1) == []


def test_not_introduced_thirty_days_after_admission(cast):
    admitted = day(2, 10)
    member = make_member(cast.tree.cell, admitted_on=admitted)
    assert_due_on(Code.NOT_INTRODUCED, plus(admitted, 30), member.pk, cast.committee, step=f"since {admitted}")
    services.referral_introduce(
        member=member,
        issuing_organisation=cast.tree.committee,
        receiving_ward=cast.tree.ward1,
        letter_number="7-GT/ĐU",
        introduced_on=plus(admitted, 33),
        by=cast.committee.secretary,
    )
    update(plus(admitted, 33))
    assert_closed(Code.NOT_INTRODUCED, member.pk, Closed.RESOLVED, plus(admitted, 33))


def test_not_introduced_thirty_days_after_joining_a_workplace_cell(cast):
    member = make_member(cast.tree.grassroots_cell, admitted_on=datetime.date(2005, 5, 19))
    joined = day(3, 20)
    update(plus(joined, -1))
    assert recipients(Code.NOT_INTRODUCED, member.pk) == ids(cast.grassroots_cell.writers)
    move_home(member, cast.tree.cell, joined)
    update(plus(joined, 29))
    # No longer the grassroots cell's member: its reminder closes; the committee has thirty days.
    assert_closed(Code.NOT_INTRODUCED, member.pk, Closed.RESOLVED, plus(joined, 29))
    assert recipients(Code.NOT_INTRODUCED, member.pk, organisation=cast.tree.committee) == []
    update(plus(joined, 30))
    assert recipients(Code.NOT_INTRODUCED, member.pk, organisation=cast.tree.committee) == ids(cast.committee.writers)
    assert set(
        reminders(rule=Code.NOT_INTRODUCED, organisation=cast.tree.committee).values_list("step", flat=True)
    ) == {f"since {joined}"}
    update(plus(joined, 31))
    assert recipients(Code.NOT_INTRODUCED, member.pk, organisation=cast.tree.committee) == ids(cast.committee.writers)


def test_a_merger_moving_the_member_into_the_successor_cell_does_not_start_the_clock_again(cast):
    """The 2025 reform moved every member into the successor of their cell: they joined nothing, so the reminder made
    before stays the one (no new step "since the merger day")."""
    admitted = datetime.date(2005, 5, 19)
    member = make_member(cast.tree.cell, admitted_on=admitted)
    merged = day(3, 20)
    update(plus(merged, -1))
    assert recipients(Code.NOT_INTRODUCED, member.pk) == ids(cast.committee.writers)
    successor = make_organisation(
        kind=Organisation.Kind.CELL, parent=cast.tree.committee, name="Chi bộ Văn phòng (hợp nhất)", valid_from=merged
    )
    Organisation.objects.filter(pk=cast.tree.cell.pk).update(valid_to=merged, successor=successor)
    move_home(member, successor, merged)
    update(plus(merged, 31))
    steps = set(reminders(rule=Code.NOT_INTRODUCED).values_list("step", flat=True))
    assert steps == {f"since {admitted}"}, "the merger day must not be a new 'eligible since'"
    assert recipients(Code.NOT_INTRODUCED, member.pk) == ids(cast.committee.writers)


def test_not_introduced_thirty_days_after_an_exemption_is_lifted(cast):
    member = make_member(cast.tree.cell, admitted_on=datetime.date(2005, 5, 19))
    lifted = day(4, 15)
    Exemption.objects.create(
        member=member,
        kind=Exemption.Kind.INTRODUCTION,
        reason="Nhiệm vụ đặc biệt",
        started_on=datetime.date(2010, 1, 1),
        ended_on=lifted,
    )
    assert_due_on(Code.NOT_INTRODUCED, plus(lifted, 30), member.pk, cast.committee, step=f"since {lifted}")


def test_not_introduced_thirty_days_after_a_referral_ended(cast):
    ended = day(5, 5)
    referral = introduced(
        cast,
        datetime.date(2020, 1, 6),
        received_on=datetime.date(2020, 1, 10),
        ended_on=ended,
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    assert_due_on(Code.NOT_INTRODUCED, plus(ended, 30), referral.member_id, cast.committee, step=f"since {ended}")


def test_a_member_eligible_again_is_reminded_again(cast):
    admitted = day(1, 6)
    member = make_member(cast.tree.cell, admitted_on=admitted)
    update(plus(admitted, 30))
    referral = services.referral_introduce(
        member=member,
        issuing_organisation=cast.tree.committee,
        receiving_ward=cast.tree.ward1,
        letter_number="8-GT/ĐU",
        introduced_on=plus(admitted, 40),
        by=None,
    )
    update(plus(admitted, 40))
    ended = plus(admitted, 60)
    services.referral_end(referral=referral, ended_on=ended, end_reason=Referral.EndReason.MOVED_RESIDENCE, by=None)
    update(plus(ended, 29))
    assert recipients(Code.NOT_INTRODUCED, member.pk, open_only=True) == []
    update(plus(ended, 30))
    assert recipients(Code.NOT_INTRODUCED, member.pk, open_only=True) == ids(cast.committee.writers)
    assert len(recipients(Code.NOT_INTRODUCED, member.pk)) == 4


def test_the_roots_introduce_after_days_move_the_boundary(cast):
    ReminderSettings.objects.create(organisation=cast.tree.root, introduce_after_days=45, letter_follow_up_after_days=5)
    admitted = day(2, 10)
    member = make_member(cast.tree.cell, admitted_on=admitted)
    assert_due_on(Code.NOT_INTRODUCED, plus(admitted, 45), member.pk, cast.committee)
    referral = introduced(cast, D0)
    assert_due_on(Code.LETTER_NOT_RECEIVED, plus(D0, 5), referral.pk, cast.committee)


def test_the_roots_acknowledge_and_report_days_move_the_boundary(cast):
    ReminderSettings.objects.create(organisation=cast.tree.root, acknowledge_after_days=3, report_after_days=20)
    placed_on = day(4, 2)
    referral = placed(cast, placed_on=placed_on)
    assert_due_on(Code.NOT_REPORTED, plus(placed_on, 20), referral.pk, cast.ward1_cell1)
    comment = ResidenceComment.objects.create(
        member=referral.member,
        year=2025,
        residential_cell=referral.residential_cell,
        verdict=ResidenceComment.Verdict.GOOD,
        written_on=day(10, 1),
        sent_on=day(10, 2),
    )
    assert_due_on(Code.COMMENT_NOT_ACKNOWLEDGED, day(10, 5), comment.pk, cast.committee)


# -- the city ----------------------------------------------------------------------------------------------------------


def test_weekly_digest_once_per_iso_week_with_the_numbers_of_the_home_page(cast):
    introduced(cast, D0)  # awaiting reception, stalled later
    make_member(cast.tree.cell, admitted_on=day(1, 2))  # not introduced
    root = cast.tree.root.pk
    sunday, monday = day(3, 16), day(3, 17)
    assert (week_of(sunday), week_of(monday)) == ("2025-W11", "2025-W12")
    update(sunday)
    assert recipients(Code.WEEKLY_DIGEST, root) == ids(cast.root.writers)
    update(monday)
    assert recipients(Code.WEEKLY_DIGEST, root, step="2025-W12") == ids(cast.root.writers)
    assert_closed(Code.WEEKLY_DIGEST, root, Closed.SUPERSEDED, monday, step="2025-W11")
    for weekday in range(1, 7):
        update(plus(monday, weekday))
    assert recipients(Code.WEEKLY_DIGEST, root, step="2025-W12") == ids(cast.root.writers)
    assert len(recipients(Code.WEEKLY_DIGEST, root)) == 4
    update(plus(monday, 7))
    assert recipients(Code.WEEKLY_DIGEST, root, open_only=True, step="2025-W13") == ids(cast.root.writers)

    # The numbers are those of the city secretary's home page on the day the digest was made.
    digest = reminders(rule=Code.WEEKLY_DIGEST, step="2025-W12").first()
    todo = todo_for(cast.root.secretary, day=monday, shown=0)
    for name in (
        "stalled",
        "awaiting_reception",
        "awaiting_placement",
        "eligible_not_introduced",
        "cells_missed",
        "cells_without_meeting",
        "irregular_attendees",
        "comments_late",
        "comments_not_written",
    ):
        assert digest.details[name] == getattr(todo, name), name
    assert (digest.details["awaiting_reception"], digest.details["eligible_not_introduced"]) == (1, 1)
    assert digest.details["cells_without_meeting"] == 4
    # Nobody else receives a digest.
    assert set(reminders(rule=Code.WEEKLY_DIGEST).values_list("organisation_id", flat=True)) == {root}


def test_a_large_citys_weekly_digest_reads_its_dashboard_figures_carried(cast, monkeypatch):
    """A city large enough to carry its figures (``reports.steps.pays``) has the digest's two dashboard figures (the
    members not introduced, the irregular attendees) read from them, as its home page does, not counted whole: at the
    nation's root counting them read every member twice. The same numbers either way."""
    from members.selectors import todo as todo_selectors
    from reports import steps

    introduced(cast, D0)
    make_member(cast.tree.cell, admitted_on=day(1, 2))  # not introduced
    monday = day(3, 17)
    counted = todo_for(cast.root.secretary, day=monday, shown=0)
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)

    def not_counted(*args, **kwargs):
        raise AssertionError("counted, not carried")

    monkeypatch.setattr(todo_selectors, "irregular_attendees_under", not_counted)
    monkeypatch.setattr(todo_selectors, "eligible_not_introduced", not_counted)
    update(monday)
    digest = reminders(rule=Code.WEEKLY_DIGEST, step="2025-W12").first()
    assert (digest.details["eligible_not_introduced"], digest.details["irregular_attendees"]) == (
        counted.eligible_not_introduced,
        counted.irregular_attendees,
    )
    assert digest.details["eligible_not_introduced"] == 1


# -- who is reminded, and for how long --------------------------------------------------------------------------------


def test_a_reminder_of_a_user_whose_post_ended_closes(cast):
    referral = introduced(cast, D0)
    update(plus(D0, 7))
    Officer.objects.filter(user=cast.ward1.deputy, organisation=cast.tree.ward1).update(ended_on=plus(D0, 8))
    update(plus(D0, 8))
    deputy = reminders(rule=Code.AWAITING_RECEPTION, user=cast.ward1.deputy).get()
    assert (deputy.closed_on, deputy.closed_because) == (plus(D0, 8), Closed.POST_ENDED)
    secretary = reminders(rule=Code.AWAITING_RECEPTION, user=cast.ward1.secretary).get()
    assert secretary.is_open
    assert secretary.object_id == referral.pk


def test_a_viewer_made_secretary_is_reminded_from_then(cast):
    referral = introduced(cast, D0)
    update(plus(D0, 7))
    Officer.objects.filter(user=cast.ward1.viewer).update(role=Officer.Role.SECRETARY)
    update(plus(D0, 8))
    assert recipients(Code.AWAITING_RECEPTION, referral.pk) == ids([*cast.ward1.writers, cast.ward1.viewer])


def test_two_runs_the_same_day_and_the_next_make_nothing_twice(cast):
    introduced(cast, D0)
    placed(cast, placed_on=day(2, 20))
    make_member(cast.tree.cell, admitted_on=day(1, 2))
    on = day(3, 25)
    first = update(on)
    assert first.created
    count = Reminder.objects.count()
    assert update(on).created == []
    assert Reminder.objects.count() == count
    assert run(day=on).created == []
    assert run(day=plus(on, 1)).created == []
    assert Reminder.objects.count() == count
    assert not Reminder.objects.values("user", "rule", "object_id", "step").distinct().count() < count


def test_a_dry_run_changes_nothing(cast):
    introduced(cast, D0)
    result = run(day=plus(D0, 7), dry_run=True)
    assert any(r.rule == Code.AWAITING_RECEPTION for r in result.created)
    assert Reminder.objects.count() == 0
