"""Sheet "Tổ chức": organisations created and updated through the tree's own services, parents before children; a
successor (``Mã kế tục``) created by the same sheet after the organisation it takes over from is set once it exists."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from branches.services import organisation_create, organisation_update
from workbooks.importing.changes import differences
from workbooks.importing.context import UPDATE_NOT_TICKED, Failed, ImportContext, SheetCounts
from workbooks.layout import ORGANISATIONS
from workbooks.reading import Row, SheetData

SHEET = ORGANISATIONS
FIELDS = ("name", "kind", "parent", "sector", "valid_from", "valid_to", "successor", "address")
RELATIONS = ("parent", "successor")
UNKNOWN_CODE = _("No organisation has the code “%(code)s”, in this workbook or in the database.")
COLUMNS = {column.key: column.header for column in SHEET.columns}
# A row refused only for want of the tick: written (later rows are checked against it) but, as a row with a problem,
# not counted.
GUARDED = "guarded"


class OrganisationPhase:
    def __init__(self, context: ImportContext, data: SheetData | None):
        self.context = context
        self.data = data
        self.by_code: dict[str, Organisation] = {}  # every organisation the later sheets may name, by code
        self.failed_codes = Failed()  # codes of rows with a problem: later rows naming them name the refused row
        self.moved = False
        # (row, code, successor's code) of the rows whose successor is a new organisation of the sheet written after
        # them: set once every row is written.
        self.later_successors: list[tuple[Row, str, str]] = []
        self.sheet_codes: set[str] = set()

    def organisation(self, code: str) -> Organisation | None:
        """An organisation by code: written by this import, or already in the database."""
        if code not in self.by_code:
            self.by_code[code] = Organisation.objects.filter(code=code).first()
        return self.by_code[code]

    def preload(self, codes) -> None:
        missing = [code for code in set(codes) if code and code not in self.by_code]
        for start in range(0, len(missing), 2000):
            for organisation in Organisation.objects.filter(code__in=missing[start : start + 2000]):
                self.by_code[organisation.code] = organisation

    def run(self) -> None:
        counts = self.context.counts.setdefault(SHEET.key, SheetCounts())
        if self.data is None:
            return
        counts.rows += len(self.data.rows)
        rows = self.context.keyed_rows(self.data, "code", self.failed_codes)
        self.sheet_codes = set(rows)
        self.preload([*rows, *(values.get(key) for _row, values in rows.values() for key in RELATIONS)])
        for code in self._parents_first(rows):
            row, values = rows[code]
            if code in self.failed_codes:
                continue
            outcome = self._write(row, values)
            if outcome is None:
                self.failed_codes.add(code, row)
            elif outcome != GUARDED:
                setattr(counts, outcome, getattr(counts, outcome) + 1)
        self._set_later_successors()
        if self.moved:
            # A move re-rooted subtrees in the database: read the paths of every organisation kept here again.
            codes, self.by_code = list(self.by_code), {}
            self.preload(codes)

    def _parents_first(self, rows: dict[str, tuple[Row, dict]]) -> list[str]:
        """The codes in an order where a parent given in the sheet comes before its children; the rows of a cycle
        are reported and left out."""
        order, state = [], {}  # state: 1 visiting, 2 done
        for start in rows:
            path = []
            code = start
            while code in rows and state.get(code) != 2:
                if state.get(code) == 1:
                    cycle = path[path.index(code) :]
                    for member in cycle:
                        row = rows[member][0]
                        self.context.problem(
                            SHEET,
                            row,
                            COLUMNS["parent"],
                            _("These organisations stand under each other in a circle: %(codes)s.")
                            % {"codes": " → ".join([*cycle, code])},
                        )
                        self.failed_codes.add(member, row)
                        state[member] = 2
                    break
                state[code] = 1
                path.append(code)
                code = rows[code][1].get("parent") if self.data.has("parent") else None
            for member in reversed(path):
                if state.get(member) != 2:
                    state[member] = 2
                    order.append(member)
        return order

    def _write(self, row: Row, values: dict) -> str | None:
        code = values["code"]
        existing = self.organisation(code)
        fields = {key: values[key] for key in FIELDS if key in values}
        # Every cell of the row is checked before it is refused: all its problems are told in one upload.
        ok = True
        for key in ("name", "kind"):
            if not fields.get(key):
                self.context.problem(SHEET, row, COLUMNS[key], _("This cell must not be blank."))
                ok = False
        later_successor = None
        for key in RELATIONS:
            if key not in fields:
                continue
            related_code = fields[key]
            if not related_code:
                fields[key] = None
            elif related_code in self.failed_codes:
                self.context.depends(SHEET, row, COLUMNS[key], SHEET, self.failed_codes, related_code)
                ok = False
            elif (related := self.organisation(related_code)) is not None:
                fields[key] = related
            elif key == "successor" and self._in_sheet(related_code):
                later_successor = fields.pop(key)  # a new organisation of the sheet, not written yet
            else:
                self.context.problem(SHEET, row, COLUMNS[key], UNKNOWN_CODE % {"code": related_code})
                ok = False
        if not ok:
            return None
        if later_successor is not None:
            self.later_successors.append((row, code, later_successor))
        if existing is None:
            if not self._in_scope(row, existing, fields):
                return None
            if fields.get("valid_from") is None:
                fields.pop("valid_from", None)
            if fields.get("sector") == "":
                fields.pop("sector")
            for optional_text in ("address",):
                fields[optional_text] = fields.get(optional_text) or ""
            try:
                self.by_code[code] = organisation_create(
                    code=code, by=self.context.by, reason=self.context.reason, **fields
                )
                self.context.created(Organisation, [self.by_code[code]])
            except ValidationError as exc:
                self.context.validation_problems(SHEET, row, exc, COLUMNS)
                return None
            self.context.outcome(SHEET, row, code, "create")
            return "create"
        if fields.get("valid_from") is None:
            fields.pop("valid_from", None)  # blank: as it is
        if fields.get("sector") == "":
            fields.pop("sector")
        changed = {
            key: value
            for key, value in fields.items()
            if (value.pk if isinstance(value, Organisation) else value)
            != (getattr(existing, f"{key}_id") if key in RELATIONS else getattr(existing, key))
        }
        if not changed and later_successor is None:
            return "unchanged"  # nothing is written, so the scope does not matter
        if not self._in_scope(row, existing, fields):
            self.later_successors = [entry for entry in self.later_successors if entry[1] != code]
            return None
        if not self.context.update_existing:
            # Told, and the row still checked as it would be written (the import is refused anyway): the rows
            # depending on it are checked against it, so that the tick is the only thing left to do.
            self.context.problem(SHEET, row, COLUMNS["code"], UPDATE_NOT_TICKED)
        self._record_update(row, code, existing, changed, later_successor)
        self.moved = self.moved or "parent" in changed
        if changed:
            try:
                with self.context.updating(Organisation, [existing]):
                    self.by_code[code] = organisation_update(
                        organisation=existing, by=self.context.by, reason=self.context.reason, **changed
                    )
            except ValidationError as exc:
                self.context.validation_problems(SHEET, row, exc, COLUMNS)
                return None
        return "update" if self.context.update_existing else GUARDED

    def _record_update(self, row: Row, code: str, existing: Organisation, changed: dict, later_successor) -> None:
        """The row's changes, before the organisation is written (the service changes ``existing`` itself)."""

        def shown(key, value):
            if key in RELATIONS:
                return value.code if isinstance(value, Organisation) else (value or "")
            return value

        pairs = [(key, shown(key, getattr(existing, key)), shown(key, value)) for key, value in changed.items()]
        if later_successor is not None:
            pairs.append(("successor", shown("successor", existing.successor), later_successor))
        self.context.outcome(SHEET, row, code, "update", differences(SHEET, pairs))

    def _in_sheet(self, code: str) -> bool:
        return code in self.sheet_codes

    def _set_later_successors(self) -> None:
        """The successors that are new organisations of the sheet written after the organisation they took over from:
        set now that they exist."""
        for row, code, successor_code in self.later_successors:
            if code in self.failed_codes:
                continue  # its own row says what is wrong
            if successor_code in self.failed_codes:
                self.context.depends(SHEET, row, COLUMNS["successor"], SHEET, self.failed_codes, successor_code)
                self.failed_codes.add(code, row)
                continue
            organisation, successor = self.by_code.get(code), self.organisation(successor_code)
            if organisation is None:
                continue
            try:
                with self.context.updating(Organisation, [organisation]):
                    self.by_code[code] = organisation_update(
                        organisation=organisation, by=self.context.by, reason=self.context.reason, successor=successor
                    )
            except ValidationError as exc:
                self.context.validation_problems(SHEET, row, exc, COLUMNS)
                self.failed_codes.add(code, row)

    def _in_scope(self, row: Row, existing: Organisation | None, fields: dict) -> bool:
        """An officer writes the cells of their own subtree: a committee its subordinate cells, a ward its
        residential cells (and its agency's cell). The shape of the tree above them (committees, grassroots cells,
        wards) and the kind of an existing organisation are the city's to change."""
        scope = self.context.scope
        if scope.everything:
            return True
        kind = fields.get("kind")
        parent = fields.get("parent", existing.parent if existing else None)
        outside = (existing is not None and not scope.covers(existing)) or (
            parent is None or not scope.covers(parent) or kind in (Organisation.Kind.ROOT, Organisation.Kind.OUTSIDE)
        )
        if not outside and (
            kind not in Organisation.SUBORDINATE_CELL_KINDS or (existing is not None and existing.kind != kind)
        ):
            self.context.problem(
                SHEET,
                row,
                COLUMNS["kind"],
                _(
                    "You create and change the cells of your organisation; other kinds of organisation, and the kind "
                    "of one, are changed by the city committee."
                ),
            )
            return False
        if outside:
            self.context.problem(
                SHEET,
                row,
                COLUMNS["code"],
                _("This organisation is outside the part of the tree you manage; ask the city committee to import it."),
            )
            return False
        return True
