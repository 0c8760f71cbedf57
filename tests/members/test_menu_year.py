"""The menu's comments and ratings open on the year of the app's today (``timezone.localdate``), as the pages
themselves read it, not on the clock's year: a data set looked at as of another day (bench/pages.py's PAGES_TODAY)
gets menu links that answer, not a 404."""

import datetime
from unittest import mock

import pytest
from django.urls import reverse

from branches.models import Officer
from tests.factories import make_officer, make_tree

pytestmark = pytest.mark.django_db


def test_menu_links_the_comments_and_ratings_of_the_apps_year(client):
    tree = make_tree()
    staff = make_officer(tree.root, role=Officer.Role.STAFF, username="city-staff")
    client.force_login(staff)
    day = datetime.date(2018, 9, 30)
    with mock.patch("django.utils.timezone.localdate", lambda *args, **kwargs: day):
        page = client.get(reverse("home")).content.decode()
        for name in ("members:comment-list", "members:rating-list"):
            url = reverse(name, args=[2018])
            assert f'href="{url}"' in page
            assert client.get(url).status_code == 200
    assert f'href="{reverse("members:comment-list", args=[datetime.date.today().year])}"' not in page
