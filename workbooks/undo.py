"""Undoing an import: the journal of the rows it wrote, and the undo that puts them back.

Every database row an applied import writes is journalled in the order of writing: ``ImportContext.create`` and
``update`` (members, exemptions, referrals), the organisations' services, and the dated histories' ``release`` (the
periods deleted) and ``write`` (the periods created). A write journals the row's values before it (read from the
database just before, so that they are what the row held, not what the import meant); ``store_journal`` keeps the
journal after the import succeeded as ``ImportedRow`` records, each with the values after the write (the next write's
"before", or the row as the import left it). A preview (dry run) keeps no journal: it is rolled back anyway.

``workbook_undo`` puts the rows back in one transaction, when every row still holds what the import left in it: the
rows it created are deleted, those it updated get their former values, the periods it deleted come back, and the
models with history get a record per row put back ("Undo of the import ..."). The order is the one the database's
triggers accept (``members.places``): the periods the import wrote go first; the owners (members, referrals) get
their former place while they have no period; the former periods come back last, closed ones first, a referral whose
former cell is in a ward that took over being written with its first period's cell until its closed periods are in.
"""

import dataclasses
import datetime
import decimal
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from api import deletions
from branches.access import Access
from dongha76.names import person_name
from dongha76.services import User, day_text, save_recorded
from workbooks.models import ImportedRow, WorkbookImport

UNDO_WITHIN = datetime.timedelta(days=7)
CHUNK = 2000
LISTED = 20  # rows named in a refusal; the others are counted
HOME, PLACEMENT = "members.memberhome", "members.placement"
PERIODS = (HOME, PLACEMENT)
PERIOD_OWNER = {HOME: "member_id", PLACEMENT: "referral_id"}
# Recomputed from the parent by ``Organisation.save()``: a move of an ancestor changes it without changing the row.
IGNORED = {"branches.organisation": frozenset({"path"})}
Action = ImportedRow.Action
logger = logging.getLogger(__name__)

NOT_YOURS = _("Only the person who imported a workbook can undo it.")
NOT_IMPORTED = _("Only an imported workbook can be undone; this one is not (or has been undone already).")
TOO_LATE = _("An import can be undone within 7 days; this one was imported on %(date)s.")
NO_JOURNAL = _("This import was made before imports could be undone: it cannot be undone.")
MAY_NOT_IMPORT = _("You may no longer import workbooks, so you cannot undo this import.")
CHANGED_SINCE = _("Nothing was undone: rows this import wrote have changed since.")
OUT_OF_SCOPE = _("Nothing was undone: rows this import wrote are now outside the part of the tree you manage.")
REFUSED_BY_DATABASE = _(
    "Nothing was undone: the database refused to put the rows back (something else changed since the import)."
)


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields if not field.generated]


def _json(value):
    """A value as JSON holds it: dates and times in ISO, decimals and UUIDs as text."""
    if isinstance(value, (datetime.date, datetime.time)):  # datetime.datetime is a date
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def _read(model: type[models.Model], pks: Iterable[int], *, lock: bool = False) -> dict[int, dict]:
    """The rows ``pks`` of ``model`` as {pk: {attname: JSON value}}, in a query per chunk."""
    attnames = [field.attname for field in _fields(model)]
    pk_name = model._meta.pk.attname
    pks = sorted({pk for pk in pks if pk is not None})
    found: dict[int, dict] = {}
    for start in range(0, len(pks), CHUNK):
        rows = model._base_manager.filter(pk__in=pks[start : start + CHUNK]).order_by("pk")
        if lock:
            rows = rows.select_for_update()
        for row in rows.values(*attnames):
            found[row[pk_name]] = {name: _json(value) for name, value in row.items()}
    return found


def _instance(model: type[models.Model], values: dict) -> models.Model:
    """A stored row rebuilt from its journalled values."""
    by_attname = {field.attname: field for field in _fields(model)}
    instance = model(
        **{name: by_attname[name].to_python(value) for name, value in values.items() if name in by_attname}
    )
    instance._state.adding = False
    return instance


# -- the journal ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Entry:
    model: type[models.Model]
    pk: int
    action: str
    before: dict | None


class Journal:
    """The rows an import writes, in the order of writing, each with its values before the write."""

    def __init__(self):
        self.entries: list[Entry] = []

    def created(self, model: type[models.Model], objects: Iterable[models.Model]) -> None:
        self.entries.extend(Entry(model, obj.pk, Action.CREATED, None) for obj in objects)

    @contextmanager
    def updating(self, model: type[models.Model], objects: list[models.Model]) -> Iterator[None]:
        """Around the update of ``objects``: their values are read before it, journalled once it succeeded."""
        pks = [obj.pk for obj in objects]
        before = _read(model, pks)
        yield
        self.entries.extend(Entry(model, pk, Action.UPDATED, before[pk]) for pk in dict.fromkeys(pks) if pk in before)

    def deleting(self, model: type[models.Model], owner_field: str, owner_pks: Iterable[int]) -> None:
        """Before the rows of the owners ``owner_pks`` are deleted (the periods of a history rewritten)."""
        owner_pks = sorted({pk for pk in owner_pks if pk is not None})
        pks: list[int] = []
        for start in range(0, len(owner_pks), CHUNK):
            rows = model._base_manager.filter(**{f"{owner_field}__in": owner_pks[start : start + CHUNK]})
            pks.extend(rows.values_list("pk", flat=True))
        before = _read(model, pks)
        self.entries.extend(Entry(model, pk, Action.DELETED, values) for pk, values in before.items())


def store_journal(record: WorkbookImport, result) -> int:
    """Keep the journal of an applied import as its ``ImportedRow`` records (call it in the import's transaction).
    Returns how many rows were written."""
    journal: Journal | None = getattr(result, "journal", None)
    if not result.applied or journal is None or not journal.entries:
        return 0
    entries = journal.entries
    last: dict[tuple[str, int], Entry] = {}
    for entry in entries:
        last[(label(entry.model), entry.pk)] = entry
    pks_by_model: dict[type[models.Model], list[int]] = defaultdict(list)
    for entry in last.values():
        pks_by_model[entry.model].append(entry.pk)
    final = {label(model): _read(model, pks) for model, pks in pks_by_model.items()}
    rows: list[ImportedRow] = []
    next_before: dict[tuple[str, int], dict | None] = {}
    for position in range(len(entries) - 1, -1, -1):
        entry = entries[position]
        key = (label(entry.model), entry.pk)
        after = next_before[key] if key in next_before else final[key[0]].get(entry.pk)
        next_before[key] = entry.before
        rows.append(
            ImportedRow(
                record=record,
                position=position,
                model=key[0],
                object_pk=entry.pk,
                action=entry.action,
                before=entry.before,
                after=after,
            )
        )
    rows.reverse()
    ImportedRow.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


# -- the undo -------------------------------------------------------------------------------------------------------


def undo_state(record: WorkbookImport, user) -> dict | None:
    """For the record's page: whether its uploader may still undo it, and until when (None: not to be offered)."""
    if record.status != WorkbookImport.Status.IMPORTED or record.uploaded_by_id != getattr(user, "pk", None):
        return None
    if record.imported_at is None:
        return None
    until = record.imported_at + UNDO_WITHIN
    return {"until": until, "open": timezone.now() <= until}


def _scope(access: Access | None, by: User):
    from workbooks.importing.scope import ImportScope  # the import's package imports this module's journal

    return ImportScope.of(access, by)


@transaction.atomic
def workbook_undo(*, record: WorkbookImport, by: User, access: Access | None) -> WorkbookImport:
    """Put back every row the import wrote, or refuse (``ValidationError``) and change nothing."""
    record = WorkbookImport.objects.select_for_update().get(pk=record.pk)
    if record.uploaded_by_id != by.pk:
        raise ValidationError(NOT_YOURS, code="not_yours")
    if record.status != WorkbookImport.Status.IMPORTED or record.imported_at is None:
        raise ValidationError(NOT_IMPORTED, code="not_imported")
    if timezone.now() - record.imported_at > UNDO_WITHIN:
        raise ValidationError(
            TOO_LATE % {"date": day_text(timezone.localtime(record.imported_at).date())}, code="too_late"
        )
    scope = _scope(access, by)
    if not scope.may_import:
        raise ValidationError(MAY_NOT_IMPORT, code="may_not_import")
    entries = list(record.written_rows.order_by("position"))
    if not entries and any(
        sheet.get("create", 0) or sheet.get("update", 0) for sheet in (record.counts or {}).values()
    ):
        raise ValidationError(NO_JOURNAL, code="no_journal")
    model_of = {name: apps.get_model(name) for name in {entry.model for entry in entries}}
    last: dict[tuple[str, int], ImportedRow] = {}
    for entry in entries:
        last[(entry.model, entry.object_pk)] = entry
    current: dict[str, dict[int, dict]] = {}
    for name, model in model_of.items():
        current[name] = _read(model, [pk for (model_name, pk) in last if model_name == name], lock=True)
    changed = [
        (name, pk, current[name].get(pk), entry)
        for (name, pk), entry in last.items()
        if not _same(name, current[name].get(pk), entry.after)
    ]
    referring = _referring(model_of, entries)
    if changed or referring:
        raise ValidationError(_refusal(model_of, changed, referring), code="changed_since")
    outside = _outside(scope, model_of, entries, current)
    if outside:
        raise ValidationError(f"{OUT_OF_SCOPE} {'; '.join(outside[:LISTED])}{_more(len(outside))}", code="out_of_scope")
    reason = (gettext("Undo of the import %(name)s") % {"name": record.file_name})[:100]
    try:
        with transaction.atomic():
            _restore(entries, model_of, by=by, reason=reason)
    except (DatabaseError, ProtectedError, RestrictedError):
        logger.warning("The undo of the workbook import %s was refused by the database", record.pk, exc_info=True)
        raise ValidationError(REFUSED_BY_DATABASE, code="refused_by_database") from None
    record.status = WorkbookImport.Status.UNDONE
    record.undone_by = by
    record.undone_at = timezone.now()
    record.save(update_fields=["status", "undone_by", "undone_at"])
    return record


def _same(name: str, now: dict | None, after: dict | None) -> bool:
    if after is None or now is None:
        return after is None and now is None
    ignored = IGNORED.get(name, frozenset())
    return {k: v for k, v in now.items() if k not in ignored} == {k: v for k, v in after.items() if k not in ignored}


def _created_pks(entries: list[ImportedRow]) -> dict[str, set[int]]:
    """The rows the import created (its first write of them), by model."""
    seen: set[tuple[str, int]] = set()
    created: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        key = (entry.model, entry.object_pk)
        if key not in seen and entry.action == Action.CREATED:
            created[entry.model].add(entry.object_pk)
        seen.add(key)
    return created


def _referring(model_of: dict, entries: list[ImportedRow]) -> list[tuple[str, int, type, int]]:
    """Rows the import did not write that refer to a row it created (a comment on a new member, a member moved into a
    new cell): deleting the row would delete them, or the database would refuse. (model name, pk of the created row,
    referring model, its pk)."""
    journalled: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        journalled[entry.model].add(entry.object_pk)
    found = []
    for name, pks in _created_pks(entries).items():
        pks = sorted(pks)
        for relation in model_of[name]._meta.related_objects:
            related, field_name = relation.related_model, relation.field.name
            if getattr(related, "written_by_triggers", False):  # derived rows (the tree's ancestor relation)
                continue
            for start in range(0, len(pks), CHUNK):
                rows = related._base_manager.filter(**{f"{field_name}__in": pks[start : start + CHUNK]})
                if not relation.many_to_many:
                    rows = rows.exclude(pk__in=journalled.get(label(related), ()))
                for other_pk, target in rows.order_by("pk").values_list("pk", field_name)[: LISTED + 1]:
                    found.append((name, target, related, other_pk))
    return found


def _outside(scope, model_of: dict, entries: list[ImportedRow], current: dict) -> list[str]:
    """The rows the user may no longer write, as the import asks (None of each set: everything)."""
    if scope.everything:
        return []
    members: set[int] = set()
    referrals: set[int] = set()
    organisations: set[int] = set()
    for entry in entries:
        values = entry.after or entry.before or {}
        if entry.model == "members.member":
            members.add(entry.object_pk)
        elif entry.model in ("members.exemption", HOME):
            members.add(values.get("member_id"))
        elif entry.model == "members.referral":
            referrals.add(entry.object_pk)
        elif entry.model == PLACEMENT:
            referrals.add(values.get("referral_id"))
        elif entry.model == "branches.organisation":
            organisations.add(entry.object_pk)
            for name in ("parent_id", "successor_id"):
                organisations.add((entry.before or {}).get(name))
    from branches.models import Organisation
    from members.models import Member, Referral

    members = set(Member.objects.filter(pk__in=[pk for pk in members if pk]).values_list("pk", flat=True))
    referrals = set(Referral.objects.filter(pk__in=[pk for pk in referrals if pk]).values_list("pk", flat=True))
    found: list[str] = []
    editable = scope.members_editable(members)
    for member in Member.objects.filter(pk__in=members - editable).order_by("card_number")[: LISTED + 1]:
        found.append(gettext("member %(card)s (%(name)s)") % {"card": member.card_number, "name": member.full_name})
    rights = scope.referral_rights(referrals)
    kept = {pk for pk in referrals if any(rights.may(right, pk) for right in ("letter", "reception", "end"))}
    for referral in Referral.objects.filter(pk__in=referrals - kept).select_related("member")[: LISTED + 1]:
        found.append(_referral_text(referral.member.card_number, referral.introduced_on))
    for organisation in Organisation.objects.filter(pk__in=[pk for pk in organisations if pk]).order_by("code"):
        if not scope.covers(organisation):
            found.append(gettext("organisation %(code)s") % {"code": organisation.code})
    return found


# -- naming the rows of a refusal -----------------------------------------------------------------------------------


def _more(count: int) -> str:
    return (" " + gettext("(and %(count)s more)") % {"count": count - LISTED}) if count > LISTED else ""


def _referral_text(card: str, introduced_on) -> str:
    day = introduced_on if isinstance(introduced_on, datetime.date) else datetime.date.fromisoformat(introduced_on)
    return gettext("referral of %(card)s introduced on %(date)s") % {"card": card, "date": day_text(day)}


def _cards(member_pks: Iterable[int]) -> dict[int, tuple[str, str]]:
    from members.models import Member

    return {
        pk: (card, name)
        for pk, card, name in Member.objects.filter(pk__in={pk for pk in member_pks if pk}).values_list(
            "pk", "card_number", "full_name"
        )
    }


def _row_text(name: str, pk: int, values: dict, cards: dict, referrals: dict) -> str:
    """The row by its key as the workbook shows it (card number, code, card and day)."""
    if name == "members.member":
        card, full_name = cards.get(pk) or (values.get("card_number"), values.get("full_name"))
        return gettext("member %(card)s (%(name)s)") % {"card": card, "name": full_name}
    if name == "branches.organisation":
        return gettext("organisation %(code)s") % {"code": values.get("code", pk)}
    if name == "members.referral":
        card = (cards.get(values.get("member_id")) or ("?", ""))[0]
        return _referral_text(card, values.get("introduced_on"))
    if name == "members.exemption":
        card = (cards.get(values.get("member_id")) or ("?", ""))[0]
        return gettext("exemption of member %(card)s") % {"card": card}
    if name == HOME:
        card = (cards.get(values.get("member_id")) or ("?", ""))[0]
        return gettext("home of member %(card)s from %(date)s") % {
            "card": card,
            "date": day_text(datetime.date.fromisoformat(values["started_on"])),
        }
    if name == PLACEMENT:
        card, introduced_on = referrals.get(values.get("referral_id")) or ("?", None)
        text = _referral_text(card, introduced_on) if introduced_on else str(values.get("referral_id"))
        return gettext("placement of the %(referral)s from %(date)s") % {
            "referral": text,
            "date": day_text(datetime.date.fromisoformat(values["started_on"])),
        }
    return f"{name} {pk}"


def _user_text(user) -> str:
    if user is None:
        return gettext("unknown")
    return person_name(user)


def _who(model: type[models.Model], pk: int, row: models.Model | None = None) -> str:
    """Who changed the row last and when: its latest history record, for a model with history; who recorded it, for a
    period; else unknown."""
    history = getattr(model, "history", None)
    if history is not None and hasattr(history, "model"):
        latest = (
            history.model.objects.filter(**{model._meta.pk.attname: pk})
            .select_related("history_user")
            .order_by("-history_date", "-history_id")
            .first()
        )
        if latest is not None:
            return gettext("by %(user)s on %(when)s") % {
                "user": _user_text(latest.history_user),
                "when": timezone.localtime(latest.history_date).strftime("%d/%m/%Y %H:%M"),
            }
    if row is None:
        row = model._base_manager.filter(pk=pk).first()
    if row is not None and hasattr(row, "recorded_by_id") and row.recorded_by_id:
        return gettext("by %(user)s") % {"user": _user_text(row.recorded_by)}
    return gettext("by %(user)s") % {"user": gettext("unknown")}


def _refusal(model_of: dict, changed: list, referring: list) -> str:
    values_of = [now or entry.after or entry.before or {} for _name, _pk, now, entry in changed]
    member_pks = [pk for (name, pk, *_rest) in changed if name == "members.member"]
    member_pks += [values.get("member_id") for values in values_of]
    referral_pks = [values.get("referral_id") for values in values_of]
    referral_pks += [pk for (name, pk, *_rest) in changed if name == "members.referral"]
    from members.models import Referral

    referrals = {
        pk: (card, introduced_on)
        for pk, card, introduced_on in Referral.objects.filter(pk__in={pk for pk in referral_pks if pk}).values_list(
            "pk", "member__card_number", "introduced_on"
        )
    }
    cards = _cards(member_pks)
    lines = []
    for (name, pk, now, entry), values in list(zip(changed, values_of, strict=True))[:LISTED]:
        model = model_of[name]
        row = _row_text(name, pk, values, cards, referrals)
        if now is None:
            lines.append(gettext("%(row)s was deleted %(who)s") % {"row": row, "who": _who(model, pk)})
        elif entry.after is None:
            lines.append(gettext("%(row)s was recorded again %(who)s") % {"row": row, "who": _who(model, pk)})
        else:
            lines.append(gettext("%(row)s was changed %(who)s") % {"row": row, "who": _who(model, pk)})
    for name, pk, other_model, other_pk in referring[: max(0, LISTED - len(lines))]:
        model = model_of[name]
        values = _read(model, [pk]).get(pk, {})
        row = _row_text(name, pk, values, _cards([pk, values.get("member_id")]), {})
        lines.append(
            gettext("%(what)s recorded since refers to %(row)s (%(who)s)")
            % {"what": str(other_model._meta.verbose_name), "row": row, "who": _who(other_model, other_pk)}
        )
    return f"{CHANGED_SINCE} {'; '.join(lines)}.{_more(len(changed) + len(referring))}"


# -- putting the rows back ------------------------------------------------------------------------------------------


def _restore(entries: list[ImportedRow], model_of: dict, *, by: User, reason: str) -> None:
    # The rows the import created are recorded as deleted for the API's synchronising clients first, while every row
    # that places them in a scope is still there (a member's referral, deleted before the member).
    for name, pks in _created_pks(entries).items():
        deletions.record(model_of[name], sorted(pks))
    # The periods the import wrote (no trigger watches a deletion), so that their owners may take their former place.
    for name in PERIODS:
        pks = [entry.object_pk for entry in entries if entry.model == name and entry.action == Action.CREATED]
        for start in range(0, len(pks), CHUNK):
            model_of[name]._base_manager.filter(pk__in=pks[start : start + CHUNK]).delete()
    # A referral whose former placements come back is written with its first period's cell until its closed periods
    # are in (the triggers accept a cell outside the receiving ward only then).
    first_cell: dict[int, int] = {}
    former = sorted(
        (entry.before for entry in entries if entry.model == PLACEMENT and entry.action == Action.DELETED),
        key=lambda values: values["started_on"],
    )
    for values in former:
        first_cell.setdefault(values["referral_id"], values["residential_cell_id"])
    final_cell: dict[int, int] = {}
    # The other rows, last written first, a batch per run of the same model and action (a row once per batch).
    batch: list[ImportedRow] = []
    in_batch: set[int] = set()
    for entry in reversed(entries):
        if entry.model in PERIODS:
            continue
        if batch and ((entry.model, entry.action) != (batch[0].model, batch[0].action) or entry.object_pk in in_batch):
            _put_back(batch, model_of[batch[0].model], by=by, reason=reason, first_cell=first_cell, final=final_cell)
            batch, in_batch = [], set()
        batch.append(entry)
        in_batch.add(entry.object_pk)
    if batch:
        _put_back(batch, model_of[batch[0].model], by=by, reason=reason, first_cell=first_cell, final=final_cell)
    # The former periods: closed ones in the order of their start, then the referrals' former cells, then open ones.
    for name in PERIODS:
        if name not in model_of:
            continue
        model, owner = model_of[name], PERIOD_OWNER[name]
        rows = [
            _instance(model, entry.before)
            for entry in entries
            if entry.model == name and entry.action == Action.DELETED
        ]
        closed = sorted(
            (row for row in rows if row.ended_on is not None), key=lambda row: (getattr(row, owner), row.started_on)
        )
        model._base_manager.bulk_create(closed, batch_size=CHUNK)
        if name == PLACEMENT:
            referral_model = apps.get_model("members.referral")
            for pk, cell in final_cell.items():
                if pk in first_cell and cell != first_cell[pk]:
                    referral_model._base_manager.filter(pk=pk).update(residential_cell_id=cell)
        model._base_manager.bulk_create([row for row in rows if row.ended_on is None], batch_size=CHUNK)
    # The rows deleted by primary key: a row that still referred to one of them makes the database refuse now, inside
    # the undo's savepoint, rather than at the commit (the foreign keys are deferred).
    deleted = {model_of[entry.model] for entry in entries if entry.action == Action.CREATED}
    referring = {relation.related_model._meta.db_table for model in deleted for relation in model._meta.related_objects}
    connection = connections[router.db_for_write(WorkbookImport)]
    connection.check_constraints(table_names=sorted(referring))


def _deleted_history(model, rows: list[models.Model], *, by: User, reason: str) -> None:
    """The history records of rows about to be deleted ("-"), as ``bulk_history_create`` writes the others."""
    history_model = model.history.model
    now = timezone.now()
    history_model.objects.bulk_create(
        [
            history_model(
                history_date=now,
                history_type="-",
                history_user=by,
                history_change_reason=reason,
                **{field.attname: getattr(row, field.attname) for field in history_model.tracked_fields},
            )
            for row in rows
        ],
        batch_size=CHUNK,
    )


def _put_back(batch: list[ImportedRow], model, *, by: User, reason: str, first_cell: dict, final: dict) -> None:
    pks = [entry.object_pk for entry in batch]
    if batch[0].action == Action.CREATED:
        # Deleted by primary key, with their history written in bulk: row by row (the signals of a queryset's
        # delete) takes a minute for an import of tens of thousands of members. Nothing else refers to them any more
        # (``_referring``, and the import's own rows are deleted before the rows they refer to); the database's
        # foreign keys are checked at the end (``_restore``).
        using = router.db_for_write(model)
        for start in range(0, len(pks), CHUNK):
            rows = model._base_manager.filter(pk__in=pks[start : start + CHUNK])
            if getattr(model, "history", None) is not None:
                _deleted_history(model, list(rows), by=by, reason=reason)
            rows._raw_delete(using)
        return
    rows = [_instance(model, entry.before) for entry in batch]
    history = getattr(model, "history", None)
    if batch[0].action == Action.DELETED:  # not written by today's import, kept for completeness
        model._base_manager.bulk_create(rows, batch_size=CHUNK)
        if history is not None:
            history.bulk_history_create(rows, default_user=by, default_change_reason=reason)
        return
    if label(model) == "branches.organisation":
        for row in rows:  # its save() moves the path (and its subtree's) with the parent; its history follows
            save_recorded(row, by=by, reason=reason)
        return
    written = rows
    if label(model) == "members.referral":
        written = []
        for row in rows:
            final[row.pk] = row.residential_cell_id
            if row.pk in first_cell:
                copy = _instance(model, {f.attname: getattr(row, f.attname) for f in _fields(model)})
                copy.residential_cell_id = first_cell[row.pk]
                row = copy
            written.append(row)
    fields = [field.name for field in _fields(model) if not field.primary_key]
    model._base_manager.bulk_update(written, fields, batch_size=500)
    if history is not None:
        history.bulk_history_create(rows, update=True, default_user=by, default_change_reason=reason)
