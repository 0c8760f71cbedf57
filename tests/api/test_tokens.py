"""API tokens: issued and revoked on the user's own page and in the admin, stored only as a digest, the key shown
once; a request with a wrong or revoked key is 401; requests are throttled (429 past the rate)."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from api.models import ApiToken, digest_of
from tests.factories import make_officer, make_tree, make_user

pytestmark = pytest.mark.django_db

KEY = re.compile(r'value="(d76_[A-Za-z0-9_-]+)"')


@pytest.fixture
def secretary(db):
    return make_officer(make_tree().ward1, username="bithu-api")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the throttles count requests there
    yield
    cache.clear()


def issue_on_the_page(client, name="Sổ tay đảng viên") -> str:
    response = client.post(reverse("api-tokens:list"), {"name": name})
    assert response.status_code == 200
    match = KEY.search(response.content.decode())
    assert match, "the key is shown on the answer to the issue"
    return match.group(1)


def test_the_account_menu_links_to_the_tokens_page(client, secretary):
    client.force_login(secretary)
    page = client.get(reverse("home")).content.decode()
    assert reverse("api-tokens:list") in page


def test_a_token_issued_on_the_page_opens_the_api_and_is_stored_as_a_digest_only(client, secretary):
    client.force_login(secretary)
    key = issue_on_the_page(client)
    token = ApiToken.objects.get(user=secretary)
    assert token.name == "Sổ tay đảng viên"
    assert token.digest == digest_of(key) != key
    assert key not in repr(list(ApiToken.objects.values()))
    assert key.startswith(token.shown)
    # shown once: the list afterwards does not show it, and the page is never cached
    page = client.get(reverse("api-tokens:list"))
    assert key not in page.content.decode()
    assert token.shown in page.content.decode()
    assert "no-store" in page.headers["Cache-Control"]
    client.logout()
    response = client.get(reverse("api:member-list"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    # "Token <key>" is understood too
    assert client.get(reverse("api:member-list"), HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_a_revoked_token_opens_nothing(client, secretary):
    client.force_login(secretary)
    key = issue_on_the_page(client)
    token = ApiToken.objects.get(user=secretary)
    response = client.post(reverse("api-tokens:revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    client.logout()
    response = client.get(reverse("api:member-list"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    with translation.override("vi"):
        assert response.json() == {"detail": translation.gettext("This API key is not valid or has been revoked.")}


def test_another_users_token_cannot_be_revoked(client, secretary):
    other = make_user("someone-else")
    token, _ = ApiToken.issue(other, "theirs")
    client.force_login(secretary)
    assert client.post(reverse("api-tokens:revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(client, secretary):
    token, _ = ApiToken.issue(secretary, "mine")
    client.force_login(secretary)
    assert client.get(reverse("api-tokens:revoke", args=[token.pk])).status_code == 405


def test_the_page_asks_for_a_name_and_refuses_too_many_tokens(client, secretary, monkeypatch):
    client.force_login(secretary)
    response = client.post(reverse("api-tokens:list"), {"name": ""})
    assert not KEY.search(response.content.decode())
    assert not ApiToken.objects.exists()
    monkeypatch.setattr("api.tokens.MAX_ACTIVE_TOKENS", 2)
    issue_on_the_page(client, "a")
    issue_on_the_page(client, "b")
    response = client.post(reverse("api-tokens:list"), {"name": "c"})
    assert not KEY.search(response.content.decode())
    assert ApiToken.objects.filter(user=secretary).count() == 2


def test_the_tokens_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("api-tokens:list"))
    assert response.status_code == 302
    assert reverse("login") in response.url


@pytest.mark.parametrize(
    "header",
    ["Bearer d76_not-a-key", "Bearer", "Bearer two words", "Bearer no-prefix", "Token " + "d76_" + "x" * 200],
)
def test_a_wrong_key_is_401_never_anonymous(client, secretary, header):
    response = client.get(reverse("api:member-list"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_deactivated_users_token_opens_nothing(client, secretary):
    _, key = ApiToken.issue(secretary, "mine")
    secretary.is_active = False
    secretary.save()
    assert client.get(reverse("api:member-list"), HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_admin_issues_a_token_for_a_user_shows_its_key_once_and_revokes(admin_client, secretary):
    response = admin_client.post(
        reverse("admin:api_apitoken_add"), {"user": secretary.pk, "name": "Hệ thống quốc gia"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=secretary)
    messages = [str(message) for message in response.context["messages"]]
    key = next(re.search(r"d76_\S+", message).group(0) for message in messages if "d76_" in message)
    assert digest_of(key) == token.digest
    response = admin_client.post(
        reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert admin_client.get(reverse("admin:api_apitoken_changelist")).status_code == 200


def test_requests_past_the_rate_are_429_with_a_vietnamese_message(client, secretary, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/minute", "anon": "2/minute"},
    }
    _, key = ApiToken.issue(secretary, "mine")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    statuses = [client.get(reverse("api:member-list"), **auth).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(reverse("api:member-list"), **auth)
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert wait > 0
    with translation.override("vi"):
        said = translation.ngettext(
            "Too many requests: try again in %(seconds)d second.",
            "Too many requests: try again in %(seconds)d seconds.",
            wait,
        ) % {"seconds": wait}
    assert response.json() == {"detail": said}
    # another user has a rate of their own
    other = make_officer(make_tree().ward2, username="bithu-api-2")
    _, other_key = ApiToken.issue(other, "theirs")
    assert client.get(reverse("api:member-list"), HTTP_AUTHORIZATION=f"Bearer {other_key}").status_code == 200
    # anonymous requests (the schema) are counted per address
    statuses = [client.get(reverse("api:schema")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_figures_have_a_lower_rate_of_their_own(client, secretary, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100/minute", "anon": "100/minute", "figures": "2/minute"},
    }
    _, key = ApiToken.issue(secretary, "mine")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    code = secretary.officer_posts.get().organisation.code
    statuses = [client.get(reverse("api:figures"), {"organisation": code}, **auth).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get(reverse("api:member-list"), **auth).status_code == 200
