"""``/api/v1/deletions/``: the rows deleted from the lists, for a synchronising client, each shown to those whose
scope held the row when it was deleted (the organisations whose subtrees held it are recorded with it).

The main case is the one deletion the app makes: the undo of an import deletes the rows the import created (a
residential cell, a member, the member's referral placed in that cell). Then each side of the scope rules sees what
its pages showed: the city staff all, the ward the referral addressed to it, its member and its new cell, the
member's workplace the member and the referral, the other ward nothing."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api import deletions
from api.models import ApiToken, Deletion
from branches.access import access_for
from branches.models import Organisation
from members.models import Attendance, Meeting, Member, Referral, ResidenceComment
from tests.api.test_reads import data_queries
from tests.factories import make_member, make_officer, make_referral
from tests.workbooks.test_undo import World
from workbooks import undo

pytestmark = pytest.mark.django_db

D = datetime.date

URL = reverse("api:deletion-list")


def bearer(user) -> dict:
    _, key = ApiToken.issue(user, "tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def deleted(client, auth: dict, **params) -> set[tuple[str, int]]:
    """Every deletion the user is shown, following the cursor."""
    found, response = set(), client.get(URL, params, **auth)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        found |= {(row["kind"], row["id"]) for row in body["results"]}
        if not body["next"]:
            return found
        response = client.get(body["next"], **auth)


@pytest.fixture
def undone():
    """An import undone: what it created is deleted; the moment before the undo, and the rows' ids."""
    world = World()
    record = world.import_as_service()
    member = Member.objects.get(card_number="71000009")
    rows = {
        ("organisation", Organisation.objects.get(code="P1-KP9").pk),
        ("member", member.pk),
        ("referral", Referral.objects.get(member=member).pk),
    }
    before = timezone.now()
    undo.workbook_undo(record=record, by=world.staff, access=access_for(world.staff))
    assert not Member.objects.filter(card_number="71000009").exists()
    return world, rows, before


def test_the_undo_of_an_import_lists_its_rows_to_those_whose_scope_held_them(client, undone):
    world, rows, before = undone
    tree = world.tree
    by_kind = dict(rows)
    assert deleted(client, bearer(world.staff)) == rows
    # the ward: the referral addressed to it, the member it referred to it, the cell made in its subtree
    assert deleted(client, bearer(make_officer(tree.ward1))) == rows
    # the member's workplace (home cell under the committee): the member and the referral, not the ward's cell
    workplace = {("member", by_kind["member"]), ("referral", by_kind["referral"])}
    assert deleted(client, bearer(make_officer(tree.committee))) == workplace
    assert deleted(client, bearer(make_officer(tree.ward2))) == set()
    assert deleted(client, bearer(make_officer(tree.ward2_cell1))) == set()
    # the filters
    staff = bearer(world.staff)
    assert deleted(client, staff, changed_since=before.isoformat()) == rows
    assert deleted(client, staff, changed_since=timezone.now().isoformat()) == set()
    assert deleted(client, staff, kind="referral") == {("referral", by_kind["referral"])}
    assert deleted(client, staff, organisation=tree.committee.code) == workplace
    assert deleted(client, staff, page_size=1) == rows
    body = client.get(URL, **staff).json()["results"]
    assert {row["deleted_at"] for row in body} and all(row["deleted_at"] >= before.isoformat()[:19] for row in body)


def test_a_deletion_outside_the_users_organisations_is_not_named_by_them(client, undone):
    world, _rows, _before = undone
    ward2 = bearer(make_officer(world.tree.ward2))
    response = client.get(URL, {"organisation": world.tree.ward1.code}, **ward2)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "key"), [({"changed_since": "hôm qua"}, "changed_since"), ({"kind": "attendance"}, "kind")]
)
def test_a_bad_filter_is_400_naming_it(client, undone, params, key):
    world, _rows, _before = undone
    response = client.get(URL, params, **bearer(world.staff))
    assert response.status_code == 400
    assert list(response.json()) == [key]


def test_a_meeting_and_a_comment_are_shown_to_their_cell_and_ward_only(client):
    world = World()
    tree = world.tree
    member = make_member(tree.cell)
    day = D(2024, 3, 5)
    make_referral(member, receiving_ward=tree.ward1, received_on=day, residential_cell=tree.ward1_cell1, placed_on=day)
    meeting = Meeting.objects.create(residential_cell=tree.ward1_cell1, held_on=D(2024, 4, 1), year=2024, half=1)
    comment = ResidenceComment.objects.create(
        member=member,
        year=2024,
        residential_cell=tree.ward1_cell1,
        verdict=ResidenceComment.Verdict.values[0],
        written_on=D(2024, 12, 1),
    )
    both = {("meeting", meeting.pk), ("comment", comment.pk)}
    deletions.record(Meeting, [meeting.pk])
    deletions.record(ResidenceComment, [comment.pk])
    meeting.delete()
    comment.delete()
    assert deleted(client, bearer(make_officer(tree.ward1_cell1))) == both
    assert deleted(client, bearer(make_officer(tree.ward1))) == both
    # the member's workplace sees the comment on its member, not the residential cell's meeting
    assert deleted(client, bearer(make_officer(tree.committee))) == {("comment", dict(both)["comment"])}
    assert deleted(client, bearer(make_officer(tree.ward1_cell2))) == set()
    assert deleted(client, bearer(make_officer(tree.ward2))) == set()


def test_a_page_costs_the_same_queries_whatever_its_size(client):
    world = World()
    members = [make_member(world.tree.cell) for _ in range(12)]
    ward = bearer(make_officer(world.tree.committee))
    client.get(URL, **ward)  # the key's first use is written once (``ApiToken.note_use``)
    counts = []
    for rows in (members[:2], members[2:]):
        deletions.record(Member, [member.pk for member in rows])
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"page_size": 100}, **ward)
        assert response.status_code == 200
        counts.append(len(data_queries(captured.captured_queries)))
    assert len(client.get(URL, {"page_size": 100}, **ward).json()["results"]) == 12
    assert counts[0] == counts[1]


def test_a_model_the_api_does_not_list_records_nothing():
    world = World()
    deletions.record(type(world.staff), [world.staff.pk])
    assert not Deletion.objects.exists()


def test_a_removed_attendance_mark_brings_its_meeting_back_under_changed_since(client):
    world = World()
    tree = world.tree
    member = make_member(tree.cell)
    meeting = Meeting.objects.create(residential_cell=tree.ward1_cell1, held_on=D(2024, 6, 1), year=2024, half=1)
    mark = Attendance.objects.create(meeting=meeting, member=member, status=Attendance.Status.PRESENT)
    Meeting.history.update(history_date=timezone.now() - datetime.timedelta(days=2))
    Attendance.history.update(history_date=timezone.now() - datetime.timedelta(days=2))
    moment = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    staff = bearer(world.staff)
    url = reverse("api:meeting-list")
    assert client.get(url, {"changed_since": moment}, **staff).json()["results"] == []
    mark.delete()
    rows = client.get(url, {"changed_since": moment}, **staff).json()["results"]
    assert [(row["id"], row["attendance"]) for row in rows] == [(meeting.pk, [])]


def test_an_organisation_deleted_in_the_admin_is_in_the_feed(client, admin_user):
    """The admin is the other place a row the API lists can be deleted: a superuser deleting an organisation (one
    added by mistake, nothing under it) leaves its deletion for the synchronising clients, alone or from the list."""
    root = Organisation.objects.create(kind=Organisation.Kind.ROOT, code="R", name="Root")
    alone = Organisation.objects.create(kind=Organisation.Kind.WARD, code="W1", name="Ward 1", parent=root)
    listed = Organisation.objects.create(kind=Organisation.Kind.WARD, code="W2", name="Ward 2", parent=root)
    client.force_login(admin_user)
    answer = client.post(reverse("admin:branches_organisation_delete", args=[alone.pk]), {"post": "yes"})
    assert answer.status_code == 302
    answer = client.post(
        reverse("admin:branches_organisation_changelist"),
        {"action": "delete_selected", "_selected_action": [listed.pk], "post": "yes"},
    )
    assert answer.status_code == 302
    assert not Organisation.objects.filter(pk__in=[alone.pk, listed.pk]).exists()
    recorded = Deletion.objects.filter(kind="organisation")
    assert sorted(recorded.values_list("object_id", flat=True)) == sorted([alone.pk, listed.pk])
    assert sorted(recorded.values_list("places__path", flat=True)) == sorted([alone.path, listed.path])
