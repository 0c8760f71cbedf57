"""The findings of issue 13 on the to-do, on the Đông Hà demo data: each demo user's to-do has the items of their
role, each count equal to the rows of the list it opens, and the actions they may take."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from members.models import Referral
from tests.conftest import DEMO_TODAY
from tests.members.test_todo import assert_counts_match_lists, items, todo_html

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _demo_day(demo, monkeypatch):
    """The demo's day is today for the pages (the to-do is of today)."""
    noon = datetime.datetime.combine(DEMO_TODAY, datetime.time(12), tzinfo=timezone.get_current_timezone())
    monkeypatch.setattr(timezone, "now", lambda: noon)


def login(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_khupho1_records_that_a_member_reported_to_the_cell(client):
    login(client, "khupho1")
    todo = items(client)
    assert {"not_reported", "comments_to_write"} <= set(todo)
    counts = assert_counts_match_lists(client)
    assert counts["not_reported"] > 0
    page = todo_html(client)
    referral = Referral.objects.filter(reported_on__isnull=True, placed_on__isnull=False, ended_on__isnull=True)
    url = next(
        reverse("members:referral-report", args=[pk])
        for pk in referral.values_list("pk", flat=True)
        if reverse("members:referral-report", args=[pk]) in page
    )
    response = client.post(url, {"reported_on": DEMO_TODAY.strftime("%d/%m/%Y"), "next": reverse("home")})
    assert response.status_code == 302
    assert assert_counts_match_lists(client)["not_reported"] == counts["not_reported"] - 1


def test_coquan1_acknowledges_the_comments_sent_to_it(client):
    login(client, "coquan1")
    assert "comments_to_acknowledge" in items(client)
    assert assert_counts_match_lists(client)["comments_to_acknowledge"] > 0


def test_phuong1_sends_and_chases_comments(client):
    login(client, "phuong1")
    assert {"comments_to_send", "comments_missing", "cells_without_meeting"} <= set(items(client))
    counts = assert_counts_match_lists(client)
    assert counts["comments_to_send"] > 0 and counts["comments_missing"] > 0


@pytest.mark.parametrize("username", ["phuong2", "thanhuy"])
def test_every_count_equals_its_list(client, username):
    login(client, username)
    assert_counts_match_lists(client)


def test_thanhuy_has_no_ward_buttons(client):
    login(client, "thanhuy")
    page = todo_html(client)
    assert "<form" not in page and "/receive/" not in page
    assert {"stalled", "comments_missing", "cells_without_meeting"} <= set(items(client))
