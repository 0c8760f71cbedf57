"""Who may write what through the workbook import: the same rules as the pages (issue 10, findings 1 and 4).

The import asks one question per row: may this user write this row, as it is stored and as it would be? It answers
with the pages' own scope functions (``members_editable_by``, the stored referral's ward and issuer), and before any
rule whose message could reveal data: a member or referral outside the user's sight gets the same message as one
that does not exist.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils.translation import gettext

from audit.models import AccessLog
from branches.access import access_for
from members.models import Member, Referral
from tests.factories import make_member, make_officer, make_referral, make_tree
from tests.workbooks.books import (
    MEMBER_HEADERS,
    MEMBERS,
    ORGS,
    REFERRAL_HEADERS,
    REFERRALS,
    member_row,
    member_sheet,
    org_row,
    org_sheet,
    referral_row,
    referral_sheet,
    snapshot,
    workbook,
)
from workbooks.importing import import_workbook
from workbooks.importing.scope import (
    CARD_OUT_OF_SIGHT,
    END_NOT_YOURS,
    INTRODUCTION_NOT_YOURS,
    LETTER_NOT_YOURS,
    MEMBER_NOT_EDITABLE,
    OUTSIDE_MEMBER_WITHOUT_REFERRAL,
    RECEPTION_NOT_YOURS,
)

pytestmark = pytest.mark.django_db

D = datetime.date
NO_MEMBER = "No member has the card number “%(card)s”, in this workbook or in the database."
CONTACT_HEADERS = [*MEMBER_HEADERS, "Điện thoại", "Địa chỉ"]
EXEMPTION_HEADERS = [*MEMBER_HEADERS, "Ngày miễn"]


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def phuong1(tree):
    return make_officer(tree.ward1)


@pytest.fixture
def coquan(tree):
    return make_officer(tree.committee, role="staff")


def run(book, user, **options):
    return import_workbook(book, by=user, access=access_for(user), **options)


def problems_of(book, user) -> list[tuple]:
    """Import ``book`` as ``user``; it must be refused with nothing written. The problems as tuples."""
    before = snapshot()
    result = run(book, user)
    assert not result.ok and not result.applied
    assert snapshot() == before, "a refused workbook wrote to the database"
    return [(p.sheet, p.row, p.column, str(p.message)) for p in result.problems]


def contact_row(member: Member, *, phone: str, address: str) -> list:
    return [
        *member_row(member.card_number, member.home_organisation.code, name=member.full_name),
        phone,
        address,
    ]


def referred_from_outside(tree, ward, **fields) -> Member:
    """A member of the outside organisation, registered by ``ward`` with an open, received referral."""
    member = make_member(tree.outside, phone="0911111111", residential_address="Khu phố 3")
    make_referral(
        member,
        receiving_ward=ward,
        issuing_organisation=tree.outside,
        introduced_on=D(2023, 3, 1),
        received_on=D(2023, 3, 5),
        **fields,
    )
    return member


# -- 1a: an outside organisation's member referred to another ward -----------------------------------------------


def test_1a_a_ward_may_not_update_an_outside_member_referred_to_another_ward(tree, phuong1):
    member = referred_from_outside(tree, tree.ward2)
    book = workbook({MEMBERS: [CONTACT_HEADERS, contact_row(member, phone="0999999999", address="Nhà mới")]})

    problems = problems_of(book, phuong1)

    assert problems == [(MEMBERS, 2, "Số thẻ", gettext(CARD_OUT_OF_SIGHT))]
    member.refresh_from_db()
    assert (member.phone, member.residential_address) == ("0911111111", "Khu phố 3")


def test_1a_a_ward_no_longer_updates_an_outside_member_who_moved_to_another_ward(tree, phuong1, client):
    """The ward received the member once and still sees them in its book; the new ward keeps the record."""
    member = make_member(tree.outside, phone="0911111111")
    make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.outside,
        introduced_on=D(2020, 3, 1),
        received_on=D(2020, 3, 5),
        ended_on=D(2023, 1, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    make_referral(member, receiving_ward=tree.ward2, issuing_organisation=tree.outside, introduced_on=D(2023, 1, 1))
    book = workbook({MEMBERS: [CONTACT_HEADERS, contact_row(member, phone="0999999999", address="")]})

    problems = problems_of(book, phuong1)

    assert problems == [(MEMBERS, 2, "Mã chi bộ", gettext(MEMBER_NOT_EDITABLE))]
    client.force_login(phuong1)
    assert client.get(reverse("members:member-detail", args=[member.pk])).status_code == 200
    assert client.get(reverse("members:member-edit", args=[member.pk])).status_code == 404


def test_a_ward_updates_the_outside_member_it_receives(tree, phuong1):
    member = referred_from_outside(tree, tree.ward1)
    book = workbook({MEMBERS: [CONTACT_HEADERS, contact_row(member, phone="0999999999", address="Nhà mới")]})

    result = run(book, phuong1, update_existing=True)

    assert result.ok and result.applied, result.problems
    member.refresh_from_db()
    assert (member.phone, member.residential_address) == ("0999999999", "Nhà mới")


# -- 1b: another ward's open referral -----------------------------------------------------------------------------


def test_1b_a_ward_may_not_take_over_another_wards_open_referral(tree, phuong1):
    member = make_member(tree.grassroots_cell)
    referral = make_referral(member, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell)
    book = workbook(
        {REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward1.code, introduced="01/03/2024"))}
    )

    problems = problems_of(book, phuong1)

    assert problems == [(REFERRALS, 2, "Số thẻ", gettext(NO_MEMBER) % {"card": member.card_number})]
    referral.refresh_from_db()
    assert referral.receiving_ward == tree.ward2


def test_1b_a_ward_that_sees_the_member_may_not_readdress_the_referral_to_itself(tree, phuong1):
    """The member once lived in ward 1 (so ward 1 sees them) and now lives in ward 2: ward 2's referral is not ward
    1's to change, and neither its data nor its existence is told (the words of any row ward 1 may not write)."""
    member = make_member(tree.grassroots_cell)
    make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.grassroots_cell,
        introduced_on=D(2020, 3, 1),
        received_on=D(2020, 3, 5),
        placed_on=D(2020, 3, 5),
        residential_cell=tree.ward1_cell1,
        ended_on=D(2023, 1, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    current = make_referral(
        member, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell, introduced_on=D(2023, 1, 1)
    )
    book = workbook(
        {REFERRALS: referral_sheet(referral_row(member.card_number, tree.ward1.code, introduced="01/01/2023"))}
    )

    problems = problems_of(book, phuong1)

    assert problems == [(REFERRALS, 2, "Số thẻ", gettext(INTRODUCTION_NOT_YOURS))]
    current.refresh_from_db()
    assert current.receiving_ward == tree.ward2


def test_the_issuer_may_not_be_told_by_a_ward_even_for_a_referral_to_it(tree, phuong1):
    """A referral addressed to ward 1: ward 1 records its reception, not a new ward or letter number."""
    member = make_member(tree.grassroots_cell)
    make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.grassroots_cell, letter_number="1-GT")
    row = referral_row(member.card_number, tree.ward2.code, letter="1-GT", introduced="01/03/2024")

    problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), phuong1)

    assert problems == [(REFERRALS, 2, "Mã đảng ủy nơi cư trú", gettext(LETTER_NOT_YOURS))]


def test_a_ward_records_the_reception_placement_and_end_of_a_referral_to_it(tree, phuong1):
    member = make_member(tree.grassroots_cell)
    referral = make_referral(
        member, receiving_ward=tree.ward1, issuing_organisation=tree.grassroots_cell, letter_number="1-GT"
    )
    row = referral_row(
        member.card_number,
        tree.ward1.code,
        letter="1-GT",
        introduced="01/03/2024",
        received="05/03/2024",
        cell=tree.ward1_cell1.code,
        ended="01/06/2024",
        reason="moved_residence",
    )

    result = run(workbook({REFERRALS: referral_sheet(row)}), phuong1)

    assert result.ok and result.applied, result.problems
    referral.refresh_from_db()
    assert (referral.received_on, referral.residential_cell, referral.ended_on) == (
        D(2024, 3, 5),
        tree.ward1_cell1,
        D(2024, 6, 1),
    )


def test_a_workplace_may_not_record_the_reception_of_a_stored_referral(tree, coquan):
    member = make_member(tree.cell)
    make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee, letter_number="1-GT")
    row = referral_row(
        member.card_number, tree.ward1.code, letter="1-GT", introduced="01/03/2024", received="05/03/2024"
    )

    problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), coquan)

    assert problems == [(REFERRALS, 2, "Ngày tiếp nhận", gettext(RECEPTION_NOT_YOURS))]


def test_a_workplace_ends_the_referral_of_its_member(tree, coquan):
    member = make_member(tree.cell)
    referral = make_referral(
        member, receiving_ward=tree.ward1, issuing_organisation=tree.committee, letter_number="1-GT"
    )
    row = referral_row(
        member.card_number, tree.ward1.code, letter="1-GT", introduced="01/03/2024", ended="01/06/2024", reason="other"
    )

    result = run(workbook({REFERRALS: referral_sheet(row)}), coquan)

    assert result.ok and result.applied, result.problems
    referral.refresh_from_db()
    assert referral.ended_on == D(2024, 6, 1)


def test_a_residential_cells_ward_may_not_end_another_wards_referral_it_sees(tree, phuong1):
    """Seen through an earlier referral to ward 1, ended and placed: the later referral to ward 2 is not ward 1's."""
    member = make_member(tree.grassroots_cell)
    make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.grassroots_cell,
        introduced_on=D(2020, 3, 1),
        ended_on=D(2023, 1, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    make_referral(
        member, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell, introduced_on=D(2023, 1, 1)
    )
    row = referral_row(member.card_number, tree.ward2.code, introduced="01/01/2023", ended="01/06/2024", reason="other")

    problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), phuong1)

    assert problems == [(REFERRALS, 2, "Số thẻ", gettext(INTRODUCTION_NOT_YOURS))]


def test_a_referral_one_only_views_is_not_ones_to_end(tree, coquan):
    """Someone who writes at the committee but only reads at ward 2 (a viewer post) sees ward 2's referrals."""
    from branches.models import Officer

    Officer.objects.create(user=coquan, organisation=tree.ward2, role="viewer", started_on=D(2000, 1, 1))
    member = make_member(tree.grassroots_cell)
    make_referral(member, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell, letter_number="1-GT")
    row = referral_row(
        member.card_number, tree.ward2.code, letter="1-GT", introduced="01/03/2024", ended="01/06/2024", reason="other"
    )

    problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), coquan)

    assert problems == [(REFERRALS, 2, "Ngày kết thúc", gettext(END_NOT_YOURS))]


# -- 1c: pulling a member into one's scope with a back-dated, ended referral --------------------------------------


def test_1c_a_ward_may_not_pull_a_workplace_member_in_with_an_ended_referral(tree, phuong1, client):
    member = make_member(tree.cell, national_id="045060100022", phone="0973425075")
    row = referral_row(
        member.card_number,
        tree.ward1.code,
        letter="1-GT",
        introduced="01/01/2010",
        received="05/01/2010",
        ended="10/01/2010",
        reason="other",
    )

    problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), phuong1)

    assert problems == [(REFERRALS, 2, "Số thẻ", gettext(NO_MEMBER) % {"card": member.card_number})]
    client.force_login(phuong1)
    assert client.get(reverse("members:member-detail", args=[member.pk])).status_code == 404


def test_1c_a_ward_that_sees_a_member_may_not_introduce_them(tree, phuong1):
    member = make_member(tree.cell)
    make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        introduced_on=D(2020, 3, 1),
        ended_on=D(2021, 1, 1),
        end_reason=Referral.EndReason.OTHER,
    )
    row = referral_row(member.card_number, tree.ward1.code, introduced="01/01/2010", ended="10/01/2010", reason="other")

    problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), phuong1)

    assert problems == [(REFERRALS, 2, "Số thẻ", gettext(INTRODUCTION_NOT_YOURS))]


def test_a_workplace_records_an_old_ended_referral_of_its_member(tree, coquan):
    member = make_member(tree.cell)
    row = referral_row(
        member.card_number,
        tree.ward1.code,
        introduced="01/01/2010",
        ended="10/01/2010",
        reason="other",
    )

    result = run(workbook({REFERRALS: referral_sheet(row)}), coquan)

    assert result.ok and result.applied, result.problems
    assert Referral.objects.get(member=member).ended_on == D(2010, 1, 10)


# -- as it would be: a ward registers only the outside members it receives ----------------------------------------


def test_a_ward_registers_an_outside_member_only_with_a_referral_to_it(tree, phuong1):
    book = workbook({MEMBERS: member_sheet(member_row("45012345", tree.outside.code))})

    problems = problems_of(book, phuong1)

    assert problems == [(MEMBERS, 2, "Mã chi bộ", gettext(OUTSIDE_MEMBER_WITHOUT_REFERRAL))]


def test_a_ward_may_not_register_an_outside_member_for_another_ward(tree, phuong1):
    sheets = {
        MEMBERS: member_sheet(member_row("45012345", tree.outside.code)),
        REFERRALS: referral_sheet(referral_row("45012345", tree.ward2.code, introduced="01/03/2018")),
    }

    problems = problems_of(workbook(sheets), phuong1)

    assert (REFERRALS, 2, "Số thẻ", gettext(INTRODUCTION_NOT_YOURS)) in problems


# -- 4: the preview tells nothing of a member outside the scope ---------------------------------------------------


def test_4_rules_are_not_checked_for_a_member_out_of_sight(tree, coquan):
    """Wrong on purpose: an exemption dated before the member's admission. The message would show the admission
    day; the only problem is the card number's, worded as for any member one cannot see."""
    member = make_member(tree.grassroots_cell, admitted_on=D(2005, 5, 19))
    row = [
        *member_row(member.card_number, tree.cell.code, name="Tên khác", exempt_introduction="x", working=None),
        "01/01/2000",
    ]

    problems = problems_of(workbook({MEMBERS: [EXEMPTION_HEADERS, row]}), coquan)

    assert problems == [(MEMBERS, 2, "Số thẻ", gettext(CARD_OUT_OF_SIGHT))]
    assert not any("19/05/2005" in problem[3] for problem in problems)


def test_4_rules_are_not_checked_for_a_member_one_sees_but_may_not_change(tree, phuong1):
    member = make_member(tree.cell, admitted_on=D(2005, 5, 19), retired_on=None)
    make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    row = [
        *member_row(member.card_number, tree.cell.code, name=member.full_name, exempt_introduction="x"),
        "01/01/2000",
    ]

    problems = problems_of(workbook({MEMBERS: [EXEMPTION_HEADERS, row]}), phuong1)

    assert problems == [(MEMBERS, 2, "Mã chi bộ", gettext(MEMBER_NOT_EDITABLE))]


def test_4_a_card_out_of_sight_reads_like_an_unknown_card(tree, phuong1):
    hidden = make_member(tree.cell)
    rows = [
        referral_row(hidden.card_number, tree.ward1.code, introduced="01/01/2010", ended="10/01/2010", reason="other"),
        referral_row("99999999", tree.ward1.code, introduced="01/01/2010", ended="10/01/2010", reason="other"),
    ]

    problems = problems_of(workbook({REFERRALS: referral_sheet(*rows)}), phuong1)

    assert problems == [
        (REFERRALS, 2, "Số thẻ", gettext(NO_MEMBER) % {"card": hidden.card_number}),
        (REFERRALS, 3, "Số thẻ", gettext(NO_MEMBER) % {"card": "99999999"}),
    ]


def test_4_an_unchanged_row_of_a_member_out_of_sight_is_refused_too(tree, coquan):
    """Accepting it as unchanged would tell the importer that the row matches what is stored: an oracle."""
    member = make_member(tree.grassroots_cell)
    row = member_row(member.card_number, tree.grassroots_cell.code, name=member.full_name)

    problems = problems_of(workbook({MEMBERS: member_sheet(row)}), coquan)

    assert problems == [(MEMBERS, 2, "Số thẻ", gettext(CARD_OUT_OF_SIGHT))]


def test_the_command_line_imports_everything(tree):
    member = make_member(tree.grassroots_cell)
    row = referral_row(member.card_number, tree.ward1.code, introduced="01/01/2010", ended="10/01/2010", reason="other")

    result = import_workbook(workbook({REFERRALS: [REFERRAL_HEADERS, row]}), by=None)

    assert result.ok and result.applied, result.problems


# -- the second audit: an ended referral, a new referral's reception and issuer, hidden referrals' days --------------


def ended_referral(tree, member, **fields):
    return make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.committee,
        letter_number="1-GT",
        introduced_on=D(2024, 3, 1),
        received_on=D(2024, 3, 5),
        residential_cell=tree.ward1_cell1,
        placed_on=D(2024, 3, 5),
        ended_on=D(2024, 6, 1),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
        **fields,
    )


@pytest.mark.parametrize("who", ["phuong1", "coquan"])
def test_an_ended_referral_cannot_be_reopened_or_rewritten(tree, phuong1, coquan, who):
    """Reopened by the import, an ended referral brought the member back into the ward's scope (and their national
    ID back to its page). On the pages nothing is recorded after the end; neither through the import."""
    member = make_member(tree.cell)
    referral = ended_referral(tree, member)
    reopen = referral_row(member.card_number, tree.ward1.code, letter="1-GT", introduced="01/03/2024")
    reopen[4:6] = ["05/03/2024", tree.ward1_cell1.code]  # received, cell as stored; ended and reason blank
    other_cell = referral_row(
        member.card_number,
        tree.ward1.code,
        letter="1-GT",
        introduced="01/03/2024",
        received="05/03/2024",
        cell=tree.ward1_cell2.code,
        ended="01/06/2024",
        reason="died",
    )
    user = {"phuong1": phuong1, "coquan": coquan}[who]

    for row, column in ((reopen, "Ngày kết thúc"), (other_cell, "Mã chi bộ nơi cư trú")):
        problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), user)
        assert problems == [
            (
                REFERRALS,
                2,
                column,
                gettext("This referral ended on %(date)s; nothing more can be recorded on it.")
                % {"date": "01/06/2024"},
            )
        ]
    referral.refresh_from_db()
    assert (referral.ended_on, referral.residential_cell) == (D(2024, 6, 1), tree.ward1_cell1)


def test_city_staff_may_still_correct_an_ended_referral(tree):
    city = make_officer(tree.root, role="staff")
    member = make_member(tree.cell)
    referral = ended_referral(tree, member)
    row = referral_row(
        member.card_number,
        tree.ward1.code,
        letter="1-GT",
        introduced="01/03/2024",
        received="05/03/2024",
        cell=tree.ward1_cell2.code,
        ended="01/06/2024",
        reason="moved_residence",
    )

    result = run(workbook({REFERRALS: referral_sheet(row)}), city)

    assert result.ok and result.applied, result.problems
    referral.refresh_from_db()
    assert referral.residential_cell == tree.ward1_cell2


def test_a_workplace_may_not_record_the_reception_of_its_new_referral(tree, coquan):
    member = make_member(tree.cell)
    row = referral_row(
        member.card_number, tree.ward2.code, introduced="01/11/2024", received="02/11/2024", cell=tree.ward2_cell1.code
    )

    problems = problems_of(workbook({REFERRALS: referral_sheet(row)}), coquan)

    assert problems == [(REFERRALS, 2, "Ngày tiếp nhận", gettext(RECEPTION_NOT_YOURS))]


def test_a_new_referral_is_a_letter_of_ones_own_organisation(tree, phuong1):
    """A ward registering an outside member may not make up an ended letter "issued" by a workplace committee."""
    headers = [*REFERRAL_HEADERS, "Mã nơi giới thiệu"]
    sheets = {
        MEMBERS: member_sheet(member_row("45012345", tree.outside.code)),
        REFERRALS: [
            headers,
            [
                *referral_row("45012345", tree.ward1.code, introduced="10/01/2024", ended="20/01/2024", reason="other"),
                tree.committee.code,
            ],
            [*referral_row("45012345", tree.ward1.code, introduced="01/02/2024"), None],
        ],
    }

    problems = problems_of(workbook(sheets), phuong1)

    assert (REFERRALS, 2, "Mã nơi giới thiệu", gettext(LETTER_NOT_YOURS)) in problems


def test_a_hidden_referral_on_a_day_reads_like_any_other_day(tree, phuong1):
    """The member once lived in ward 1; ward 2's referral of 25/02/2024 is out of ward 1's sight: a row on that day
    gets the same words as a row on the day before."""
    member = make_member(tree.grassroots_cell)
    make_referral(
        member,
        receiving_ward=tree.ward1,
        issuing_organisation=tree.grassroots_cell,
        introduced_on=D(2020, 3, 1),
        ended_on=D(2024, 2, 25),
        end_reason=Referral.EndReason.MOVED_RESIDENCE,
    )
    make_referral(
        member, receiving_ward=tree.ward2, issuing_organisation=tree.grassroots_cell, introduced_on=D(2024, 2, 25)
    )
    rows = [referral_row(member.card_number, tree.ward1.code, introduced=day) for day in ("24/02/2024", "25/02/2024")]

    problems = problems_of(workbook({REFERRALS: referral_sheet(*rows)}), phuong1)

    assert [problem[3] for problem in problems] == [gettext(INTRODUCTION_NOT_YOURS)] * 2


KIND_NOT_YOURS = (
    "You create and change the cells of your organisation; other kinds of organisation, and the kind of one, are "
    "changed by the city committee."
)


@pytest.mark.parametrize(
    ("who", "row"),
    [
        ("phuong1", lambda tree: org_row(tree.ward1_cell1.code, tree.ward1_cell1.name, "cell", tree.ward1.code)),
        ("coquan", lambda tree: org_row(tree.cell.code, tree.cell.name, "ward", tree.committee.code)),
        ("coquan", lambda tree: org_row("PHUONG-MOI", "Đảng bộ phường mới", "ward", tree.committee.code)),
    ],
)
def test_an_officer_changes_no_kind_and_creates_only_cells(tree, phuong1, coquan, who, row):
    """Second audit: a ward turned its residential cell into a workplace cell, a committee its cell into a ward."""
    user = {"phuong1": phuong1, "coquan": coquan}[who]

    problems = problems_of(workbook({ORGS: org_sheet(row(tree))}), user)

    assert problems == [(ORGS, 2, "Loại", gettext(KIND_NOT_YOURS))]


def test_an_officer_still_creates_a_cell_of_its_own(tree, phuong1):
    result = run(
        workbook({ORGS: org_sheet(org_row("P1-KP9", "Chi bộ Khu phố 9", "residential_cell", tree.ward1.code))}), phuong1
    )

    assert result.ok and result.applied, result.problems


# -- national IDs: masked to most readers, so not to be guessed through the import ------------------------------


NATIONAL_ID_TAKEN = "Another member already has this national ID."


def national_id_rows(cards_and_ids):
    headers = [*MEMBER_HEADERS, "Số CCCD"]
    return [headers, *([*member_row(card, "OUT"), national_id] for card, national_id in cards_and_ids)]


def test_a_national_id_found_out_of_sight_is_told_logged_and_limited(tree, phuong1):
    """Second audit: the mask shows four digits and two of the others follow from the birth date; a ward uploaded 100
    new members with the hundred candidates and learnt the whole ID from the one refused row."""
    tree.outside.code = "OUT"
    tree.outside.save()
    hidden = make_member(tree.cell, national_id="045190106659")
    book = workbook({MEMBERS: national_id_rows([("45012345", hidden.national_id)])})

    problems = problems_of(book, phuong1)

    assert (MEMBERS, 2, "Số CCCD", gettext(NATIONAL_ID_TAKEN)) in problems
    entry = AccessLog.objects.get(kind=AccessLog.Kind.NATIONAL_ID_FOUND)
    assert (entry.user, entry.rows) == (phuong1, 1)

    # the day's answers used up: the row is refused, but not named
    AccessLog.objects.create(user=phuong1, username="x", kind=AccessLog.Kind.NATIONAL_ID_FOUND, rows=10)
    guesses = [(f"450100{n:02d}", f"0451901{n:02d}659") for n in range(20, 25)] + [("45010010", hidden.national_id)]
    problems = [p for p in problems_of(workbook({MEMBERS: national_id_rows(guesses)}), phuong1) if p[2] == "Số CCCD"]
    assert [p[:3] for p in problems] == [(MEMBERS, None, "Số CCCD")], problems  # not which rows
    assert problems[0][3].startswith("1 ")  # how many


def test_the_national_id_of_a_member_one_may_not_change_is_not_compared(tree, phuong1):
    """Second audit: a row equal to a member the ward sees but may not change, with a guess of the masked ID, was
    "unchanged" when the guess was right and refused when it was wrong."""
    member = make_member(tree.cell, national_id="045190106659")
    make_referral(member, receiving_ward=tree.ward1, issuing_organisation=tree.committee)
    headers = [*MEMBER_HEADERS, "Số CCCD"]

    for guess in ("045190106659", "045190116659"):
        row = [*member_row(member.card_number, tree.cell.code, name=member.full_name), guess]
        result = run(workbook({MEMBERS: [headers, row]}), phuong1)
        assert result.ok and result.counts["members"].unchanged == 1, (guess, result.problems)
    member.refresh_from_db()
    assert member.national_id == "045190106659"
