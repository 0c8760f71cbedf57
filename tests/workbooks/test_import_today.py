"""An import checks every date against one day, read once (``dongha76.periods.one_day``, issue 15): reading the
clock and the time zone for each of a large workbook's dates was a tenth of its checks."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from dongha76 import periods
from tests.factories import make_tree
from tests.workbooks.books import MEMBERS, member_row, member_sheet, workbook
from workbooks.importing import import_workbook

pytestmark = pytest.mark.django_db


def clock_reads(monkeypatch, rows: int) -> int:
    """How often importing ``rows`` members (four dates each) reads today's date."""
    tree = make_tree()
    reads = []
    real = timezone.localdate

    def counted(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(timezone, "localdate", counted)
    book = workbook({MEMBERS: member_sheet(*(member_row(f"4800{n:04d}", tree.cell.code) for n in range(rows)))})
    result = import_workbook(book, by=None, dry_run=True)
    monkeypatch.undo()
    assert result.ok, result.problems[:3]
    return len(reads)


def test_an_import_reads_the_clock_once_whatever_its_rows(monkeypatch):
    assert clock_reads(monkeypatch, 30) == 1


def test_one_day_holds_the_day_it_began_for_the_validators(monkeypatch):
    monday, tuesday = datetime.date(2026, 11, 30), datetime.date(2026, 12, 1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: monday)
    with periods.one_day() as day:
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tuesday)
        assert day == periods.today() == monday
        with pytest.raises(ValidationError) as refused:
            periods.validate_not_in_future(tuesday)
        assert refused.value.params == {"today": "30/11/2026"}
        with pytest.raises(ValidationError):
            periods.validate_birth_day(tuesday)
        with periods.one_day():  # an enclosing block's day is kept
            assert periods.today() == monday
    # Outside the block the clock is read again.
    assert periods.today() == tuesday
    periods.validate_not_in_future(tuesday)
    periods.validate_birth_day(tuesday)
