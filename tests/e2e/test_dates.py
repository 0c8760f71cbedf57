"""A ward secretary types a date on a phone (issue 13): the box asks for a keypad with a separator, a date typed as
digits only is read, and a day that does not exist gets its own message with what was typed kept in the box."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from members.models import Referral
from tests.e2e.conftest import PASSWORD, PHONE, no_horizontal_scroll
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiving(transactional_db):
    tree = make_tree()
    member = make_member(tree.cell, admitted_on=datetime.date(2010, 5, 1))
    referral = make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        introduced_on=datetime.date(2024, 3, 1),
    )
    secretary = make_officer(tree.ward1, username="bithuphuong", password=PASSWORD)
    return referral, secretary


def test_a_phone_user_types_a_date_as_digits_and_an_impossible_one_is_told(page_for, receiving):
    referral, secretary = receiving
    page = page_for(secretary, viewport=PHONE)
    page.goto(reverse("members:referral-receive", args=[referral.pk]))
    box = page.locator("#id_received_on")
    expect(box).to_have_attribute("inputmode", "decimal")
    expect(box).to_have_attribute("type", "text")
    expect(box).to_have_attribute("placeholder", "dd/mm/yyyy")
    assert no_horizontal_scroll(page)

    box.fill("31/02/2024")
    with page.expect_navigation():
        page.locator("#referral-step-submit").click()
    expect(page.locator("#id_received_on")).to_have_value("31/02/2024")
    expect(page.locator("#id_received_on")).to_have_class(re.compile(r"\bis-invalid\b"))
    referral.refresh_from_db()
    assert referral.received_on is None

    page.locator("#id_received_on").fill("15032024")
    with page.expect_navigation():
        page.locator("#referral-step-submit").click()
    assert page.url.endswith(reverse("members:referral-detail", args=[referral.pk]))
    assert Referral.objects.get(pk=referral.pk).received_on == datetime.date(2024, 3, 15)
