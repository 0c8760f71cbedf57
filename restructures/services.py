"""Applying a restructure: one transaction, all or nothing, from the effective date on.

``apply_plan`` plans again under row locks (what is applied is what the database holds now, not what a preview saw),
refuses when the plan has problems, then: creates the new organisations (from the effective date), ends the others
on it with their successor, moves the homes and open placements in them to their successors from that day (in bulk,
in the order the history triggers accept: close the open periods, change the current place, open the next periods),
ends or carries the officers' posts, and writes the ``Restructure`` records. Nothing dated before the effective date
changes.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, DateTimeField, IntegerField, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import Officer, Organisation, Restructure
from branches.services import organisation_create, organisation_rename, organisation_update, restructure_record
from dongha76.services import User, save_recorded, validate_model
from members.models import Member, MemberHome, Placement, Referral
from restructures.plans import Plan, plan_for

OFFICERS_CHOICES = ("follow", "end")
BATCH = 500
REASON = "restructure"


def _chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lock() -> None:
    """One restructure (or move in the tree) at a time: lock the root rows, as the tree's moves do."""
    list(Organisation.objects.select_for_update().filter(kind=Organisation.Kind.ROOT).values_list("pk", flat=True))


def apply_plan(plan: Plan, *, by: User | None, note: str = "", officers: str = "follow") -> Restructure:
    """Do the restructure ``plan`` describes (planned again here from ``plan.params``); returns its main record."""
    return _plan_and_apply(plan.kind, plan.params, by=by, note=note, officers=officers)


@transaction.atomic
def _plan_and_apply(kind: str, params: dict, *, by: User | None, note: str, officers: str) -> Restructure:
    if officers not in OFFICERS_CHOICES:
        raise ValidationError({"officers": _("Choose whether the officers' posts follow or end.")})
    _check_note(note)
    _lock()
    fresh = plan_for(kind, **params)
    if fresh.problems:
        raise ValidationError(dict(fresh.errors))
    try:
        with transaction.atomic():
            return _apply(fresh, by=by, note=note, officers=officers)
    except IntegrityError as error:
        # Someone recorded a transfer or a placement in the same moment: the triggers refused, nothing is written.
        raise ValidationError(
            {
                "effective_on": _(
                    "Members or placements changed while the restructure was applied; nothing was written. Try again."
                )
            }
        ) from error


def _check_note(note: str) -> None:
    record = Restructure(note=note)
    try:
        record.clean()
    except ValidationError as error:
        raise ValidationError({"note": error.message_dict.get("note", error.messages)}) from None


def restructure(kind: str, *, by: User | None, note: str = "", officers: str = "follow", **params) -> Restructure:
    """Plan and apply a restructure of ``kind`` (merge, split, rename, move) from the planners' keyword arguments.

    Planned once, under the lock ``apply_plan`` takes: planning first without it would only be done again there."""
    return _plan_and_apply(kind, params, by=by, note=note, officers=officers)


def _apply(plan: Plan, *, by: User | None, note: str, officers: str) -> Restructure:
    day = plan.effective_on
    if plan.kind == Restructure.Kind.RENAME:
        organisation, name = plan.renamed[0]
        organisation_rename(organisation=organisation, name=name, effective_on=day, by=by, note=note)
        return Restructure.objects.filter(kind=Restructure.Kind.RENAME, predecessors=organisation).latest("pk")
    by_code: dict[str, Organisation] = {}
    for new in plan.starting:  # parents first
        parent = by_code.get(new.parent_code) or Organisation.objects.get(code=new.parent_code)
        by_code[new.code] = organisation_create(
            code=new.code,
            name=new.name,
            kind=new.kind,
            parent=parent,
            sector=new.sector,
            valid_from=day,
            by=by,
        )
    missing = [code for code in plan.successor_of.values() if code not in by_code]
    by_code.update({organisation.code: organisation for organisation in Organisation.objects.filter(code__in=missing)})
    for organisation in plan.ending:
        fields = {"valid_to": day}
        if organisation.code in plan.successor_of:
            fields["successor"] = by_code[plan.successor_of[organisation.code]]
        organisation_update(organisation=organisation, by=by, **fields)
    ending_pks = [organisation.pk for organisation in plan.ending]
    target_of = {organisation.pk: by_code.get(plan.successor_of.get(organisation.code)) for organisation in plan.ending}
    parts = {code: by_code[code] for code in set(plan.assigned.values())}
    _move_homes(plan, ending_pks, target_of, parts, by=by)
    _move_placements(plan, ending_pks, target_of, parts, by=by)
    _move_posts(plan, ending_pks, target_of, follow=officers == "follow", by=by)
    records = []
    named = {code for _kind, predecessors, successors in plan.records for code in (*predecessors, *successors)}
    organisations = Organisation.objects.in_bulk(named, field_name="code")  # restructure_record reads them again
    for kind, predecessors, successors in plan.records:
        records.append(
            restructure_record(
                kind=kind,
                effective_on=day,
                predecessors=[organisations[code] for code in predecessors],
                successors=[organisations[code] for code in successors],
                by=by,
                note=note,
            )
        )
    return records[0]


def _target(plan: Plan, target_of: dict, parts: dict, organisation_pk: int, card: str) -> Organisation:
    target = target_of.get(organisation_pk)
    if target is None:  # the divided organisation of a split: each member to the part assigned
        target = parts[plan.assigned[card]]
    return target


def _move_homes(plan: Plan, ending_pks: list[int], target_of: dict, parts: dict, *, by: User | None) -> None:
    """Members whose home is in an organisation that ends belong to its successor from the effective date."""
    day = plan.effective_on
    rows = list(
        MemberHome.objects.filter(ended_on__isnull=True, organisation__in=ending_pks)
        .filter(Q(member__left_on__isnull=True) | Q(member__left_on__gt=day))
        .values_list("pk", "member_id", "organisation_id", "member__card_number")
    )
    if not rows:
        return
    target = {member: _target(plan, target_of, parts, org, card) for _pk, member, org, card in rows}
    for chunk in _chunks([pk for pk, *_rest in rows]):
        MemberHome.objects.filter(pk__in=chunk).update(ended_on=day)
    _repoint(Member, "home_organisation", target, by=by)
    MemberHome.objects.bulk_create(
        [
            MemberHome(member_id=member, organisation=organisation, started_on=day, recorded_by=by)
            for member, organisation in target.items()
        ],
        batch_size=BATCH,
    )


def _move_placements(plan: Plan, ending_pks: list[int], target_of: dict, parts: dict, *, by: User | None) -> None:
    """Open referrals placed in a residential cell that ends are placed in its successor from the effective date
    (the referral stays open)."""
    day = plan.effective_on
    rows = list(
        Placement.objects.filter(
            ended_on__isnull=True, residential_cell__in=ending_pks, referral__ended_on__isnull=True
        ).values_list("pk", "referral_id", "residential_cell_id", "referral__member__card_number")
    )
    if not rows:
        return
    target = {referral: _target(plan, target_of, parts, cell, card) for _pk, referral, cell, card in rows}
    for chunk in _chunks([pk for pk, *_rest in rows]):
        Placement.objects.filter(pk__in=chunk).update(ended_on=day)
    _repoint(Referral, "residential_cell", target, by=by)
    Placement.objects.bulk_create(
        [
            Placement(referral_id=referral, residential_cell=cell, started_on=day, recorded_by=by)
            for referral, cell in target.items()
        ],
        batch_size=BATCH,
    )


def _repoint(model: type[Member | Referral], field: str, target: dict[int, Organisation], *, by: User | None) -> None:
    """Point each row of ``model`` (pk -> organisation) at its new place, with one history record ("~", by ``by``,
    reason "restructure") per row, as ``save_recorded`` would write it.

    One UPDATE per destination (and chunk) rather than ``bulk_update``'s CASE over every row: a reform moves thousands
    of members into a few dozen organisations. The history records are copied from the rows after the UPDATE (which
    locks them), so that each holds the row as stored."""
    now = timezone.now()
    destinations: dict[int, list[int]] = defaultdict(list)
    for pk, organisation in target.items():
        destinations[organisation.pk].append(pk)
    for organisation_pk, pks in destinations.items():
        for chunk in _chunks(pks):
            model.objects.filter(pk__in=chunk).update(**{f"{field}_id": organisation_pk, "updated_at": now})
    _record_changes(model, list(target), by=by, when=now)


def _record_changes(model: type[Member | Referral], pks: list[int], *, by: User | None, when: datetime.datetime):
    """One history record per row of ``pks`` as stored now: a change ("~") by ``by`` (else the user of the request,
    as django-simple-history takes it) for the reason "restructure", dated ``when``: what ``bulk_history_create``
    writes, copied by the database (INSERT ... SELECT) instead of through thousands of model instances."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    history = model.history.model
    tracked = [field.attname for field in history.tracked_fields]
    user = by if by is not None else history.get_default_history_user(model())
    if not _copyable(history):
        rows = [row for chunk in _chunks(pks) for row in model.objects.filter(pk__in=chunk).order_by("pk")]
        model.history.bulk_history_create(
            rows, batch_size=BATCH, update=True, default_user=user, default_change_reason=REASON, default_date=when
        )
        return
    constants = {
        "history_date": Value(when, output_field=DateTimeField()),
        "history_change_reason": Value(REASON, output_field=CharField()),
        "history_type": Value("~", output_field=CharField()),
        "history_user_id": Value(user.pk if user else None, output_field=IntegerField()),
    }
    aliases = {name: f"_history_{index}" for index, name in enumerate(constants)}
    columns = [history._meta.get_field(name).column for name in [*tracked, *constants]]
    quote = connection.ops.quote_name
    insert = "INSERT INTO {} ({}) ".format(
        quote(history._meta.db_table), ", ".join(quote(column) for column in columns)
    )
    with connection.cursor() as cursor:
        for chunk in _chunks(pks):
            rows = (
                model.objects.filter(pk__in=chunk)
                .annotate(**{aliases[name]: value for name, value in constants.items()})
                .values_list(*tracked, *aliases.values())
                .order_by("pk")
            )
            sql, params = rows.query.sql_with_params()
            cursor.execute(insert + sql, params)


def _copyable(history: type) -> bool:
    """The history records hold the tracked fields and simple-history's own, nothing else (no field of their own that
    simple-history would fill): the database can copy them from the rows."""
    extra = {"history_date", "history_change_reason", "history_type", "history_user_id"}
    stored = {field.attname for field in history._meta.concrete_fields if not field.primary_key}
    return stored == {*(field.attname for field in history.tracked_fields), *extra}


def _move_posts(plan: Plan, ending_pks: list[int], target_of: dict, *, follow: bool, by: User | None) -> None:
    """Posts at an organisation that ends end on the effective date; with ``follow``, the same role starts at its
    successor (unless the user already holds a post there)."""
    day: datetime.date = plan.effective_on
    posts = (
        Officer.objects.select_for_update()
        .filter(organisation__in=ending_pks)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))
        .order_by("pk")
    )
    for post in posts:
        until = post.ended_on
        post.ended_on = day
        validate_model(post)
        save_recorded(post, by=by, reason=REASON)
        successor = target_of.get(post.organisation_id)
        if not follow or successor is None:
            continue
        if (
            until is None
            and Officer.objects.filter(user_id=post.user_id, organisation=successor, ended_on__isnull=True).exists()
        ):
            continue
        carried = Officer(user_id=post.user_id, organisation=successor, role=post.role, started_on=day, ended_on=until)
        validate_model(carried)
        save_recorded(carried, by=by, reason=REASON)
