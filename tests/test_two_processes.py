"""Two app processes against one PostgreSQL, as behind a load balancer without sticky sessions: a user signs in on
one, the next request lands on the other, and nothing a process keeps for itself is missed. Sessions and the login
throttling (django-axes) are rows of the database; the CSRF token and the messages travel in cookies, checked with
the SECRET_KEY every process shares. (The cache and the workbook jobs' progress are rows too:
tests/test_scaleout_settings.py and tests/workbooks.)

PostgreSQL only: it is the database the app scales out on (docs/scaling.md); SQLite is the one-process default. The
data is committed (``transaction=True``) so that the servers' connections see it; both servers stop at the end."""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.urls import reverse

from members.models import Referral
from tests.factories import make_member, make_officer, make_referral, make_tree

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PASSWORD = "hai-tien-trinh-76"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The test database, as the servers reach it."""
    s = connection.settings_dict
    credentials = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_env() -> dict[str, str]:
    """One environment for both, as a deployment gives every machine the same: the same SECRET_KEY above all."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "SECRET_KEY", "GUNICORN_", "WEB_CONCURRENCY", "SECURE_", "DEBUG"))
    }
    env.update(
        DEBUG="1",  # plain HTTP and no collected static files: what is shared does not depend on it
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url(),
        ALLOWED_HOSTS="127.0.0.1",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        DJANGO_SETTINGS_MODULE="dongha76.settings",
    )
    return env


def wait_for(base: str, process: subprocess.Popen, seconds: float = 90) -> None:
    """Until the server answers a page (its worker has booted: slow on a busy machine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server at {base} stopped: {process.stdout.read()}")
        try:
            if requests.get(base + reverse("login"), timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"the server at {base} did not answer")


@pytest.fixture(scope="module")
def servers(django_db_setup):
    """Two gunicorn processes (`make serve`'s config file, one worker each) on free ports, for the module: their
    base URLs."""
    if connection.vendor != "postgresql":
        pytest.skip("two processes share a PostgreSQL database (SQLite is the one-process default)")
    env, processes, ports = server_env(), [], [free_port(), free_port()]
    try:
        for port in ports:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
                    [GUNICORN, "--config", "dongha76/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, process in zip(bases, processes, strict=True):
            wait_for(base, process)
        yield bases
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: nothing of theirs is left to finish
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def sign_in(browser: requests.Session, base: str, username: str, password: str) -> requests.Response:
    login = base + reverse("login")
    token = csrf_token(browser.get(login, timeout=60).text)
    return browser.post(
        login,
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers={"Referer": login},
        allow_redirects=False,
        timeout=60,
    )


def test_a_session_begun_on_one_process_writes_on_the_other_and_reads_back_on_the_first(servers):
    a, b = servers
    tree = make_tree()
    secretary = make_officer(tree.ward1, username="phuong1", password=PASSWORD)
    referral = make_referral(make_member(tree.cell), receiving_ward=tree.ward1)
    browser = requests.Session()  # cookies are per host, not per port: the load balancer's one address
    browser.headers["Connection"] = "close"

    assert sign_in(browser, a, "phuong1", PASSWORD).status_code == 302  # signed in on A
    home = browser.get(b + reverse("home"), allow_redirects=False, timeout=60)
    assert home.status_code == 200, "B knows the session begun on A"
    assert secretary.username in home.text

    # The step's form comes from A, is sent to B (its CSRF token is checked there) and B's message shows on A.
    receive = reverse("members:referral-receive", args=[referral.pk])
    form = browser.get(a + receive, timeout=60)
    assert form.status_code == 200
    done = browser.post(
        b + receive,
        data={"csrfmiddlewaretoken": csrf_token(form.text), "received_on": "10/03/2024"},
        headers={"Referer": a + receive},
        allow_redirects=False,
        timeout=60,
    )
    assert done.status_code == 302, done.text[:2000]
    referral.refresh_from_db()
    assert referral.received_on.isoformat() == "2024-03-10"
    page = browser.get(a + done.headers["Location"], timeout=60)
    assert page.status_code == 200
    assert "10/03/2024" in page.text  # A reads what B wrote
    shown = re.findall(r'<div class="alert alert-success[^>]*>(.*?)<button', page.text, re.S)
    assert len(shown) == 1 and referral.member.full_name in shown[0]  # B's "reception recorded", shown by A
    assert Referral.objects.get(pk=referral.pk).received_by_id == secretary.pk


def test_wrong_passwords_are_counted_across_processes(servers):
    a, b = servers
    make_officer(make_tree().ward1, username="phuong2", password=PASSWORD)
    with requests.Session() as browser:
        login = reverse("login")
        token = csrf_token(browser.get(a + login, timeout=60).text)

        def sign_in_on(base: str, password: str) -> int:
            data = {"csrfmiddlewaretoken": token, "username": "phuong2", "password": password}
            response = browser.post(base + login, data=data, allow_redirects=False, timeout=60)
            return response.status_code

        for base in (a, b, a, b):
            assert sign_in_on(base, "sai-mat-khau") == 200  # the form again
        assert sign_in_on(b, "sai-mat-khau") == 429  # the fifth, wherever it lands: locked out
        assert sign_in_on(a, PASSWORD) == 429  # and on the other process too
