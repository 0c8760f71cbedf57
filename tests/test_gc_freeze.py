"""The objects alive after a process's first request are set aside from the garbage collector, once
(``dongha76.apps._freeze_after_first_request``; issue 15: a full collection walked them all on one request of ten)."""

import gc

from django.core.signals import request_finished


def _connected() -> bool:
    return any(key[0] == "dongha76-gc-freeze" for key, *_ in request_finished.receivers)


def test_after_a_request_the_objects_alive_are_frozen_and_the_receiver_is_gone(client):
    client.get("/login/")

    assert gc.get_freeze_count() > 0
    assert not _connected()  # once a process: later requests collect what they create as usual


def test_the_receiver_freezes_once(client):
    from dongha76.apps import _freeze_after_first_request

    request_finished.connect(_freeze_after_first_request, dispatch_uid="dongha76-gc-freeze")
    assert _connected()
    frozen = gc.get_freeze_count()

    client.get("/login/")

    assert not _connected()
    assert gc.get_freeze_count() >= frozen
