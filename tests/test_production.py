"""Production settings (issue 10, finding 10): `check --deploy` is clean with the settings docs/deploy.md documents, a
weak SECRET_KEY stops the start, gunicorn with the `make serve` config answers with the security headers, sessions
end after 8 hours idle, and no page needs an inline script or style (the CSP would block it).

Settings are read once per process, so the production ones are tried in subprocesses with their own environment.
"""

import datetime
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from reports import charts
from tests.factories import make_officer, make_tree

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PASSWORD = "headers-Đông-Hà-76"


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment docs/deploy.md documents (nginx in front: BEHIND_PROXY=1), with a throw-away SQLite database
    and static folder. Variables of the calling environment that settings read are dropped first."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "DATABASE_URL", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith(("SECURE_HSTS", "SECRET_KEY", "GUNICORN_", "WEB_CONCURRENCY"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,dangvien.example.vn",
        CSRF_TRUSTED_ORIGINS="https://dangvien.example.vn",
        BEHIND_PROXY="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SETTINGS_MODULE="dongha76.settings",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - this project's own commands
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --- check --deploy and the secret key ---------------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    result = run([PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output and "security.W" not in output, output


WEAK_KEYS = {
    "missing": ("", "SECRET_KEY is not set"),
    "short": (secrets.token_urlsafe(30), "SECRET_KEY is too weak"),
    "few distinct characters": ("ab" * 40, "SECRET_KEY is too weak"),
    "the development key": ("dev-only-insecure-key-do-not-use-in-production", "SECRET_KEY is the development key"),
    "made by startproject": ("django-insecure-" + secrets.token_urlsafe(50), "starts with 'django-insecure-'"),
}


@pytest.mark.parametrize("kind", WEAK_KEYS)
def test_production_refuses_to_start_with_a_weak_secret_key(tmp_path, kind):
    key, message = WEAK_KEYS[kind]
    result = run([PYTHON, "-c", "import django; django.setup()"], production_env(tmp_path, SECRET_KEY=key))
    assert result.returncode != 0, f"started with a {kind} SECRET_KEY"
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    assert "docs/deploy.md" in result.stderr


def test_a_weak_fallback_key_is_refused_too_and_a_strong_key_starts(tmp_path):
    weak = run(
        [PYTHON, "-c", "import django; django.setup()"],
        production_env(tmp_path, SECRET_KEY_FALLBACKS=f"{secrets.token_urlsafe(50)},short"),
    )
    assert weak.returncode != 0
    assert "SECRET_KEY_FALLBACKS is too weak" in weak.stderr
    strong = run([PYTHON, "-c", "import django; django.setup()"], production_env(tmp_path))
    assert strong.returncode == 0, strong.stderr


def test_the_development_defaults_still_start_without_a_key(tmp_path):
    env = production_env(tmp_path, DEBUG="1", SECRET_KEY="")
    result = run([PYTHON, "-c", "import django; django.setup()"], env)
    assert result.returncode == 0, result.stderr


# --- e-mail (the reminders) -----------------------------------------------------------------------------------------

MAIL_SETTINGS = (
    "import django; django.setup()\n"
    "from django.conf import settings as s\n"
    "print(s.EMAIL_BACKEND, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, s.SITE_URL)"
)


def test_without_a_mail_server_the_e_mails_go_to_the_console(tmp_path):
    env = {k: v for k, v in production_env(tmp_path).items() if not k.startswith("EMAIL_") and k != "SITE_URL"}
    result = run([PYTHON, "-c", MAIL_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.core.mail.backends.console.EmailBackend"


def test_a_mail_server_in_production_needs_the_sites_address(tmp_path):
    env = production_env(tmp_path, EMAIL_HOST="smtp.example.vn")
    env.pop("SITE_URL", None)
    refused = run([PYTHON, "-c", MAIL_SETTINGS], env)
    assert refused.returncode != 0
    assert "SITE_URL is not set" in refused.stderr
    started = run([PYTHON, "-c", MAIL_SETTINGS], {**env, "SITE_URL": "https://dangvien.example.vn/"})
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "587",
        "True",
        "False",
        "https://dangvien.example.vn",
    ]


@pytest.mark.parametrize("site_url", ["dangvien.example.vn", "https://", "https://dangvien.example.vn/app", "ftp://x"])
def test_a_site_url_that_is_not_an_origin_is_refused(tmp_path, site_url):
    result = run([PYTHON, "-c", MAIL_SETTINGS], production_env(tmp_path, SITE_URL=site_url))
    assert result.returncode != 0
    assert "SITE_URL must be the site's origin" in result.stderr


def test_ssl_on_port_465_switches_starttls_off_and_both_are_refused(tmp_path):
    ssl = run([PYTHON, "-c", MAIL_SETTINGS], production_env(tmp_path, EMAIL_USE_SSL="1"))
    assert ssl.returncode == 0, ssl.stderr
    assert ssl.stdout.split()[1:4] == ["465", "False", "True"]
    both = run([PYTHON, "-c", MAIL_SETTINGS], production_env(tmp_path, EMAIL_USE_SSL="1", EMAIL_USE_TLS="1"))
    assert both.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive" in both.stderr


# --- gunicorn with the `make serve` configuration -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn stopped: {server.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start listening")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn started as `make serve` starts it (its config file, DEBUG=0), with two small workers, on a free port,
    over a migrated throw-away SQLite database with one user."""
    folder = tmp_path_factory.mktemp("production")
    env = production_env(folder, WEB_CONCURRENCY="2", GUNICORN_THREADS="2")
    prepared = run(
        [
            PYTHON,
            "-c",
            "import django; django.setup()\n"
            "from django.core.management import call_command\n"
            "from django.contrib.auth import get_user_model\n"
            "call_command('migrate', verbosity=0)\n"
            "call_command('collectstatic', interactive=False, verbosity=0)\n"
            f"get_user_model().objects.create_user('headers', password={PASSWORD!r})\n",
        ],
        env,
        timeout=120,
    )
    assert prepared.returncode == 0, prepared.stderr
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [GUNICORN, "--config", "dongha76/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def fetch(port: int, path: str, *, https: bool = True, method: str = "GET", body: str = "", headers=None):
    """One request as nginx would pass it on: X-Forwarded-Proto says whether the client came over HTTPS."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    if https:
        sent["X-Forwarded-Proto"] = "https"
    if body:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body.encode() or None, headers=sent)
    response = connection.getresponse()
    content = response.read().decode("utf-8", "replace")
    connection.close()
    return response, content


def cookies_of(response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, as sent (attributes included)."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_all("Set-Cookie") or []}


def policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_plain_http_is_redirected_to_https(server):
    response, _ = fetch(server, "/accounts/login/", https=False)
    assert response.status == 301
    assert response.getheader("Location") == f"https://127.0.0.1:{server}/accounts/login/"


def test_the_login_page_carries_the_security_headers(server):
    response, page = fetch(server, "/accounts/login/")
    assert response.status == 200, page

    hsts = response.getheader("Strict-Transport-Security")
    assert hsts == "max-age=31536000; includeSubDomains"
    csp = policy(response.getheader("Content-Security-Policy"))
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    permissions = response.getheader("Permissions-Policy")
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Referrer-Policy") == "same-origin"
    assert response.getheader("Cross-Origin-Opener-Policy") == "same-origin"

    csrf = cookies_of(response)["csrftoken"]
    assert "; Secure" in csrf and "; HttpOnly" in csrf

    # Every script of the page is a file (the CSP runs no inline one), and no element has a style attribute.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert " style=" not in page


def test_logging_in_gives_a_secure_session_cookie_that_ends_with_the_browser(server):
    response, page = fetch(server, "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    csrf_cookie = cookies_of(response)["csrftoken"].split(";", 1)[0]
    response, _ = fetch(
        server,
        "/accounts/login/",
        method="POST",
        body=urlencode({"csrfmiddlewaretoken": token, "username": "headers", "password": PASSWORD}),
        headers={"Cookie": csrf_cookie, "Origin": f"https://127.0.0.1:{server}"},
    )
    assert response.status == 302, response.getheader("Location")
    session = cookies_of(response)["sessionid"]
    assert "; Secure" in session and "; HttpOnly" in session
    assert "expires=" not in session.lower() and "max-age" not in session.lower()  # gone when the browser closes


def test_behind_the_proxy_wrong_passwords_are_counted_per_client_address(server):
    """Every connection comes from nginx: the login throttling reads the client's address from X-Real-IP."""
    response, page = fetch(server, "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    csrf_cookie = cookies_of(response)["csrftoken"].split(";", 1)[0]

    def sign_in(password: str, address: str) -> int:
        response, _ = fetch(
            server,
            "/accounts/login/",
            method="POST",
            body=urlencode({"csrfmiddlewaretoken": token, "username": "headers", "password": password}),
            headers={"Cookie": csrf_cookie, "Origin": f"https://127.0.0.1:{server}", "X-Real-IP": address},
        )
        return response.status

    for _ in range(4):
        assert sign_in("wrong", "203.0.113.7") == 200  # the form again
    assert sign_in("wrong", "203.0.113.7") == 429  # the fifth: locked out
    assert sign_in(PASSWORD, "203.0.113.7") == 429  # that address stays locked out for this user
    assert sign_in(PASSWORD, "203.0.113.8") == 302  # another office is not


def test_whitenoise_serves_the_static_files_with_far_future_cache_headers(server):
    _, page = fetch(server, "/accounts/login/")
    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page).group(1)
    response, css = fetch(server, stylesheet)
    assert response.status == 200
    assert ".app-navbar" in css
    cache = response.getheader("Cache-Control")
    assert "immutable" in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600


# --- sessions ------------------------------------------------------------------------------------------------------


@contextmanager
def clock(offset: datetime.timedelta):
    """The server's clock moved forward by ``offset``."""
    moved = timezone.now() + offset
    with mock.patch("django.utils.timezone.now", return_value=moved):
        yield moved


@pytest.fixture
def signed_in(client):
    client.force_login(make_officer(make_tree().ward1))
    return client


@pytest.mark.django_db
def test_the_session_cookie_ends_with_the_browser(signed_in):
    with clock(datetime.timedelta(minutes=6)):  # the session's end is pushed back, so the cookie is sent again
        response = signed_in.get(reverse("home"))
    assert response.status_code == 200
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""


@pytest.mark.django_db
def test_the_sessions_end_is_pushed_back_once_every_few_minutes_not_on_every_page(signed_in):
    """Each push is a write (savepoint, update, release): at most one every SESSION_REFRESH_INTERVAL."""
    home = reverse("home")
    signed_in.get(home)
    first = Session.objects.get().expire_date
    with clock(datetime.timedelta(minutes=4)):
        response = signed_in.get(home)
        assert settings.SESSION_COOKIE_NAME not in response.cookies
        assert Session.objects.get().expire_date == first
    with clock(datetime.timedelta(minutes=6)) as now:
        signed_in.get(home)
        assert Session.objects.get().expire_date >= now + datetime.timedelta(hours=8) - datetime.timedelta(seconds=5)


@pytest.mark.django_db
def test_a_session_ends_after_8_hours_without_a_request_and_not_before(signed_in):
    home, hours = reverse("home"), datetime.timedelta(hours=1)
    almost_8_hours = 7 * hours + 59 * hours / 60
    assert signed_in.get(home).status_code == 200
    with clock(almost_8_hours) as now:  # a request 7 h 59 after the last one: still signed in
        assert signed_in.get(home).status_code == 200
        expiry = Session.objects.get().expire_date
        assert now + 8 * hours - datetime.timedelta(seconds=5) <= expiry <= now + 8 * hours
    with clock(2 * almost_8_hours):  # another 7 h 59 later: each request pushed the end back
        assert signed_in.get(home).status_code == 200
    with clock(2 * almost_8_hours + 8 * hours + hours / 60):  # then 8 h 01 without a request: signed out
        response = signed_in.get(home)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- every mode: the policy, and nothing in the templates that it would block ----------------------------------------


@pytest.mark.django_db
def test_the_policy_applies_in_development_too(client):
    response = client.get(reverse("login"))
    csp = policy(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert "camera=()" in response["Permissions-Policy"]


INLINE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"),
    "an inline event handler": re.compile(r"<[^>]*\son[a-z]+=", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
    "a style element": re.compile(r"<style\b"),
    "a style attribute": re.compile(r"\sstyle="),
}


def test_no_template_holds_what_the_content_security_policy_blocks():
    templates = sorted(ROOT.glob("templates/**/*.html")) + sorted(ROOT.glob("*/templates/**/*.html"))
    assert len(templates) > 50
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in templates
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []


def test_the_charts_hold_no_style_attribute():
    drawn = [
        charts.percent_bars([charts.Bar("A", 50)], title="t", desc="d", empty="-"),
        charts.paired_columns(
            [charts.Pair("H1", 2, 1)], first_label="a", second_label="b", title="t", desc="d", empty=""
        ),
        charts.percent_line([charts.Point("2024", 90), charts.Point("2025", 95)], title="t", desc="d"),
    ]
    for svg in drawn:
        assert " style=" not in svg
