"""Every download shows exactly the rows and columns its reader sees on the pages (issue 10, finding 3 and "Scope").

On the demo data, for each of the five demo roles: the member export against the member list, the tracking book's
workbook against the book's page, and the yearly workbook against the scope functions the pages use (referrals,
comments, year-end ratings). Slow: it builds the whole demo data set once for the module.
"""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from branches.access import access_for
from branches.models import Organisation
from members.exports import member_list_headers
from members.models import Member, Referral, YearEndRating
from members.selectors import visible_comments, visible_rated_members, visible_referrals
from reports.workbook import COMMENTS, REFERRALS

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROLES = ("thanhuy", "phuong1", "phuong2", "khupho1", "coquan1")
YEAR = 2025
HEADER_ROW, FIRST_ROW = 3, 4
RATING = "Xếp loại chất lượng"


def user(role):
    return get_user_model().objects.get(username=role)


def client_for(role) -> Client:
    client = Client()
    client.force_login(user(role))
    return client


def downloaded(response):
    assert response.status_code == 200, response.status_code
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def headers_and_rows(sheet) -> tuple[list, list[list]]:
    headers = [cell.value for cell in sheet[HEADER_ROW]]
    rows = [list(row) for row in sheet.iter_rows(min_row=FIRST_ROW, values_only=True) if any(row)]
    return headers, rows


def own_organisation(role) -> Organisation:
    access = access_for(user(role))
    if access.is_city():
        return Organisation.objects.get(kind=Organisation.Kind.ROOT)
    return access.organisations[0]


def test_3_the_residential_cells_workbook_of_2025_holds_no_rating(demo):
    """The audit's reproduction: khupho1 downloads /reports/workbook/?org=P1-KP1&year=2025; sheet "Nhận xét" had
    the column "Xếp loại chất lượng" filled for 19 of 73 rows, while the ratings of those members are 404 to it.
    (Since the demo's 2025 reform khupho1 is secretary of DHA-KP1, which P1-KP1 merged into.)"""
    client = client_for("khupho1")

    book = downloaded(client.get(reverse("reports:workbook"), {"org": "DHA-KP1", "year": str(YEAR)}))

    headers, rows = headers_and_rows(book[COMMENTS])
    assert RATING not in headers
    assert rows, "the cell's comments of 2025 are in the workbook"
    cards = [row[0] for row in rows]
    rated = Member.objects.filter(card_number__in=cards, ratings__year=YEAR)
    assert rated.exists(), "the demo rates some of these members: the test must be able to fail"
    for member in rated:
        assert client.get(reverse("members:rating-record", args=[YEAR, member.pk])).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_the_member_export_is_the_member_list(demo, role):
    client = client_for(role)
    query = {"q": "nguyen thi"}

    page = client.get(reverse("members:member-list"), {**query, "per_page": 100_000}).content.decode()
    book = downloaded(client.get(reverse("members:member-export"), query))

    listed = {int(pk) for pk in re.findall(r'data-member="(\d+)"', page)}
    assert listed, "the list is not empty for this role"
    headers, rows = headers_and_rows(book.active)
    assert headers == [str(header) for header in member_list_headers()]
    exported = set(Member.objects.filter(card_number__in=[row[1] for row in rows]).values_list("pk", flat=True))
    assert exported == listed
    assert len(rows) == len(listed)


@pytest.mark.parametrize("role", ROLES)
def test_the_tracking_books_workbook_is_its_page(demo, role):
    client = client_for(role)
    organisation = own_organisation(role)
    if organisation.kind == Organisation.Kind.RESIDENTIAL_CELL:
        assert client.get(reverse("members:tracking-book", args=[organisation.pk, YEAR])).status_code == 404
        return
    page = client.get(reverse("members:tracking-book", args=[organisation.pk, YEAR])).content.decode()
    book = downloaded(client.get(reverse("members:tracking-book-xlsx", args=[organisation.pk, YEAR])))

    on_page = [int(pk) for pk in re.findall(r'data-referral="(\d+)"', page)]
    card_of = dict(Referral.objects.filter(pk__in=on_page).values_list("pk", "member__card_number"))
    in_book = []
    for sheet in book.worksheets:
        headers, rows = headers_and_rows(sheet)
        card = headers.index(next(h for h in headers if h and "thẻ" in h.lower()))
        in_book += [row[card] for row in rows]
    assert sorted(in_book) == sorted(card_of[pk] for pk in on_page)


@pytest.mark.parametrize("role", ROLES)
def test_the_yearly_workbook_holds_what_the_pages_show(demo, role):
    reader = user(role)
    organisation = own_organisation(role)
    book = downloaded(client_for(role).get(reverse("reports:workbook"), {"org": organisation.code, "year": str(YEAR)}))

    # Referrals: only those the referral pages show the reader.
    _headers, rows = headers_and_rows(book[REFERRALS])
    seen = set(visible_referrals(reader).values_list("member__card_number", "introduced_on"))
    shown = {(row[0], row[5].date()) for row in rows}
    assert shown <= seen
    # Comments: only those the comment pages show; ratings only where the ratings pages show them.
    headers, rows = headers_and_rows(book[COMMENTS])
    assert rows, f"{role} has comments of {YEAR}"
    seen_comments = set(visible_comments(reader).filter(year=YEAR).values_list("member__card_number", flat=True))
    assert {row[0] for row in rows} <= seen_comments
    rated = set(visible_rated_members(reader).values_list("card_number", flat=True))
    assert (RATING in headers) == (access_for(reader).is_city() or bool(access_for(reader).workplace_paths()))
    if RATING in headers:
        column = headers.index(RATING)
        with translation.override("vi"):
            labels = {level: str(label) for level, label in YearEndRating.Level.choices}
        ratings = dict(
            YearEndRating.objects.filter(year=YEAR, member__card_number__in=[row[0] for row in rows]).values_list(
                "member__card_number", "level"
            )
        )
        for row in rows:
            expected = labels[ratings[row[0]]] if row[0] in rated and row[0] in ratings else None
            assert row[column] == expected, row
