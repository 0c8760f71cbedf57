"""The production server's workers freeze the objects of the application once warmed up (dongha76/gunicorn.conf.py,
issue 15), so that Python's full garbage collection stops walking them every few requests."""

import gc
import runpy
import types
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parent.parent / "dongha76" / "gunicorn.conf.py"


@pytest.fixture
def post_request():
    config = runpy.run_path(str(CONFIG))
    gc.unfreeze()
    yield config["post_request"], config["FREEZE_AFTER_REQUESTS"]
    gc.unfreeze()


def test_a_worker_freezes_once_after_its_first_requests(post_request):
    hook, after = post_request
    worker = types.SimpleNamespace(nr=1)
    for served in range(1, after):
        worker.nr = served
        hook(worker, None, {}, None)
        assert gc.get_freeze_count() == 0, served
    worker.nr = after + 1  # another thread counted its request first
    hook(worker, None, {}, None)
    frozen = gc.get_freeze_count()
    assert frozen > 10_000
    kept = [[] for _ in range(3)]  # noqa: F841 - objects made after the freeze stay unfrozen
    worker.nr = after + 2
    hook(worker, None, {}, None)
    assert gc.get_freeze_count() == frozen
