"""One way to read a day a user typed, the way a phone lets them type it.

``parse_day`` reads every form of a day the product accepts; ``DayField`` (a form field) and ``DayInput`` (its text
box) use it for every date a user types, and the workbook import reads typed text dates with it too, so the same text
is the same day everywhere and gets the same message when it is not one.

Accepted (surrounding spaces ignored):

- ``dd/mm/yyyy`` and ``d/m/yyyy``, with ``/``, ``.``, ``-`` or ``,`` between the parts (one separator, the same twice):
  the "," is there because the decimal keypad of a phone offers only the locale's decimal separator, which is "," in
  Vietnamese (see ``DayInput``);
- ``ddmmyyyy`` and ``ddmmyy`` (digits only: a keypad without any separator);
- a two-digit year: ``yy`` is 20yy when that year is at most ``TWO_DIGIT_YEAR_AHEAD`` years after today's, else 19yy
  (in 2026: 00–36 are 2000–2036, 37–99 are 1937–1999, so a deadline "30" is 2030 and a birth year "65" is 1965);
- ``yyyy-mm-dd`` (what a native date picker and the existing links send).

A text of one of these shapes that names no day (31/02/2026, 29/02/2025, 00/05/2026, 12/13/2026) is "impossible":
its own message, since "write it as dd/mm/yyyy" would tell the user to do what they did. Anything else is "invalid".
The bounds of a stored day (1930–2100, ``dongha76.periods``) are the field's check, not the parser's.
"""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dongha76.periods import FIRST_DAY, LAST_DAY, day_message

DAY_FORMAT = "%d/%m/%Y"
TWO_DIGIT_YEAR_AHEAD = 10

INVALID_MESSAGE = _("Enter a date as dd/mm/yyyy.")
IMPOSSIBLE_MESSAGE = _("This date does not exist.")
MESSAGES = {"invalid": INVALID_MESSAGE, "impossible": IMPOSSIBLE_MESSAGE}

# [0-9], not \d: \d would also take other scripts' digits, which int() reads but nobody means.
_SEPARATED = re.compile(r"([0-9]{1,2})([/.,-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")
_DIGITS = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4}|[0-9]{2})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def full_year(year_text: str, today: datetime.date) -> int:
    """A year typed with four digits as it is; with two, in the window described above."""
    year = int(year_text)
    if len(year_text) != 2:
        return year
    year += 2000
    return year if year <= today.year + TWO_DIGIT_YEAR_AHEAD else year - 100


def parse_day(text: str | None, *, today: datetime.date | None = None) -> datetime.date | None:
    """The day ``text`` names, or ``None`` when nothing was typed. Raises ``ValidationError`` with code "invalid"
    (not a date's shape) or "impossible" (a date's shape, but no such day). ``today`` fixes the two-digit year
    window (default: today)."""
    text = (text or "").strip()
    if not text:
        return None
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        match = _SEPARATED.fullmatch(text)
        parts = (match.group(1), match.group(3), match.group(4)) if match else None
        if parts is None and (match := _DIGITS.fullmatch(text)):
            parts = match.groups()
        if parts is None:
            raise ValidationError(INVALID_MESSAGE, code="invalid")
        day, month = int(parts[0]), int(parts[1])
        year = full_year(parts[2], today or timezone.localdate())
    try:
        return datetime.date(year, month, day)
    except ValueError as error:
        raise ValidationError(IMPOSSIBLE_MESSAGE, code="impossible") from error


class DayInput(forms.DateInput):
    """A text box for a day, shown dd/mm/yyyy.

    Not ``type=date``: a browser's picker ignores the Vietnamese order of day and month, and its look depends on the
    browser. ``inputmode=decimal`` rather than:
    - ``numeric``: on an iPhone, digits only (no separator at all; ddmmyyyy still works, but few people think of it);
    - ``tel``: on an iPhone, digits and + * # only (no "/", "." or "-"), and it invites the phone's contacts to fill in;
    - ``text``: a full keyboard, the digits a tap away.
    ``decimal`` gives the digit keypad plus the locale's decimal separator ("," on a Vietnamese iPhone, "." on an
    English one; Android keyboards show "." and "," and often "-"), all of which ``parse_day`` accepts.
    """

    input_type = "text"

    def __init__(self, attrs=None, format=None):
        defaults = {"inputmode": "decimal", "placeholder": "dd/mm/yyyy", "autocomplete": "off"}
        super().__init__(attrs={**defaults, **(attrs or {})}, format=format or DAY_FORMAT)


class DayField(forms.DateField):
    """A date box read by ``parse_day``, whose value lies between ``first`` and ``last`` (default: the product's
    bounds)."""

    widget = DayInput
    default_error_messages = dict(MESSAGES)

    def __init__(self, *, first: datetime.date = FIRST_DAY, last: datetime.date = LAST_DAY, **kwargs) -> None:
        super().__init__(**kwargs)
        self.first, self.last = first, last

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return parse_day(str(value))
        except ValidationError as error:
            raise ValidationError(self.error_messages[error.code], code=error.code) from error

    def prepare_value(self, value):
        """A bound form shows what was typed; when it was a day (02122026), show it dd/mm/yyyy."""
        if isinstance(value, str):
            try:
                return parse_day(value) or value
            except ValidationError:
                return value
        return value

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None and not self.first <= value <= self.last:
            raise ValidationError(day_message(self.first, self.last), code="day_out_of_bounds")


# The admin's editable forms (a member, an organisation) read days like every other form.
ADMIN_FORMFIELD_OVERRIDES = {models.DateField: {"form_class": DayField, "widget": DayInput}}
