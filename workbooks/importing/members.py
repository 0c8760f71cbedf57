"""Sheet "Đảng viên": members created and updated by card number, with their working status and exemption.

Thousands of rows: each is validated with the model's own rules (field validators and ``clean()``) and the service's
(``members.services.check_member``) without a query of its own, against members and exemptions read once in bulk;
the rows are then written in bulk with their history. The database's constraints stay the last line of defence.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import national_id_answers_left
from branches.models import Organisation
from dongha76.periods import today
from dongha76.privacy import mask_national_id
from dongha76.services import Errors, day_text
from members.models import Exemption, Member
from members.services import check_member
from workbooks.importing.changes import differences
from workbooks.importing.context import UPDATE_NOT_TICKED, Failed, ImportContext, SheetCounts
from workbooks.importing.organisations import OrganisationPhase
from workbooks.importing.scope import (
    CARD_OUT_OF_SIGHT,
    MEMBER_NOT_EDITABLE,
    NOT_YOURS_AFTER_IMPORT,
    OUTSIDE_MEMBER_WITHOUT_REFERRAL,
    national_ids_found_too_often,
)
from workbooks.importing.validating import ModelChecks
from workbooks.layout import MEMBERS, ORGANISATIONS
from workbooks.reading import Problem, Row, SheetData

SHEET = MEMBERS
COLUMNS = {column.key: column.header for column in SHEET.columns}
# Fields a row sets when its column is present (the required ones always are).
PLAIN_FIELDS = (
    "full_name",
    "date_of_birth",
    "gender",
    "admitted_on",
    "national_id",
    "phone",
    "residential_address",
    "official_on",
    "left_on",
    "left_reason",
)
TEXT_FIELDS = {"national_id", "phone", "residential_address", "left_reason"}


class MemberPhase:
    def __init__(self, context: ImportContext, data: SheetData | None, organisations: OrganisationPhase):
        self.context = context
        self.data = data
        self.organisations = organisations
        self.by_card: dict[str, Member | None] = {}
        self.exemptions: dict[int, list[Exemption]] = {}  # member pk -> periods, latest first (after this phase)
        self.failed_cards = Failed()
        self.row_of: dict[str, Row] = {}  # card number -> its row, for the rows checked
        self.written_cards: set[str] = set()  # card numbers of the members this import creates or changes
        self.created_cards: set[str] = set()
        # The stored members of the sheet the user may look at and may edit (None: all), read in bulk by ``run``.
        self.seen: set[int] | None = None
        self.editable: set[int] | None = None
        self.hidden_ids: set[str] = set()  # national IDs of the sheet held by members the importer does not see
        self.today = today()
        # The stored member of each row checked (None: a new one), to compare with what the row makes of it.
        self.stored: dict[str, Member | None] = {}
        self._writes: tuple[list, list, list, list] = ([], [], [], [])
        self.checks = ModelChecks(Member)  # Member.full_clean, each field's valid values remembered

    # -- reading what is there -------------------------------------------------------------------------------------

    def load(self, cards) -> None:
        """Read the members with these card numbers, and their exemptions, in a few queries."""
        missing = [card for card in set(cards) if card and card not in self.by_card]
        found = []
        for start in range(0, len(missing), 2000):
            chunk = missing[start : start + 2000]
            found.extend(Member.objects.filter(card_number__in=chunk).select_related("home_organisation"))
            for card in chunk:
                self.by_card.setdefault(card, None)
        for member in found:
            self.by_card[member.card_number] = member
        pks = [member.pk for member in found]
        for start in range(0, len(pks), 2000):
            for exemption in Exemption.objects.filter(member__in=pks[start : start + 2000]).order_by("-started_on"):
                self.exemptions.setdefault(exemption.member_id, []).append(exemption)

    def member(self, card: str) -> Member | None:
        if card not in self.by_card:
            self.load([card])
        return self.by_card[card]

    # -- the sheet -------------------------------------------------------------------------------------------------

    def check(self) -> None:
        """Check every row; what is to be written waits for ``write`` (the home histories are released between)."""
        counts = self.context.counts.setdefault(SHEET.key, SheetCounts())
        if self.data is None:
            return
        counts.rows += len(self.data.rows)
        rows = self.context.keyed_rows(self.data, "card_number", self.failed_cards)
        national_ids: dict[str, int] = {}
        for card, (row, values) in list(rows.items()):
            national_id = values.get("national_id")
            if national_id and national_id in national_ids:
                self.context.duplicate(SHEET, row, COLUMNS["national_id"], national_ids[national_id])
                self.failed_cards.add(card, row)
                del rows[card]
            elif national_id:
                national_ids[national_id] = row.number
        self.load(rows)
        self.organisations.preload(values["home_organisation"] for _row, values in rows.values())
        taken_ids = self._national_ids_taken(national_ids, set(rows))
        stored = [member.pk for card in rows if (member := self.by_card.get(card)) is not None]
        self.seen = self.context.scope.members_seen(stored)
        self.editable = self.context.scope.members_editable(stored)
        self._answer_national_ids_found(rows, taken_ids)
        created: list[Member] = []
        updated: list[Member] = []
        new_exemptions: list[Exemption] = []
        changed_exemptions: list[Exemption] = []
        for card, (row, values) in rows.items():
            if card in self.failed_cards:
                continue
            existing = self.by_card.get(card)
            exemption_before = _exemption_cells(self.exemptions.get(existing.pk) if existing else None)
            outcome = self._row(row, values, taken_ids, new_exemptions, changed_exemptions)
            if outcome is None:
                self.failed_cards.add(card, row)
                continue
            member, changed = outcome
            if member.pk is None:
                created.append(member)
                counts.create += 1
                self.created_cards.add(card)
                self.context.outcome(SHEET, row, card, "create")
            elif changed:
                updated.append(member)
                counts.update += self.context.update_existing  # a row with a problem is not counted
                if not self.context.update_existing:
                    # Told, and the member still written as the row has it (the import is refused anyway): the
                    # rows of the later sheets are checked against it, so that the tick is all that is left to do.
                    self.context.problem(SHEET, row, COLUMNS["card_number"], UPDATE_NOT_TICKED)
                self.context.outcome(SHEET, row, card, "update", self._changes(existing, member, exemption_before))
            else:
                counts.unchanged += 1
            if changed:
                self.written_cards.add(card)
            self.stored[card] = self.by_card.get(card)
            self.by_card[card] = member
            self.row_of[card] = row
        self._writes = (created, updated, new_exemptions, changed_exemptions)

    def write(self) -> None:
        self._write(*self._writes)
        self._writes = ([], [], [], [])

    def _national_ids_taken(self, national_ids: dict[str, int], cards: set[str]) -> dict[str, str]:
        """National IDs of the file already held by members not in the file, or by another card in it. Those held by
        members whose national ID the importer does not see in full go to ``self.hidden_ids``."""
        taken, holders = {}, {}
        ids = list(national_ids)
        for start in range(0, len(ids), 2000):
            for card, national_id, pk in Member.objects.filter(national_id__in=ids[start : start + 2000]).values_list(
                "card_number", "national_id", "pk"
            ):
                taken[national_id] = card
                holders[pk] = national_id
        seen = self.context.scope.national_ids_seen(holders)
        self.hidden_ids = set() if seen is None else {nid for pk, nid in holders.items() if pk not in seen}
        return taken

    def _answer_national_ids_found(self, rows: dict, taken_ids: dict[str, str]) -> None:
        """Telling that a national ID typed in the sheet belongs to a member the importer does not see is an answer
        about that member (``audit.services.national_id_answers_left``): it is logged, and beyond the day's limit
        the rows are refused without being named."""
        found = [
            card
            for card, (_row, values) in rows.items()
            if (national_id := values.get("national_id"))
            and national_id in self.hidden_ids
            and taken_ids.get(national_id, card) != card
            and self._may_change(self.by_card.get(card))
        ]
        if not found:
            return
        context = self.context
        named = len(found) <= national_id_answers_left(context.by)
        context.national_ids_found = len(found) if named else 1  # logged once the import's transaction is over
        if not named:
            self.failed_cards.update(found)
            context.problems.append(
                Problem(SHEET.title, None, COLUMNS["national_id"], national_ids_found_too_often(len(found)))
            )

    def _row(self, row, values, taken_ids, new_exemptions, changed_exemptions) -> tuple[Member, bool] | None:
        """Check one row: first whether the user may write it (as stored and as it would be), then the rules. The
        rules' messages may quote the stored member, so they are held until the scope has answered."""
        context = self.context
        card = values["card_number"]
        existing = self.by_card.get(card)
        if existing is not None and self.seen is not None and existing.pk not in self.seen:
            context.problem(SHEET, row, COLUMNS["card_number"], CARD_OUT_OF_SIGHT)
            return None
        home_code = values["home_organisation"]
        home = None
        if not home_code:
            context.problem(SHEET, row, COLUMNS["home_organisation"], _("This cell must not be blank."))
        elif home_code in self.organisations.failed_codes:
            failed = self.organisations.failed_codes
            context.depends(SHEET, row, COLUMNS["home_organisation"], ORGANISATIONS, failed, home_code)
        elif (home := self.organisations.organisation(home_code)) is None:
            context.problem(
                SHEET,
                row,
                COLUMNS["home_organisation"],
                _("No organisation has the code “%(code)s”, in this workbook or in the database.")
                % {"code": home_code},
            )
        # Without its cell the row is refused, but its other cells are still checked (every problem in one
        # upload), as far as the importer may change the member: the rules' messages may quote the stored one.
        if home is None and not self._may_change(existing):
            return None
        member = Member() if existing is None else _copy(existing)
        member.card_number = card
        for field in PLAIN_FIELDS:
            if field in values:
                value = values[field]
                setattr(member, field, value if value is not None or field not in TEXT_FIELDS else "")
        if home is not None:
            member.home_organisation = home
        if not self._may_change(existing):
            # Masked to the importer: neither compared (a row would then say whether a guess of it is right) nor
            # written (nothing of this member is, but an unchanged row).
            member.national_id = existing.national_id
        errors = Errors()
        self._working(member, values, existing, errors)
        held: list[tuple[str, object]] = []  # (column, message), said once the scope allows the row
        exemption_new: list[Exemption] = []
        exemption_changed: list[Exemption] = []
        self._exemption(values, member, existing, exemption_new, exemption_changed, held)
        changed = existing is None or _differs(existing, member) or bool(exemption_new or exemption_changed)
        # A row that changes nothing needs no scope (one's own export imports back unchanged); a row with a problem
        # is about changing something, so it needs the scope before its problems are told.
        if home is not None and (changed or errors or held) and not self._may_write(existing, home):
            context.problem(SHEET, row, COLUMNS["home_organisation"], MEMBER_NOT_EDITABLE)
            return None
        check_member(errors, member)
        national_id = values.get("national_id")
        # (Whether a national ID is another member's is told only once the scope has allowed the row's cell.)
        if home is not None and national_id and taken_ids.get(national_id, card) != card:
            errors.add("national_id", _("Another member already has this national ID."), code="national_id_taken")
        member.set_search_name()
        problems = {field: [error] for field, error in errors.items()}
        try:
            self.checks.full_clean(member, exclude=["home_organisation", *problems])
        except ValidationError as exc:
            for field, field_errors in exc.update_error_dict({}).items():
                problems.setdefault(field, field_errors)
        if problems:
            columns = {
                **COLUMNS,
                "retired_on": COLUMNS["retired_on"] if self.data.has("retired_on") else "Đang công tác",
            }
            context.validation_problems(SHEET, row, ValidationError(problems), columns)
        for column, message in held:
            context.problem(SHEET, row, column, message)
        if problems or held or home is None:
            return None
        new_exemptions.extend(exemption_new)
        changed_exemptions.extend(exemption_changed)
        for exemption in exemption_new:
            if member.pk:
                self.exemptions.setdefault(member.pk, []).insert(0, exemption)
            else:
                member._imported_exemption = exemption
        return member, changed

    def _changes(self, before: Member, after: Member, exemption_before: dict) -> tuple:
        """The cells of the row that change the stored member, as the export writes them; a national ID masked, before
        and after, as the member's history shows it to anyone (seeing one in full is a step of its own, logged)."""
        periods = self.exemptions.get(after.pk) or []
        exemption_after = _exemption_cells(periods)
        pairs = []
        for column in SHEET.columns:
            key = column.key
            if key in exemption_before:
                pairs.append((key, exemption_before[key], exemption_after[key]))
            elif key == "working":
                pairs.append((key, before.retired_on is None, after.retired_on is None))
            elif key == "home_organisation":
                pairs.append((key, before.home_organisation, after.home_organisation))
            elif key != "card_number":
                pairs.append((key, getattr(before, key), getattr(after, key)))
        found = differences(SHEET, pairs)
        # Compared in full, shown masked (a change of the hidden digits still shows as a change).
        return tuple(
            (header, mask_national_id(old), mask_national_id(new)) if header == COLUMNS["national_id"] else change
            for change in found
            for header, old, new in [change]
        )

    def _may_change(self, existing: Member | None) -> bool:
        """Whether the importer may change the stored member at all (a new one: yes, where its home allows)."""
        return existing is None or self.editable is None or existing.pk in self.editable

    def _may_write(self, existing: Member | None, home) -> bool:
        """The member page's rule: a stored member is changed by those who may edit it (``members_editable_by``),
        and its home becomes only one they may choose."""
        scope = self.context.scope
        if scope.everything:
            return True
        if not self._may_change(existing):
            return False
        return (existing is not None and existing.home_organisation_id == home.pk) or scope.may_be_home(home)

    def check_written(self) -> None:
        """Once every sheet is written: each member this import created or changed is the user's to edit, as it
        now stands (a ward's new member of an outside organisation must have been referred to the ward)."""
        if self.context.scope.everything or not self.written_cards:
            return
        written = {self.by_card[card].pk: card for card in self.written_cards}
        editable = self.context.scope.members_editable(written)
        for pk, card in written.items():
            if pk not in editable:
                member = self.by_card[card]
                outside = member.home_organisation.kind == Organisation.Kind.OUTSIDE
                message = OUTSIDE_MEMBER_WITHOUT_REFERRAL if outside else NOT_YOURS_AFTER_IMPORT
                self.context.problem(SHEET, self.row_of[card], COLUMNS["home_organisation"], message)

    def _working(self, member: Member, values: dict, existing: Member | None, errors: Errors) -> None:
        """Working: no retirement date. Not working: retired on the day given, or the day already recorded, or else
        since admission (so that figures of past days count the member as retired, not as working)."""
        retired_on = values.get("retired_on")
        if values["working"]:
            if retired_on:
                errors.add(
                    "retired_on",
                    _("A member marked as working has no retirement date; clear one or the other."),
                    code="working_and_retired",
                )
            member.retired_on = None
        else:
            member.retired_on = retired_on or (existing.retired_on if existing else None) or member.admitted_on

    def _exemption(self, values, member, existing, new_exemptions, changed_exemptions, held) -> bool:
        """The row's exemption is the member's latest period: the same one (kind and start) is updated, a later one
        is added (ending the one in force), and none lifts the one in force today. Problems go to ``held`` as
        (column, message)."""
        introduction, activities = values["exempt_introduction"], values["exempt_activities"]
        periods = self.exemptions.get(existing.pk, []) if existing else []
        latest = periods[0] if periods else None
        if introduction and activities:
            held.append(
                (
                    COLUMNS["exempt_activities"],
                    _("A member is exempt either from introduction or from residence activities, not from both."),
                )
            )
            return False
        kind = Exemption.Kind.INTRODUCTION if introduction else Exemption.Kind.ACTIVITIES if activities else None
        if kind is None:
            if latest is not None and latest.ended_on is None:
                if latest.started_on >= self.today:
                    held.append(
                        (
                            COLUMNS["exempt_introduction"],
                            _("The exemption in force began today; it cannot be lifted on the same day."),
                        )
                    )
                    return False
                latest.ended_on = self.today
                changed_exemptions.append(latest)
            return True
        same = latest if latest is not None and latest.kind == kind else None
        started_on = values.get("exempt_from") or (same.started_on if same else None) or member.admitted_on
        same = same if same is not None and same.started_on == started_on else None
        ended_on = values.get("exempt_until", same.ended_on if same else None)
        reason = values.get("exempt_reason") or (same.reason if same else "") or str(_("Recorded from a workbook"))
        column_from = COLUMNS["exempt_from"] if self.data.has("exempt_from") else COLUMNS[kind_column(kind)]
        problem = None
        if started_on < member.admitted_on:
            problem = (
                column_from,
                _("The exemption cannot begin before the admission (%(date)s).")
                % {"date": day_text(member.admitted_on)},
            )
        elif started_on > self.today or (ended_on and ended_on > self.today):
            problem = (
                column_from,
                _("This date is in the future (today is %(today)s).") % {"today": day_text(self.today)},
            )
        elif ended_on is not None and ended_on <= started_on:
            problem = (COLUMNS["exempt_until"], _("An exemption is lifted after the day it started."))
        elif same is None and latest is not None and started_on <= latest.started_on:
            problem = (
                column_from,
                _("The exemption must begin after the member's latest one (since %(date)s).")
                % {"date": day_text(latest.started_on)},
            )
        if problem:
            held.append(problem)
            return False
        if same is not None:
            if (same.ended_on, same.reason) != (ended_on, reason):
                same.ended_on, same.reason = ended_on, reason
                changed_exemptions.append(same)
            return True
        if latest is not None and latest.ended_on is None:
            latest.ended_on = started_on
            changed_exemptions.append(latest)
        exemption = Exemption(
            member=member,
            kind=kind,
            reason=reason,
            started_on=started_on,
            ended_on=ended_on,
            recorded_by=self.context.by,
        )
        new_exemptions.append(exemption)
        return True

    def _write(self, created, updated, new_exemptions, changed_exemptions) -> None:
        context = self.context
        if created:
            context.create(created, Member)
            for member in created:
                exemption = getattr(member, "_imported_exemption", None)
                self.exemptions[member.pk] = [exemption] if exemption else []
        if updated:
            now = timezone.now()
            for member in updated:
                member.updated_at = now
            fields = ["card_number", "search_name", "home_organisation", "retired_on", "updated_at", *PLAIN_FIELDS]
            context.update(updated, Member, fields)
        if changed_exemptions:
            context.update(changed_exemptions, Exemption, ["ended_on", "reason"])
        if new_exemptions:
            for exemption in new_exemptions:
                exemption.member = exemption.member  # the member's primary key, now that it has one
            context.create(new_exemptions, Exemption)


def _exemption_cells(periods: list[Exemption] | None) -> dict:
    """The exemption columns as the export writes them: the member's latest period (begun last), whatever its end."""
    latest = periods[0] if periods else None
    kind = latest.kind if latest else None
    return {
        "exempt_introduction": kind == Exemption.Kind.INTRODUCTION,
        "exempt_activities": kind == Exemption.Kind.ACTIVITIES,
        "exempt_from": latest.started_on if latest else None,
        "exempt_until": latest.ended_on if latest else None,
        "exempt_reason": latest.reason if latest else "",
    }


def kind_column(kind: str) -> str:
    return "exempt_introduction" if kind == Exemption.Kind.INTRODUCTION else "exempt_activities"


def _copy(member: Member) -> Member:
    copy = Member.objects.model(
        **{field.attname: getattr(member, field.attname) for field in Member._meta.concrete_fields}
    )
    copy._state.adding = False
    copy._state.db = member._state.db
    return copy


def _differs(before: Member, after: Member) -> bool:
    fields = ("home_organisation_id", "retired_on", *PLAIN_FIELDS)
    return any(getattr(before, field) != getattr(after, field) for field in fields)


def exemptions_in_force(periods: list[Exemption], day: datetime.date, kind: str) -> Exemption | None:
    for period in periods:
        if period.kind == kind and period.started_on <= day and (period.ended_on is None or period.ended_on > day):
            return period
    return None
