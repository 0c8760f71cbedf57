"""Writes of the dated histories: a member's home cell and a referral's residential cell, period by period.

``members.models.history`` says what the histories are; this module is the only code that changes them, in the
order the database's triggers accept (close the open period, change the current place, open the next one). The
services of ``members.services`` call it, so do the workbook import and the restructures.
"""

import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.services import Errors, User, day_text, save_recorded
from members.models import Member, MemberHome, Placement, Referral


def check_home_move(errors: Errors, member_id: int, on: datetime.date, *, field: str = "home_since") -> None:
    """A new home from ``on``: not before the period it replaces began."""
    current = MemberHome.objects.filter(member_id=member_id, ended_on__isnull=True).first()
    if current is not None and on < current.started_on:
        errors.add(
            field,
            _("The member has been in %(home)s since %(date)s: a new home starts on or after that day."),
            code="before_current_home",
            home=str(current.organisation),
            date=day_text(current.started_on),
        )


@transaction.atomic
def move_home(*, member_id: int, organisation: Organisation, on: datetime.date, by: User | None) -> None:
    """The member belongs to ``organisation`` from ``on`` (a transfer, a retirement into a residential cell, a
    restructure). On the first day of the current period it is a correction of that period. The caller has checked
    ``check_home_move``; the member row is updated here (its history is the caller's ``save``)."""
    current = MemberHome.objects.select_for_update().filter(member_id=member_id, ended_on__isnull=True).first()
    previous = None
    if current is not None and current.started_on == on:
        previous = MemberHome.objects.filter(member_id=member_id, ended_on=on).first()
        current.delete()
    elif current is not None:
        if current.organisation_id == organisation.pk:
            return
        current.ended_on = on
        current.save(update_fields=["ended_on"])
    Member.objects.filter(pk=member_id).update(home_organisation=organisation)
    if previous is not None and previous.organisation_id == organisation.pk:
        previous.ended_on = None  # the correction gives back the home before it: one period again
        previous.save(update_fields=["ended_on"])
        return
    MemberHome.objects.create(member_id=member_id, organisation=organisation, started_on=on, recorded_by=by)


def follow_admission(member: Member, errors: Errors) -> None:
    """The first period of the home begins at the admission, when the admission day is corrected."""
    first = MemberHome.objects.filter(member=member).order_by("started_on").first()
    if first is None or first.started_on == member.admitted_on:
        return
    if first.ended_on is not None and member.admitted_on >= first.ended_on:
        errors.add(
            "admitted_on",
            _("The member moved to another home on %(date)s: the admission must be before that day."),
            code="admitted_after_first_move",
            date=day_text(first.ended_on),
        )
        return
    MemberHome.objects.filter(pk=first.pk).update(started_on=member.admitted_on)


def check_replacement(errors: Errors, referral: Referral, on: datetime.date, *, field: str = "placed_since") -> None:
    current = Placement.objects.filter(referral=referral, ended_on__isnull=True).first()
    if current is None:
        errors.add(field, _("This member has not been placed in a residential cell yet."), code="not_placed")
    elif on <= current.started_on:
        errors.add(
            field,
            _("The member has been in %(cell)s since %(date)s: a new placement starts after that day."),
            code="before_current_placement",
            cell=str(current.residential_cell),
            date=day_text(current.started_on),
        )
    elif referral.ended_on is not None and on >= referral.ended_on:
        errors.add(
            field,
            _("This referral ended on %(date)s."),
            code="ended",
            date=day_text(referral.ended_on),
        )


@transaction.atomic
def move_placement(*, referral: Referral, residential_cell: Organisation, on: datetime.date, by: User | None) -> None:
    """The referral's member is placed in ``residential_cell`` from ``on`` (after a khu phố merger, a move within the
    ward, a restructure); the referral stays open. The caller has checked ``check_replacement``."""
    current = Placement.objects.select_for_update().get(referral=referral, ended_on__isnull=True)
    if current.residential_cell_id == residential_cell.pk:
        return
    current.ended_on = on
    current.save(update_fields=["ended_on"])
    referral.residential_cell = residential_cell
    save_recorded(referral, by=by, update_fields=["residential_cell", "updated_at"])  # with the referral's history
    Placement.objects.create(referral=referral, residential_cell=residential_cell, started_on=on, recorded_by=by)
