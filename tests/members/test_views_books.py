"""The tracking book (sổ theo dõi) through the test client: which referrals each side's book holds for a year, who may
open which book, the workbook, and a constant number of queries."""

import datetime
import io
from pathlib import Path

import openpyxl
import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override

from audit.models import AccessLog
from branches.models import Organisation
from members.models import Member, Referral
from tests.factories import make_member, make_officer, make_organisation, make_referral, member_fields

D = datetime.date
Kind = Organisation.Kind

pytestmark = pytest.mark.django_db


def book_url(organisation: Organisation, year: int) -> str:
    return reverse("members:tracking-book", args=[organisation.pk, year])


def xlsx_url(organisation: Organisation, year: int) -> str:
    return reverse("members:tracking-book-xlsx", args=[organisation.pk, year])


@pytest.fixture
def agency_cell(tree):
    """The ward's own agency cell: the ward introduces its members too."""
    return make_organisation(kind=Kind.CELL, parent=tree.ward1, name="Chi bộ Cơ quan Phường 1")


@pytest.fixture
def people(tree):
    return {
        "city": make_officer(tree.root, role="staff"),
        "workplace": make_officer(tree.committee, role="staff"),
        "school": make_officer(tree.grassroots_cell),
        "ward1": make_officer(tree.ward1),
        "ward2": make_officer(tree.ward2),
        "cell1": make_officer(tree.ward1_cell1),
        "subordinate": make_officer(tree.cell),
    }


@pytest.fixture
def referrals(tree, agency_cell):
    """Referrals around 2023 and 2024, named by what they are, each on its own member."""

    def refer(home, **fields):
        return make_referral(make_member(home), **fields)

    return {
        # issued by the committee in 2024, received and placed by ward 1 in 2024
        "committee_2024": refer(
            tree.cell,
            receiving_ward=tree.ward1,
            introduced_on=D(2024, 2, 1),
            received_on=D(2024, 2, 10),
            residential_cell=tree.ward1_cell1,
            placed_on=D(2024, 2, 15),
            reported_on=D(2024, 3, 1),
        ),
        # issued by the committee late in 2023, received by ward 2 in 2024
        "committee_2023_ward2_2024": refer(
            tree.cell, receiving_ward=tree.ward2, introduced_on=D(2023, 12, 20), received_on=D(2024, 1, 5)
        ),
        # issued by the school (another grassroots organisation) in 2024, never received by ward 1
        "school_2024_waiting": refer(
            tree.grassroots_cell,
            receiving_ward=tree.ward1,
            issuing_organisation=tree.grassroots_cell,
            introduced_on=D(2024, 5, 1),
        ),
        # a member of an outside organisation received and placed by ward 1 in 2024
        "outside_2024": refer(
            tree.outside,
            receiving_ward=tree.ward1,
            issuing_organisation=tree.outside,
            introduced_on=D(2024, 3, 1),
            received_on=D(2024, 3, 5),
            residential_cell=tree.ward1_cell2,
            placed_on=D(2024, 3, 5),
        ),
        # received by ward 1 in 2022 and placed only in 2023
        "placed_2023": refer(
            tree.cell,
            receiving_ward=tree.ward1,
            introduced_on=D(2022, 6, 1),
            received_on=D(2022, 6, 10),
            residential_cell=tree.ward1_cell1,
            placed_on=D(2023, 1, 10),
        ),
        # the ward's agency cell introduces its member to ward 2 in 2024; ward 2 has not received it
        "ward1_agency_2024": refer(agency_cell, receiving_ward=tree.ward2, introduced_on=D(2024, 4, 1)),
        # issued by the committee in 2024, received by ward 1, then ended
        "ended_2024": refer(
            tree.cell,
            receiving_ward=tree.ward1,
            introduced_on=D(2024, 6, 1),
            received_on=D(2024, 6, 5),
            ended_on=D(2024, 9, 1),
            end_reason=Referral.EndReason.MOVED_RESIDENCE,
        ),
        # issued by the committee in 2021 to ward 1 and still not received
        "stalled_2021": refer(tree.cell, receiving_ward=tree.ward1, introduced_on=D(2021, 3, 1)),
        # introduced in 2024 to ward 1, never received, ended: not waiting any more
        "ended_unreceived_2024": refer(
            tree.cell,
            receiving_ward=tree.ward1,
            introduced_on=D(2024, 7, 1),
            ended_on=D(2024, 8, 1),
            end_reason=Referral.EndReason.CHANGED_WORKPLACE,
        ),
    }


def book_of(client, user, organisation, year):
    client.force_login(user)
    response = client.get(book_url(organisation, year))
    assert response.status_code == 200
    return response


def names(part, referrals) -> set[str]:
    """The keys of ``referrals`` whose rows are in ``part`` (None: the part is not in the book)."""
    if part is None:
        return None
    by_pk = {referral.pk: key for key, referral in referrals.items()}
    keys = [by_pk[referral.pk] for referral in part.referrals]
    assert len(keys) == len(set(keys))
    return set(keys)


# -- what each book holds ------------------------------------------------------------------------------------------


def test_workplace_book_lists_the_introductions_issued_that_year(client, tree, people, referrals):
    book = book_of(client, people["workplace"], tree.committee, 2024).context["book"]
    assert names(book.issued, referrals) == {"committee_2024", "ended_2024", "ended_unreceived_2024"}
    assert book.received is None and book.not_received is None
    assert [r.introduced_on for r in book.issued.referrals] == sorted(r.introduced_on for r in book.issued.referrals)
    assert book.issued.totals == {"lines": 3, "received": 2, "placed": 1, "ended": 2}

    book = book_of(client, people["workplace"], tree.committee, 2023).context["book"]
    assert names(book.issued, referrals) == {"committee_2023_ward2_2024"}

    book = book_of(client, people["school"], tree.grassroots_cell, 2024).context["book"]
    assert names(book.issued, referrals) == {"school_2024_waiting"}


def test_ward_book_shows_both_parts(client, tree, people, referrals):
    response = book_of(client, people["ward1"], tree.ward1, 2024)
    book = response.context["book"]
    # its agency cell introduced a member to ward 2
    assert names(book.issued, referrals) == {"ward1_agency_2024"}
    # received or placed in 2024 at ward 1: not the one of ward 2, not the one placed in 2023
    assert names(book.received, referrals) == {"committee_2024", "outside_2024", "ended_2024"}
    assert book.received.totals == {"lines": 3, "received": 3, "placed": 2, "from_outside": 1, "ended": 1}
    # introduced to ward 1 by the end of 2024, still open and not received
    assert names(book.not_received, referrals) == {"school_2024_waiting", "stalled_2021"}
    stalled = book.not_received.referrals[0]
    assert stalled.pk == referrals["stalled_2021"].pk
    assert stalled.waiting_days == (timezone.localdate() - D(2021, 3, 1)).days

    page = response.content.decode()
    for section in ("book-issued", "book-received", "book-not-received"):
        assert f'id="{section}"' in page
    committee_2024 = referrals["committee_2024"]
    assert committee_2024.member.full_name in page
    assert "01/02/2024" in page and "10/02/2024" in page  # letter date, received on (dd/mm/yyyy)
    assert committee_2024.letter_number in page
    assert tree.ward1_cell1.name in page
    assert "01/09/2024" in page  # the end date in the notes
    assert '/static/css/book.css"' in page  # its print layout, a file under the Content-Security-Policy
    assert "@page { size: A4 landscape; margin: 12mm; }" in Path(finders.find("css/book.css")).read_text()
    assert 'data-print id="print-book"' in page and "/static/js/print.js" in page  # static/js/print.js prints
    assert xlsx_url(tree.ward1, 2024) in page


def test_ward_book_of_another_year(client, tree, people, referrals):
    book = book_of(client, people["ward1"], tree.ward1, 2023).context["book"]
    assert names(book.issued, referrals) == set()
    assert names(book.received, referrals) == {"placed_2023"}
    assert names(book.not_received, referrals) == {"stalled_2021"}

    book = book_of(client, people["ward2"], tree.ward2, 2024).context["book"]
    assert names(book.received, referrals) == {"committee_2023_ward2_2024"}
    assert names(book.not_received, referrals) == {"ward1_agency_2024"}


def test_city_book_covers_the_whole_city(client, tree, people, referrals):
    book = book_of(client, people["city"], tree.root, 2024).context["book"]
    # introductions issued in the city's tree (the outside organisation is not in it)
    assert names(book.issued, referrals) == {
        "committee_2024",
        "school_2024_waiting",
        "ward1_agency_2024",
        "ended_2024",
        "ended_unreceived_2024",
    }
    assert names(book.received, referrals) == {
        "committee_2024",
        "committee_2023_ward2_2024",
        "outside_2024",
        "ended_2024",
    }
    assert names(book.not_received, referrals) == {"school_2024_waiting", "ward1_agency_2024", "stalled_2021"}
    # city staff open any organisation's book
    assert names(book_of(client, people["city"], tree.committee, 2024).context["book"].issued, referrals) == {
        "committee_2024",
        "ended_2024",
        "ended_unreceived_2024",
    }


def test_empty_book(client, tree, people):
    page = book_of(client, people["ward1"], tree.ward1, 2024).content.decode()
    assert page.count('data-part="') == 2  # the two parts say they have no line
    assert "data-referral" not in page


# -- who may open which book ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("city", ["root", "committee", "grassroots_cell", "ward1", "ward2"], ["cell", "ward1_cell1", "outside"]),
        ("workplace", ["committee"], ["root", "grassroots_cell", "ward1", "ward2", "cell", "ward1_cell1", "outside"]),
        ("school", ["grassroots_cell"], ["root", "committee", "ward1", "cell"]),
        ("ward1", ["ward1"], ["root", "committee", "grassroots_cell", "ward2", "ward1_cell1", "outside"]),
        ("ward2", ["ward2"], ["root", "committee", "ward1"]),
        ("cell1", [], ["root", "committee", "ward1", "ward2", "ward1_cell1"]),
        ("subordinate", [], ["root", "committee", "cell", "ward1"]),
    ],
)
def test_books_in_and_out_of_scope(client, tree, people, referrals, role, allowed, refused):
    client.force_login(people[role])
    for name in allowed:
        organisation = getattr(tree, name)
        assert client.get(book_url(organisation, 2024)).status_code == 200, name
        assert client.get(xlsx_url(organisation, 2024)).status_code == 200, name
    for name in refused:
        organisation = getattr(tree, name)
        assert client.get(book_url(organisation, 2024)).status_code == 404, name
        assert client.get(xlsx_url(organisation, 2024)).status_code == 404, name


def test_unknown_organisation_and_impossible_years_are_not_found(client, tree, people):
    client.force_login(people["city"])
    assert client.get(reverse("members:tracking-book", args=[999_999, 2024])).status_code == 404
    assert client.get(book_url(tree.root, 0)).status_code == 404
    assert client.get(book_url(tree.root, 10_000)).status_code == 404
    assert client.get(xlsx_url(tree.root, 0)).status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, tree):
    for url in (reverse("members:tracking-book-index"), book_url(tree.ward1, 2024), xlsx_url(tree.ward1, 2024)):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


# -- choosing a book -----------------------------------------------------------------------------------------------


def test_index_offers_the_users_books_and_defaults_to_their_post_and_this_year(client, tree, people):
    index = reverse("members:tracking-book-index")
    client.force_login(people["ward1"])
    form = client.get(index).context["form"]
    assert list(form.fields["organisation"].queryset) == [tree.ward1]
    assert form.initial == {"organisation": tree.ward1.pk, "year": timezone.localdate().year}

    client.force_login(people["city"])
    response = client.get(index)
    choices = set(response.context["form"].fields["organisation"].queryset)
    assert choices == {tree.root, tree.committee, tree.grassroots_cell, tree.ward1, tree.ward2}
    assert response.context["form"].initial["organisation"] == tree.root.pk

    response = client.get(index, {"organisation": tree.ward2.pk, "year": 2023})
    assert response.status_code == 302 and response.url == book_url(tree.ward2, 2023)


def test_index_refuses_an_organisation_out_of_scope(client, tree, people):
    client.force_login(people["ward1"])
    response = client.get(reverse("members:tracking-book-index"), {"organisation": tree.ward2.pk, "year": 2024})
    assert response.status_code == 200
    assert "organisation" in response.context["form"].errors


def test_index_without_any_book(client, tree, people):
    client.force_login(people["cell1"])
    response = client.get(reverse("members:tracking-book-index"))
    assert response.status_code == 200
    assert 'id="no-book"' in response.content.decode()


# -- the workbook --------------------------------------------------------------------------------------------------


def test_workbook(client, tree, people, referrals):
    referrals["outside_2024"].member.full_name = '=HYPERLINK("http://example.com","x")'
    referrals["outside_2024"].member.save()
    client.force_login(people["ward1"])
    response = client.get(xlsx_url(tree.ward1, 2024))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == f'attachment; filename="so-theo-doi-{tree.ward1.code}-2024.xlsx"'

    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    with override("vi"):
        titles = [gettext(t)[:31] for t in ("Introductions issued", "Receptions and placements")]
        titles.append(gettext("Introduced and not received yet")[:31])
        headers = [gettext(h) for h in ("No.", "Full name", "Date of birth", "Party card number", "Introduced by")]
    assert workbook.sheetnames == titles

    sheet = workbook[titles[1]]
    assert tree.ward1.name in sheet["A1"].value and "2024" in sheet["A1"].value
    header_row = [cell.value for cell in sheet[3]]
    assert header_row[:5] == headers
    assert sheet.freeze_panes == "A4"
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert [row[0] for row in rows] == [1, 2, 3]
    by_card = {row[3]: row for row in rows}
    committee_2024 = referrals["committee_2024"]
    row = by_card[committee_2024.member.card_number]
    assert row[1] == committee_2024.member.full_name
    assert row[4] == tree.committee.name
    assert row[5] == committee_2024.letter_number

    # dates are real dates shown dd/mm/yyyy
    birth = sheet.cell(row=4, column=3)
    assert isinstance(birth.value, datetime.datetime) and birth.number_format == "dd/mm/yyyy"
    letter_date = sheet.cell(row=4, column=7)
    assert letter_date.value.date() == committee_2024.introduced_on and letter_date.number_format == "dd/mm/yyyy"

    # a name that looks like a formula stays text
    formula_like = [cell for row in sheet.iter_rows(min_row=4) for cell in row if "HYPERLINK" in str(cell.value)]
    assert len(formula_like) == 1
    # stored as the text people typed, marked so that Excel shows it and never evaluates it
    assert formula_like[0].data_type == "s" and formula_like[0].quotePrefix
    assert formula_like[0].value == '=HYPERLINK("http://example.com","x")'

    # the part of the introductions issued, and the one of the referrals not received, have their rows too
    assert workbook[titles[0]].max_row == 4
    assert workbook[titles[2]].max_row == 5


def test_workbook_of_a_workplace_has_one_sheet(client, tree, people, referrals):
    client.force_login(people["workplace"])
    response = client.get(xlsx_url(tree.committee, 2024))
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert len(workbook.sheetnames) == 1
    entry = AccessLog.objects.get()
    assert (entry.user, entry.kind, entry.organisation, entry.subject, entry.rows) == (
        people["workplace"],
        AccessLog.Kind.TRACKING_BOOK,
        tree.committee,
        "2024",
        3,
    )
    sheet = workbook.worksheets[0]
    assert sheet.max_row == 3 + 3
    with override("vi"):
        assert sheet.cell(row=3, column=5).value == gettext("Introduced to")


# -- a constant number of queries ----------------------------------------------------------------------------------


def add_referrals(tree, count: int) -> None:
    """``count`` members introduced by the committee to ward 1 in 2024, received, most placed, some ended."""
    members = Member.objects.bulk_create(
        [Member(**member_fields(tree.cell), search_name=f"x{i:05d}") for i in range(count)]
    )
    Referral.objects.bulk_create(
        [
            Referral(
                member=member,
                issuing_organisation=tree.committee,
                receiving_ward=tree.ward1,
                letter_number=f"{i}-GT/ĐU",
                introduced_on=D(2024, 1, 2),
                received_on=D(2024, 1, 10) if i % 5 else None,
                residential_cell=tree.ward1_cell1 if i % 5 and i % 2 else None,
                placed_on=D(2024, 1, 20) if i % 5 and i % 2 else None,
                ended_on=D(2024, 12, 1) if i % 7 == 0 else None,
                end_reason=Referral.EndReason.RETIRED if i % 7 == 0 else "",
            )
            for i, member in enumerate(members)
        ]
    )


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["ward1", "city"])
def test_book_runs_a_constant_number_of_queries(client, tree, people, role):
    organisation = tree.ward1 if role == "ward1" else tree.root
    client.force_login(people[role])
    add_referrals(tree, 10)
    few = count_queries(client, book_url(organisation, 2024)), count_queries(client, xlsx_url(organisation, 2024))
    add_referrals(tree, 190)
    response = client.get(book_url(organisation, 2024))
    assert response.context["book"].received.count == 200 * 4 // 5
    many = count_queries(client, book_url(organisation, 2024)), count_queries(client, xlsx_url(organisation, 2024))
    assert few == many
    assert few[0] <= 13  # a ward's: with the keys of its organisations (``Access.keys``)
