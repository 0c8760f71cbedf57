"""Undoing an import (issue 12): the journal of the rows an import wrote, and the undo from the record's page.

The main case imports, through the web, a workbook that creates and updates organisations, members (one moved to
another home: its home chain rewritten), exemptions and referrals (one re-placed: its placement chain rewritten), then
undoes it: every row of the tables the import writes is compared, field by field, with the rows before the import.

History: the import adds one history record per row of a model with history it writes (``+`` created, ``~``
updated); the undo adds as many more (``-`` for a row it deletes, ``~`` for a row it puts back), so that after the
undo each table's history holds twice the import's records on top of the former ones, and the latest record of each
row put back holds its former values. The home and placement periods have no history tables: they are compared as
rows.
"""

import datetime
import io

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from branches.access import access_for
from branches.models import Officer, Organisation, OrganisationName
from branches.services import organisation_update
from dongha76.names import person_name
from dongha76.services import day_text
from members import places, services
from members.models import Exemption, Member, MemberHome, Placement, Referral
from tests.factories import Kind, make_member, make_officer, make_organisation, make_referral, make_tree, make_user
from tests.workbooks.books import layout_workbook
from workbooks import undo
from workbooks.importing import import_workbook
from workbooks.models import ImportedRow, WorkbookImport
from workbooks.services import workbook_check, workbook_confirm

pytestmark = pytest.mark.django_db

D = datetime.date
Status = WorkbookImport.Status
TABLES = (Organisation, OrganisationName, Member, Exemption, Referral, MemberHome, Placement)
WITH_HISTORY = (Organisation, Member, Exemption, Referral)


def rows() -> dict[str, list[dict]]:
    """Every row, every field, of the tables an import writes."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in TABLES}


def history_counts() -> dict[str, dict[str, int]]:
    counts = {}
    for model in WITH_HISTORY:
        records = model.history.model.objects
        counts[model._meta.label] = {kind: records.filter(history_type=kind).count() for kind in "+~-"}
    return counts


def member_text(card: str, name: str) -> str:
    return gettext("member %(card)s (%(name)s)") % {"card": card, "name": name}


def changed(row: str, user) -> str:
    """How a refusal names a row changed since, without the time."""
    return (
        gettext("%(row)s was changed %(who)s") % {"row": row, "who": ""}
        + (gettext("by %(user)s on %(when)s") % {"user": person_name(user), "when": ""}).rstrip()
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


class World:
    """A stored member who moves home and becomes exempt, a stored referral re-placed once (and again by the
    workbook), a stored cell renamed; the workbook adds a cell, a member and the member's referral placed there."""

    def __init__(self):
        self.tree = tree = make_tree()
        self.staff = make_officer(tree.root, role="staff", first_name="Lan", last_name="Lê Thị")
        self.moving = make_member(tree.cell, card_number="71000001", full_name="Phạm Văn Chuyển")
        # Exempt since 2022: the workbook's exemption from 2024 ends this one (an exemption the import updates).
        Exemption.objects.create(
            member=self.moving, kind=Exemption.Kind.ACTIVITIES, reason="Đi công tác xa", started_on=D(2022, 1, 1)
        )
        self.placed = make_referral(
            make_member(tree.cell, card_number="71000002"),
            receiving_ward=tree.ward1,
            introduced_on=D(2018, 3, 10),
            received_on=D(2018, 3, 20),
            residential_cell=tree.ward1_cell1,
            placed_on=D(2018, 3, 20),
        )
        places.move_placement(referral=self.placed, residential_cell=tree.ward1_cell2, on=D(2020, 1, 1), by=None)
        self.placed.refresh_from_db()

    def workbook(self) -> bytes:
        tree, moving, placed = self.tree, self.moving, self.placed
        member = {
            "card_number": moving.card_number,
            "full_name": moving.full_name,
            "date_of_birth": moving.date_of_birth,
            "gender": "male",
            "admitted_on": moving.admitted_on,
            "home_organisation": tree.grassroots_cell.code,  # a transfer from today
            "working": "x",
            "exempt_activities": "x",
            "exempt_from": D(2024, 1, 1),
            "exempt_reason": "Ốm dài ngày",
        }
        book = layout_workbook(
            {
                "organisations": [
                    {
                        "code": "P1-KP9",
                        "name": "Chi bộ Khu phố 9",
                        "kind": "residential_cell",
                        "parent": tree.ward1.code,
                    },
                    {
                        "code": tree.ward1_cell2.code,
                        "name": "Chi bộ Khu phố 2 mới",
                        "kind": "residential_cell",
                        "parent": tree.ward1.code,
                    },
                ],
                "members": [
                    member,
                    {
                        "card_number": "71000009",
                        "full_name": "Nguyễn Văn Mới",
                        "date_of_birth": D(1985, 4, 15),
                        "gender": "male",
                        "admitted_on": D(2010, 6, 1),
                        "home_organisation": tree.cell.code,
                        "working": "x",
                        "exempt_introduction": "",
                    },
                ],
                "referrals": [
                    {
                        "card_number": placed.member.card_number,
                        "letter_number": "99-GT/ĐU",  # was another number
                        "introduced_on": placed.introduced_on,
                        "issuing_organisation": placed.issuing_organisation.code,
                        "receiving_ward": tree.ward1.code,
                        "received_on": placed.received_on,
                        "residential_cell": tree.ward1_cell1.code,
                        "placed_on": placed.placed_on,
                    },
                    {
                        "card_number": "71000009",
                        "letter_number": "7-GT/ĐU",
                        "introduced_on": D(2019, 3, 10),
                        "receiving_ward": tree.ward1.code,
                        "received_on": D(2019, 3, 20),
                        "residential_cell": "P1-KP9",
                    },
                ],
                "placements": [
                    {
                        "card_number": placed.member.card_number,
                        "introduced_on": placed.introduced_on,
                        "residential_cell": tree.ward1_cell2.code,
                        "started_on": D(2020, 1, 1),
                    },
                    {
                        "card_number": placed.member.card_number,
                        "introduced_on": placed.introduced_on,
                        "residential_cell": "P1-KP9",
                        "started_on": D(2023, 1, 1),
                    },
                ],
            }
        )
        return book.getvalue()

    def import_through_the_web(self, client: Client) -> WorkbookImport:
        response = client.post(
            reverse("workbooks:import"),
            {"file": SimpleUploadedFile("so-dang-vien.xlsx", self.workbook()), "update_existing": "on"},
        )
        assert response.status_code == 302, response
        record = WorkbookImport.objects.latest("pk")
        assert record.status == Status.CHECKED, record.problems
        client.post(reverse("workbooks:import-confirm", args=[record.pk]), follow=True)  # its message read
        record.refresh_from_db()
        assert record.status == Status.IMPORTED, record.problems
        return record

    def import_as_service(self, user=None) -> WorkbookImport:
        user = user or self.staff
        upload = SimpleUploadedFile("so-dang-vien.xlsx", self.workbook())
        access = access_for(user)
        record = workbook_check(upload=upload, by=user, access=access, update_existing=True, background=False)
        assert record.status == Status.CHECKED, record.problems
        record = workbook_confirm(record=record, by=user, access=access, background=False)
        assert record.status == Status.IMPORTED, record.problems
        return record


@pytest.fixture
def world() -> World:
    return World()


def undo_url(record: WorkbookImport) -> str:
    return reverse("workbooks:import-undo", args=[record.pk])


def test_undo_through_the_page_restores_the_exact_previous_rows(world):
    client = client_for(world.staff)
    before, history_before = rows(), history_counts()
    record = world.import_through_the_web(client)

    # The import did what the workbook says: a transfer, an exemption, a rename, a re-placement, new rows.
    moving = Member.objects.get(pk=world.moving.pk)
    assert moving.home_organisation == world.tree.grassroots_cell
    assert MemberHome.objects.filter(member=moving).count() == 2
    assert Exemption.objects.filter(member=moving, ended_on=None).get().started_on == D(2024, 1, 1)
    assert Exemption.objects.get(member=moving, started_on=D(2022, 1, 1)).ended_on == D(2024, 1, 1)
    assert Organisation.objects.get(pk=world.tree.ward1_cell2.pk).name == "Chi bộ Khu phố 2 mới"
    new_cell = Organisation.objects.get(code="P1-KP9")
    assert Referral.objects.get(pk=world.placed.pk).residential_cell == new_cell
    assert Placement.objects.filter(referral=world.placed).count() == 3
    assert Member.objects.filter(card_number="71000009").exists()
    imported = rows()
    history_imported = history_counts()

    written = list(ImportedRow.objects.filter(record=record))
    with_history = [row for row in written if row.model in {m._meta.label_lower for m in WITH_HISTORY}]
    added = {
        label: {kind: history_imported[label][kind] - history_before[label][kind] for kind in "+~-"}
        for label in history_before
    }
    # One history record per journalled write of a model with history.
    assert sum(sum(kinds.values()) for kinds in added.values()) == len(with_history)
    actions = {(row.model, row.action) for row in written}
    assert {
        ("branches.organisation", "created"),
        ("branches.organisation", "updated"),
        ("members.member", "created"),
        ("members.member", "updated"),
        ("members.exemption", "created"),
        ("members.exemption", "updated"),
        ("members.referral", "created"),
        ("members.referral", "updated"),
        ("members.memberhome", "created"),
        ("members.memberhome", "deleted"),
        ("members.placement", "created"),
        ("members.placement", "deleted"),
    } <= actions

    page = client.get(reverse("workbooks:import-detail", args=[record.pk])).content.decode()
    assert 'id="undo-form"' in page and undo_url(record) in page
    assert 'id="undo-confirm"' in page and "<script>" not in page.split('id="undo"')[1].split("</section>")[0]

    response = client.post(undo_url(record))
    assert response.status_code == 302
    assert messages_of(response) == [gettext("The import of “%(name)s” was undone.") % {"name": "so-dang-vien.xlsx"}]

    after = rows()
    for table in before:
        assert after[table] == before[table], table
    history_after = history_counts()
    for label, kinds in added.items():
        undone = {kind: history_after[label][kind] - history_imported[label][kind] for kind in "+~-"}
        # What the import created is deleted, what it updated is put back: as many records again.
        assert undone == {"+": 0, "~": kinds["~"], "-": kinds["+"]}, label
    latest = Member.history.filter(id=world.moving.pk).latest("history_date", "history_id")
    assert latest.home_organisation_id == world.tree.cell.pk
    assert latest.history_user == world.staff
    assert latest.history_change_reason == gettext("Undo of the import %(name)s") % {"name": "so-dang-vien.xlsx"}
    assert imported != before

    record.refresh_from_db()
    assert record.status == Status.UNDONE
    assert record.undone_by == world.staff and record.undone_at is not None
    assert record.uploaded_by == world.staff and record.imported_at is not None
    page = client.get(reverse("workbooks:import-detail", args=[record.pk])).content.decode()
    assert 'id="undone-note"' in page and person_name(world.staff) in page
    assert 'id="undo-form"' not in page

    # Twice: refused, nothing changes.
    response = client.post(undo_url(record))
    assert messages_of(response) == [str(undo.NOT_IMPORTED)]
    assert rows() == before


def test_undo_after_a_later_edit_is_refused_and_names_the_member_and_the_editor(world):
    client = client_for(world.staff)
    record = world.import_through_the_web(client)
    editor = make_officer(world.tree.root, role="staff", first_name="Hùng", last_name="Trần Văn")
    moving = Member.objects.get(pk=world.moving.pk)
    services.member_update(member=moving, by=editor, phone="0912345678")
    edited = rows()

    response = client.post(undo_url(record))
    [message] = messages_of(response)
    assert message.startswith(str(undo.CHANGED_SINCE))
    assert changed(member_text("71000001", "Phạm Văn Chuyển"), editor) in message
    assert rows() == edited
    record.refresh_from_db()
    assert record.status == Status.IMPORTED and record.undone_by is None


def test_undo_after_a_row_referring_to_a_created_one_is_refused(world):
    record = world.import_as_service()
    editor = make_officer(world.tree.root, role="staff", first_name="Mai", last_name="Đỗ Thị")
    created = Member.objects.get(card_number="71000009")
    services.exemption_set(
        member=created, kind=Exemption.Kind.ACTIVITIES, reason="Công tác xa", started_on=D(2024, 5, 1), by=editor
    )
    kept = rows()
    with pytest.raises(ValidationError) as refused:
        undo.workbook_undo(record=record, by=world.staff, access=access_for(world.staff))
    message = " ".join(refused.value.messages)
    assert member_text("71000009", "Nguyễn Văn Mới") in message and person_name(editor) in message
    assert rows() == kept


def test_a_later_home_move_is_named_with_the_rows_it_changed(world):
    record = world.import_as_service()
    editor = make_officer(world.tree.root, role="staff", first_name="Hà", last_name="Võ")
    moving = Member.objects.get(pk=world.moving.pk)
    services.member_update(member=moving, by=editor, home_organisation=world.tree.cell)
    with pytest.raises(ValidationError) as refused:
        undo.workbook_undo(record=record, by=world.staff, access=access_for(world.staff))
    message = " ".join(refused.value.messages)
    assert changed(member_text("71000001", "Phạm Văn Chuyển"), editor) in message
    # The move back on the day of the import's transfer reopened the former period: the import's closed period
    # changed.
    home = gettext("home of member %(card)s from %(date)s") % {"card": "71000001", "date": day_text(moving.admitted_on)}
    assert gettext("%(row)s was changed %(who)s") % {"row": home, "who": ""} in message


def test_undo_after_seven_days_is_refused(world):
    client = client_for(world.staff)
    record = world.import_through_the_web(client)
    WorkbookImport.objects.filter(pk=record.pk).update(imported_at=timezone.now() - datetime.timedelta(days=7, hours=1))
    page = client.get(reverse("workbooks:import-detail", args=[record.pk])).content.decode()
    assert 'id="undo-form"' not in page and 'id="undo-note"' in page
    imported = rows()
    response = client.post(undo_url(record))
    [message] = messages_of(response)
    record.refresh_from_db()
    imported_on = timezone.localtime(record.imported_at).date()
    assert message == str(undo.TOO_LATE) % {"date": day_text(imported_on)}
    assert rows() == imported
    assert WorkbookImport.objects.get(pk=record.pk).status == Status.IMPORTED


def test_only_the_importer_undoes(world):
    record = world.import_as_service()
    imported = rows()
    other_staff = make_officer(world.tree.root, role="staff")
    # City staff see the record, but get no button and 404 on the undo.
    page = client_for(other_staff).get(reverse("workbooks:import-detail", args=[record.pk])).content.decode()
    assert 'id="undo-form"' not in page
    assert client_for(other_staff).post(undo_url(record)).status_code == 404
    assert client_for(make_officer(world.tree.ward1)).post(undo_url(record)).status_code == 404
    assert client_for(make_user()).post(undo_url(record)).status_code == 404
    assert Client().post(undo_url(record)).status_code == 302  # to the login page
    assert client_for(world.staff).get(undo_url(record)).status_code == 405
    with pytest.raises(ValidationError):
        undo.workbook_undo(record=record, by=other_staff, access=access_for(other_staff))
    assert rows() == imported
    assert WorkbookImport.objects.get(pk=record.pk).status == Status.IMPORTED


def test_undo_into_rows_no_longer_the_importers_is_refused(world):
    """A committee's secretary imports a member of its cell, then leaves the committee (keeping a post elsewhere):
    the member is no longer theirs to change."""
    tree = world.tree
    other_committee = make_organisation(kind=Kind.COMMITTEE, parent=tree.root)
    secretary = make_officer(tree.committee)
    Officer.objects.create(user=secretary, organisation=other_committee, role="secretary", started_on=D(2000, 1, 1))
    book = layout_workbook(
        {
            "members": [
                {
                    "card_number": "72000001",
                    "full_name": "Đặng Văn Cơ",
                    "date_of_birth": D(1985, 4, 15),
                    "gender": "male",
                    "admitted_on": D(2010, 6, 1),
                    "home_organisation": tree.cell.code,
                    "working": "x",
                }
            ]
        }
    )
    access = access_for(secretary)
    record = workbook_check(
        upload=SimpleUploadedFile("uy-ban.xlsx", book.getvalue()), by=secretary, access=access, background=False
    )
    record = workbook_confirm(record=record, by=secretary, access=access, background=False)
    assert record.status == Status.IMPORTED, record.problems
    Officer.objects.filter(user=secretary, organisation=tree.committee).update(ended_on=D(2024, 1, 1))
    secretary = type(secretary).objects.get(pk=secretary.pk)  # its access is cached on the object
    imported = rows()
    with pytest.raises(ValidationError) as refused:
        undo.workbook_undo(record=record, by=secretary, access=access_for(secretary))
    message = " ".join(refused.value.messages)
    assert message.startswith(str(undo.OUT_OF_SCOPE)) and "72000001" in message
    assert rows() == imported


def test_a_preview_keeps_no_journal(world):
    upload = SimpleUploadedFile("so-dang-vien.xlsx", world.workbook())
    record = workbook_check(
        upload=upload, by=world.staff, access=access_for(world.staff), update_existing=True, background=False
    )
    assert record.status == Status.CHECKED
    assert not ImportedRow.objects.exists()
    result = import_workbook(io.BytesIO(world.workbook()), by=world.staff, dry_run=True, update_existing=True)
    assert result.ok and result.journal is None
    assert not ImportedRow.objects.exists()


def test_the_journal_holds_the_values_before_and_after(world):
    record = world.import_as_service()
    moving = [row for row in record.written_rows.all() if row.model == "members.member" and row.action == "updated"]
    [row] = [row for row in moving if row.object_pk == world.moving.pk]
    assert row.before["home_organisation_id"] == world.tree.cell.pk
    assert row.after["home_organisation_id"] == world.tree.grassroots_cell.pk
    assert row.before["admitted_on"] == world.moving.admitted_on.isoformat()
    assert "working" not in row.before  # generated by the database
    positions = list(record.written_rows.values_list("position", flat=True))
    assert positions == sorted(positions) == list(range(len(positions)))
    [referral_row] = record.written_rows.filter(model="members.referral", object_pk=world.placed.pk)
    assert (referral_row.before["letter_number"], referral_row.after["letter_number"]) == (
        world.placed.letter_number,
        "99-GT/ĐU",
    )


def test_undo_of_a_referral_whose_former_cell_is_in_a_ward_that_took_over(world):
    """The referral was re-placed into a cell of the ward that took its receiving ward over; the workbook re-places it
    again. Undone, it gets its former cell back once its closed periods are in (the triggers want it so)."""
    tree = world.tree
    merged = make_organisation(kind=Kind.WARD, parent=tree.root, code="PM", sector=Organisation.Sector.WARD)
    merged_cell = make_organisation(kind=Kind.RESIDENTIAL_CELL, parent=merged, code="PM-KP1")
    organisation_update(organisation=tree.ward1, valid_to=D(2025, 7, 1), successor=merged)
    referral = Referral.objects.get(pk=world.placed.pk)
    places.move_placement(referral=referral, residential_cell=merged_cell, on=D(2025, 7, 1), by=None)
    staff = world.staff
    before, history_before = rows(), history_counts()
    card, introduced_on = referral.member.card_number, referral.introduced_on
    book = layout_workbook(
        {
            "referrals": [
                {
                    "card_number": card,
                    "letter_number": "55-GT/ĐU",
                    "introduced_on": introduced_on,
                    "issuing_organisation": referral.issuing_organisation.code,
                    "receiving_ward": tree.ward1.code,
                    "received_on": referral.received_on,
                    "residential_cell": tree.ward1_cell1.code,
                    "placed_on": referral.placed_on,
                }
            ],
            "placements": [
                {"card_number": card, "introduced_on": introduced_on, "residential_cell": code, "started_on": day}
                for code, day in (
                    (tree.ward1_cell2.code, D(2020, 1, 1)),
                    (merged_cell.code, D(2025, 7, 1)),
                    ("PM-KP2", D(2026, 1, 1)),
                )
            ],
            "organisations": [
                {"code": "PM-KP2", "name": "Chi bộ Khu phố 2 PM", "kind": "residential_cell", "parent": "PM"}
            ],
        }
    )
    access = access_for(staff)
    record = workbook_check(
        upload=SimpleUploadedFile("chuyen.xlsx", book.getvalue()),
        by=staff,
        access=access,
        update_existing=True,
        background=False,
    )
    assert record.status == Status.CHECKED, record.problems
    record = workbook_confirm(record=record, by=staff, access=access, background=False)
    assert record.status == Status.IMPORTED, record.problems
    assert Referral.objects.get(pk=referral.pk).residential_cell.code == "PM-KP2"
    # Written twice (its letter with its first cell, then its latest cell once its closed periods were in): the
    # first write's "after" is the second's "before".
    first, second = record.written_rows.filter(model="members.referral", object_pk=referral.pk)
    assert (first.action, second.action) == ("updated", "updated")
    assert first.after == second.before and first.after["residential_cell_id"] == tree.ward1_cell1.pk
    undo.workbook_undo(record=record, by=staff, access=access)
    after = rows()
    for table in before:
        assert after[table] == before[table], table
    history_after = history_counts()
    referrals = history_after["members.Referral"]
    assert referrals["~"] - history_before["members.Referral"]["~"] == 4  # two by the import, two by the undo
