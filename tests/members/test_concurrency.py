"""A double-submitted form, or two secretaries receiving the same referral at the same moment: one reception, one clear
message. Real concurrent transactions need PostgreSQL (SQLite serialises every write on the whole database)."""

import datetime
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from members.models import Referral
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def test_a_double_submitted_receive_form_gives_one_reception_and_one_message():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    tree = make_tree()
    secretaries = [make_officer(tree.ward1), make_officer(tree.ward1)]
    referral = make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=datetime.date(2024, 3, 1))
    url = reverse("members:referral-receive", args=[referral.pk])
    start = threading.Barrier(2)
    responses = [None, None]

    def submit(i, day):
        client = Client()
        client.force_login(secretaries[i])
        try:
            start.wait(timeout=10)
            responses[i] = client.post(url, {"received_on": day})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(i, day)) for i, day in enumerate(["10/03/2024", "11/03/2024"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    codes = sorted(response.status_code for response in responses)
    assert codes == [200, 302]
    refused = next(response for response in responses if response.status_code == 200)
    assert "received_on" in refused.context["form"].errors
    referral = Referral.objects.get(pk=referral.pk)
    assert referral.received_on in {datetime.date(2024, 3, 10), datetime.date(2024, 3, 11)}
    assert referral.history.filter(received_on__isnull=False).count() == 1
