"""Sheet "Chuyển chi bộ nơi cư trú": the re-placements of a referral (after a khu phố merger, a move within the ward),
each in a residential cell from a day on, the referral staying open.

A referral's first placement is its row of the sheet "Giới thiệu" (``Mã chi bộ nơi cư trú`` from ``Ngày phân công``,
or the reception day); a referral given rows here gets exactly that chain, and its current cell
(``Referral.residential_cell``) is the latest row's. A referral without rows keeps its stored re-placements, its first
placement following its row of "Giới thiệu". Each re-placement comes after the first placement and before the
referral's end, one a day, in a residential cell existing on that day.

Scope: as recording a placement on that referral (its ward: ``referrals_receivable_by``), the cells in the ward it
was referred to or a ward that took that one over (``Organisation.successor``), an ended referral unchanged.

Checked after the sheet "Giới thiệu" and before it is written: the chains that change are released (their rows
deleted) before the referrals are written, and written again after (``periods``). The triggers want a referral's cell
in its receiving ward unless it was re-placed: a referral whose latest cell is in a ward that took over is written
with its first cell, then moved to its latest once its closed periods are in.
"""

import dataclasses

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.periods import today
from dongha76.services import Errors, day_text
from members.models import Member, Placement, Referral
from members.services import check_residential_cell
from workbooks.importing import periods
from workbooks.importing.changes import differences, key_text
from workbooks.importing.context import ImportContext, SheetCounts
from workbooks.importing.members import MemberPhase
from workbooks.importing.organisations import OrganisationPhase
from workbooks.importing.periods import FUTURE, Step
from workbooks.importing.referrals import ENDED, ReferralPhase
from workbooks.importing.scope import CELL_NOT_THE_WARDS, RECEPTION_NOT_YOURS, ReferralRights
from workbooks.layout import MEMBERS, PLACEMENTS, REFERRALS
from workbooks.reading import CellError, Row, SheetData, as_date, as_text

SHEET = PLACEMENTS
COLUMNS = {column.key: column.header for column in SHEET.columns}
REFERRAL_COLUMNS = {column.key: column.header for column in REFERRALS.columns}
UNKNOWN_CARD = _("No member has the card number “%(card)s”, in this workbook or in the database.")
NO_REFERRAL = _("The member has no referral introduced on %(date)s, in the sheet “Giới thiệu” or recorded.")
NOT_PLACED = _(
    "This referral has no placement yet: its first residential cell and day are those of the sheet “Giới thiệu” "
    "(Mã chi bộ nơi cư trú, Ngày phân công)."
)
# The words of ``members.places`` for the same rules on the referral's page.
NOT_AFTER_PLACEMENT = _("The member has been in %(cell)s since %(date)s: a new placement starts after that day.")
AFTER_END = _("This referral ended on %(date)s.")
# A row of "Giới thiệu" against the re-placements recorded (when the sheet gives none for the referral).
REPLACED_BEFORE_PLACEMENT = _(
    "The member was placed again in %(cell)s on %(date)s: the first placement must be before that day."
)
REPLACED_BUT_NOT_PLACED = _(
    "The member was placed again in %(cell)s on %(date)s: the first placement cannot be removed."
)
ENDS_BEFORE_REPLACEMENT = _("The member was placed again in %(cell)s on %(date)s: the referral ends after that day.")


@dataclasses.dataclass
class Plan:
    referral: Referral  # as it will be written (from the sheet "Giới thiệu"), or as stored
    chain: list[Step]
    stored: list[Placement]
    rewrite: bool


class PlacementPhase:
    def __init__(
        self,
        context: ImportContext,
        data: SheetData | None,
        organisations: OrganisationPhase,
        members: MemberPhase,
        referrals: ReferralPhase,
    ):
        self.context = context
        self.data = data
        self.organisations = organisations
        self.members = members
        self.referrals = referrals
        self.today = today()
        self.plans: dict[tuple, Plan] = {}  # (card number, introduced on) -> the referral's placements
        self.rights = ReferralRights(everything=True)  # on the stored referrals named only in this sheet
        self.members_seen: set[int] | None = None
        self._wards: dict[int, set[int]] = {}

    # -- checking --------------------------------------------------------------------------------------------------

    def check(self) -> None:
        """Every row of the sheet, then every referral of the sheet "Giới thiệu" without rows; then the cell each
        referral is written with."""
        by_key = self._rows() if self.data is not None else {}
        referrals = self.referrals
        self.members.load(card for card, _day in by_key)
        self.organisations.preload(values["residential_cell"] for rows in by_key.values() for _row, values in rows)
        stored = self._stored_referrals([key for key in by_key if key not in referrals.final])
        given: set[tuple] = set()
        for key, rows in by_key.items():
            if key in referrals.failed_keys or key[0] in self.members.failed_cards:
                for row, _values in rows:
                    if key in referrals.failed_keys:
                        self.context.depends(
                            SHEET, row, COLUMNS["introduced_on"], REFERRALS, referrals.failed_keys, key
                        )
                    else:
                        failed = self.members.failed_cards
                        self.context.depends(SHEET, row, COLUMNS["card_number"], MEMBERS, failed, key[0])
                self._own_cells(rows)
                continue
            plan = self._given(key, rows, stored.get(key))
            if plan is not None:
                self.plans[key] = plan
                given.add(key)
        for key, referral in referrals.final.items():
            if key not in given:
                self.plans[key] = self._kept(key, referral)
        self._cells_to_write()

    def _rows(self) -> dict[tuple, list[tuple[Row, dict]]]:
        """The sheet's rows by referral (card number, introduced on), in the order of their day. A referral one of
        whose rows has a problem of its own is left out: without that row the others would tell another history."""
        context, counts = self.context, self.context.counts.setdefault(SHEET.key, SheetCounts())
        by_key: dict[tuple, list[tuple[Row, dict]]] = {}
        first_of: dict[tuple, int] = {}
        broken: set[tuple] = set()
        required = ("card_number", "introduced_on", "residential_cell", "started_on")
        for row in self.data.rows:
            counts.rows += 1
            values = context.values(self.data, row)
            if values is None:
                broken.add((as_text(row.cells.get("card_number")), _date_or_none(row.cells.get("introduced_on"))))
                continue
            blank = next((key for key in required if not values.get(key)), None)
            if blank is not None:
                context.problem(SHEET, row, COLUMNS[blank], _("This cell must not be blank."))
                broken.add((values.get("card_number"), values.get("introduced_on")))
                continue
            key = (values["card_number"], values["introduced_on"])
            if (*key, values["started_on"]) in first_of:
                context.duplicate(SHEET, row, COLUMNS["started_on"], first_of[(*key, values["started_on"])])
                broken.add(key)
                continue
            first_of[(*key, values["started_on"])] = row.number
            by_key.setdefault(key, []).append((row, values))
        for key in broken:
            # The referral's other rows are not read as a history, but what is wrong with their own cells is told.
            self._own_cells(by_key.pop(key, []))
        for rows in by_key.values():
            rows.sort(key=lambda pair: pair[1]["started_on"])
        return by_key

    def _stored_referrals(self, keys: list[tuple]) -> dict[tuple, Referral]:
        """The stored referrals the sheet names that the sheet "Giới thiệu" does not hold, as that sheet would show
        them (their first placement's cell), with their placements and the importer's rights on them."""
        members = [member for card, _day in keys if (member := self.members.by_card.get(card)) and member.pk]
        days = {key[1] for key in keys}
        found: dict[tuple, Referral] = {}
        pks = [member.pk for member in members]
        for start in range(0, len(pks), periods.CHUNK):
            for referral in Referral.objects.filter(
                member__in=pks[start : start + periods.CHUNK], introduced_on__in=days
            ).select_related("member", "receiving_ward"):
                found[(referral.member.card_number, referral.introduced_on)] = referral
        found = {key: referral for key, referral in found.items() if key in set(keys)}
        placements = periods.stored_rows(
            Placement, "referral", "residential_cell", (referral.pk for referral in found.values())
        )
        for referral in found.values():
            rows = placements.get(referral.pk, [])
            self.referrals.stored_placements[referral.pk] = rows
            referral._current_cell_id = referral.residential_cell_id
            if rows:
                referral.residential_cell_id = rows[0].residential_cell_id
        scope = self.context.scope
        self.rights = scope.referral_rights(referral.pk for referral in found.values())
        self.members_seen = scope.members_seen(pks)
        return found

    def _stored_of(self, referral: Referral) -> Referral | None:
        """The referral as stored (as the sheet "Giới thiệu" shows it), None for a new one."""
        if referral.pk is None:
            return None
        return self.referrals.existing.get((referral.member.pk, referral.introduced_on), referral)

    def _sees(self, card: str, member: Member, in_sheet: bool) -> bool:
        if in_sheet:
            return True  # the sheet "Giới thiệu" allowed its row
        return self.members_seen is None or member.pk in self.members_seen or card in self.members.written_cards

    def _given(self, key: tuple, rows: list[tuple[Row, dict]], stored_referral: Referral | None) -> Plan | None:
        """The placements the rows give, after the scope and the rules; None after a problem (reported)."""
        context = self.context
        card, introduced_on = key
        member = self.members.by_card.get(card)
        referral = self.referrals.final.get(key, stored_referral)
        in_sheet = key in self.referrals.final
        if member is None or not self._sees(card, member, in_sheet):
            for row, _values in rows:
                context.problem(SHEET, row, COLUMNS["card_number"], UNKNOWN_CARD % {"card": card})
            self._own_cells(rows)
            return None
        if referral is None or not (in_sheet or self.rights.sees(referral.pk)):
            for row, _values in rows:
                context.problem(SHEET, row, COLUMNS["introduced_on"], NO_REFERRAL % {"date": day_text(introduced_on)})
            self._own_cells(rows)
            return None
        first_row = rows[0][0]
        steps = self._own_cells(rows, future=False)
        if steps is None:
            periods.future_days(self.context, SHEET, rows, self.today)
            return None
        stored = self.referrals.stored_placements.get(referral.pk, []) if referral.pk else []
        if referral.placed_on is None or referral.residential_cell_id is None:
            context.problem(SHEET, first_row, COLUMNS["introduced_on"], NOT_PLACED)
            return None
        first = Step(referral.residential_cell, referral.placed_on)
        chain = periods.merged([first, *(step for _row, step in steps)])
        changed = referral.pk is None or periods.chain_key(chain) != periods.stored_key(stored, "residential_cell")
        # Scope before the rules, whose messages quote the referral's days.
        if changed and not self._in_scope(referral, steps, stored, first_row):
            return None
        ok = True
        for row, step in steps:
            ok = self._row_rules(row, step, referral, first) and ok
        if not ok:
            return None
        self._count(key, steps, stored)
        return Plan(referral, chain, stored, rewrite=changed)

    def _own_cells(self, rows: list[tuple[Row, dict]], *, future: bool = True) -> list[tuple[Row, Step]] | None:
        """The rows' cells (and, with ``future``, days), which need neither the referral nor the other rows: the
        steps, or None after a problem (reported; a row naming a refused organisation names its row)."""
        return periods.own_steps(
            self.context, SHEET, rows, self.organisations, "residential_cell", self.today, future=future
        )

    def _in_scope(self, referral: Referral, steps: list[tuple[Row, Step]], stored: list, first_row: Row) -> bool:
        """As recording a placement on the referral as stored: by its ward, not once it has ended; each new
        re-placement in a cell of that ward or of a ward that took it over."""
        scope = self.context.scope
        if scope.everything:
            return True
        before = self._stored_of(referral)
        if before is None:
            allowed = scope.receives_at(referral.receiving_ward)
        elif before.ended_on is not None:
            self.context.problem(SHEET, first_row, COLUMNS["started_on"], ENDED % {"date": day_text(before.ended_on)})
            return False
        else:
            rights = self.referrals.rights if before.pk in self.referrals.rights.seen else self.rights
            allowed = rights.may("reception", before.pk)
        if not allowed:
            self.context.problem(SHEET, first_row, COLUMNS["residential_cell"], RECEPTION_NOT_YOURS)
            return False
        kept = set(periods.stored_key(stored, "residential_cell"))
        wards = self._wards_taking_over(referral.receiving_ward)
        ok = True
        for row, step in steps:
            if (step.place.pk, step.started_on) not in kept and step.place.parent_id not in wards:
                self.context.problem(SHEET, row, COLUMNS["residential_cell"], CELL_NOT_THE_WARDS)
                ok = False
        return ok

    def _wards_taking_over(self, ward: Organisation) -> set[int]:
        """The ward and those that took it over, one after the other (``Organisation.successor``)."""
        if ward.pk not in self._wards:
            found, current = {ward.pk}, ward
            while current.successor_id is not None and current.successor_id not in found:
                current = current.successor
                found.add(current.pk)
            self._wards[ward.pk] = found
        return self._wards[ward.pk]

    def _row_rules(self, row: Row, step: Step, referral: Referral, first: Step) -> bool:
        day, errors = step.started_on, Errors()
        problems = []
        if day > self.today:
            problems.append(("started_on", FUTURE % {"today": day_text(self.today)}))
        elif day <= first.started_on:
            problems.append(
                (
                    "started_on",
                    NOT_AFTER_PLACEMENT % {"cell": str(first.place), "date": day_text(first.started_on)},
                )
            )
        elif referral.ended_on is not None and day >= referral.ended_on:
            problems.append(("started_on", AFTER_END % {"date": day_text(referral.ended_on)}))
        check_residential_cell(errors, step.place, day)
        for _field, error in errors.items():
            for message in error.messages:
                problems.append(("residential_cell", message))
        for key, message in problems:
            self.context.problem(SHEET, row, COLUMNS[key], message)
        return not problems

    def _count(self, key: tuple, steps: list[tuple[Row, Step]], stored: list) -> None:
        """Per row: unchanged when a stored re-placement starts that day in that cell, updated when one starts that
        day elsewhere, created otherwise; each row created or updated is recorded with its key as the sheet shows it
        ("Số thẻ · Ngày giới thiệu · Từ ngày")."""
        context = self.context
        counts = context.counts[SHEET.key]
        by_day = {period.started_on: period for period in stored[1:]}
        for row, step in steps:
            period = by_day.get(step.started_on)
            text = key_text(*key, step.started_on)
            if period is None:
                counts.create += 1
                context.outcome(SHEET, row, text, "create")
            elif period.residential_cell_id == step.place.pk:
                counts.unchanged += 1
            else:
                counts.update += 1
                changes = differences(SHEET, [("residential_cell", period.residential_cell, step.place)])
                context.outcome(SHEET, row, text, "update", changes)

    def _kept(self, key: tuple, referral: Referral) -> Plan:
        """A referral of the sheet "Giới thiệu" without rows here: its first placement is its row's, its stored
        re-placements stay (and must still come after it, and before the end)."""
        stored = self.referrals.stored_placements.get(referral.pk, []) if referral.pk else []
        placed = referral.placed_on is not None and referral.residential_cell_id is not None
        chain = [Step(referral.residential_cell, referral.placed_on)] if placed else []
        if len(stored) > 1:
            later = [Step(period.residential_cell, period.started_on) for period in stored[1:]]
            problem = None
            if not placed:
                problem = ("residential_cell", REPLACED_BUT_NOT_PLACED, later[0])
            elif referral.placed_on >= later[0].started_on:
                problem = ("placed_on", REPLACED_BEFORE_PLACEMENT, later[0])
            elif referral.ended_on is not None and referral.ended_on <= later[-1].started_on:
                problem = ("ended_on", ENDS_BEFORE_REPLACEMENT, later[-1])
            if problem is None:
                chain = periods.merged([*chain, *later])
            else:
                field, message, step = problem
                row = self.referrals.row_of[(referral.member.pk, referral.introduced_on)]
                self.context.problem(
                    REFERRALS,
                    row,
                    self.referrals._column_of([field]),
                    message % {"cell": str(step.place), "date": day_text(step.started_on)},
                )
                # Checked on as it would be without the row's change (a referral without a placement has none).
                chain = [Step(period.residential_cell, period.started_on) for period in stored] if placed else []
        changed = referral.pk is None or periods.chain_key(chain) != periods.stored_key(stored, "residential_cell")
        return Plan(referral, chain, stored, rewrite=changed)

    def _cells_to_write(self) -> None:
        """The cell each referral of the sheet "Giới thiệu" is written with: its latest placement's, or the first
        when the latest is in a ward that took over (the triggers accept it there only once a period is closed)."""
        for plan in self.plans.values():
            referral, chain = plan.referral, plan.chain
            latest = chain[-1].place if chain else None
            if latest is not None and plan.rewrite and latest.parent_id != referral.receiving_ward_id:
                latest = chain[0].place  # moved to the latest by ``write``
            referral.residential_cell = latest

    # -- writing ---------------------------------------------------------------------------------------------------

    def release(self) -> None:
        """Before the referrals are written: the stored placements of the chains rewritten are deleted."""
        pks = [plan.referral.pk for plan in self.plans.values() if plan.rewrite]
        self.context.deleting(Placement, "referral", pks)
        periods.delete_rows(Placement, "referral", pks)

    def write(self) -> None:
        """After the referrals are written: the closed periods, then each referral's latest cell where it is not
        written yet, then the open periods."""
        by = self.context.by.pk if self.context.by else None
        closed, open_, moved = [], [], []
        written = {id(referral) for referral in (*self.referrals.created, *self.referrals.updated)}
        now = timezone.now()
        for plan in self.plans.values():
            if not plan.rewrite or not plan.chain:
                continue
            referral = plan.referral
            recorders = periods.recorded_by_of(plan.stored, "residential_cell")
            for step, ended_on in periods.periods(plan.chain):
                placement = Placement(
                    referral_id=referral.pk,
                    residential_cell=step.place,
                    started_on=step.started_on,
                    ended_on=ended_on,
                    recorded_by_id=recorders.get((step.place.pk, step.started_on, ended_on), by),
                )
                (open_ if ended_on is None else closed).append(placement)
            latest = plan.chain[-1].place
            if id(referral) in written:
                stays = referral.residential_cell_id == latest.pk  # written with its first cell, or its latest
            else:
                stays = bool(plan.stored) and plan.stored[-1].residential_cell_id == latest.pk
            if not stays:
                referral.residential_cell = latest
                referral.updated_at = now
                moved.append(referral)
        closed.sort(key=lambda placement: (placement.referral_id, placement.started_on))
        self.context.insert(closed, Placement)
        if moved:
            self.context.update(moved, Referral, ["residential_cell", "updated_at"])
        self.context.insert(open_, Placement)


def _date_or_none(value):
    """The day of a cell that may not be one (a row whose cells have problems, keyed as well as it can be)."""
    try:
        return as_date(value)
    except CellError:
        return None
