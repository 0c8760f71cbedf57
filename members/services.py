"""Every write that matters about members: the member record, exemptions, the referral workflow (introduce, receive,
place, report, end), meetings and attendance, residence comments and year-end ratings.

Rules of this module:
- keyword-only, typed, atomic; ``by`` is the user recording the step (stored in the ``*_by`` field and in history);
- the rules live in the models (``clean()`` and constraints) and are checked with ``validate_model()``; what needs
  other rows or today's date (an open referral, an exemption in force, a date in the future) is checked here;
- a workflow step re-reads its row with ``select_for_update()`` and checks the state of the *locked* row, so two users
  recording the same step at the same moment give one step and one clear message;
- every failure is a ``ValidationError`` keyed by field; a constraint the database still enforces after our checks
  passed (a race) is turned into the same kind of error.
"""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from branches.selectors import grassroots_of
from dongha76.periods import validate_not_in_future
from dongha76.services import (
    ConstraintMessage,
    Errors,
    User,
    day_text,
    integrity_errors_as_validation,
    reject_unknown_fields,
    save_recorded,
    validate_model,
)
from members import places
from members.models import (
    Attendance,
    CommentRound,
    Exemption,
    Meeting,
    Member,
    Referral,
    ResidenceComment,
    YearEndRating,
)
from members.periods import HalfYear

Kind = Organisation.Kind

# What to say when a constraint (or the trigger of migration 0002) would be broken, and on which field.
MEMBER_MESSAGES: dict[str, ConstraintMessage] = {
    "member_national_id_unique_when_given": ConstraintMessage(
        "national_id",
        _("Another member already has this national ID."),
        markers=("members_member.national_id", "(national_id)"),
    ),
    "card_number": ConstraintMessage(
        "card_number",
        _("Another member already has this party card number."),
        markers=("members_member.card_number", "(card_number)"),
    ),
    "member_left_reason_iff_left_on": ConstraintMessage(
        "left_reason", _("Give both the date and the reason for leaving the party, or neither.")
    ),
    "member_official_after_admitted": ConstraintMessage(
        "official_on", _("A member becomes official on or after the day of admission.")
    ),
    "member_left_after_admitted": ConstraintMessage(
        "left_on", _("The day of leaving the party cannot be before the admission.")
    ),
}
EXEMPTION_MESSAGES: dict[str, ConstraintMessage] = {
    "one_open_exemption": ConstraintMessage(
        "kind",
        _("This member already has an exemption in force; lift it first."),
        markers=("members_exemption.member_id",),
    ),
    "exemption_ends_after_start": ConstraintMessage("ended_on", _("An exemption is lifted after the day it started.")),
}
REFERRAL_MESSAGES: dict[str, ConstraintMessage] = {
    "one_open_referral": ConstraintMessage(
        "member",
        _("This member already has an open referral; end it before introducing the member again."),
        markers=("members_referral.member_id",),
    ),
    "referral_cell_in_ward": ConstraintMessage(
        "residential_cell", _("This residential cell does not belong to the receiving ward.")
    ),
    "referral_received_after_introduced": ConstraintMessage(
        "received_on", _("This date cannot be before the date of the introduction.")
    ),
    "referral_placed_after_received": ConstraintMessage(
        "placed_on", _("This date cannot be before the date of the reception.")
    ),
    "referral_reported_after_placed": ConstraintMessage(
        "reported_on", _("This date cannot be before the date of the placement.")
    ),
    "referral_ended_after_introduced": ConstraintMessage(
        "ended_on", _("This date cannot be before the date of the introduction.")
    ),
    "referral_end_reason_iff_ended": ConstraintMessage(
        "end_reason", _("Give an end reason only when the referral has ended, and always then.")
    ),
    "referral_cell_iff_placed": ConstraintMessage(
        "residential_cell", _("A placement needs both the residential cell and the date.")
    ),
}
ATTENDANCE_MESSAGES: dict[str, ConstraintMessage] = {
    "one_attendance_per_meeting_and_member": ConstraintMessage(
        "member",
        _("This member's attendance at this meeting is already recorded."),
        markers=("members_attendance.meeting_id",),
    ),
    "attendance_excused_needs_reason": ConstraintMessage("reason", _("Give the reason for the excused absence.")),
}
MEETING_MESSAGES: dict[str, ConstraintMessage] = {
    "one_meeting_per_cell_day_and_kind": ConstraintMessage(
        "held_on",
        _("A meeting of this kind of the cell is already recorded on this day."),
        markers=("members_meeting.residential_cell_id", "(residential_cell_id, held_on, kind)"),
    ),
}
COMMENT_MESSAGES: dict[str, ConstraintMessage] = {
    "one_comment_per_member_and_year": ConstraintMessage(
        "year",
        _("This member already has a residence comment for this year."),
        markers=("members_residencecomment.member_id",),
    ),
    "comment_sent_after_written": ConstraintMessage(
        "sent_on", _("A comment is sent on or after the day it was written.")
    ),
    "comment_received_after_sent": ConstraintMessage(
        "received_on", _("A comment is received on or after the day it was sent.")
    ),
}
RATING_MESSAGES: dict[str, ConstraintMessage] = {
    "one_rating_per_member_and_year": ConstraintMessage(
        "year",
        _("This member already has a year-end rating for this year."),
        markers=("members_yearendrating.member_id",),
    ),
}

MEMBER_FIELDS = frozenset(
    {
        "card_number",
        "full_name",
        "date_of_birth",
        "gender",
        "national_id",
        "phone",
        "admitted_on",
        "official_on",
        "home_organisation",
        "retired_on",
        "residential_address",
        "left_on",
        "left_reason",
    }
)
# A member belongs to a cell: a workplace cell, a residential cell (retired members) or an outside organisation.
MEMBER_HOME_KINDS = (Kind.CELL, Kind.GRASSROOTS_CELL, Kind.RESIDENTIAL_CELL, Kind.OUTSIDE)
# Who issues an introduction letter: the member's grassroots organisation, or the outside organisation.
ISSUING_KINDS = (Kind.COMMITTEE, Kind.GRASSROOTS_CELL, Kind.WARD, Kind.OUTSIDE)


def _check_not_in_future(errors: Errors, field: str, day: datetime.date | None) -> None:
    """The rule of the models' date validators (``dongha76.periods``), for a day that is an argument of a step."""
    try:
        validate_not_in_future(day)
    except ValidationError as error:
        errors.add(field, error.message, code=error.code, **error.params)


def _lock_member(member: Member) -> Member:
    return Member.objects.select_for_update().get(pk=member.pk)


def _lock_referral(referral: Referral) -> Referral:
    return Referral.objects.select_for_update().get(pk=referral.pk)


# ---------------------------------------------------------------------------------------------------------------------
# Members


def check_member(errors: Errors, member: Member) -> None:
    """The rules of a member's record beyond the model's own that need no other member (shared with the workbook
    import, which validates thousands of records without a query each). The bounds of each day (born from 1900,
    nothing after today) are the model's field validators, so ``full_clean()`` applies them on every write path."""
    if member.home_organisation_id and member.home_organisation.kind not in MEMBER_HOME_KINDS:
        errors.add(
            "home_organisation",
            _("A member belongs to a cell or an outside organisation, not to a %(kind)s."),
            code="home_not_a_cell",
            kind=member.home_organisation.get_kind_display(),
        )
    if member.date_of_birth and member.admitted_on and member.date_of_birth >= member.admitted_on:
        errors.add("date_of_birth", _("The date of birth must be before the admission."), code="born_after_admitted")
    if member.retired_on and member.admitted_on and member.retired_on < member.admitted_on:
        errors.add(
            "retired_on", _("The day of retirement cannot be before the admission."), code="retired_before_admitted"
        )


def validate_member(member: Member) -> None:
    """Every rule of a member's record: ``check_member`` and the model's own (field validators, ``clean()``, the
    constraints with this module's messages). The services and the admin call it."""
    validate_member_with(member, Errors())


def validate_member_with(member: Member, errors: Errors) -> None:
    """``validate_member``, raising ``errors`` found beforehand together with the record's."""
    check_member(errors, member)
    validate_model(member, MEMBER_MESSAGES, errors=errors)


@transaction.atomic
def member_create(*, by: User | None, **fields: Any) -> Member:
    reject_unknown_fields(fields, MEMBER_FIELDS)
    member = Member(**fields)
    validate_member(member)
    with integrity_errors_as_validation(MEMBER_MESSAGES):
        save_recorded(member, by=by)
    return member


@transaction.atomic
def member_update(*, member: Member, by: User | None, home_since: datetime.date | None = None, **fields: Any) -> Member:
    """Change a member's record. A new home cell is a transfer (chuyển sinh hoạt) from ``home_since`` (default:
    today): the home of the days before stays as it was. Returns the member as saved (read again under a row lock)."""
    reject_unknown_fields(fields, MEMBER_FIELDS)
    member = _lock_member(member)
    stored_home, stored_admission = member.home_organisation_id, member.admitted_on
    for name, value in fields.items():
        setattr(member, name, value)
    errors = Errors()
    moved = member.home_organisation_id != stored_home
    if moved:
        home_since = home_since or timezone.localdate()
        _check_not_in_future(errors, "home_since", home_since)
        if member.admitted_on and home_since < member.admitted_on:
            errors.add(
                "home_since",
                _("This date cannot be before the member's admission to the party (%(date)s)."),
                code="before_admission",
                date=day_text(member.admitted_on),
            )
        places.check_home_move(errors, member.pk, home_since)
    validate_member_with(member, errors)
    with integrity_errors_as_validation(MEMBER_MESSAGES):
        if member.admitted_on != stored_admission:
            admission_errors = Errors()
            places.follow_admission(member, admission_errors)
            admission_errors.raise_if_any()
        if moved:
            places.move_home(member_id=member.pk, organisation=member.home_organisation, on=home_since, by=by)
        save_recorded(member, by=by)
    return member


# ---------------------------------------------------------------------------------------------------------------------
# Members of outside organisations


def _outside_errors(errors: Errors, exc: Exception, renamed: dict[str, str]) -> Exception:
    """``errors`` found beforehand and those of a step (fields renamed to the arguments of the caller), as one
    ``ValidationError``."""
    combined = {field: [error] for field, error in errors.items()}
    for field, field_errors in exc.update_error_dict({}).items():
        combined.setdefault(renamed.get(field, field), field_errors)
    return type(exc)(combined)


@transaction.atomic
def outside_member_register(
    *,
    by: User | None,
    outside_organisation: Organisation,
    receiving_ward: Organisation,
    letter_number: str,
    introduced_on: datetime.date,
    received_on: datetime.date,
    **member_fields: Any,
) -> Referral:
    """The ward registers a member of an outside organisation together with the introduction letter it received: the
    member (home: the outside organisation), the referral issued by that organisation, and its reception. All or
    nothing: any refusal leaves no member and no referral behind. Errors are keyed by this function's arguments."""
    # Imported here to keep this section self-contained in the module.

    reject_unknown_fields(member_fields, MEMBER_FIELDS - {"home_organisation"})
    errors = Errors()
    if outside_organisation.kind != Kind.OUTSIDE:
        errors.add(
            "outside_organisation",
            _("Choose an organisation outside the city's party organisation."),
            code="not_outside",
        )
    if receiving_ward.kind != Kind.WARD:
        errors.add("receiving_ward", _("The receiving organisation must be a ward/commune committee."), code="not_ward")
    _check_not_in_future(errors, "introduced_on", introduced_on)
    _check_not_in_future(errors, "received_on", received_on)
    if received_on < introduced_on:
        errors.add(
            "received_on", _("This date cannot be before the date of the introduction."), code="before_introduced"
        )
    admitted_on = member_fields.get("admitted_on")
    if admitted_on and introduced_on < admitted_on:
        errors.add(
            "introduced_on",
            _("This date cannot be before the member's admission to the party (%(date)s)."),
            code="before_admission",
            date=day_text(admitted_on),
        )
    try:
        member = member_create(by=by, home_organisation=outside_organisation, **member_fields)
    except ValidationError as exc:
        raise _outside_errors(errors, exc, {"home_organisation": "outside_organisation"}) from exc
    errors.raise_if_any()
    try:
        referral = referral_introduce(
            member=member,
            issuing_organisation=outside_organisation,
            receiving_ward=receiving_ward,
            letter_number=letter_number,
            introduced_on=introduced_on,
            by=by,
        )
        return referral_receive(referral=referral, received_on=received_on, by=by)
    except ValidationError as exc:
        raise _outside_errors(errors, exc, {"issuing_organisation": "outside_organisation"}) from exc


# ---------------------------------------------------------------------------------------------------------------------
# Exemptions


@transaction.atomic
def exemption_set(*, member: Member, kind: str, reason: str, started_on: datetime.date, by: User | None) -> Exemption:
    """Exempt a member from ``started_on``. An exemption of the other kind in force is lifted on that day."""
    member = _lock_member(member)
    errors = Errors()
    _check_not_in_future(errors, "started_on", started_on)
    if member.left_on is not None:
        errors.add(
            "member", _("This member left the party on %(date)s."), code="left_party", date=day_text(member.left_on)
        )
    if started_on < member.admitted_on:
        errors.add(
            "started_on",
            _("This date cannot be before the admission (%(date)s)."),
            code="before_admission",
            date=day_text(member.admitted_on),
        )
    current = Exemption.objects.select_for_update().filter(member=member, ended_on__isnull=True).first()
    if current is not None and current.kind == kind:
        errors.add(
            "kind",
            _("This member is already exempt (%(kind)s) since %(date)s."),
            code="already_exempt",
            kind=current.get_kind_display(),
            date=day_text(current.started_on),
        )
    elif current is not None and started_on <= current.started_on:
        errors.add(
            "started_on",
            _("The new exemption must start after the one in force (since %(date)s)."),
            code="before_current_exemption",
            date=day_text(current.started_on),
        )
    if kind == Exemption.Kind.INTRODUCTION:
        open_referral = Referral.objects.filter(member=member, ended_on__isnull=True).first()
        if open_referral is not None:
            errors.add(
                "kind",
                _(
                    "This member has an open referral to %(ward)s; end it (reason: exempted) before exempting the "
                    "member from introduction."
                ),
                code="open_referral",
                ward=str(open_referral.receiving_ward),
            )
    errors.raise_if_any()
    if current is not None:
        current.ended_on = started_on
        validate_model(current, EXEMPTION_MESSAGES)
        save_recorded(current, by=by)
    exemption = Exemption(member=member, kind=kind, reason=reason, started_on=started_on, recorded_by=by)
    validate_model(exemption, EXEMPTION_MESSAGES)
    with integrity_errors_as_validation(EXEMPTION_MESSAGES):
        save_recorded(exemption, by=by)
    return exemption


@transaction.atomic
def exemption_clear(*, member: Member, ended_on: datetime.date, by: User | None) -> Exemption:
    """Lift the exemption in force: ``ended_on`` is the first day the member is no longer exempt."""
    member = _lock_member(member)
    exemption = Exemption.objects.select_for_update().filter(member=member, ended_on__isnull=True).first()
    errors = Errors()
    if exemption is None:
        errors.add("member", _("This member has no exemption in force."), code="not_exempt")
    _check_not_in_future(errors, "ended_on", ended_on)
    errors.raise_if_any()
    exemption.ended_on = ended_on
    validate_model(exemption, EXEMPTION_MESSAGES)
    save_recorded(exemption, by=by)
    return exemption


# ---------------------------------------------------------------------------------------------------------------------
# Referrals


def check_issuer(errors: Errors, member: Member, issuer: Organisation) -> None:
    """An introduction is signed by the member's own grassroots organisation (or outside organisation)."""
    if issuer.kind not in ISSUING_KINDS:
        errors.add(
            "issuing_organisation",
            _("An introduction is issued by a grassroots organisation or an outside organisation."),
            code="issuer_kind",
        )
    elif not member.home_organisation.is_within(issuer):
        errors.add(
            "issuing_organisation",
            _("This member does not belong to %(organisation)s."),
            code="issuer_not_home",
            organisation=str(issuer),
        )


def check_ward(errors: Errors, ward: Organisation, day: datetime.date) -> None:
    """The receiving organisation is a ward/commune committee that existed on ``day``."""
    if ward.kind != Kind.WARD:
        errors.add("receiving_ward", _("The receiving organisation must be a ward/commune committee."), code="not_ward")
    elif not ward.is_valid_on(day):
        errors.add(
            "receiving_ward",
            _("This ward/commune did not exist on %(date)s."),
            code="ward_not_valid",
            date=day_text(day),
        )


def check_residential_cell(
    errors: Errors, cell: Organisation, day: datetime.date, *, day_field: str = "residential_cell"
) -> None:
    """A residential cell that existed on ``day`` (the error on its existence goes on ``day_field``)."""
    if cell.kind != Kind.RESIDENTIAL_CELL:
        errors.add("residential_cell", _("Choose a residential cell."), code="not_residential_cell")
    elif not cell.is_valid_on(day):
        errors.add(
            day_field, _("This residential cell did not exist on %(date)s."), code="cell_not_valid", date=day_text(day)
        )


def _check_open(errors: Errors, referral: Referral, field: str) -> None:
    if referral.ended_on is not None:
        errors.add(
            field,
            _("This referral ended on %(date)s; nothing more can be recorded on it."),
            code="ended",
            date=day_text(referral.ended_on),
        )


def _save_referral(referral: Referral, *, by: User | None, errors: Errors | None = None) -> Referral:
    validate_model(referral, REFERRAL_MESSAGES, errors=errors)
    with integrity_errors_as_validation(REFERRAL_MESSAGES):
        save_recorded(referral, by=by)
    return referral


@transaction.atomic
def referral_introduce(
    *,
    member: Member,
    issuing_organisation: Organisation,
    receiving_ward: Organisation,
    letter_number: str,
    introduced_on: datetime.date,
    by: User | None,
    notes: str = "",
) -> Referral:
    """Record the introduction letter of a working member to the ward where they live."""
    member = _lock_member(member)  # two introductions of the same member wait for each other
    # The organisations as they are now (an instance kept in a form may predate a move or a merger).
    issuing_organisation = Organisation.objects.get(pk=issuing_organisation.pk)
    receiving_ward = Organisation.objects.get(pk=receiving_ward.pk)
    errors = Errors()
    if member.left_on is not None:
        errors.add(
            "member", _("This member left the party on %(date)s."), code="left_party", date=day_text(member.left_on)
        )
    elif not member.is_working_on(introduced_on):
        errors.add(
            "member",
            _("This member retired on %(date)s; a retired member joins a residential cell instead."),
            code="retired",
            date=day_text(member.retired_on),
        )
    elif member.home_organisation.kind == Kind.RESIDENTIAL_CELL:
        errors.add(
            "member",
            _("This member belongs to a residential cell and lives there: there is nothing to introduce."),
            code="residential_member",
        )
    exemption = (
        Exemption.objects.in_force_on(introduced_on).filter(member=member, kind=Exemption.Kind.INTRODUCTION).first()
    )
    if exemption is not None:
        errors.add(
            "member",
            _("This member is exempt from introduction since %(date)s."),
            code="exempt",
            date=day_text(exemption.started_on),
        )
    open_referral = Referral.objects.filter(member=member, ended_on__isnull=True).first()
    if open_referral is not None:
        errors.add(
            "member",
            _("This member already has an open referral to %(ward)s, introduced on %(date)s; end it first."),
            code="one_open_referral",
            ward=str(open_referral.receiving_ward),
            date=day_text(open_referral.introduced_on),
        )
    _check_not_in_future(errors, "introduced_on", introduced_on)
    previous_end = Referral.objects.filter(member=member).aggregate(last=Max("ended_on"))["last"]
    if previous_end is not None and introduced_on < previous_end:
        # Two referrals of one member must not overlap, or the member would count twice on the days between.
        errors.add(
            "introduced_on",
            _("The member's previous referral ended on %(date)s; a new introduction cannot be dated before it."),
            code="before_previous_end",
            date=day_text(previous_end),
        )
    if introduced_on < member.admitted_on:
        errors.add(
            "introduced_on",
            _("This date cannot be before the member's admission to the party (%(date)s)."),
            code="before_admission",
            date=day_text(member.admitted_on),
        )
    check_issuer(errors, member, issuing_organisation)
    check_ward(errors, receiving_ward, introduced_on)
    referral = Referral(
        member=member,
        issuing_organisation=issuing_organisation,
        receiving_ward=receiving_ward,
        letter_number=letter_number,
        introduced_on=introduced_on,
        introduced_by=by,
        notes=notes,
    )
    return _save_referral(referral, by=by, errors=errors)


@transaction.atomic
def referral_receive(*, referral: Referral, received_on: datetime.date, by: User | None) -> Referral:
    """The ward records the reception in its tracking book. Returns the referral as saved."""
    referral = _lock_referral(referral)
    errors = Errors()
    _check_open(errors, referral, "received_on")
    if referral.received_on is not None:
        errors.add(
            "received_on",
            _("This referral was already received on %(date)s."),
            code="already_received",
            date=day_text(referral.received_on),
        )
    _check_not_in_future(errors, "received_on", received_on)
    referral.received_on = received_on
    referral.received_by = by
    return _save_referral(referral, by=by, errors=errors)


@transaction.atomic
def referral_place(
    *, referral: Referral, residential_cell: Organisation, placed_on: datetime.date, by: User | None
) -> Referral:
    """The ward passes the member to a residential cell of its own. Returns the referral as saved."""
    referral = _lock_referral(referral)
    residential_cell = Organisation.objects.get(pk=residential_cell.pk)
    errors = Errors()
    _check_open(errors, referral, "placed_on")
    if referral.placed_on is not None:
        errors.add(
            "placed_on",
            _("This member was already placed in %(cell)s on %(date)s."),
            code="already_placed",
            cell=str(referral.residential_cell),
            date=day_text(referral.placed_on),
        )
    _check_not_in_future(errors, "placed_on", placed_on)
    check_residential_cell(errors, residential_cell, placed_on)
    referral.residential_cell = residential_cell
    referral.placed_on = placed_on
    referral.placed_by = by
    return _save_referral(referral, by=by, errors=errors)


@transaction.atomic
def referral_replace(
    *, referral: Referral, residential_cell: Organisation, replaced_on: datetime.date, by: User | None
) -> Referral:
    """The ward moves a placed member to another of its residential cells from ``replaced_on`` (a move within the
    ward, a khu phố merger): the referral stays open and the days before keep the former cell. Returns the referral
    as saved."""
    referral = _lock_referral(referral)
    residential_cell = Organisation.objects.get(pk=residential_cell.pk)
    errors = Errors()
    _check_open(errors, referral, "replaced_on")
    _check_not_in_future(errors, "replaced_on", replaced_on)
    places.check_replacement(errors, referral, replaced_on, field="replaced_on")
    check_residential_cell(errors, residential_cell, replaced_on, day_field="replaced_on")
    if referral.residential_cell_id == residential_cell.pk:
        errors.add("residential_cell", _("The member is already placed in this cell."), code="same_cell")
    elif referral.residential_cell_id and residential_cell.parent_id != referral.residential_cell.parent_id:
        errors.add(
            "residential_cell",
            _("Choose a residential cell of the same ward: a move to another ward is a new introduction."),
            code="other_ward",
        )
    errors.raise_if_any()
    places.move_placement(referral=referral, residential_cell=residential_cell, on=replaced_on, by=by)
    return referral


@transaction.atomic
def referral_report(*, referral: Referral, reported_on: datetime.date, by: User | None) -> Referral:
    """The member has reported to the residential cell. Returns the referral as saved."""
    referral = _lock_referral(referral)
    errors = Errors()
    _check_open(errors, referral, "reported_on")
    if referral.reported_on is not None:
        errors.add(
            "reported_on",
            _("This member already reported to the cell on %(date)s."),
            code="already_reported",
            date=day_text(referral.reported_on),
        )
    _check_not_in_future(errors, "reported_on", reported_on)
    referral.reported_on = reported_on
    referral.reported_by = by
    return _save_referral(referral, by=by, errors=errors)


@transaction.atomic
def referral_end(
    *, referral: Referral, ended_on: datetime.date, end_reason: str, by: User | None, notes: str = ""
) -> Referral:
    """End a referral with its reason; ``notes`` are added to the referral's notes. Returns the referral as saved."""
    referral = _lock_referral(referral)
    errors = Errors()
    if referral.ended_on is not None:
        errors.add(
            "ended_on",
            _("This referral already ended on %(date)s."),
            code="already_ended",
            date=day_text(referral.ended_on),
        )
    _check_not_in_future(errors, "ended_on", ended_on)
    if not end_reason:
        errors.add("end_reason", _("Give the reason the referral ended."), code="required")
    referral.ended_on = ended_on
    referral.end_reason = end_reason
    referral.ended_by = by
    if notes:
        referral.notes = f"{referral.notes}\n{notes}" if referral.notes else notes
    return _save_referral(referral, by=by, errors=errors)


@transaction.atomic
def referral_end_moved(
    *,
    referral: Referral,
    ended_on: datetime.date,
    by: User | None,
    new_ward: Organisation | None = None,
    letter_number: str = "",
    notes: str = "",
) -> tuple[Referral, Referral | None]:
    """The member moved residence: end the referral and, when the new ward is known, introduce the member to it in
    the same step (the new letter is dated the day the old referral ends, so the two never overlap)."""
    ended = referral_end(
        referral=referral, ended_on=ended_on, end_reason=Referral.EndReason.MOVED_RESIDENCE, by=by, notes=notes
    )
    if new_ward is None:
        return ended, None
    member = Member.objects.select_related("home_organisation").get(pk=ended.member_id)
    issuer = grassroots_of(member.home_organisation) or ended.issuing_organisation
    introduced = referral_introduce(
        member=member,
        issuing_organisation=issuer,
        receiving_ward=new_ward,
        letter_number=letter_number,
        introduced_on=ended_on,
        by=by,
    )
    return ended, introduced


@transaction.atomic
def member_retire(
    *, member: Member, retired_on: datetime.date, by: User | None, transfer_to: Organisation | None = None
) -> Member:
    """The member retires: the open referral ends (reason: retired) and, when ``transfer_to`` is given, the member's
    home becomes that residential cell, where retired members live and meet as its own members."""
    member = _lock_member(member)
    errors = Errors()
    if transfer_to is not None and transfer_to.kind != Kind.RESIDENTIAL_CELL:
        errors.add("transfer_to", _("Choose a residential cell."), code="not_residential_cell")
    errors.raise_if_any()
    open_referral = Referral.objects.filter(member=member, ended_on__isnull=True).first()
    if open_referral is not None:
        referral_end(referral=open_referral, ended_on=retired_on, end_reason=Referral.EndReason.RETIRED, by=by)
    fields = {"retired_on": retired_on}
    if transfer_to is not None:
        fields["home_organisation"] = transfer_to
    # Retired into the cell from the day of retirement: before it the member still belonged to the workplace.
    return member_update(member=member, by=by, home_since=retired_on, **fields)


def referral_end_step(
    *,
    referral: Referral,
    ended_on: datetime.date,
    end_reason: str,
    by: User | None,
    notes: str = "",
    new_ward: Organisation | None = None,
    new_letter_number: str = "",
    transfer_home: bool = False,
) -> Referral | None:
    """The end step as the page and the API offer it (``EndForm``'s fields): a move with the new ward known
    introduces the member there in the same step (the new referral is returned); a retirement with the home
    transferred retires the member into the cell; anything else only ends the referral."""
    if end_reason == Referral.EndReason.MOVED_RESIDENCE and new_ward is not None:
        return referral_end_moved(
            referral=referral,
            ended_on=ended_on,
            new_ward=new_ward,
            letter_number=new_letter_number,
            notes=notes,
            by=by,
        )[1]
    if end_reason == Referral.EndReason.RETIRED and transfer_home:
        member_retire(member=referral.member, retired_on=ended_on, transfer_to=referral.residential_cell, by=by)
        return None
    referral_end(referral=referral, ended_on=ended_on, end_reason=end_reason, notes=notes, by=by)
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Meetings and attendance


def _check_meeting(errors: Errors, cell: Organisation, held_on: datetime.date, half_year: HalfYear) -> None:
    check_residential_cell(errors, cell, held_on, day_field="held_on")
    _check_not_in_future(errors, "held_on", held_on)
    if half_year > HalfYear.of(held_on):
        errors.add("half", _("A meeting cannot count for a half-year that has not begun."), code="half_year_in_future")


class MeetingExists(ValidationError):
    """The meeting is already recorded: the cell's meeting of that kind that day (``meeting``). A form posted twice
    lands here, and its page leads to the meeting rather than recording it again."""

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(
            {
                "held_on": ValidationError(
                    _("The %(kind)s of %(cell)s on %(date)s is already recorded."),
                    code="meeting_exists",
                    params={
                        "kind": meeting.get_kind_display().lower(),
                        "cell": str(meeting.residential_cell),
                        "date": day_text(meeting.held_on),
                    },
                )
            }
        )
        self.meeting = meeting


def _recorded_meeting(cell: Organisation, held_on: datetime.date, kind: str) -> Meeting | None:
    return Meeting.objects.filter(residential_cell=cell, held_on=held_on, kind=kind).first()


@transaction.atomic
def meeting_create(
    *,
    residential_cell: Organisation,
    held_on: datetime.date,
    by: User | None,
    kind: str = Meeting.Kind.PERIODIC,
    half_year: HalfYear | None = None,
    summary: str = "",
) -> Meeting:
    """Record a meeting of a residential cell; it counts for the half-year of ``held_on`` unless told otherwise.
    Idempotent against a double submit: a meeting of that kind already recorded that day raises ``MeetingExists``
    (also when a second request records it at the same moment: the unique constraint decides)."""
    existing = _recorded_meeting(residential_cell, held_on, kind)
    if existing is not None:
        raise MeetingExists(existing)
    errors = Errors()
    half_year = half_year or HalfYear.of(held_on)
    _check_meeting(errors, residential_cell, held_on, half_year)
    meeting = Meeting(
        residential_cell=residential_cell,
        held_on=held_on,
        kind=kind,
        year=half_year.year,
        half=half_year.half,
        summary=summary,
        recorded_by=by,
    )
    try:
        validate_model(meeting, MEETING_MESSAGES, errors=errors)
    except ValidationError:
        # The other request of a double submit may have committed since the first look: its meeting makes the model's
        # uniqueness check fail here, before the constraint could: the same double submit, the same answer.
        existing = _recorded_meeting(residential_cell, held_on, kind)
        if existing is not None:
            raise MeetingExists(existing) from None
        raise
    try:
        with transaction.atomic():  # a savepoint: the transaction stays usable to read the other request's meeting
            save_recorded(meeting, by=by)
    except IntegrityError:
        existing = _recorded_meeting(residential_cell, held_on, kind)
        if existing is None:
            raise
        raise MeetingExists(existing) from None
    return meeting


@transaction.atomic
def attendance_record(
    *, meeting: Meeting, member: Member, status: str, by: User | None, reason: str = ""
) -> Attendance:
    """Record (or correct) whether a member attended a meeting of the residential cell they are placed in."""
    # Locked so that the meeting's date cannot change (meeting_update) between the check below and the save.
    meeting = Meeting.objects.select_for_update().select_related("residential_cell").get(pk=meeting.pk)
    errors = Errors()
    # The attendance sheet is of the referred members placed in the cell on the meeting day, and of no one else.
    belongs = (
        Referral.objects.placed_as_of(meeting.held_on)
        .filter(member=member, residential_cell=meeting.residential_cell_id)
        .exists()
    )
    if not belongs:
        errors.add(
            "member",
            _("This member was not placed in %(cell)s on %(date)s."),
            code="not_in_cell",
            cell=str(meeting.residential_cell),
            date=day_text(meeting.held_on),
        )
    attendance = Attendance.objects.select_for_update().filter(meeting=meeting, member=member).first() or Attendance(
        meeting=meeting, member=member
    )
    if attendance.pk is not None and (attendance.status, attendance.reason) == (status, reason) and not errors:
        return attendance  # nothing changed: no new history record
    attendance.status = status
    attendance.reason = reason
    validate_model(attendance, ATTENDANCE_MESSAGES, errors=errors)
    with integrity_errors_as_validation(ATTENDANCE_MESSAGES):
        save_recorded(attendance, by=by)
    return attendance


@transaction.atomic
def attendance_all_present(*, meeting: Meeting, by: User | None) -> list[Attendance]:
    """The sheet's "all present": mark present every member expected at the meeting (on the sheet and not exempt:
    the members the figures count) who is not marked yet. Members already marked keep their mark; the exempt are
    left for a tap of their own. All or nothing, one history record per attendance written, by ``by`` (as
    ``attendance_record`` writes it). Returns the attendances written: none when nobody was left to mark, so a second
    click changes nothing."""
    # Imported here so that this block stays one piece of the module (the selectors do not import the services).
    from simple_history.utils import bulk_create_with_history

    from members.selectors.meetings import expected_at

    # The meeting's row lock serialises this with every single tap (attendance_record) and with a change of the
    # meeting's date (meeting_update): nobody can mark a member between the read below and the insert.
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    marked = Attendance.objects.filter(meeting=meeting, member=OuterRef("member"))
    unmarked = (
        expected_at(meeting.residential_cell_id, meeting.held_on)
        .exclude(Exists(marked))
        .order_by("member_id")
        .values_list("member_id", flat=True)
        .distinct()
    )
    attendances = [
        Attendance(meeting=meeting, member_id=member_id, status=Attendance.Status.PRESENT) for member_id in unmarked
    ]
    if not attendances:
        return []
    # The marks and their history records in two statements, whatever the size of the cell.
    return bulk_create_with_history(attendances, Attendance, batch_size=500, default_user=by)


MEETING_UPDATE_FIELDS = frozenset({"held_on", "kind", "half_year", "summary"})


@transaction.atomic
def meeting_update(*, meeting: Meeting, by: User | None, **fields: Any) -> Meeting:
    """Correct a meeting's date, kind, half-year or summary. The date cannot move to a day on which a member whose
    attendance is recorded was not placed in the cell (the sheet would no longer hold them). Returns the meeting as
    saved (read again under a row lock)."""
    reject_unknown_fields(fields, MEETING_UPDATE_FIELDS)
    meeting = Meeting.objects.select_for_update().select_related("residential_cell").get(pk=meeting.pk)
    held_on = fields.get("held_on", meeting.held_on)
    half_year = fields.get("half_year") or (
        meeting.half_year if "held_on" not in fields or held_on == meeting.held_on else HalfYear.of(held_on)
    )
    errors = Errors()
    _check_meeting(errors, meeting.residential_cell, held_on, half_year)
    if held_on != meeting.held_on:
        placed = Referral.objects.placed_as_of(held_on).filter(
            residential_cell=meeting.residential_cell_id, member=OuterRef("member")
        )
        strays = list(
            Attendance.objects.filter(meeting=meeting)
            .exclude(Exists(placed))
            .order_by("member__search_name")
            .values_list("member__full_name", flat=True)
        )
        if strays:
            errors.add(
                "held_on",
                _(
                    "Attendance is recorded for members who were not placed in the cell on %(date)s: %(names)s. "
                    "Choose a date on which they were placed in the cell."
                ),
                code="attendance_not_placed",
                date=day_text(held_on),
                names=", ".join(strays),
            )
    before = (meeting.held_on, meeting.kind, meeting.half_year, meeting.summary)
    meeting.held_on = held_on
    meeting.kind = fields.get("kind", meeting.kind)
    meeting.year, meeting.half = half_year.year, half_year.half
    meeting.summary = fields.get("summary", meeting.summary)
    if (meeting.held_on, meeting.kind, meeting.half_year, meeting.summary) == before and not errors:
        return meeting  # nothing changed: no new history record
    validate_model(meeting, MEETING_MESSAGES, errors=errors)
    with integrity_errors_as_validation(MEETING_MESSAGES):
        save_recorded(meeting, by=by)
    return meeting


# ---------------------------------------------------------------------------------------------------------------------
# Residence comments and year-end ratings


@transaction.atomic
def residence_comment_write(
    *,
    member: Member,
    year: int,
    residential_cell: Organisation,
    verdict: str,
    written_on: datetime.date,
    by: User | None,
    text: str = "",
    keeps_contact: bool = True,
    citizen_example: bool = True,
    attends_meetings: bool = True,
    joins_movements: bool = True,
) -> ResidenceComment:
    errors = Errors()
    if residential_cell.kind != Kind.RESIDENTIAL_CELL:
        errors.add("residential_cell", _("Choose a residential cell."), code="not_residential_cell")
    _check_not_in_future(errors, "written_on", written_on)
    if written_on.year < year:
        errors.add("written_on", _("A comment on a year cannot be written before that year."), code="before_year")
    placed_that_year = (
        Referral.objects.filter(
            member=member, residential_cell=residential_cell, placed_on__lte=datetime.date(year, 12, 31)
        )
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=datetime.date(year, 1, 1)))
        .exists()
    )
    if not placed_that_year:
        errors.add(
            "member",
            _("This member was not placed in %(cell)s in %(year)s."),
            code="not_in_cell",
            cell=str(residential_cell),
            year=year,
        )
    exemption = (
        Exemption.objects.in_force_on(min(written_on, datetime.date(year, 12, 31)))
        .filter(member=member, kind=Exemption.Kind.ACTIVITIES)
        .first()
    )
    if exemption is not None:
        errors.add(
            "member",
            _("This member is exempt from residence activities since %(date)s: no comment is written."),
            code="exempt",
            date=day_text(exemption.started_on),
        )
    comment = ResidenceComment(
        member=member,
        year=year,
        residential_cell=residential_cell,
        verdict=verdict,
        written_on=written_on,
        text=text,
        keeps_contact=keeps_contact,
        citizen_example=citizen_example,
        attends_meetings=attends_meetings,
        joins_movements=joins_movements,
        written_by=by,
    )
    validate_model(comment, COMMENT_MESSAGES, errors=errors)
    with integrity_errors_as_validation(COMMENT_MESSAGES):
        save_recorded(comment, by=by)
    return comment


@transaction.atomic
def residence_comment_send(*, comment: ResidenceComment, sent_on: datetime.date, by: User | None) -> ResidenceComment:
    """The ward sends the comment to the member's workplace. Returns the comment as saved."""
    comment = ResidenceComment.objects.select_for_update().get(pk=comment.pk)
    errors = Errors()
    if comment.sent_on is not None:
        errors.add(
            "sent_on",
            _("This comment was already sent on %(date)s."),
            code="already_sent",
            date=day_text(comment.sent_on),
        )
    _check_not_in_future(errors, "sent_on", sent_on)
    comment.sent_on = sent_on
    comment.sent_by = by
    validate_model(comment, COMMENT_MESSAGES, errors=errors)
    save_recorded(comment, by=by)
    return comment


@transaction.atomic
def residence_comment_receive(
    *, comment: ResidenceComment, received_on: datetime.date, by: User | None
) -> ResidenceComment:
    """The workplace records that the comment arrived. Returns the comment as saved."""
    comment = ResidenceComment.objects.select_for_update().get(pk=comment.pk)
    errors = Errors()
    if comment.received_on is not None:
        errors.add(
            "received_on",
            _("This comment was already received on %(date)s."),
            code="already_received",
            date=day_text(comment.received_on),
        )
    elif comment.sent_on is None:
        errors.add("received_on", _("This comment has not been sent yet."), code="not_sent")
    _check_not_in_future(errors, "received_on", received_on)
    comment.received_on = received_on
    comment.received_by = by
    validate_model(comment, COMMENT_MESSAGES, errors=errors)
    save_recorded(comment, by=by)
    return comment


@transaction.atomic
def year_end_rating_record(
    *, member: Member, year: int, level: str, decided_on: datetime.date, by: User | None
) -> YearEndRating:
    errors = Errors()
    _check_not_in_future(errors, "decided_on", decided_on)
    if decided_on.year < year:
        errors.add("decided_on", _("A rating of a year cannot be decided before that year."), code="before_year")
    rating = YearEndRating(member=member, year=year, level=level, decided_on=decided_on, recorded_by=by)
    validate_model(rating, RATING_MESSAGES, errors=errors)
    with integrity_errors_as_validation(RATING_MESSAGES):
        save_recorded(rating, by=by)
    return rating


# ---------------------------------------------------------------------------------------------------------------------
# The yearly round of comments, corrections of a comment before it is sent, corrections of a rating

ROUND_MESSAGES: dict[str, ConstraintMessage] = {
    "one_comment_round_per_year": ConstraintMessage(
        "year",
        _("The round of comments of this year is already set."),
        markers=("members_commentround.organisation_id",),
    ),
}
COMMENT_UPDATE_FIELDS = frozenset(
    {"keeps_contact", "citizen_example", "attends_meetings", "joins_movements", "verdict", "text", "written_on"}
)


@transaction.atomic
def comment_round_set(
    *, organisation: Organisation, year: int, deadline: datetime.date, by: User | None
) -> CommentRound:
    """Set (or change) the deadline for sending a year's comments back to the workplaces, for a root organisation.
    Without it the deadline is 30 November."""
    errors = Errors()
    if organisation.kind != Kind.ROOT:
        errors.add(
            "organisation",
            _("The round of comments is set for the city/provincial organisation."),
            code="not_root",
        )
    if deadline.year != year:
        errors.add(
            "deadline",
            _("The deadline of the round of %(year)s must fall in %(year)s."),
            code="deadline_not_in_year",
            year=year,
        )
    round_ = CommentRound.objects.select_for_update().filter(organisation=organisation, year=year).first()
    if round_ is not None and round_.deadline == deadline and not errors:
        return round_  # nothing changed: no new history record
    round_ = round_ or CommentRound(organisation=organisation, year=year)
    round_.deadline = deadline
    round_.recorded_by = by
    validate_model(round_, ROUND_MESSAGES, errors=errors)
    with integrity_errors_as_validation(ROUND_MESSAGES):
        save_recorded(round_, by=by)
    return round_


@transaction.atomic
def residence_comment_update(*, comment: ResidenceComment, by: User | None, **fields: Any) -> ResidenceComment:
    """Correct a comment before the ward sends it (the criteria, the verdict, the text, the day it was written).
    Refused once sent. Returns the comment as saved (read again under a row lock)."""
    reject_unknown_fields(fields, COMMENT_UPDATE_FIELDS)
    comment = ResidenceComment.objects.select_for_update().get(pk=comment.pk)
    errors = Errors()
    if comment.sent_on is not None:
        errors.add(
            "sent_on",
            _("This comment was sent to the workplace on %(date)s; it can no longer be changed."),
            code="already_sent",
            date=day_text(comment.sent_on),
        )
    written_on = fields.get("written_on", comment.written_on)
    _check_not_in_future(errors, "written_on", written_on)
    if written_on.year < comment.year:
        errors.add("written_on", _("A comment on a year cannot be written before that year."), code="before_year")
    if all(getattr(comment, name) == value for name, value in fields.items()) and not errors:
        return comment  # nothing changed: no new history record
    for name, value in fields.items():
        setattr(comment, name, value)
    validate_model(comment, COMMENT_MESSAGES, errors=errors)
    save_recorded(comment, by=by)
    return comment


@transaction.atomic
def year_end_rating_update(
    *, rating: YearEndRating, level: str, decided_on: datetime.date, by: User | None
) -> YearEndRating:
    """Change a recorded year-end rating (the history keeps the previous one). Returns the rating as saved."""
    rating = YearEndRating.objects.select_for_update().get(pk=rating.pk)
    errors = Errors()
    _check_not_in_future(errors, "decided_on", decided_on)
    if decided_on.year < rating.year:
        errors.add("decided_on", _("A rating of a year cannot be decided before that year."), code="before_year")
    if (rating.level, rating.decided_on) == (level, decided_on) and not errors:
        return rating  # nothing changed: no new history record
    rating.level = level
    rating.decided_on = decided_on
    rating.recorded_by = by
    validate_model(rating, RATING_MESSAGES, errors=errors)
    save_recorded(rating, by=by)
    return rating


# ---------------------------------------------------------------------------------------------------------------------
# Bulk steps (issue 13): several rows in one transaction, each through the single step's service (the same checks and
# the same history row), all or nothing: a row refused names itself and nothing is recorded.


def _row_name(row: Referral | ResidenceComment) -> str:
    return f"{row.member.full_name} ({row.member.card_number})"


def _all_or_nothing(rows, step) -> int:
    """Run ``step`` on each row (in the order of their keys, so that two bulk steps lock rows in the same order);
    collect every refusal, named by its member, and raise them together, which rolls back the caller's transaction."""
    rows = sorted(rows, key=lambda row: row.pk)
    problems = []
    for row in rows:
        try:
            step(row)
        except ValidationError as error:
            problems.extend(f"{_row_name(row)}: {message}" for message in error.messages)
    if problems:
        raise ValidationError(problems)
    return len(rows)


@transaction.atomic
def referrals_receive(*, referrals, received_on: datetime.date, by: User | None) -> int:
    """The ward records several receptions on one day (``referral_receive`` for each). Returns how many."""
    return _all_or_nothing(referrals, lambda r: referral_receive(referral=r, received_on=received_on, by=by))


@transaction.atomic
def residence_comments_send(*, comments, sent_on: datetime.date, by: User | None) -> int:
    """The ward sends several comments on one day (``residence_comment_send`` for each). Returns how many."""
    return _all_or_nothing(comments, lambda c: residence_comment_send(comment=c, sent_on=sent_on, by=by))


@transaction.atomic
def residence_comments_receive(*, comments, received_on: datetime.date, by: User | None) -> int:
    """The workplace records several arrivals on one day (``residence_comment_receive`` for each). Returns how many."""
    return _all_or_nothing(comments, lambda c: residence_comment_receive(comment=c, received_on=received_on, by=by))
