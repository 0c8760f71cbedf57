"""``manage.py prune_snapshots``: the stored figures of days older than --keep-days are deleted, but the headlines of
31 December (the dashboards' trend); a dry run only counts; the figures read afterwards are the same; bad input is a
clear error that deletes nothing."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from reports import figures, snapshots, steps
from reports.models import FigureSnapshot, ReportSnapshot
from tests.reports.test_snapshots import tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

D = datetime.date
OLD = [D(2017, 12, 31), D(2018, 9, 29), D(2018, 9, 30)]


@pytest.fixture(autouse=True)
def large(monkeypatch):
    monkeypatch.setattr(steps, "STEPPED_FROM", 0)


@pytest.fixture
def stored(tree):  # noqa: F811
    """The root's headline and report parts (its meeting counts, comments and breakdown) of three old days and of
    yesterday."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    for day in [*OLD, yesterday]:
        snapshots.headline_on(tree.root, day)
        snapshots.meeting_counts_on(tree.root, day)
        snapshots.comments_on(tree.root, day.year, day)
        snapshots.by_grassroots_on(tree.root, day)
    assert FigureSnapshot.objects.count() == 4
    assert ReportSnapshot.objects.count() == 12
    return yesterday


def run(*args) -> str:
    out = io.StringIO()
    call_command("prune_snapshots", *args, stdout=out)
    return out.getvalue()


def test_old_days_are_deleted_but_the_trends_31_december(tree, stored):  # noqa: F811
    before = {day: figures.headline(tree.root, day) for day in OLD}
    output = run("--keep-days", "30")
    assert "Deleted 11 stored rows" in output
    assert "2 headlines, 9 report parts" in output  # 31/12's headline kept
    assert set(FigureSnapshot.objects.values_list("day", flat=True)) == {D(2017, 12, 31), stored}
    assert set(ReportSnapshot.objects.values_list("day", flat=True)) == {stored}
    # Read again: the same figures, computed and stored again.
    assert {day: snapshots.headline_on(tree.root, day) for day in OLD} == before
    assert snapshots.by_grassroots_on(tree.root, OLD[1]) == figures.by_grassroots_organisation(tree.root, OLD[1])


def test_a_dry_run_counts_and_deletes_nothing(stored):
    output = run("--dry-run")
    assert output.startswith("Would delete 11 stored rows")
    assert FigureSnapshot.objects.count() == 4
    assert ReportSnapshot.objects.count() == 12


def test_the_default_keeps_two_step_windows(stored):
    run()
    assert ReportSnapshot.objects.filter(day=stored).count() == 3
    assert not ReportSnapshot.objects.filter(day__lt=timezone.localdate() - datetime.timedelta(days=62)).exists()


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", ""])
def test_a_wrong_number_of_days_is_refused_and_deletes_nothing(stored, value):
    with pytest.raises(CommandError, match="--keep-days must be a whole number of days"):
        run("--keep-days", value)
    assert FigureSnapshot.objects.count() == 4 and ReportSnapshot.objects.count() == 12
