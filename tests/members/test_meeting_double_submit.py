"""Finding 9 of issue 10: the same meeting form posted twice created two meetings. A residential cell holds at most
one meeting of a kind a day (a unique constraint): the second post leads to the meeting already recorded, with a
message; the service says so on the date; moving a meeting onto another's day and kind is refused."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from members import services
from members.models import Meeting
from tests.factories import make_officer

pytestmark = pytest.mark.django_db

D = datetime.date
FORM = {"held_on": "20/06/2025", "kind": "periodic", "half_year": "2025-1", "summary": "Triển khai nghị quyết"}


def test_the_same_form_posted_twice_records_one_meeting(client, tree):
    client.force_login(make_officer(tree.ward1_cell1))
    url = reverse("members:meeting-create", args=[tree.ward1_cell1.pk])

    first = client.post(url, FORM)
    second = client.post(url, FORM)

    meeting = Meeting.objects.get()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == reverse("members:meeting-detail", args=[meeting.pk])
    assert any(
        "đã được ghi" in str(message) or "already" in str(message) for message in get_messages(second.wsgi_request)
    )


def test_the_service_refuses_a_second_meeting_of_the_same_kind_that_day(tree):
    first = services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), by=None)

    with pytest.raises(services.MeetingExists) as error:
        services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), by=None)

    assert error.value.meeting == first
    assert "held_on" in error.value.message_dict
    assert isinstance(error.value, ValidationError)
    assert Meeting.objects.count() == 1


def test_another_kind_or_another_cell_the_same_day_is_a_meeting_of_its_own(tree):
    day = D(2025, 6, 20)
    services.meeting_create(residential_cell=tree.ward1_cell1, held_on=day, by=None)
    services.meeting_create(residential_cell=tree.ward1_cell1, held_on=day, kind=Meeting.Kind.AD_HOC, by=None)
    services.meeting_create(residential_cell=tree.ward1_cell2, held_on=day, by=None)

    assert Meeting.objects.count() == 3


def test_a_meeting_cannot_be_moved_onto_another_of_its_kind(client, tree):
    services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), by=None)
    other = services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 25), by=None)
    client.force_login(make_officer(tree.ward1_cell1))

    response = client.post(reverse("members:meeting-edit", args=[other.pk]), FORM)

    assert response.status_code == 200
    assert response.context["form"].errors["held_on"]
    other.refresh_from_db()
    assert other.held_on == D(2025, 6, 25)


def test_the_database_holds_the_rule_too(tree):
    Meeting.objects.create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), year=2025, half=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), year=2025, half=1)


def test_the_other_post_committing_between_the_first_look_and_the_checks_is_the_same_double_submit(tree, monkeypatch):
    """The window the concurrent test below hits under load: the other request's meeting committed after this one
    looked for it and before the model's checks ran. It is the same double submit: MeetingExists, not a form error."""
    first = services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), by=None)
    looked = services._recorded_meeting
    calls = []

    def not_yet_on_the_first_look(*args):
        calls.append(args)
        return None if len(calls) == 1 else looked(*args)

    monkeypatch.setattr(services, "_recorded_meeting", not_yet_on_the_first_look)
    with pytest.raises(services.MeetingExists) as raised:
        services.meeting_create(residential_cell=tree.ward1_cell1, held_on=D(2025, 6, 20), by=None)
    assert raised.value.meeting == first


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_posts_at_the_same_moment_record_one_meeting_and_both_land_on_it():
    import threading

    from django.db import connection, connections
    from django.test import Client

    from tests.factories import make_tree

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SQLite serialises every write)")
    tree = make_tree()
    secretary = make_officer(tree.ward1_cell1)
    url = reverse("members:meeting-create", args=[tree.ward1_cell1.pk])
    start = threading.Barrier(2)
    responses = [None, None]

    def submit(i):
        client = Client()
        client.force_login(secretary)
        try:
            start.wait(timeout=10)
            responses[i] = client.post(url, FORM)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    meeting = Meeting.objects.get()
    assert [response.status_code for response in responses] == [302, 302]
    assert {response.url for response in responses} == {reverse("members:meeting-detail", args=[meeting.pk])}
