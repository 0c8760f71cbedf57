"""Nobody is reminded about a row outside their scope, and every reminder leads to a page its user may open.

Two wards, two workplaces (a grassroots committee and a grassroots cell), four residential cells, each with rows of
its own for every rule: each officer is reminded of exactly their own rows; the city gets its weekly digest only; an
upper committee gets nothing; viewers and inactive users nothing. Every reminder's link answers 200 to its user, and
the same link answers 404 to the officer of the other ward, workplace or cell where the page is scoped.
"""

import datetime

import pytest
from django.urls import reverse

from members.models import Referral, ResidenceComment
from reminders.models import Reminder
from reminders.models import Rule as Code
from reminders.rules import RULE_BY_CODE
from tests.factories import make_member, make_referral
from tests.reminders.conftest import Cast, day, update

pytestmark = pytest.mark.django_db

JUNE, NOVEMBER = day(6, 2), day(11, 1)


def referral(cast: Cast, side: str, ward, **fields) -> Referral:
    """A member of the committee's cell (``side`` "committee") or of the grassroots cell, introduced to ``ward``."""
    home, issuer = {
        "committee": (cast.tree.cell, cast.tree.committee),
        "grassroots_cell": (cast.tree.grassroots_cell, cast.tree.grassroots_cell),
    }[side]
    return make_referral(
        make_member(home), receiving_ward=ward, issuing_organisation=issuer, introduced_on=day(3, 3), **fields
    )


def received(**fields):
    return {"received_on": day(3, 10), **fields}


def placed_in(cell, **fields):
    return received(placed_on=day(4, 1), residential_cell=cell, **fields)


def sent_comment(ref: Referral) -> ResidenceComment:
    return ResidenceComment.objects.create(
        member=ref.member,
        year=2025,
        residential_cell=ref.residential_cell,
        verdict=ResidenceComment.Verdict.FAIR,
        written_on=day(5, 2),
        sent_on=day(5, 3),
    )


@pytest.fixture
def rows(cast):
    """Rows of each rule for each side; returns what each organisation should be reminded of, by name."""
    t = cast.tree
    waiting_1 = referral(cast, "committee", t.ward1)
    waiting_2 = referral(cast, "grassroots_cell", t.ward2)
    unplaced_1 = referral(cast, "committee", t.ward1, **received())
    unplaced_2 = referral(cast, "grassroots_cell", t.ward2, **received())
    # Each workplace's member placed in the *other* side's ward: the workplace and the cell each see their own part.
    placed_1 = referral(cast, "grassroots_cell", t.ward1, **placed_in(t.ward1_cell1))
    placed_2 = referral(cast, "committee", t.ward2, **placed_in(t.ward2_cell1))
    comment_1, comment_2 = sent_comment(placed_1), sent_comment(placed_2)
    # Commented already, these cells' members are done; those of the second cells are not (November's round).
    referral(cast, "committee", t.ward1, **placed_in(t.ward1_cell2, reported_on=day(4, 2)))
    referral(cast, "grassroots_cell", t.ward2, **placed_in(t.ward2_cell2, reported_on=day(4, 2)))
    new_c = make_member(t.cell, admitted_on=day(1, 2))
    new_g = make_member(t.grassroots_cell, admitted_on=day(1, 2))
    june = {
        "ward1": {(Code.AWAITING_RECEPTION, waiting_1.pk), (Code.AWAITING_PLACEMENT, unplaced_1.pk)},
        "ward2": {(Code.AWAITING_RECEPTION, waiting_2.pk), (Code.AWAITING_PLACEMENT, unplaced_2.pk)},
        "committee": {
            (Code.LETTER_NOT_RECEIVED, waiting_1.pk),
            (Code.NOT_INTRODUCED, new_c.pk),
            (Code.COMMENT_NOT_ACKNOWLEDGED, comment_2.pk),
        },
        "grassroots_cell": {
            (Code.LETTER_NOT_RECEIVED, waiting_2.pk),
            (Code.NOT_INTRODUCED, new_g.pk),
            (Code.COMMENT_NOT_ACKNOWLEDGED, comment_1.pk),
        },
        "ward1_cell1": {(Code.NOT_REPORTED, placed_1.pk), (Code.MEETING_DUE, t.ward1_cell1.pk)},
        "ward2_cell1": {(Code.NOT_REPORTED, placed_2.pk), (Code.MEETING_DUE, t.ward2_cell1.pk)},
        "ward1_cell2": {(Code.MEETING_DUE, t.ward1_cell2.pk)},
        "ward2_cell2": {(Code.MEETING_DUE, t.ward2_cell2.pk)},
        "root": {(Code.WEEKLY_DIGEST, t.root.pk)},
    }
    round_ = {
        "ward1": {(Code.COMMENTS_NOT_SENT, t.ward1.pk)},
        "ward2": {(Code.COMMENTS_NOT_SENT, t.ward2.pk)},
        "ward1_cell2": {(Code.COMMENTS_TO_WRITE, t.ward1_cell2.pk)},
        "ward2_cell2": {(Code.COMMENTS_TO_WRITE, t.ward2_cell2.pk)},
    }
    # On 1 November (a first run): the rows still waiting, the comment round's notices, no meeting notice yet.
    november = {
        name: {row for row in june.get(name, set()) if row[0] != Code.MEETING_DUE} | round_.get(name, set())
        for name in {*june, *round_}
    }
    return {JUNE: june, NOVEMBER: november}


def made_on(user, on: datetime.date) -> set[tuple[str, int]]:
    return set(Reminder.objects.filter(user=user, due_on=on).values_list("rule", "object_id"))


@pytest.mark.parametrize("on", [JUNE, NOVEMBER], ids=["june", "november"])
def test_each_officer_is_reminded_of_their_own_rows_only(cast, rows, on):
    update(on)
    expected = rows[on]
    for name, staff in cast.staff.items():
        for user in staff.writers:
            assert made_on(user, on) == expected.get(name, set()), f"{user.username} on {on}"
        for user in (staff.viewer, staff.inactive):
            assert made_on(user, on) == set(), user.username
    for user in cast.upper_staff.everyone:
        assert made_on(user, on) == set(), user.username
    # The workplace's subordinate cell is not reminded: its grassroots committee acts.
    assert not Reminder.objects.filter(organisation=cast.tree.cell).exists()


def test_every_reminder_opens_for_its_user_and_not_for_the_other_side(cast, rows, client):
    update(JUNE)
    update(NOVEMBER)
    other = {
        "ward1": "ward2",
        "ward2": "ward1",
        "committee": "grassroots_cell",
        "grassroots_cell": "committee",
        "ward1_cell1": "ward2_cell1",
        "ward2_cell1": "ward1_cell1",
        "ward1_cell2": "ward2_cell2",
        "ward2_cell2": "ward1_cell2",
    }
    scoped = {
        reverse("members:referral-detail", args=[0]).rsplit("0", 1)[0],
        reverse("members:member-detail", args=[0]).rsplit("0", 1)[0],
        reverse("members:cell-detail", args=[0]).rsplit("0", 1)[0],
    }
    checked_404 = 0
    for name, staff in cast.staff.items():
        for reminder in Reminder.objects.filter(user=staff.secretary):
            url = RULE_BY_CODE[reminder.rule].url(reminder)
            client.force_login(staff.secretary)
            assert client.get(url).status_code == 200, f"{staff.secretary.username}: {reminder.rule} {url}"
            if name in other and any(url.startswith(prefix) for prefix in scoped):
                client.force_login(cast.staff[other[name]].secretary)
                assert client.get(url).status_code == 404, f"{other[name]}: {reminder.rule} {url}"
                checked_404 += 1
    # referral pages (reception, placement, letter, report), member pages (not introduced), cell pages (meeting)
    assert checked_404 == 2 + 2 + 2 + 2 + 2 + 4
