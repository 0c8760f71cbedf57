"""The list filters' fields are drawn in Python (``dongha76.templatetags.filtering.filter_field``) with the HTML
crispy-forms' ``as_crispy_field`` draws, once white space is taken as the browser takes it (issue 15)."""

import re
from unittest import mock

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

from dongha76.templatetags import filtering
from tests.members import test_list_paging

pytestmark = pytest.mark.django_db

tree, users = test_list_paging.tree, test_list_paging.users  # the same data and users

PAGES = [
    "/members/",
    "/members/?q=nguyen&working=retired&organisation=999999",  # a choice not offered: the field has an error
    "/referrals/",
    "/referrals/?year=abc&state=open",  # an error: drawn by crispy-forms
    "/comments/2024/?state=written",
    "/ratings/2024/",
    "/ratings/2024/?warnings=on&rating=none",  # a checkbox, ticked
]


def _spaced(html) -> str:
    """White space as the browser takes it: a run of it is one space (at either end too)."""
    return re.sub(r"\s+", " ", str(html))


@pytest.mark.parametrize("role", [0, 1, 2, 3])
def test_every_filter_field_is_drawn_as_crispy_forms_draws_it(client, users, role):
    client.force_login(users[role])
    drawn = 0
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        page = _spaced(response.content.decode())
        for field in response.context["filter"].form:
            ours = _spaced(filtering.filter_field(field))
            assert ours == _spaced(as_crispy_field(field)), (url, field.name)
            assert ours in page, (url, field.name)
            drawn += 1
    assert drawn > 30


def test_plain_fields_are_drawn_without_crispy_forms_and_others_by_it(client, users):
    client.force_login(users[1])
    response = client.get("/referrals/?year=abc")
    form = response.context["filter"].form
    with mock.patch.object(filtering, "as_crispy_field", wraps=as_crispy_field) as crispy:
        filtering.filter_field(form["q"])  # a text input
        filtering.filter_field(form["state"])  # a select
        filtering.filter_field(form["receiving_ward"])  # a select of organisations
        assert not crispy.called
        filtering.filter_field(form["year"])  # "abc": an error
        assert crispy.call_count == 1
