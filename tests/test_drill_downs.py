"""Every number that links to a list, on the home page and the dashboard of each demo user, opens a list of exactly
that many rows (issue 13: "6126 Đảng viên" opened a list of 10,986 people).

The walk reads every ``a[data-number]`` of a page, follows its ``href`` and compares the number with the
``data-row-count`` the list writes (an in-page anchor ``#id``: the ``data-row-count`` of the element with that id).
All mismatches are reported in one assertion message.
"""

import html.parser
from urllib.parse import urldefrag

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

DEMO_USERS = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")


class _Links(html.parser.HTMLParser):
    """The number links of a page (href, text) and the ``data-row-count`` of every element with an id, or of the
    page's list (key "")."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.counts: dict[str, str] = {}
        self._open: list[list] = []  # [href, text] of the number links being read

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-row-count" in attrs:
            self.counts.setdefault(attrs.get("id") or "", attrs["data-row-count"])
        if tag == "a" and "data-number" in attrs:
            self._open.append([attrs.get("href") or "", ""])
        elif tag == "a":
            self._open.append(None)

    def handle_endtag(self, tag):
        if tag == "a" and self._open:
            link = self._open.pop()
            if link is not None:
                self.links.append((link[0], link[1].strip()))

    def handle_data(self, data):
        for link in self._open:
            if link is not None:
                link[1] += data


def parse(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


def number(text: str) -> int | None:
    """The number a link's text starts with (a figure's label follows it): "6.126" (Vietnamese thousands) → 6126;
    None for text that does not start with a whole number."""
    first = text.split()[0] if text.split() else ""
    digits = first.replace(".", "")
    return int(digits) if digits.isdigit() else None


def walk(client, url: str) -> tuple[int, list[str]]:
    """Follow every number link of ``url``: (links followed, mismatches)."""
    response = client.get(url)
    assert response.status_code == 200, url
    page = parse(response.content.decode())
    problems = []
    for href, text in page.links:
        shown = number(text)
        if shown is None:
            problems.append(f"{url}: {text!r} → {href} is not a number")
            continue
        target, fragment = urldefrag(href)
        if not target:
            counted = page.counts.get(fragment)
        else:
            answer = client.get(target)
            if answer.status_code != 200:
                problems.append(f"{url}: {shown} → {href} answers {answer.status_code}")
                continue
            counts = parse(answer.content.decode()).counts
            counted = counts.get(fragment) if fragment and fragment in counts else counts.get("", None)
            if counted is None and counts:
                counted = next(iter(counts.values()))
        if counted is None:
            problems.append(f"{url}: {shown} → {href} writes no data-row-count")
        elif int(counted) != shown:
            problems.append(f"{url}: {shown} → {href} lists {counted}")
    return len(page.links), problems


def pages_of(username: str) -> list[str]:
    pages = [reverse("home"), reverse("reports:dashboard")]
    if username == "thanhuy":
        from branches.models import Organisation

        ward = Organisation.objects.filter(kind=Organisation.Kind.WARD, valid_to__isnull=True).order_by("path").first()
        pages.append(reverse("reports:dashboard-org", args=[ward.code]))
    return pages


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_number_link_opens_a_list_of_that_many_rows(client, demo, username):
    client.force_login(get_user_model().objects.get(username=username))
    followed, problems = 0, []
    for url in pages_of(username):
        n, found = walk(client, url)
        followed += n
        problems += found
    assert followed, f"{username}: no number link at all"
    assert not problems, f"{username}: {len(problems)} of {followed} number links disagree:\n" + "\n".join(problems)
