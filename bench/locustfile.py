"""The load test's users: the five demo roles doing what they do, run by bench/load.py (`make bench`).

Each simulated user signs in once through the login form (the CSRF token from the page first), then works through
its role's pages with a few seconds of reading between two clicks:

- ward secretaries (phuong1, phuong2: the most numerous) receive and place: their to-do, the referrals addressed to
  them by state, a referral, the member list searched by name, a member, their cells and a meeting sheet, the comment
  list, the tracking book, the dashboard and its drill-down, now and then the yearly workbook;
- the residential cell's secretary (khupho1): the to-do, the cell, a meeting sheet, the comment list, members;
- the workplace cadre (coquan1): members by referral state, referrals, the tracking book, comments, the dashboard;
- city staff (thanhuy): the dashboard and its drill-down, searches, stalled referrals, the city's workbook rarely.

Identifiers come from the pages the user saw (links of a list), so every request stays inside the user's scope: a 404
or a 500 is an error. Requests are grouped by page (``name=``), so the report gives each page's percentiles.

gunicorn is reached directly in plain HTTP; every request says ``X-Forwarded-Proto: https`` as nginx would in front of
it (the app runs with BEHIND_PROXY=1), and the cookie jar returns the cookies the app marks Secure.
"""

import itertools
import json
import os
import random
import re
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

PASSWORD = "dongha76-demo"  # noqa: S105 - the demo users' published password
YEAR = 2026  # the demo data is built up to 30/11/2026 (bench/load.py)
SEARCHES = ["nguyen", "tran", "le van", "thi hoa", "pham", "hoang", "vo thi", "minh", "lan", "hung"]

LINKS = {
    "member": re.compile(r'href="/members/(\d+)/"'),
    "referral": re.compile(r'href="/referrals/(\d+)/"'),
    "cell": re.compile(r'href="/cells/(\d+)/"'),
    "meeting": re.compile(r'href="/meetings/(\d+)/"'),
    "drill": re.compile(r'href="/reports/([A-Za-z0-9-]+)/'),
    "book": re.compile(r'<option value="(\d+)"'),
}
NOT_DRILL_DOWN = {"api", "workbook"}


# Every response time, so that bench/load.py computes exact percentiles (locust's own are rounded to 2 digits) and
# can leave the sign-in out of them.
SAMPLES_FILE = os.environ.get("LOAD_SAMPLES")
samples: list[tuple[str, float, bool]] = []


@events.request.add_listener
def record(request_type, name, response_time, exception, **kwargs):
    samples.append((f"{request_type} {name}", round(response_time, 1), exception is not None))


@events.quitting.add_listener
def save(environment, **kwargs):
    if SAMPLES_FILE:
        Path(SAMPLES_FILE).write_text(json.dumps(samples))


class ProxiedHttps(DefaultCookiePolicy):
    """Send back the Secure cookies over the plain connection that stands for nginx's HTTPS one."""

    def return_ok_secure(self, cookie, request):
        return True


class Role(FastHttpUser):
    abstract = True
    wait_time = between(3, 10)  # reading a page before the next click
    default_headers = {"X-Forwarded-Proto": "https"}
    usernames: tuple[str, ...] = ()
    organisation = ""  # the code the dashboard drill-down and the workbook start from

    def on_start(self):
        self.client.cookiejar.set_policy(ProxiedHttps())
        self.username = next(self._turns)
        self.seen: dict[str, list[str]] = {kind: [] for kind in LINKS}
        with self.client.get("/accounts/login/", name="login form", catch_response=True) as response:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text or "")
            if not token:
                response.failure("no CSRF token on the login page")
                raise RuntimeError("cannot sign in")
        origin = self.host.replace("http://", "https://", 1)  # what the browser sends, on nginx's HTTPS
        with self.client.post(
            "/accounts/login/",
            name="login",
            data={"csrfmiddlewaretoken": token.group(1), "username": self.username, "password": PASSWORD},
            headers={"Origin": origin, "Referer": f"{origin}/accounts/login/"},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:  # the form again, with an error
                response.failure(f"{self.username} could not sign in ({response.status_code})")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.usernames:
            cls._turns = itertools.cycle(cls.usernames)

    # -- helpers -----------------------------------------------------------------------------------------------

    def page(self, url: str, name: str, *, remember: tuple[str, ...] = ()) -> None:
        """GET a page: anything but a 200 is an error (a redirect would be to the login page: the session was lost).
        Links of the kinds in ``remember`` are kept for later clicks."""
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} on {url}")
                return
            for kind in remember:
                found = [value for value in LINKS[kind].findall(response.text) if value not in NOT_DRILL_DOWN]
                if found:
                    self.seen[kind] = list(dict.fromkeys(found))[:50]

    def one(self, kind: str) -> str | None:
        return random.choice(self.seen[kind]) if self.seen[kind] else None

    def download(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            kind = response.headers.get("Content-Type", "")
            if response.status_code != 200 or "spreadsheetml" not in kind:
                response.failure(f"{response.status_code} {kind} on {url}")

    # -- what everyone does ----------------------------------------------------------------------------------

    def todo(self):
        self.page("/", "to-do (home)")

    def members(self):
        filters = random.choice(
            [
                f"q={random.choice(SEARCHES)}",
                "referral_state=placed",
                "working=working",
                "referral_state=introduced",
                "",
            ]
        )
        self.page(f"/members/?{filters}", "members (list, filters)", remember=("member",))

    def member(self):
        if pk := self.one("member"):
            self.page(f"/members/{pk}/", "member (detail)")
        else:
            self.members()

    def referrals(self):
        filters = random.choice(
            ["state=introduced", "state=received", "state=placed", "state=stalled", f"year={YEAR}", ""]
        )
        self.page(f"/referrals/?{filters}", "referrals (list, filters)", remember=("referral",))

    def referral(self):
        if pk := self.one("referral"):
            self.page(f"/referrals/{pk}/", "referral (detail)")
        else:
            self.referrals()

    def cells(self):
        self.page("/cells/", "cells (list)", remember=("cell",))

    def cell(self):
        if pk := self.one("cell"):
            self.page(f"/cells/{pk}/", "cell (detail)", remember=("meeting",))
        else:
            self.cells()

    def meeting(self):
        if pk := self.one("meeting"):
            self.page(f"/meetings/{pk}/", "meeting (attendance sheet)")
        else:
            self.cell()

    def comments(self):
        self.page(f"/comments/{random.choice([YEAR, YEAR - 1])}/", "comments (list)")

    def book(self):
        if pk := self.one("book"):
            self.page(f"/book/{pk}/{random.choice([YEAR, YEAR - 1])}/", "tracking book")
        else:
            self.page("/book/", "tracking book (choice)", remember=("book",))

    def dashboard(self):
        self.page("/reports/", "dashboard", remember=("drill",))

    def drill_down(self):
        if code := self.one("drill"):
            self.page(f"/reports/{code}/", "dashboard (drill-down)")
        else:
            self.dashboard()

    def workbook(self):
        self.download(f"/reports/workbook/?org={self.organisation}&year={YEAR - 1}", "yearly workbook (.xlsx)")


class WardSecretary(Role):
    weight = 4
    usernames = ("phuong1", "phuong2")

    def on_start(self):
        super().on_start()
        self.organisation = {"phuong1": "P1", "phuong2": "P2"}[self.username]

    @task(4)
    def t_todo(self):
        self.todo()

    @task(4)
    def t_referrals(self):
        self.referrals()

    @task(4)
    def t_referral(self):
        self.referral()

    @task(3)
    def t_members(self):
        self.members()

    @task(3)
    def t_member(self):
        self.member()

    @task(2)
    def t_cell(self):
        self.cell()

    @task(2)
    def t_meeting(self):
        self.meeting()

    @task(1)
    def t_comments(self):
        self.comments()

    @task(1)
    def t_book(self):
        self.book()

    @task(1)
    def t_dashboard(self):
        self.dashboard()

    @task(1)
    def t_drill_down(self):
        self.drill_down()


class CellSecretary(Role):
    weight = 2
    usernames = ("khupho1",)
    organisation = "P1-KP1"

    @task(3)
    def t_todo(self):
        self.todo()

    @task(3)
    def t_cell(self):
        self.cell()

    @task(4)
    def t_meeting(self):
        self.meeting()

    @task(2)
    def t_comments(self):
        self.comments()

    @task(2)
    def t_members(self):
        self.members()

    @task(2)
    def t_member(self):
        self.member()


class WorkplaceCadre(Role):
    weight = 2
    usernames = ("coquan1",)
    organisation = "GDDT"

    @task(3)
    def t_todo(self):
        self.todo()

    @task(3)
    def t_members(self):
        self.members()

    @task(3)
    def t_member(self):
        self.member()

    @task(2)
    def t_referrals(self):
        self.referrals()

    @task(2)
    def t_referral(self):
        self.referral()

    @task(1)
    def t_book(self):
        self.book()

    @task(2)
    def t_comments(self):
        self.comments()

    @task(1)
    def t_dashboard(self):
        self.dashboard()


class CityStaff(Role):
    weight = 1
    usernames = ("thanhuy",)
    organisation = "QT"

    @task(3)
    def t_dashboard(self):
        self.dashboard()

    @task(3)
    def t_drill_down(self):
        self.drill_down()

    @task(2)
    def t_members(self):
        self.members()

    @task(1)
    def t_member(self):
        self.member()

    @task(2)
    def t_stalled(self):
        self.page("/referrals/?state=stalled", "referrals (list, filters)", remember=("referral",))

    @task(1)
    def t_referral(self):
        self.referral()

    @task(1)
    def t_todo(self):
        self.todo()


class Workbooks(Role):
    """Now and then someone downloads a yearly workbook: a ward, the residential cell or the city (the largest)."""

    weight = 1
    usernames = ("phuong1", "khupho1", "thanhuy", "phuong2")
    wait_time = between(15, 30)

    def on_start(self):
        super().on_start()
        self.organisation = {"phuong1": "DHA", "phuong2": "NDH", "khupho1": "DHA-KP1", "thanhuy": "QT"}[self.username]

    @task
    def t_workbook(self):
        self.workbook()
