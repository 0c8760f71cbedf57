"""The referral workflow through the browser's path: the test client, real users with real posts, the real database."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import Member, Referral
from tests.factories import make_member, make_officer, make_referral

D = datetime.date


def today() -> datetime.date:
    return timezone.localdate()


def dmy(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


@pytest.fixture
def people(tree):
    """One user per role: city staff, the workplace committee's cadre, two ward secretaries, a cell secretary, and a
    viewer at the committee."""
    return {
        "city": make_officer(tree.root, role="staff"),
        "workplace": make_officer(tree.committee, role="staff"),
        "viewer": make_officer(tree.committee, role="viewer"),
        "ward1": make_officer(tree.ward1),
        "ward2": make_officer(tree.ward2),
        "cell1": make_officer(tree.ward1_cell1),
    }


@pytest.fixture
def member(tree):
    return make_member(tree.cell, full_name="Lê Thị Hoa", admitted_on=D(2010, 5, 1))


def as_user(client, user):
    client.force_login(user)
    return client


# -- introduce and print -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_workplace_cadre_introduces_a_member_and_prints_the_letter(client, tree, people, member):
    as_user(client, people["workplace"])
    url = reverse("members:referral-introduce", args=[member.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["letter_number"] == "1-GT/ĐU"

    response = client.post(
        url, {"receiving_ward": tree.ward1.pk, "letter_number": "1-GT/ĐU", "introduced_on": dmy(today())}
    )
    referral = Referral.objects.get(member=member)
    assert response.status_code == 302
    assert response.url == reverse("members:referral-detail", args=[referral.pk])
    assert (referral.issuing_organisation, referral.receiving_ward, referral.introduced_by) == (
        tree.committee,
        tree.ward1,
        people["workplace"],
    )
    letter = client.get(reverse("members:referral-letter", args=[referral.pk])).content.decode()
    assert "Lê Thị Hoa" in letter and tree.ward1.name in letter and "1-GT/ĐU" in letter
    assert 'id="return-slip"' in letter
    assert '/static/css/letter.css"' in letter  # its A4 print layout, a file under the CSP
    # the next letter of the year gets the next number
    other = make_member(tree.cell)
    assert (
        client.get(reverse("members:referral-introduce", args=[other.pk])).context["form"].initial["letter_number"]
        == "2-GT/ĐU"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "ward1", "ward2", "cell1"])
def test_only_the_members_own_workplace_may_introduce(client, tree, people, member, role):
    as_user(client, people[role])
    assert client.get(reverse("members:referral-introduce", args=[member.pk])).status_code == 404
    response = client.post(
        reverse("members:referral-introduce", args=[member.pk]),
        {"receiving_ward": tree.ward1.pk, "letter_number": "9", "introduced_on": dmy(today())},
    )
    assert response.status_code == 404
    assert not Referral.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("introduced_on", "message"),
    [
        (lambda: dmy(today() + datetime.timedelta(days=1)), "tương lai"),
        (lambda: "31/02/2024", "dd/mm/yyyy"),
        (lambda: "01/01/2009", "kết nạp"),
    ],
)
def test_a_bad_introduction_date_re_renders_the_form_and_saves_nothing(
    client, tree, people, member, introduced_on, message
):
    as_user(client, people["workplace"])
    response = client.post(
        reverse("members:referral-introduce", args=[member.pk]),
        {"receiving_ward": tree.ward1.pk, "letter_number": "3-GT/ĐU", "introduced_on": introduced_on()},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_a_second_open_referral_is_refused_with_a_message(client, tree, people, member):
    make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    as_user(client, people["workplace"])
    response = client.post(
        reverse("members:referral-introduce", args=[member.pk]),
        {"receiving_ward": tree.ward2.pk, "letter_number": "4-GT/ĐU", "introduced_on": dmy(today())},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Referral.objects.count() == 1


# -- receive, place, report ----------------------------------------------------------------------------------------


@pytest.fixture
def referral(tree, member):
    return make_referral(
        member, receiving_ward=tree.ward1, issuing_organisation=tree.committee, introduced_on=D(2024, 3, 1)
    )


@pytest.mark.django_db
def test_ward_secretary_receives_from_the_todo_list_in_one_click(client, people, referral):
    as_user(client, people["ward1"])
    home = client.get(reverse("home"))
    assert home.context["todo"].awaiting_reception == 1
    assert [r.pk for r in home.context["todo"].receivable] == [referral.pk]

    response = client.post(
        reverse("members:referral-receive", args=[referral.pk]), {"received_on": dmy(today()), "next": "/"}
    )
    assert response.status_code == 302 and response.url == "/"
    referral.refresh_from_db()
    assert referral.received_on == today()
    assert referral.received_by == people["ward1"]
    assert client.get(reverse("home")).context["todo"].awaiting_reception == 0


@pytest.mark.django_db
def test_receiving_twice_gives_one_reception_and_a_clear_message(client, people, referral):
    as_user(client, people["ward1"])
    url = reverse("members:referral-receive", args=[referral.pk])
    client.post(url, {"received_on": "10/03/2024"})
    again = client.post(url, {"received_on": dmy(today())})
    assert again.status_code == 200
    assert "10/03/2024" in str(again.context["form"].errors)
    referral.refresh_from_db()
    assert referral.received_on == D(2024, 3, 10)


@pytest.mark.django_db
def test_receiving_is_never_redirected_off_site(client, people, referral):
    as_user(client, people["ward1"])
    response = client.post(
        reverse("members:referral-receive", args=[referral.pk]),
        {"received_on": "10/03/2024", "next": "https://evil.example/"},
    )
    assert response.url == reverse("members:referral-detail", args=[referral.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["workplace", "viewer", "ward2", "cell1"])
def test_only_the_receiving_ward_receives_places_and_records_reports(client, people, referral, role):
    as_user(client, people[role])
    for name in ("referral-receive", "referral-place", "referral-report"):
        assert client.get(reverse(f"members:{name}", args=[referral.pk])).status_code == 404
    assert (
        client.post(reverse("members:referral-receive", args=[referral.pk]), {"received_on": "10/03/2024"}).status_code
        == 404
    )
    referral.refresh_from_db()
    assert referral.received_on is None


@pytest.mark.django_db
def test_place_only_in_a_cell_of_the_receiving_ward_then_report(client, tree, people, referral):
    referral.received_on = D(2024, 3, 10)
    referral.save()
    as_user(client, people["ward1"])
    url = reverse("members:referral-place", args=[referral.pk])
    cells = list(client.get(url).context["form"].fields["residential_cell"].queryset)
    assert cells == [tree.ward1_cell1, tree.ward1_cell2]
    refused = client.post(url, {"residential_cell": tree.ward2_cell1.pk, "placed_on": "12/03/2024"})
    assert refused.status_code == 200 and "residential_cell" in refused.context["form"].errors
    early = client.post(url, {"residential_cell": tree.ward1_cell1.pk, "placed_on": "01/03/2024"})
    assert early.status_code == 200 and early.context["form"].errors
    client.post(url, {"residential_cell": tree.ward1_cell1.pk, "placed_on": "12/03/2024"})
    client.post(reverse("members:referral-report", args=[referral.pk]), {"reported_on": "15/03/2024"})
    referral.refresh_from_db()
    assert (referral.residential_cell, referral.placed_on, referral.reported_on) == (
        tree.ward1_cell1,
        D(2024, 3, 12),
        D(2024, 3, 15),
    )


@pytest.mark.django_db
def test_place_many_at_once_all_or_nothing(client, tree, people):
    waiting = [
        make_referral(make_member(tree.cell), receiving_ward=tree.ward1, received_on=D(2024, 3, 10)) for _ in range(3)
    ]
    late = make_referral(make_member(tree.cell), receiving_ward=tree.ward1, received_on=D(2024, 4, 20))
    as_user(client, people["ward1"])
    url = reverse("members:referral-place-many")
    assert len(client.get(url).context["page"].object_list) == 4

    refused = client.post(
        url,
        {
            "referrals": [r.pk for r in [*waiting, late]],
            "residential_cell": tree.ward1_cell2.pk,
            "placed_on": "15/04/2024",
        },
    )
    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors()
    assert not Referral.objects.filter(placed_on__isnull=False).exists()

    placed = client.post(
        url, {"referrals": [r.pk for r in waiting], "residential_cell": tree.ward1_cell2.pk, "placed_on": "15/04/2024"}
    )
    assert placed.status_code == 302
    assert Referral.objects.filter(residential_cell=tree.ward1_cell2, placed_on=D(2024, 4, 15)).count() == 3


# -- end -------------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_moved_residence_introduces_to_the_new_ward_in_the_same_step(client, tree, people, referral):
    as_user(client, people["workplace"])
    response = client.post(
        reverse("members:referral-end", args=[referral.pk]),
        {
            "ended_on": "01/06/2024",
            "end_reason": "moved_residence",
            "new_ward": tree.ward2.pk,
            "new_letter_number": "7-GT/ĐU",
        },
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.ended_on, referral.end_reason) == (D(2024, 6, 1), "moved_residence")
    new = Referral.objects.get(member=referral.member, ended_on__isnull=True)
    assert (new.receiving_ward, new.introduced_on, new.letter_number) == (tree.ward2, D(2024, 6, 1), "7-GT/ĐU")


@pytest.mark.django_db
def test_retired_transfers_the_home_cell_to_the_residential_cell(client, tree, people, referral):
    """The workplace, which keeps the member's record, records the retirement and the move into the cell."""
    Referral.objects.filter(pk=referral.pk).update(
        received_on=D(2024, 3, 10), residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 12)
    )
    as_user(client, people["workplace"])
    url = reverse("members:referral-end", args=[referral.pk])
    assert "transfer_home" in client.get(url).context["form"].fields
    response = client.post(url, {"ended_on": "01/07/2024", "end_reason": "retired", "transfer_home": "on"})
    assert response.status_code == 302
    member = Member.objects.get(pk=referral.member_id)
    assert (member.home_organisation, member.retired_on) == (tree.ward1_cell1, D(2024, 7, 1))
    referral.refresh_from_db()
    assert referral.end_reason == "retired"


@pytest.mark.django_db
def test_2_a_ward_ends_the_referral_but_may_not_retire_the_workplaces_member(client, tree, people, referral):
    """Issue 10, finding 2: the ward got 404 on the member's edit page, yet the end step with "retired" and "transfer
    the home" set the retirement and moved the member's home into its cell, and the workplace lost its member. The
    side effects need the right to edit the member: the ward is not offered them, and a forged field is ignored."""
    Referral.objects.filter(pk=referral.pk).update(
        received_on=D(2024, 3, 10), residential_cell=tree.ward1_cell1, placed_on=D(2024, 3, 12)
    )
    as_user(client, people["ward1"])
    url = reverse("members:referral-end", args=[referral.pk])
    assert client.get(reverse("members:member-edit", args=[referral.member_id])).status_code == 404
    assert "transfer_home" not in client.get(url).context["form"].fields

    response = client.post(url, {"ended_on": "01/07/2024", "end_reason": "retired", "transfer_home": "on"})

    assert response.status_code == 302
    member = Member.objects.get(pk=referral.member_id)
    assert (member.home_organisation, member.retired_on) == (tree.cell, None)
    referral.refresh_from_db()
    assert (referral.ended_on, referral.end_reason) == (D(2024, 7, 1), "retired")
    as_user(client, people["workplace"])
    assert client.get(reverse("members:member-detail", args=[member.pk])).status_code == 200


@pytest.mark.django_db
def test_end_needs_a_reason_and_a_matching_option(client, tree, people, referral):
    as_user(client, people["workplace"])
    url = reverse("members:referral-end", args=[referral.pk])
    no_reason = client.post(url, {"ended_on": "01/06/2024"})
    assert "end_reason" in no_reason.context["form"].errors
    wrong = client.post(url, {"ended_on": "01/06/2024", "end_reason": "died", "new_ward": tree.ward2.pk})
    assert "new_ward" in wrong.context["form"].errors
    referral.refresh_from_db()
    assert referral.ended_on is None


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "ward2", "cell1"])
def test_who_may_not_end_gets_404(client, people, referral, role):
    as_user(client, people[role])
    response = client.post(
        reverse("members:referral-end", args=[referral.pk]), {"ended_on": "01/06/2024", "end_reason": "other"}
    )
    assert response.status_code == 404
    referral.refresh_from_db()
    assert referral.ended_on is None


# -- list, detail, to-do ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_are_scoped_and_filtered(client, tree, people):
    to_ward1 = make_referral(make_member(tree.cell), receiving_ward=tree.ward1)
    to_ward2 = make_referral(make_member(tree.cell), receiving_ward=tree.ward2, received_on=D(2024, 3, 5))
    placed = make_referral(
        make_member(tree.outside),
        receiving_ward=tree.ward1,
        issuing_organisation=tree.outside,
        received_on=D(2024, 3, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 3, 6),
    )

    def listed(user, query=""):
        as_user(client, user)
        return {row.record.pk for row in client.get(reverse("members:referral-list") + query).context["table"].rows}

    assert listed(people["city"]) == {to_ward1.pk, to_ward2.pk, placed.pk}
    assert listed(people["workplace"]) == {to_ward1.pk, to_ward2.pk}
    assert listed(people["ward1"]) == {to_ward1.pk, placed.pk}
    assert listed(people["cell1"]) == {placed.pk}
    assert listed(people["city"], "?state=stalled") == {to_ward1.pk}
    assert listed(people["city"], "?state=awaiting_placement") == {to_ward2.pk}
    assert listed(people["city"], f"?receiving_ward={tree.ward1.pk}") == {to_ward1.pk, placed.pk}
    assert listed(people["city"], "?q=nguyen van thu") == {to_ward1.pk, to_ward2.pk, placed.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["ward2", "cell1"])
def test_detail_outside_scope_is_404(client, people, referral, role):
    as_user(client, people[role])
    assert client.get(reverse("members:referral-detail", args=[referral.pk])).status_code == 404
    assert client.get(reverse("members:referral-letter", args=[referral.pk])).status_code == 404


@pytest.mark.django_db
def test_detail_shows_who_did_each_step_in_the_history(client, people, referral):
    as_user(client, people["ward1"])
    client.post(reverse("members:referral-receive", args=[referral.pk]), {"received_on": "10/03/2024"})
    page = client.get(reverse("members:referral-detail", args=[referral.pk]))
    assert page.status_code == 200
    entry = page.context["history"][0]
    assert entry.who == people["ward1"]
    assert any(change.new == D(2024, 3, 10) for change in entry.changes)


@pytest.mark.django_db
def test_detail_of_a_referral_loaded_in_bulk_has_no_history_and_still_renders(client, tree, people, member):
    (bulk,) = Referral.objects.bulk_create(
        [
            Referral(
                member=member,
                issuing_organisation=tree.committee,
                receiving_ward=tree.ward1,
                introduced_on=D(2020, 1, 2),
            )
        ]
    )
    as_user(client, people["ward1"])
    page = client.get(reverse("members:referral-detail", args=[bulk.pk]))
    assert page.status_code == 200
    assert page.context["history"] == []


@pytest.mark.django_db
def test_todo_counts_for_the_workplace_side(client, tree, people):
    make_member(tree.cell)  # eligible, never introduced
    make_referral(make_member(tree.cell), receiving_ward=tree.ward1, introduced_on=today() - datetime.timedelta(40))
    as_user(client, people["workplace"])
    todo = client.get(reverse("home")).context["todo"]
    assert (todo.eligible_not_introduced, todo.stalled) == (1, 1)
    assert todo.receivable == []


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_pages_run_the_same_number_of_queries_for_10_and_200_rows(client, tree, people):
    def add(n):
        for _ in range(n):
            make_referral(make_member(tree.cell), receiving_ward=tree.ward1, received_on=D(2024, 3, 5))

    as_user(client, people["ward1"])
    urls = [reverse("home"), reverse("members:referral-list"), reverse("members:referral-place-many")]
    add(10)
    few = [_queries(client, url) for url in urls]
    add(190)
    many = [_queries(client, url) for url in urls]
    assert few == many


@pytest.mark.django_db
def test_the_letter_of_a_member_who_left_the_workplace_shows_nothing_of_today(client, tree, people):
    """Second audit: a committee reprinted the letter of a member who had moved to another workplace and read their
    new cell, address and official date (after the letter) though the member's page is 404 to it."""
    member = make_member(
        tree.grassroots_cell,
        full_name="Đỗ Văn Đi",
        residential_address="99 Đường Mới",
        official_on=D(2026, 5, 27),
    )
    referral = make_referral(
        member, receiving_ward=tree.ward1, issuing_organisation=tree.committee, introduced_on=D(2024, 3, 1)
    )
    as_user(client, people["workplace"])
    assert client.get(reverse("members:member-detail", args=[member.pk])).status_code == 404

    letter = client.get(reverse("members:referral-letter", args=[referral.pk])).content.decode()

    assert "Đỗ Văn Đi" in letter and tree.committee.name in letter
    assert "99 Đường Mới" not in letter and tree.grassroots_cell.name not in letter and "27/05/2026" not in letter


@pytest.mark.django_db
def test_the_referral_page_names_who_recorded_each_step_read_in_one_query(client, tree, people, referral):
    """The people who recorded the steps are read in a query of their own (``referral_for``: joined, they made
    PostgreSQL plan the statement for 50-60 ms): one query for two people as for one, none for nobody."""
    url = reverse("members:referral-detail", args=[referral.pk])
    people["workplace"].last_name, people["workplace"].first_name = "Trần", "Văn Bình"
    people["ward1"].last_name, people["ward1"].first_name = "Nguyễn", "Thị Lan"
    for user in (people["workplace"], people["ward1"]):
        user.save()
    as_user(client, people["ward1"])

    def queries() -> tuple[list[str], str]:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url)
        assert page.status_code == 200
        steps = page.content.decode().split('id="referral-steps"')[1].split("</ol>")[0]
        return [query["sql"] for query in captured.captured_queries], steps

    nobody, steps = queries()
    assert "Trần Văn Bình" not in steps and "Nguyễn Thị Lan" not in steps
    Referral.objects.filter(pk=referral.pk).update(introduced_by=people["workplace"])
    one, steps = queries()
    assert "Trần Văn Bình" in steps
    Referral.objects.filter(pk=referral.pk).update(received_on=D(2024, 3, 5), received_by=people["ward1"])
    two, steps = queries()
    assert "Trần Văn Bình" in steps and "Nguyễn Thị Lan" in steps
    assert len(one) == len(two) == len(nobody) + 1
    referral_query = next(sql for sql in two if 'FROM "members_referral"' in sql.split(" WHERE ")[0])
    assert '"auth_user"' not in referral_query.split(" WHERE ")[0]
