"""Fixtures shared by the reminders tests: the small tree of ``tests.factories.make_tree`` with officers at every
organisation a rule reaches, and helpers to run the rules on a day and read what they made.

Dates are in 2025: the members' services refuse a day after today, and every boundary of 2025 lies in the past.
"""

import dataclasses
import datetime

import pytest
from django.contrib.auth import get_user_model

from branches.models import Officer, Organisation
from reminders.models import Reminder
from reminders.services import update_reminders
from tests.factories import Tree, make_officer, make_organisation, make_tree

User = get_user_model()

YEAR = 2025
# The organisations of the tree whose officers some rule reaches (the workplace's subordinate cell is not one: its
# grassroots committee issues the letters).
ACTING = (
    "root",
    "committee",
    "grassroots_cell",
    "ward1",
    "ward2",
    "ward1_cell1",
    "ward1_cell2",
    "ward2_cell1",
    "ward2_cell2",
)


def day(month: int, dd: int, year: int = YEAR) -> datetime.date:
    return datetime.date(year, month, dd)


def plus(start: datetime.date, days: int) -> datetime.date:
    return start + datetime.timedelta(days=days)


@dataclasses.dataclass
class Staff:
    """An organisation's officers: two who write (a secretary and a deputy), a viewer, and a secretary whose user is
    inactive. Only the first two are reminded."""

    organisation: Organisation
    secretary: User
    deputy: User
    viewer: User
    inactive: User

    @property
    def writers(self) -> list:
        return [self.secretary, self.deputy]

    @property
    def everyone(self) -> list:
        return [self.secretary, self.deputy, self.viewer, self.inactive]


@dataclasses.dataclass
class Cast:
    tree: Tree
    staff: dict[str, Staff]
    upper: Organisation  # an upper-level committee between the root and a ward and a workplace of its own
    upper_staff: Staff

    def __getattr__(self, name: str) -> Staff:
        try:
            return self.__dict__["staff"][name]
        except KeyError:
            raise AttributeError(name) from None

    def all_users(self) -> list:
        return [user for staff in [*self.staff.values(), self.upper_staff] for user in staff.everyone]


def make_staff(organisation: Organisation) -> Staff:
    code = organisation.code.lower()
    inactive = make_officer(organisation, username=f"{code}-inactive")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    return Staff(
        organisation=organisation,
        secretary=make_officer(organisation, username=f"{code}-secretary"),
        deputy=make_officer(organisation, role=Officer.Role.DEPUTY, username=f"{code}-deputy"),
        viewer=make_officer(organisation, role=Officer.Role.VIEWER, username=f"{code}-viewer"),
        inactive=inactive,
    )


def make_cast() -> Cast:
    tree = make_tree()
    upper = make_organisation(kind=Organisation.Kind.UPPER_COMMITTEE, parent=tree.root, name="Đảng bộ Khối")
    return Cast(
        tree=tree,
        staff={name: make_staff(getattr(tree, name)) for name in ACTING},
        upper=upper,
        upper_staff=make_staff(upper),
    )


@pytest.fixture
def cast(db) -> Cast:
    return make_cast()


def update(on: datetime.date):
    """One run of the rules on ``on`` (no e-mail)."""
    return update_reminders(day=on)


def reminders(*, rule: str | None = None, user=None, open_only: bool = False, **filters):
    rows = Reminder.objects.all()
    if rule is not None:
        rows = rows.filter(rule=rule)
    if user is not None:
        rows = rows.filter(user=user)
    if open_only:
        rows = rows.filter(closed_on__isnull=True)
    return rows.filter(**filters).order_by("user_id", "due_on", "pk")


def recipients(rule: str, object_id: int | None = None, **filters) -> list:
    """The users reminded by ``rule`` (of ``object_id``), one entry per reminder, sorted by primary key."""
    rows = reminders(rule=rule, **filters)
    if object_id is not None:
        rows = rows.filter(object_id=object_id)
    return sorted(rows.values_list("user_id", flat=True))


def ids(users) -> list[int]:
    return sorted(user.pk for user in users)
