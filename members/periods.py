"""Half-years: the period residential cells meet for (one periodic meeting each)."""

import dataclasses
import datetime

from django.utils.translation import gettext as _


@dataclasses.dataclass(frozen=True, order=True)
class HalfYear:
    year: int
    half: int  # 1: January-June, 2: July-December

    def __post_init__(self) -> None:
        if self.half not in (1, 2):
            raise ValueError(f"half must be 1 or 2, not {self.half!r}")

    @classmethod
    def of(cls, day: datetime.date) -> "HalfYear":
        return cls(day.year, 1 if day.month <= 6 else 2)

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def last_day(self) -> datetime.date:
        return datetime.date(self.year, 6, 30) if self.half == 1 else datetime.date(self.year, 12, 31)

    def next(self) -> "HalfYear":
        return HalfYear(self.year, 2) if self.half == 1 else HalfYear(self.year + 1, 1)

    def __str__(self) -> str:
        if self.half == 1:
            return _("First half of %(year)s") % {"year": self.year}
        return _("Second half of %(year)s") % {"year": self.year}


def half_years_between(first: HalfYear, last: HalfYear) -> list[HalfYear]:
    result = []
    current = first
    while current <= last:
        result.append(current)
        current = current.next()
    return result
