"""Sheet "Quá trình sinh hoạt": each member's home from a day on, the history every figure of a past day reads.

A member given rows gets exactly that history: the row with the latest "Từ ngày" on or before a day is the home on
that day; the first row holds from the admission (the stored chain starts on ``admitted_on``); the latest row is the
member's cell of today (the sheet "Đảng viên", or as recorded). A member without rows keeps the stored history: a new
member has one home since admission; a stored member whose cell changes in the sheet "Đảng viên" is transferred from
today (from the day of retirement when the same row records the retirement into a residential cell, as the
retirement form does), and a corrected admission moves the first period's start with it.

Checked after the sheet "Đảng viên" (its members as they would be) and before it is written: the chains that change
are released (their rows deleted) before the members are written, and written again after (``periods``).
"""

import datetime

from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.periods import today
from dongha76.services import day_text
from members.models import Member, MemberHome
from members.services import MEMBER_HOME_KINDS
from workbooks.importing import periods
from workbooks.importing.changes import differences, key_text
from workbooks.importing.context import ImportContext, SheetCounts
from workbooks.importing.members import MemberPhase
from workbooks.importing.organisations import OrganisationPhase
from workbooks.importing.periods import FUTURE, Step
from workbooks.importing.scope import HISTORY_NOT_YOURS, HOME_NOT_YOURS, MEMBER_NOT_EDITABLE
from workbooks.layout import HOMES, MEMBERS
from workbooks.reading import Row, SheetData, as_text

SHEET = HOMES
COLUMNS = {column.key: column.header for column in SHEET.columns}
MEMBER_COLUMNS = {column.key: column.header for column in MEMBERS.columns}
UNKNOWN_CARD = _("No member has the card number “%(card)s”, in this workbook or in the database.")
BEFORE_ADMISSION = _("A member's home begins on or after the admission to the party (%(date)s).")
NOT_TODAYS_HOME = _(
    "The member's latest home must be their cell of today, %(code)s (column “Mã chi bộ” of the sheet “Đảng viên”, "
    "or as recorded)."
)
NOT_A_HOME = _("A member belongs to a cell or an outside organisation, not to a %(kind)s.")
NOT_EXISTING = _("This organisation did not exist on %(date)s.")
# The words of ``members.places`` for the same rules on the member's page.
MOVED_BEFORE_ADMISSION = _("The member moved to another home on %(date)s: the admission must be before that day.")
MOVED_BEFORE_CURRENT = _("The member has been in %(home)s since %(date)s: a new home starts on or after that day.")


class HomePhase:
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
        self.stored: dict[int, list[MemberHome]] = {}  # member pk -> stored rows, by start
        self.rewrite: dict[str, list[Step]] = {}  # card number -> the member's new chain (written whole)

    # -- checking --------------------------------------------------------------------------------------------------

    def check(self) -> None:
        """Every row of the sheet, then every member of the sheet "Đảng viên" without rows (or whose rows have a
        problem: their history is then planned as without rows, so that the later sheets are checked against a
        database the triggers accept; the import is refused anyway)."""
        by_card = self._rows() if self.data is not None else {}
        members = self.members
        members.load(by_card)
        self.organisations.preload(values["organisation"] for rows in by_card.values() for _row, values in rows)
        cards = {*by_card, *members.row_of}
        stored_pks = [member.pk for card in cards if (member := members.by_card.get(card)) and member.pk]
        self.stored = periods.stored_rows(MemberHome, "member", "organisation", stored_pks)
        sheet_pks = [member.pk for card in by_card if (member := members.by_card.get(card)) and member.pk]
        scope = self.context.scope
        self.seen = scope.members_seen(sheet_pks)
        self.editable = scope.members_editable(sheet_pks)
        given: set[str] = set()
        for card, rows in by_card.items():
            if card in members.failed_cards:
                for row, _values in rows:
                    self.context.depends(SHEET, row, COLUMNS["card_number"], MEMBERS, members.failed_cards, card)
                self._own_cells(rows)
                continue
            chain = self._given(card, rows)
            if chain is not None:
                self._plan(card, chain)
                given.add(card)
        for card in members.row_of:
            if card not in given:
                self._kept(card)

    def _rows(self) -> dict[str, list[tuple[Row, dict]]]:
        """The sheet's rows by card number, in the order of their day. A member one of whose rows has a problem of
        its own (a bad cell, a day given twice) is left out: without that row the others would tell another
        history."""
        context, counts = self.context, self.context.counts.setdefault(SHEET.key, SheetCounts())
        by_card: dict[str, list[tuple[Row, dict]]] = {}
        first_of: dict[tuple, int] = {}
        broken: set[str] = set()
        for row in self.data.rows:
            counts.rows += 1
            values = context.values(self.data, row)
            if values is None:
                broken.add(as_text(row.cells.get("card_number")))
                continue
            blank = next((key for key in ("card_number", "organisation", "started_on") if not values.get(key)), None)
            if blank is not None:
                context.problem(SHEET, row, COLUMNS[blank], _("This cell must not be blank."))
                broken.add(values.get("card_number") or "")
                continue
            key = (values["card_number"], values["started_on"])
            if key in first_of:
                context.duplicate(SHEET, row, COLUMNS["started_on"], first_of[key])
                broken.add(key[0])
                continue
            first_of[key] = row.number
            by_card.setdefault(key[0], []).append((row, values))
        for card in broken:
            # The member's other rows are not read as a history, but what is wrong with their own cells is told.
            self._own_cells(by_card.pop(card, []))
        for rows in by_card.values():
            rows.sort(key=lambda pair: pair[1]["started_on"])
        return by_card

    def _given(self, card: str, rows: list[tuple[Row, dict]]) -> list[Step] | None:
        """The chain the rows give, after the scope and the rules; None after a problem (reported)."""
        context, members = self.context, self.members
        member = members.by_card.get(card)
        first_row = rows[0][0]
        if member is None or not self._sees(card, member):
            for row, _values in rows:
                context.problem(SHEET, row, COLUMNS["card_number"], UNKNOWN_CARD % {"card": card})
            self._own_cells(rows)
            return None
        steps = self._own_cells(rows, future=False)
        if steps is None:
            periods.future_days(self.context, SHEET, rows, self.today)
            return None
        # As stored: the first home holds from the admission.
        admitted_on = member.admitted_on
        stored_steps = [
            (row, Step(step.place, admitted_on if index == 0 else step.started_on))
            for index, (row, step) in enumerate(steps)
        ]
        chain = periods.merged(step for _row, step in stored_steps)
        stored = self._stored_chain(member)
        changed = member.pk is None or periods.chain_key(chain) != periods.stored_key(stored, "organisation")
        # Scope before the rules, whose messages quote the member's admission and cell.
        if changed and not self._may_change(member):
            context.problem(SHEET, first_row, COLUMNS["organisation"], MEMBER_NOT_EDITABLE)
            return None
        if changed and not self._in_scope(stored_steps, chain, stored, first_row):
            return None
        ok = True
        for index, (row, step) in enumerate(steps):
            ok = self._row_rules(row, step, admitted_on, first=index == 0) and ok
        last_row, last = steps[-1]
        if last.place.pk != member.home_organisation_id:
            context.problem(
                SHEET, last_row, COLUMNS["organisation"], NOT_TODAYS_HOME % {"code": member.home_organisation.code}
            )
            ok = False
        if not ok:
            return None
        self._count(card, rows, stored_steps, stored)
        return chain

    def _own_cells(self, rows: list[tuple[Row, dict]], *, future: bool = True) -> list[tuple[Row, Step]] | None:
        """The rows' organisations (and, with ``future``, days), which need neither the member nor the other rows:
        the steps, or None after a problem (reported; a row naming a refused organisation names its row)."""
        return periods.own_steps(
            self.context, SHEET, rows, self.organisations, "organisation", self.today, future=future
        )

    def _row_rules(self, row: Row, step: Step, admitted_on: datetime.date, *, first: bool) -> bool:
        """The row's own rules. A move is into an organisation existing on its day; the first home holds from the
        admission whenever its organisation was founded (as the cell of the sheet "Đảng viên" does: members admitted
        long before the tree was recorded keep their cell of today)."""
        context, organisation, day = self.context, step.place, step.started_on
        problems = []
        if day > self.today:
            problems.append(("started_on", FUTURE % {"today": day_text(self.today)}))
        elif day < admitted_on:
            problems.append(("started_on", BEFORE_ADMISSION % {"date": day_text(admitted_on)}))
        if organisation.kind not in MEMBER_HOME_KINDS:
            problems.append(("organisation", NOT_A_HOME % {"kind": organisation.get_kind_display()}))
        elif not first and not organisation.is_valid_on(day):
            problems.append(("organisation", NOT_EXISTING % {"date": day_text(day)}))
        for key, message in problems:
            context.problem(SHEET, row, COLUMNS[key], message)
        return not problems

    def _in_scope(self, steps: list[tuple[Row, Step]], chain: list[Step], stored: list, first_row: Row) -> bool:
        """Every period the rows add, move or remove is in an organisation the importer may make a home (as for the
        sheet "Đảng viên"'s cell): a period already recorded as it is needs no right."""
        scope = self.context.scope
        if scope.everything:
            return True
        kept = set(periods.stored_key(stored, "organisation"))
        ok = True
        for row, step in steps:
            if (step.place.pk, step.started_on) not in kept and not scope.may_be_home(step.place):
                self.context.problem(SHEET, row, COLUMNS["organisation"], HOME_NOT_YOURS)
                ok = False
        new = set(periods.chain_key(chain))
        for period in stored:
            if (period.organisation_id, period.started_on) not in new and not scope.may_be_home(period.organisation):
                self.context.problem(
                    SHEET,
                    first_row,
                    COLUMNS["started_on"],
                    HISTORY_NOT_YOURS % {"organisation": str(period.organisation), "date": day_text(period.started_on)},
                )
                ok = False
        return ok

    def _count(self, card: str, rows: list[tuple[Row, dict]], steps: list[tuple[Row, Step]], stored: list) -> None:
        """Per row: unchanged when a stored period starts that day in that organisation (the first row: the first
        period, from the admission), updated when one starts that day elsewhere, created otherwise; each row created
        or updated is recorded with its key as the sheet shows it ("Số thẻ · Từ ngày")."""
        context = self.context
        counts = context.counts[SHEET.key]
        by_day = {period.started_on: period for period in stored}
        for (row, values), (_row, step) in zip(rows, steps, strict=True):
            period = by_day.get(step.started_on)
            key = key_text(card, values["started_on"])
            if period is None:
                counts.create += 1
                context.outcome(SHEET, row, key, "create")
            elif period.organisation_id == step.place.pk:
                counts.unchanged += 1
            else:
                counts.update += 1
                changes = differences(SHEET, [("organisation", period.organisation, step.place)])
                context.outcome(SHEET, row, key, "update", changes)

    def _kept(self, card: str) -> None:
        """A member of the sheet "Đảng viên" without rows here: a new one has one home since admission; a stored one
        keeps its history, transferred when its cell changes, its first period following the admission."""
        member = self.members.by_card[card]
        if member.pk is None:
            self._plan(card, [Step(member.home_organisation, member.admitted_on)])
            return
        stored = self._stored_chain(member)
        chain = [Step(period.organisation, period.started_on) for period in stored]
        before = self.members.stored.get(card)
        row = self.members.row_of[card]
        if len(chain) > 1 and member.admitted_on >= chain[1].started_on:
            self.context.problem(
                MEMBERS,
                row,
                MEMBER_COLUMNS["admitted_on"],
                MOVED_BEFORE_ADMISSION % {"date": day_text(chain[1].started_on)},
            )
        else:
            chain[0] = Step(chain[0].place, member.admitted_on)
        if member.home_organisation_id != chain[-1].place.pk:
            on = self.today
            newly_retired = member.retired_on is not None and (before is None or before.retired_on is None)
            if newly_retired and member.home_organisation.kind == Organisation.Kind.RESIDENTIAL_CELL:
                on = member.retired_on  # retired into the residential cell from that day, as ``member_retire`` does
            current = chain[-1]
            if on < current.started_on:
                self.context.problem(
                    MEMBERS,
                    row,
                    MEMBER_COLUMNS["home_organisation"],
                    MOVED_BEFORE_CURRENT % {"home": str(current.place), "date": day_text(current.started_on)},
                )
                on = current.started_on  # (written as a correction, so that the rest is checked as it would be)
            if on == current.started_on:
                chain.pop()  # a move on the first day of the period corrects it
                on = current.started_on
            chain = periods.merged([*chain, Step(member.home_organisation, on)])
        self._plan(card, chain)

    def _plan(self, card: str, chain: list[Step]) -> None:
        """Rewrite the member's history when it differs from the stored one."""
        member = self.members.by_card[card]
        stored = self.stored.get(member.pk, []) if member.pk else []
        if member.pk is None or periods.chain_key(chain) != periods.stored_key(stored, "organisation"):
            self.rewrite[card] = chain

    def _stored_chain(self, member: Member) -> list:
        """The stored periods of a stored member; for one stored without any (imported before the histories were
        kept), one period since admission in the cell recorded, which is then written."""
        if member.pk is None:
            return []
        stored = self.stored.get(member.pk)
        if stored:
            return stored
        before = self.members.stored.get(member.card_number) or member
        return [MemberHome(member_id=member.pk, organisation=before.home_organisation, started_on=before.admitted_on)]

    def _sees(self, card: str, member: Member) -> bool:
        """Stored and in the importer's sight, or written by this import (which the sheet "Đảng viên" allowed)."""
        return self.seen is None or member.pk is None or member.pk in self.seen or card in self.members.written_cards

    def _may_change(self, member: Member) -> bool:
        return member.pk is None or self.editable is None or member.pk in self.editable

    # -- writing ---------------------------------------------------------------------------------------------------

    def release(self) -> None:
        """Before the members are written: the stored periods of the histories rewritten are deleted (a member's
        current cell may change only while no open period says otherwise)."""
        pks = [self.members.by_card[card].pk for card in self.rewrite]
        self.context.deleting(MemberHome, "member", pks)
        periods.delete_rows(MemberHome, "member", pks)

    def write(self) -> None:
        """After the members are written: the new periods, each member's in the order of their start."""
        rows, by = [], self.context.by.pk if self.context.by else None
        for card, chain in self.rewrite.items():
            member = self.members.by_card[card]
            recorders = periods.recorded_by_of(self.stored.get(member.pk, []), "organisation")
            for step, ended_on in periods.periods(chain):
                recorder = recorders.get((step.place.pk, step.started_on, ended_on), by)
                rows.append(
                    MemberHome(
                        member_id=member.pk,
                        organisation=step.place,
                        started_on=step.started_on,
                        ended_on=ended_on,
                        recorded_by_id=recorder,
                    )
                )
        rows.sort(key=lambda home: (home.member_id, home.started_on))
        self.context.insert(rows, MemberHome)
