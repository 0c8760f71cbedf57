"""Sheet "Giới thiệu": referrals keyed by card number and introduction date, recorded after the fact with all their
dates at once.

A referral from a book is history, not a step taken today: the rules are the workflow's (``Referral.clean()`` for the
order of the dates, the database's constraints and trigger as the last line of defence) read as of the referral's own
days: the member was a working member not exempt from introduction on the day of the letter, the ward and the cell
existed on the days they were used, and a member's referrals never overlap and at most one is open.
"""

import itertools

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from branches.selectors import grassroots_of
from dongha76.periods import today
from dongha76.services import Errors, day_text
from members.models import Exemption, Member, MemberHome, Placement, Referral
from members.services import ISSUING_KINDS, check_issuer, check_residential_cell, check_ward
from workbooks.importing import periods
from workbooks.importing.changes import differences, key_text
from workbooks.importing.context import Failed, ImportContext, SheetCounts
from workbooks.importing.members import MemberPhase, exemptions_in_force
from workbooks.importing.organisations import OrganisationPhase
from workbooks.importing.scope import (
    END_NOT_YOURS,
    INTRODUCTION_NOT_YOURS,
    LETTER_NOT_YOURS,
    NOT_YOURS_AFTER_IMPORT,
    RECEPTION_NOT_YOURS,
    ReferralRights,
)
from workbooks.importing.validating import ModelChecks
from workbooks.layout import MEMBERS, ORGANISATIONS, REFERRALS
from workbooks.reading import CellError, Row, SheetData, as_date, as_text

SHEET = REFERRALS
COLUMNS = {column.key: column.header for column in SHEET.columns}
MEMBER_COLUMNS = {column.key: column.header for column in MEMBERS.columns}
Kind = Organisation.Kind
DATE_FIELDS = ("introduced_on", "received_on", "placed_on", "reported_on", "ended_on")
WRITTEN_FIELDS = (
    "issuing_organisation",
    "receiving_ward",
    "letter_number",
    "received_on",
    "residential_cell",
    "placed_on",
    "reported_on",
    "ended_on",
    "end_reason",
)
OTHER_OPEN = _("This member already has an open referral to %(ward)s, introduced on %(date)s; end it first.")
NEXT_ALREADY_INTRODUCED = _(
    "The member was introduced again on %(date)s: this referral must end on or before that day."
)
PREVIOUS_NOT_ENDED = _(
    "The member's previous referral ended on %(date)s; a new introduction cannot be dated before it."
)
OVERLAPS_HIDDEN = _(
    "This referral overlaps another referral of the member, outside the part of the tree you manage: it must end "
    "before the next one is introduced, and only the last may be open."
)
# The fields of a referral by the step that records them, and the right each step needs (``ReferralRights``).
STEPS = (
    ("letter", ("issuing_organisation_id", "receiving_ward_id", "letter_number"), LETTER_NOT_YOURS),
    ("reception", ("received_on", "residential_cell_id", "placed_on", "reported_on"), RECEPTION_NOT_YOURS),
    ("end", ("ended_on", "end_reason"), END_NOT_YOURS),
)
STEP_FIELDS = {right: fields for right, fields, _message in STEPS}
RELATIONS = (
    "member",
    "issuing_organisation",
    "receiving_ward",
    "residential_cell",
    "introduced_by",
    "received_by",
    "placed_by",
    "reported_by",
    "ended_by",
)
ENDED = _("This referral ended on %(date)s; nothing more can be recorded on it.")
FUTURE = _("This date is in the future (today is %(today)s).")
ORGANISATION_FIELDS = ("issuing_organisation", "receiving_ward", "residential_cell")


class ReferralPhase:
    def __init__(
        self,
        context: ImportContext,
        data: SheetData | None,
        organisations: OrganisationPhase,
        members: MemberPhase,
    ):
        self.context = context
        self.data = data
        self.organisations = organisations
        self.members = members
        self.today = today()
        self._issuers: dict[int, Organisation | None] = {}
        # member pk -> its home periods as the members' phase left them (of the members who moved)
        self.homes: dict[int, list[MemberHome]] = {}
        self.row_of: dict[tuple, Row] = {}  # (member pk, introduced on) -> its row, for the rows checked
        self.written: list[tuple[Row, Referral]] = []  # the referrals this import creates or changes
        self.rights = ReferralRights(everything=True)
        self.members_seen: set[int] | None = None
        self.introducible: set[int] | None = None
        # The stored referrals of the sheet's members, by (member pk, introduced on), as the sheet shows them: the
        # cell of their first placement (a re-placement is the sheet "Chuyển chi bộ nơi cư trú"'s); their stored
        # placements by referral pk.
        self.existing: dict[tuple, Referral] = {}
        self.stored_placements: dict[int, list[Placement]] = {}
        # The referral of each row without a problem, as it would be (created, updated or unchanged), by (card
        # number, introduced on); the keys of the rows with one.
        self.final: dict[tuple, Referral] = {}
        self.failed_keys = Failed()
        self.created: list[Referral] = []
        self.updated: list[Referral] = []
        self.checks = ModelChecks(Referral)  # Referral.full_clean, each field's valid values remembered

    def check(self) -> None:
        """Check every row; the referrals are written by ``write`` once their placements are planned."""
        counts = self.context.counts.setdefault(SHEET.key, SheetCounts())
        if self.data is None:
            return
        rows: dict[tuple, tuple[Row, dict]] = {}
        unread = Failed()  # the keys of the rows whose cells have problems, as far as they can be read
        for row in self.data.rows:
            counts.rows += 1
            values = self.context.values(self.data, row)
            if values is None:
                unread.add((as_text(row.cells.get("card_number")), _date_or_none(row.cells.get("introduced_on"))), row)
                continue
            card, introduced_on = values.get("card_number"), values.get("introduced_on")
            if not card:
                self.context.problem(SHEET, row, COLUMNS["card_number"], _("This cell must not be blank."))
                continue
            if introduced_on is None:
                self.context.problem(SHEET, row, COLUMNS["introduced_on"], _("This cell must not be blank."))
                continue
            key = (card, introduced_on)
            if key in rows:
                self.context.duplicate(SHEET, row, COLUMNS["introduced_on"], rows[key][0].number)
                continue
            rows[key] = (row, values)
        self.members.load(card for card, _day in rows)
        self.organisations.preload(
            values.get(key)
            for _row, values in rows.values()
            for key in ("issuing_organisation", "receiving_ward", "residential_cell")
        )
        member_pks = {member.pk for member in self.members.by_card.values() if member and member.pk}
        existing = self._existing_referrals(member_pks)
        # The homes of the sheet's members who moved: a letter is checked against the home of its day.
        sheet_pks = {member.pk for card, _day in rows if (member := self.members.by_card.get(card)) and member.pk}
        self.homes = periods.stored_rows(MemberHome, "member", "organisation", sheet_pks, moved_only=True)
        self.existing = existing
        self.stored_placements = periods.stored_rows(
            Placement, "referral", "residential_cell", (r.pk for r in existing.values())
        )
        for referral in existing.values():
            placements = self.stored_placements.get(referral.pk)
            if placements and placements[0].residential_cell_id != referral.residential_cell_id:
                referral.residential_cell_id = placements[0].residential_cell_id  # re-placed: the first placement
        scope = self.context.scope
        self.members_seen = scope.members_seen(member_pks)
        self.introducible = scope.members_introducible(member_pks)
        self.rights = scope.referral_rights(referral.pk for referral in existing.values())
        created, updated, written = [], [], {}  # written: member pk -> [(row, referral)]
        outcomes = []  # (row, key, kind, changes, referral) of the rows that create or change a referral
        for (card, introduced_on), (row, values) in rows.items():
            if card in self.members.failed_cards:
                failed = self.members.failed_cards
                self.context.depends(SHEET, row, COLUMNS["card_number"], MEMBERS, failed, card)
                self._own_cells(row, values)
                continue
            member = self.members.by_card.get(card)
            if member is None or not self._sees(card, member):
                # The same words for a member one may not see as for one who does not exist.
                self.context.problem(
                    SHEET,
                    row,
                    COLUMNS["card_number"],
                    _("No member has the card number “%(card)s”, in this workbook or in the database.")
                    % {"card": card},
                )
                self._own_cells(row, values)
                continue
            before = existing.get((member.pk, introduced_on))
            if before is not None and not self.rights.sees(before.pk):
                # Worded as for any row on that day, so that the answer tells nothing of a referral out of sight: to
                # one who may not introduce the member, that they may not; to one who may, that it overlaps another.
                hidden = OVERLAPS_HIDDEN if member.pk in self.introducible else INTRODUCTION_NOT_YOURS
                self.context.problem(SHEET, row, COLUMNS["card_number"], hidden)
                continue
            referral = self._build(row, values, member, before)
            if referral is None:
                continue
            changed = before is None or _differs(before, referral)
            # Scope first: the rules' messages quote the member's and the other referrals' days. A row that
            # changes nothing needs no scope (one's own export imports back unchanged).
            if changed and not self._may_write(row, card, member, before, referral):
                continue
            if not self._rules(row, referral, member):
                continue
            written.setdefault(member.pk, []).append((row, referral))
            self.row_of[(member.pk, introduced_on)] = row
            self.final[(card, introduced_on)] = referral
            key = key_text(card, introduced_on)
            if before is None:
                outcomes.append((row, key, "create", (), referral))
            elif changed:
                outcomes.append((row, key, "update", self._changes(before, referral), referral))
            if before is None:
                created.append(referral)
                counts.create += 1
            elif changed:
                referral.updated_at = timezone.now()
                updated.append(referral)
                counts.update += 1
            else:
                counts.unchanged += 1
        refused = self._check_sequences(existing, written)
        self.created = [referral for referral in created if id(referral) not in refused]
        self.updated = [referral for referral in updated if id(referral) not in refused]
        self.final = {key: referral for key, referral in self.final.items() if id(referral) not in refused}
        for key in set(rows) - set(self.final):
            self.failed_keys.add(key, rows[key][0])
        for key, number in unread.rows.items():
            self.failed_keys.add(key, number)
        for row, key, kind, changes, referral in outcomes:
            if id(referral) not in refused:
                self.context.outcome(SHEET, row, key, kind, changes)
        self.written = [(self.row_of[(r.member.pk, r.introduced_on)], r) for r in (*self.created, *self.updated)]

    def _changes(self, before: Referral, after: Referral) -> tuple:
        """The cells of the row that change the stored referral, as the export writes them (organisations by code)."""
        pairs = []
        for column in SHEET.columns:
            field = column.key
            if field in ORGANISATION_FIELDS:
                pairs.append(
                    (field, self._code(getattr(before, f"{field}_id")), self._code(getattr(after, f"{field}_id")))
                )
            elif field in WRITTEN_FIELDS:
                pairs.append((field, getattr(before, field), getattr(after, field)))
        return differences(SHEET, pairs)

    def _code(self, pk: int | None) -> str:
        """An organisation's code by primary key: those the import has read, else from the database."""
        if pk is None:
            return ""
        codes = getattr(self, "_codes", None)
        if codes is None or pk not in codes:
            codes = self._codes = {org.pk: code for code, org in self.organisations.by_code.items() if org}
        if pk not in codes:
            codes[pk] = Organisation.objects.filter(pk=pk).values_list("code", flat=True).first() or ""
        return codes[pk]

    def _own_cells(self, row: Row, values: dict) -> None:
        """What the row's own cells say, when the row cannot be checked whole (its member is refused or unknown):
        the organisations it names, its days in the future, the order of its own days. Only the row's own values
        are read: nothing stored is quoted."""
        for key in ORGANISATION_FIELDS:
            self._organisation(row, values, key)
        self._own_days(row, values)

    def _own_days(self, row: Row, values: dict) -> None:
        problems: dict[str, list] = {}
        for field in DATE_FIELDS:
            day = values.get(field)
            if day is not None and day > self.today:
                problems[field] = [ValidationError(FUTURE, code="future", params={"today": day_text(self.today)})]
        received_on = values.get("received_on")
        fresh = Referral(
            introduced_on=values["introduced_on"],
            received_on=received_on,
            placed_on=values.get("placed_on") or (received_on if values.get("residential_cell") else None),
            reported_on=values.get("reported_on"),
            ended_on=values.get("ended_on"),
            end_reason=values.get("end_reason") or "",
        )
        try:
            fresh.clean()
        except ValidationError as exc:
            for field, errors in exc.update_error_dict({}).items():
                if field in problems or field not in (*DATE_FIELDS, "end_reason") or not self.data.has(field):
                    continue
                problems[field] = errors
        if problems:
            self.context.validation_problems(SHEET, row, ValidationError(problems), self._columns())

    def _columns(self) -> dict[str, str]:
        """The column of each field's problems: a field without a column of its own goes to the nearest one."""
        columns = {**COLUMNS, "member": COLUMNS["card_number"]}
        for field in ("placed_on", "received_on", "ended_on", "end_reason", "letter_number"):
            if not self.data.has(field):
                columns[field] = COLUMNS["residential_cell" if field == "placed_on" else "introduced_on"]
        return columns

    def write(self) -> None:
        """Write the referrals checked, each with the residential cell its placements leave it in (set by the
        placements' phase)."""
        if self.updated:
            self.context.update(self.updated, Referral, ["updated_at", *WRITTEN_FIELDS])
        if self.created:
            self.context.create(self.created, Referral)

    def _existing_referrals(self, member_pks: set[int]) -> dict[tuple, Referral]:
        found = {}
        pks = list(member_pks)
        for start in range(0, len(pks), 2000):
            for referral in Referral.objects.filter(member__in=pks[start : start + 2000]):
                found[(referral.member_id, referral.introduced_on)] = referral
        return found

    def _organisation(self, row: Row, values: dict, key: str) -> Organisation | bool | None:
        """The organisation a column names: None when blank, False after a problem."""
        code = values.get(key)
        if not code:
            return None
        if code in self.organisations.failed_codes:
            self.context.depends(SHEET, row, COLUMNS[key], ORGANISATIONS, self.organisations.failed_codes, code)
            return False
        organisation = self.organisations.organisation(code)
        if organisation is None:
            self.context.problem(
                SHEET,
                row,
                COLUMNS[key],
                _("No organisation has the code “%(code)s”, in this workbook or in the database.") % {"code": code},
            )
            return False
        return organisation

    def _home_on(self, member: Member, day) -> Organisation:
        """The member's home on ``day`` (its history as this import leaves it), or of today when none is recorded."""
        for period in self.homes.get(member.pk, ()):
            if period.started_on <= day and (period.ended_on is None or day < period.ended_on):
                return period.organisation
        return member.home_organisation

    def _issuer_of(self, home: Organisation) -> Organisation | None:
        if home.pk not in self._issuers:
            self._issuers[home.pk] = grassroots_of(home)
        return self._issuers[home.pk]

    def _sees(self, card: str, member: Member) -> bool:
        """Whether the user may see the member: stored and in their sight, or written by this import (which the
        sheet of members allowed)."""
        return self.members_seen is None or member.pk in self.members_seen or card in self.members.written_cards

    def _build(self, row: Row, values: dict, member: Member, before: Referral | None) -> Referral | None:
        """The referral as the row would leave it, before any rule is checked; None after a problem of the row's
        own cells (an organisation code that does not exist)."""
        context = self.context
        ward = self._organisation(row, values, "receiving_ward")
        cell = self._organisation(row, values, "residential_cell")
        issuer = self._organisation(row, values, "issuing_organisation")
        if ward is None:
            context.problem(SHEET, row, COLUMNS["receiving_ward"], _("This cell must not be blank."))
        if ward is None or False in (ward, cell, issuer):
            self._own_days(row, values)  # the row's own days, which need no organisation
            return None
        issuer = (
            issuer
            or (before.issuing_organisation if before else None)
            or self._issuer_of(self._home_on(member, values["introduced_on"]))
        )
        referral = Referral(member=member, introduced_by=context.by) if before is None else _copy(before)
        referral.member = member
        referral.introduced_on = values["introduced_on"]
        referral.issuing_organisation = issuer
        referral.receiving_ward = ward
        # A column left out of the sheet leaves the field as it is (as it is by default on a new referral).
        for field in ("letter_number", "received_on", "ended_on", "reported_on", "end_reason"):
            if field in values:
                setattr(referral, field, values[field])
        if "residential_cell" in values:
            referral.residential_cell = cell
            if cell is None:
                referral.placed_on = None
            elif not (before and before.residential_cell_id == cell.pk and before.placed_on):
                referral.placed_on = referral.received_on  # placed when received, unless the sheet says when
        if values.get("placed_on") and referral.residential_cell_id:
            referral.placed_on = values["placed_on"]
        if before is None:
            referral.received_by = context.by if referral.received_on else None
            referral.placed_by = context.by if referral.placed_on else None
            referral.reported_by = context.by if referral.reported_on else None
            referral.ended_by = context.by if referral.ended_on else None
        return referral

    def _rules(self, row: Row, referral: Referral, member: Member) -> bool:
        """The workflow's rules for the row; False after recording its problems."""
        context = self.context
        errors = Errors()
        if referral.residential_cell_id and referral.received_on is None:
            errors.add(
                "received_on",
                _("A member is placed in a residential cell once the ward has received the referral: give the day."),
                code="placed_not_received",
            )
        self._check(errors, referral, member)
        problems = {field: [error] for field, error in errors.items()}
        try:
            # The relations are checked above against rows read in bulk; the recorders are the importer: validating
            # them again would be a query per relation and row (twice the preview's time).
            self.checks.full_clean(referral, exclude=[*RELATIONS, *problems])
        except ValidationError as exc:
            for field, field_errors in exc.update_error_dict({}).items():
                problems.setdefault(field, field_errors)
        if problems:
            context.validation_problems(SHEET, row, ValidationError(problems), self._columns())
            return False
        return True

    def _may_write(self, row: Row, card: str, member: Member, before: Referral | None, referral: Referral) -> bool:
        """The pages' rules. A new referral is recorded by those who may introduce the member (with a letter of
        their own organisations), or by the ward a new member of an outside organisation is registered with; its
        reception, placement and report only by its ward. A stored one is changed step by step by those who may
        record that step on it as it is stored (its issuer and ward, not the ward the row names), and not at all once
        it has ended: on the pages nothing is recorded after the end."""
        scope = self.context.scope
        if scope.everything:
            return True
        if before is None:
            return self._may_create(row, card, member, referral)
        changed_steps = [
            (right, changed, message)
            for right, fields, message in STEPS
            if (changed := [field for field in fields if getattr(before, field) != getattr(referral, field)])
        ]
        if before.ended_on is not None and changed_steps:
            fields = [field for _right, changed, _message in changed_steps for field in changed]
            self.context.problem(SHEET, row, self._column_of(fields), ENDED % {"date": day_text(before.ended_on)})
            return False
        allowed = True
        for right, changed, message in changed_steps:
            if not self.rights.may(right, before.pk):
                self.context.problem(SHEET, row, self._column_of(changed), message)
                allowed = False
        return allowed

    def _may_create(self, row: Row, card: str, member: Member, referral: Referral) -> bool:
        scope = self.context.scope
        registers = (
            member.home_organisation.kind == Kind.OUTSIDE
            and card in self.members.created_cards
            and scope.receives_at(referral.receiving_ward)
        )
        if member.pk not in self.introducible and not registers:
            self.context.problem(SHEET, row, COLUMNS["card_number"], INTRODUCTION_NOT_YOURS)
            return False
        issuer = referral.issuing_organisation
        own_letter = issuer is not None and (
            issuer.path.startswith(scope.workplace_paths)
            or (issuer.kind == Kind.OUTSIDE and issuer.pk == member.home_organisation_id)
        )
        allowed = True
        if not own_letter:
            self.context.problem(SHEET, row, self._column_of(["issuing_organisation_id"]), LETTER_NOT_YOURS)
            allowed = False
        recorded = [field for field in STEP_FIELDS["reception"] if getattr(referral, field) is not None]
        if recorded and not scope.receives_at(referral.receiving_ward):
            self.context.problem(SHEET, row, self._column_of(recorded), RECEPTION_NOT_YOURS)
            allowed = False
        return allowed

    def _column_of(self, fields: list[str]) -> str:
        """The column of the first of ``fields`` the sheet holds (placed_on follows the residential cell)."""
        for field in fields:
            key = field.removesuffix("_id")
            if self.data.has(key):
                return COLUMNS[key]
            if key == "placed_on" and self.data.has("residential_cell"):
                return COLUMNS["residential_cell"]
        return COLUMNS["card_number"]

    def check_written(self) -> None:
        """Once every sheet is written: each referral this import created or changed is still one the user may
        change (ends, at least), as it now stands."""
        if self.context.scope.everything or not self.written:
            return
        writable = self.context.scope.referrals_writable(referral.pk for _row, referral in self.written)
        for row, referral in self.written:
            if referral.pk not in writable:
                self.context.problem(SHEET, row, COLUMNS["card_number"], NOT_YOURS_AFTER_IMPORT)

    def _check(self, errors: Errors, referral: Referral, member: Member) -> None:
        """The workflow's rules, as of the referral's own days."""
        for field in DATE_FIELDS:
            day = getattr(referral, field)
            if day is not None and day > self.today:
                errors.add(
                    field,
                    _("This date is in the future (today is %(today)s)."),
                    code="future",
                    today=day_text(self.today),
                )
        introduced_on = referral.introduced_on
        if introduced_on < member.admitted_on:
            errors.add(
                "introduced_on",
                _("This date cannot be before the member's admission to the party (%(date)s)."),
                code="before_admission",
                date=day_text(member.admitted_on),
            )
        if member.left_on is not None and (introduced_on >= member.left_on or referral.ended_on is None):
            errors.add(
                "member", _("This member left the party on %(date)s."), code="left_party", date=day_text(member.left_on)
            )
        elif member.retired_on is not None and (introduced_on >= member.retired_on or referral.ended_on is None):
            errors.add(
                "member",
                _("This member retired on %(date)s; a retired member joins a residential cell instead."),
                code="retired",
                date=day_text(member.retired_on),
            )
        elif referral.ended_on is None and member.home_organisation.kind == Kind.RESIDENTIAL_CELL:
            errors.add(
                "member",
                _("This member belongs to a residential cell and lives there: there is nothing to introduce."),
                code="residential_member",
            )
        periods = self.members.exemptions.get(member.pk, [])
        exemption = exemptions_in_force(periods, introduced_on, Exemption.Kind.INTRODUCTION)
        if exemption is not None:
            errors.add(
                "member",
                _("This member is exempt from introduction since %(date)s."),
                code="exempt",
                date=day_text(exemption.started_on),
            )
        issuer = referral.issuing_organisation
        if issuer is None:
            errors.add(
                "issuing_organisation",
                _("An introduction is issued by a grassroots organisation or an outside organisation."),
                code="issuer_kind",
            )
        elif referral.ended_on is None or issuer.kind not in ISSUING_KINDS:
            # Issued by the member's organisation of the day of the letter: a member moved since by a restructure
            # keeps the letter of the organisation that ended. (An ended referral may have been issued by a workplace
            # the member has since left, and by one recorded before the histories were: not asked.)
            check_issuer(errors, Member(home_organisation=self._home_on(member, introduced_on)), issuer)
        check_ward(errors, referral.receiving_ward, introduced_on)
        cell = referral.residential_cell
        if cell is not None:
            check_residential_cell(errors, cell, referral.placed_on or introduced_on)
            if "residential_cell" not in errors and cell.parent_id != referral.receiving_ward_id:
                errors.add(
                    "residential_cell",
                    _("This residential cell does not belong to the receiving ward."),
                    code="referral_cell_in_ward",
                )

    def _check_sequences(self, existing: dict[tuple, Referral], written: dict[int, list]) -> set[int]:
        """A member's referrals, those already there and those of the sheet, follow one another: each ends on or
        before the next is introduced, and only the last may be open. Returns the ids of the sheet's referrals that
        break this (not to be written)."""
        refused: set[int] = set()
        stored: dict[int, list[Referral]] = {}
        for (member_pk, _day), referral in existing.items():
            if member_pk in written:
                stored.setdefault(member_pk, []).append(referral)
        for member_pk, rows in written.items():
            row_of = {referral.introduced_on: row for row, referral in rows}
            merged = {referral.introduced_on: referral for referral in stored.get(member_pk, [])}
            merged.update((referral.introduced_on, referral) for _row, referral in rows)
            sequence = sorted(merged.values(), key=lambda referral: referral.introduced_on)
            for earlier, later in itertools.pairwise(sequence):
                if earlier.ended_on is not None and earlier.ended_on <= later.introduced_on:
                    continue
                # The problem goes on the sheet's row (the later one when both are), and names the other referral.
                mine, other = (later, earlier) if later.introduced_on in row_of else (earlier, later)
                refused.add(id(mine))
                if other.pk is not None and other.introduced_on not in row_of and not self.rights.sees(other.pk):
                    message = OVERLAPS_HIDDEN
                elif other.ended_on is None:
                    message = OTHER_OPEN % {"ward": str(other.receiving_ward), "date": day_text(other.introduced_on)}
                elif other is earlier:
                    message = PREVIOUS_NOT_ENDED % {"date": day_text(other.ended_on)}
                else:
                    message = NEXT_ALREADY_INTRODUCED % {"date": day_text(other.introduced_on)}
                column = "ended_on" if mine is earlier and self.data.has("ended_on") else "introduced_on"
                self.context.problem(SHEET, row_of[mine.introduced_on], COLUMNS[column], message)
        return refused


def _date_or_none(value):
    """The day of a cell that may not be one (a row whose cells have problems, keyed as well as it can be)."""
    try:
        return as_date(value)
    except CellError:
        return None


def _copy(referral: Referral) -> Referral:
    copy = Referral(**{field.attname: getattr(referral, field.attname) for field in Referral._meta.concrete_fields})
    copy._state.adding = False
    copy._state.db = referral._state.db
    return copy


def _differs(before: Referral, after: Referral) -> bool:
    fields = [
        f"{name}_id" if name in ("issuing_organisation", "receiving_ward", "residential_cell") else name
        for name in WRITTEN_FIELDS
    ]
    return any(getattr(before, field) != getattr(after, field) for field in fields)


def check_open_referrals(context: ImportContext, members: MemberPhase, referrals: ReferralPhase) -> None:
    """Once both sheets are written: a member retired, gone from the party or exempt from introduction has no open
    referral (the workflow ends it in the same step: ``member_retire``, ``exemption_set``), whichever sheet made it so.
    """
    cards = [member.card_number for member in members.by_card.values() if member is not None and member.pk]
    exempt = Exemption.objects.filter(
        member=OuterRef("member"), kind=Exemption.Kind.INTRODUCTION, ended_on__isnull=True
    )
    for start in range(0, len(cards), 2000):
        open_referrals = (
            Referral.objects.filter(ended_on__isnull=True, member__card_number__in=cards[start : start + 2000])
            .filter(Q(member__retired_on__isnull=False) | Q(member__left_on__isnull=False) | Q(Exists(exempt)))
            .select_related("member", "receiving_ward")
        )
        for referral in open_referrals:
            member = referral.member
            if member.left_on:
                message = _("This member left the party on %(date)s.") % {"date": day_text(member.left_on)}
            elif member.retired_on:
                message = _("This member retired on %(date)s; a retired member joins a residential cell instead.") % {
                    "date": day_text(member.retired_on)
                }
            else:
                message = _(
                    "This member has an open referral to %(ward)s; end it (reason: exempted) before exempting the "
                    "member from introduction."
                ) % {"ward": str(referral.receiving_ward)}
            row = referrals.row_of.get((member.pk, referral.introduced_on))
            if row is not None:
                context.problem(SHEET, row, COLUMNS["ended_on"], message)
            elif member.card_number in members.row_of:
                context.problem(MEMBERS, members.row_of[member.card_number], MEMBER_COLUMNS["card_number"], message)
