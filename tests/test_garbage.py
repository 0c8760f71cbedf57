"""``dongha76.garbage.collected_rarely``: the collector's threshold raised for a long piece of work, then restored."""

import datetime
import gc
import threading

import pytest

from dongha76 import garbage


@pytest.fixture(autouse=True)
def default_threshold():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_threshold_is_raised_for_the_work_and_restored_after_it(default_threshold):
    with garbage.collected_rarely():
        assert gc.get_threshold() == (garbage.RARELY, *default_threshold[1:])
    assert gc.get_threshold() == default_threshold


def test_restored_when_the_work_fails(default_threshold):
    with pytest.raises(ZeroDivisionError), garbage.collected_rarely():
        1 / 0  # noqa: B018
    assert gc.get_threshold() == default_threshold


def test_two_imports_at_once_share_one_change(default_threshold):
    """Two threads: the first to leave does not restore the threshold under the other; the last one does."""
    both_in, first_left = threading.Barrier(2), threading.Event()
    seen = {}

    def first():
        with garbage.collected_rarely():
            both_in.wait()
        first_left.set()

    def second():
        with garbage.collected_rarely():
            both_in.wait()
            first_left.wait(10)
            seen["after the first left"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after the first left": (garbage.RARELY, *default_threshold[1:])}
    assert gc.get_threshold() == default_threshold


def test_an_import_runs_with_the_threshold_raised(monkeypatch, default_threshold):
    from workbooks import importing

    seen = []

    def reading(*args, **kwargs):
        seen.append(gc.get_threshold())
        raise importing.WorkbookRefused("stop here")

    monkeypatch.setattr(importing, "read_workbook", reading)
    with pytest.raises(importing.WorkbookRefused):
        importing.import_workbook(None, by=None)
    assert seen == [(garbage.RARELY, *default_threshold[1:])]
    assert gc.get_threshold() == default_threshold


def test_the_demo_is_built_with_the_threshold_raised(monkeypatch, default_threshold):
    from members.demo import builder

    seen = []
    monkeypatch.setattr(builder.DemoBuilder, "build", lambda self: seen.append(gc.get_threshold()))
    builder.seed_demo(today=datetime.date(2026, 11, 30))
    assert seen == [(garbage.RARELY, *default_threshold[1:])]
    assert gc.get_threshold() == default_threshold
