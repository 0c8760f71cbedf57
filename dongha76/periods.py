"""One way to read a period (a year, a day) from what a user typed, with one bound on years.

Every day the product stores or computes with lies between ``FIRST_DAY`` (1930, the year the party was founded) and
``LAST_DAY`` (a deadline far enough ahead); a birth date may go back to ``FIRST_BIRTH_DAY``. Outside that, a date is a
typing mistake, and one that Python's ``datetime`` arithmetic (a half-year before, a year after) would overflow on.
The dashboard form, the JSON API, the yearly workbook, the commands, the list filters and every date box of the forms
parse through here (a typed day through ``dongha76.dates``, which checks these bounds), so a year of 99999 or a
day of 01/01/0001 is a message for the user, never a 500.
"""

import contextlib
import contextvars
import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

FIRST_DAY = datetime.date(1930, 1, 1)
LAST_DAY = datetime.date(2100, 12, 31)
FIRST_YEAR, LAST_YEAR = FIRST_DAY.year, LAST_DAY.year
FIRST_BIRTH_DAY = datetime.date(1900, 1, 1)

_YEAR = re.compile(r"[0-9]{1,4}")
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")

YEAR_MESSAGE = _("Enter a year between %(first)s and %(last)s.")
DAY_MESSAGE = _("Enter a date between %(first)s and %(last)s.")
ISO_DAY_MESSAGE = _("Enter a date as YYYY-MM-DD between %(first)s and %(last)s.")


def _text(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


class PeriodError(ValueError):
    """A year or a day a user typed cannot be used; ``message`` says why, in the user's language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def year_message():
    return YEAR_MESSAGE % {"first": FIRST_YEAR, "last": LAST_YEAR}


def day_message(first: datetime.date = FIRST_DAY, last: datetime.date = LAST_DAY):
    return DAY_MESSAGE % {"first": _text(first), "last": _text(last)}


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(year_message())
    return year


def check_day(day: datetime.date) -> datetime.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PeriodError(day_message())
    return day


def parse_year(text: str | int | None) -> int | None:
    """A year typed as digits (``"2018"``), or ``None`` when nothing was typed. No sign, no exponent, no other digits
    than 0-9; raises ``PeriodError`` otherwise or outside the bounds."""
    if isinstance(text, int):
        return check_year(text)
    text = (text or "").strip()
    if not text:
        return None
    if not _YEAR.fullmatch(text):
        raise PeriodError(year_message())
    return check_year(int(text))


def parse_iso_day(text: str | None) -> datetime.date | None:
    """A day written ``YYYY-MM-DD`` (the API's and the commands' form), or ``None`` when nothing was typed; raises
    ``PeriodError`` otherwise or outside the bounds."""
    text = (text or "").strip()
    if not text:
        return None
    match = _ISO_DAY.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        day = datetime.date(*(int(part) for part in match.groups()))
        return check_day(day)
    except (ValueError, PeriodError) as error:
        raise PeriodError(ISO_DAY_MESSAGE % {"first": _text(FIRST_DAY), "last": _text(LAST_DAY)}) from error


# -- model validators: the same bounds for whatever writes (services, forms, the import, the admin) -------------------


def validate_day(day: datetime.date | None) -> None:
    """Any stored day: between ``FIRST_DAY`` and ``LAST_DAY``."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(day_message(), code="day_out_of_bounds")


def validate_year(year: int | None) -> None:
    """Any stored year (of a meeting's half-year, a comment, a rating): between ``FIRST_YEAR`` and ``LAST_YEAR``."""
    if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(year_message(), code="year_out_of_bounds")


# The day ``one_day`` holds for its block (None: none held, read the clock).
_held_today: contextvars.ContextVar[datetime.date | None] = contextvars.ContextVar("held_today", default=None)


def today() -> datetime.date:
    """Today in the current time zone, or the day ``one_day`` holds."""
    held = _held_today.get()
    return timezone.localdate() if held is None else held


@contextlib.contextmanager
def one_day():
    """Within the block, ``today()`` and the validators below read the clock once (an enclosing block's day is
    kept): a workbook of 100,000 rows checks every date against the same day, and reading the clock and the time
    zone for each of its 300,000 dates was a tenth of its checks (issue 15)."""
    token = _held_today.set(today())
    try:
        yield _held_today.get()
    finally:
        _held_today.reset(token)


def validate_birth_day(day: datetime.date | None) -> None:
    """A date of birth: from ``FIRST_BIRTH_DAY`` to today."""
    if day is not None and not FIRST_BIRTH_DAY <= day <= today():
        raise ValidationError(
            _("Enter a date of birth between %(first)s and today."),
            code="birth_out_of_bounds",
            params={"first": _text(FIRST_BIRTH_DAY)},
        )


def validate_not_in_future(day: datetime.date | None) -> None:
    """A day something happened: not after today (only deadlines and planned days lie ahead)."""
    if day is None:
        return
    current = today()
    if day > current:
        raise ValidationError(
            _("This date is in the future (today is %(today)s)."), code="future", params={"today": _text(current)}
        )


PAST_DAY_VALIDATORS = [validate_day, validate_not_in_future]


# -- form fields -------------------------------------------------------------------------------------------------------


class YearField(forms.IntegerField):
    """A year box read by ``parse_year``."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_year(value if isinstance(value, int) else str(value))
        except PeriodError as error:
            raise ValidationError(error.message, code="year_out_of_bounds") from error
