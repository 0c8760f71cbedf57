"""The error pages with DEBUG off (as in production): Vietnamese, in the site layout with the menu and a link home,
with the right status; the 404 for a record outside the user's scope is the same page as for one that does not
exist; the 500 page is drawn even when the database fails.

The 403 and 500 pages need a view that raises: this module is also the URLconf of those tests (the app's URLs plus
two test-only ones, and the app's handlers).
"""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.urls import path, reverse

from dongha76 import urls as app_urls
from tests.factories import make_member, make_officer, make_tree


def _forbidden(request):
    raise PermissionDenied("secret reason that must not be shown")


def _broken(request):
    raise RuntimeError("secret exception text that must not be shown")


urlpatterns = [
    path("test-only/forbidden/", _forbidden, name="test-forbidden"),
    path("test-only/broken/", _broken, name="test-broken"),
    *app_urls.urlpatterns,
]
handler403 = app_urls.handler403
handler404 = app_urls.handler404
handler500 = app_urls.handler500

CSRF = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


@pytest.fixture
def ward_secretary(db):
    tree = make_tree()
    user = make_officer(tree.ward1, username="phuong-err")
    return tree, user


def without_csrf(html: str) -> str:
    return CSRF.sub(r"\1-", html)


def assert_layout(html: str, status: int) -> None:
    assert '<html lang="vi">' in html
    assert 'id="main-nav"' in html  # the site's menu
    assert f'data-status="{status}"' in html
    assert re.search(r'<a class="btn btn-primary" id="error-home" href="/">', html), "no link home"
    assert "secret" not in html
    assert "Traceback" not in html
    assert "{#" not in html and "{%" not in html  # no template comment or tag shows as text


def test_404_outside_the_scope_equals_404_of_nothing(client, ward_secretary):
    tree, user = ward_secretary
    elsewhere = make_member(tree.ward2_cell1)  # another ward's member: outside phuong-err's scope
    client.force_login(user)

    outside = client.get(reverse("members:member-detail", args=[elsewhere.pk]))
    missing = client.get(reverse("members:member-detail", args=[elsewhere.pk + 100_000]))
    nowhere = client.get("/no-such-page/")

    assert outside.status_code == missing.status_code == nowhere.status_code == 404
    body = without_csrf(outside.content.decode())
    assert body == without_csrf(missing.content.decode()) == without_csrf(nowhere.content.decode())
    assert_layout(body, 404)
    assert 'href="/members/"' in body  # the signed-in user's menu, not the bare bar
    assert f"/members/{elsewhere.pk}/" not in body  # the address is not echoed (equal bodies say the rest)
    assert "No Member matches" not in body


def test_404_for_a_visitor_who_is_not_signed_in(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_layout(response.content.decode(), 404)


@pytest.mark.urls("tests.test_error_pages")
def test_403_page(client, ward_secretary):
    client.force_login(ward_secretary[1])
    response = client.get("/test-only/forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_layout(html, 403)
    assert 'href="/members/"' in html
    assert 'id="error-title"' in html


def test_csrf_failure_page(db, ward_secretary):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(ward_secretary[1])
    response = client.post(reverse("logout"))  # no token
    assert response.status_code == 403
    html = response.content.decode()
    assert_layout(html, 403)
    assert "CSRF cookie" not in html  # not Django's page and not its reason


@pytest.mark.urls("tests.test_error_pages")
def test_500_page_in_the_layout(client, ward_secretary):
    client.raise_request_exception = False
    client.force_login(ward_secretary[1])
    response = client.get("/test-only/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert_layout(html, 500)
    assert 'href="/members/"' in html  # drawn with the request: the user's menu


@pytest.mark.urls("tests.test_error_pages")
def test_500_page_when_the_database_fails(client, ward_secretary, monkeypatch):
    """The database goes away: reading the user's posts for the layout fails too. The page is still drawn, with
    the plain menu bar and the link home."""
    client.raise_request_exception = False
    client.force_login(ward_secretary[1])

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("branches.context_processors.access_for", database_down)
    response = client.get("/test-only/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert_layout(html, 500)
    assert 'href="/members/"' not in html  # no user could be read: the bar without the user's links


def test_500_page_without_the_request_reads_no_database(django_assert_num_queries, db):
    from django.template import loader

    with django_assert_num_queries(0):
        html = loader.render_to_string("500.html", {"error_status": 500})
    assert_layout(html, 500)
