"""Property-based fuzzing of every page of the app (issue 10): whatever a user types or a script sends, in any GET
parameter or form field, the server answers without a 5xx and without an exception.

For every URL of the app (read from the URL resolver, like ``tests/test_permission_matrix.py``, whose small world of
objects inside and outside each role's scope it reuses) and for two roles, city staff (``thanhuy``) and a ward
secretary (``phuong1``), the page is opened once to learn its parameters (every ``name=`` of its forms, plus the
query parameters the views read), then hypothesis sends GET and POST requests that keep the page's own values and
replace some of them with nasty ones: huge, negative and 20-digit numbers, ``1e5``, 01/01/0001 and 31/12/9999, blanks,
control and bidi characters, very long text, SQL- and HTML-looking text, several values for one name, random files.
Each request runs in a savepoint that is rolled back, so every example starts from the same world.

Bounded for ``make test`` (a few minutes in all, reproducible: derandomized, no example database). Run it longer with
``FUZZ_EXAMPLES=200 .venv/bin/pytest tests/test_fuzz.py``; ``FUZZ_SEED`` picks another reproducible draw.
"""

import datetime
import os
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import get_resolver
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from tests.test_permission_matrix import MATRIX, url_for, world  # noqa: F401 (world is a fixture used below)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
SEED = int(os.environ.get("FUZZ_SEED", "76"))
ROLES = ("thanhuy", "phuong1")
# Namespaces of the app's own pages; Django's admin, accounts and language switch are not the app's.
APP_NAMESPACES = ("members", "reports", "workbooks", "audit", "restructures", "reminders")
# Query parameters the views read without a form naming them (request.GET[...] in the views).
READ_BY_VIEWS = ("org", "as_of", "year", "held_on", "reason_for", "next", "state", "page", "per_page", "sort", "q")

NASTY = [
    "",
    " ",
    "\t\n",
    "0",
    "-1",
    "1",
    "1e5",
    "99999",
    "99999999999999999999",
    "-99999999999999999999",
    "1.5",
    "NaN",
    "inf",
    "01/01/0001",
    "31/12/9999",
    "0001-01-01",
    "9999-12-31",
    "29/02/2023",
    "31/02/2024",
    "00/00/0000",
    "2024-13-01",
    "01/01/1929",
    "01/01/2101",
    "\u200b\u200b",
    "\u202eNguyễn",
    "\x00",
    "\x1b[31m",
    "'; DROP TABLE members_member; --",
    "' OR '1'='1",
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    '=HYPERLINK("http://x")',
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "https://evil.example/",
    "//evil.example",
    "１２３",
    "٣٢١",
    "🙂",
    "Nguyễn Văn Đức",
    "x" * 5000,
    "null",
    "None",
    "true",
    "on",
    "periodic",
    "ad_hoc",
    "excused",
    "2018-H1",
    "2025-1",
    "2025-3",
    "1-2-3",
]


# Sent in every field at once, to every page, in every run (the random examples mix them with the pages' own values).
EVERYWHERE = [
    "",
    "-1",
    "0",
    "1e5",
    "99999999999999999999",
    "01/01/0001",
    "31/12/9999",
    "\x00",
    "\u202e\u200b",
    "x" * 5000,
]


def _day_texts(day: datetime.date) -> list[str]:
    return [day.strftime("%d/%m/%Y"), day.isoformat()]


values = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)).flatmap(
        lambda day: st.sampled_from(_day_texts(day))
    ),
    st.text(max_size=40),
)
files = st.builds(
    lambda name, content: SimpleUploadedFile(name, content),
    st.sampled_from(["so.xlsx", "a.xls", "x.csv", "\u202egpj.xlsx", "../../x.xlsx", ""]),
    st.binary(max_size=2000),
)


class _Fields(HTMLParser):
    """The names a page's forms send, with the value each would send unchanged, and which are file inputs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = {}
        self.files: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self.files.add(name)
            elif kind in ("checkbox", "radio"):
                self.values.setdefault(name, [])
                if "checked" in attrs:
                    self.values[name].append(attrs.get("value") or "on")
            elif kind not in ("submit", "button", "image", "reset"):
                self.values.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [])
        elif tag == "option" and self._select:
            chosen = self.values[self._select]
            if "selected" in attrs or not chosen:
                chosen[:] = [attrs.get("value") or ""]
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.setdefault(name, [""])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] = [self.values[self._textarea][0] + data]


def page_fields(content: bytes) -> _Fields:
    parser = _Fields()
    parser.feed(content.decode("utf-8", "replace"))
    parser.values.pop("csrfmiddlewaretoken", None)
    return parser


def app_urls() -> list[str]:
    names = ["home"]
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "namespace", None) in APP_NAMESPACES:
            names.extend(f"{pattern.namespace}:{p.name}" for p in pattern.url_patterns if p.name)
    return sorted(set(names))


def target_url(name: str, role: str, world) -> str:  # noqa: F811 (world: the fixture's value)
    target = MATRIX.get(name, (None, frozenset()))[0]
    obj = world["inside"][role].get(target) if target else None
    return url_for(name, target, obj)


def _without_query(url: str) -> tuple[str, dict[str, list[str]]]:
    path, _, query = url.partition("?")
    params: dict[str, list[str]] = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        params.setdefault(key, []).append(value)
    return path, params


@st.composite
def requests(draw, names: list[str], files_names: list[str]):
    """Which names get which nasty values (one or several each), whether the request looks like htmx."""
    chosen = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=min(6, len(names))))
    changes = {name: draw(st.lists(values, min_size=1, max_size=3)) for name in chosen}
    uploads = {name: draw(files) for name in files_names if draw(st.booleans())}
    return changes, uploads, draw(st.booleans())


def _fuzz(client, method: str, path: str, base: dict, changes: dict, uploads: dict, htmx: bool):
    data = {**base, **changes}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    with transaction.atomic():
        if method == "get":
            response = client.get(path, data, **headers)
        else:
            response = client.post(path, {**data, **uploads}, **headers)
        if response.streaming:
            b"".join(response.streaming_content)  # an export that breaks half-way is a server error too
        status = response.status_code
        transaction.set_rollback(True)
    return status


def accepted_methods(client, path: str, page) -> list[str]:
    """The methods of GET and POST the view takes: a view that refuses one (405, from Django's
    ``require_http_methods`` and its kin, before it reads any input) would refuse every fuzzed request of it alike,
    so those requests are not sent. The GET answer is the page already fetched; for POST, an OPTIONS request asks the
    same decorator (it answers 405 with the methods allowed; a view without a decorator takes every method)."""
    if page.status_code == 405:
        allowed = page.get("Allow", "")
    else:
        with transaction.atomic():
            answer = client.options(path)
            transaction.set_rollback(True)
        allowed = answer.get("Allow", "GET, POST") if answer.status_code == 405 else "GET, POST"
    allowed = {method.strip().lower() for method in allowed.split(",")}
    return [method for method in ("get", "post") if method in allowed]


@pytest.mark.parametrize("name", app_urls())
@pytest.mark.parametrize("role", ROLES)
def test_no_input_makes_a_server_error(client, world, role, name):  # noqa: F811 (world: the fixture)
    client.force_login(world["users"][role])
    path, query = _without_query(target_url(name, role, world))
    with transaction.atomic():
        page = client.get(path, query)
        transaction.set_rollback(True)
    html = page.status_code == 200 and not page.streaming and page["Content-Type"].startswith("text/html")
    fields = page_fields(page.content) if html else _Fields()
    base = {**query, **{key: value for key, value in fields.values.items() if value}}
    names = sorted({*fields.values, *query, *READ_BY_VIEWS})
    file_names = sorted(fields.files)
    methods = accepted_methods(client, path, page)
    if not methods:
        return
    fuzz_examples = []

    # Explicit examples first, in every run: each nasty value in every field at once, by each method the view takes.
    for value in EVERYWHERE:
        for method in methods:
            fuzz_examples.append(example(request=({name: [value] for name in names}, {}, False), method=method))

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize="FUZZ_SEED" not in os.environ,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests(names, file_names), method=st.sampled_from(methods))
    def fuzz(request, method):
        changes, uploads, htmx = request
        status = _fuzz(client, method, path, base, changes, uploads, htmx)
        assert status < 500, f"{method.upper()} {path} {changes!r} -> {status}"

    for add_example in fuzz_examples:
        fuzz = add_example(fuzz)
    fuzz()


def test_every_url_of_the_app_is_fuzzed():
    """A new page is fuzzed as soon as it is routed: the list comes from the resolver, not from this file."""
    urls = app_urls()
    assert {"members:meeting-create", "reports:figures-api", "reports:workbook", "members:referral-list"} <= set(urls)
    assert all(re.match(r"^(home|\w+:[\w-]+)$", name) for name in urls)
