"""Reports read from a PostgreSQL streaming replica, everything else from the primary.

When ``DATABASE_REPLICA_URL`` is set, the settings add a second database alias, ``"replica"`` (a hot standby of the
primary, read only), and this router sends reads there, but only:

- inside ``reading_replica()`` (a context manager and decorator), which marks report reading: the dashboard, the
  figures (JSON, API, command) and the yearly workbook. ``ReplicaMiddleware`` applies it to the views named in
  ``REPLICA_VIEWS``, so those views need no change of their own;
- outside any transaction on the primary (a read inside ``transaction.atomic()`` belongs with its writes and its
  locks);
- until the first write of the request (or of the ``reading_replica()`` block outside a request): after it, the rest
  reads the primary, so a user reads what they just wrote, never a standby a few milliseconds behind; and for
  ``PIN_SECONDS`` after a request that wrote, the same browser reads only the primary (``ReplicaMiddleware``).

Users, sessions, login attempts, API tokens and the cache are always read from the primary (``PRIMARY_APPS``).
Everything else reads and writes ``"default"``: an object read from the replica is saved to the primary and its
relations are read from where the router says, not from the alias it came from. Without
``DATABASE_REPLICA_URL`` there is no ``"replica"`` alias, ``reading_replica()`` changes nothing and the router
always answers ``"default"``.

The state lives in context variables, so each thread of a gunicorn gthread worker (and each workbook job thread)
has its own; ``ReplicaMiddleware`` gives each request a fresh one.
"""

import contextlib
import contextvars

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
# After a request that wrote, the same browser reads the primary for this long (longer than any lag of a healthy
# standby: docs/deploy.md says how to watch it).
PIN_COOKIE = "dongha76_primary"
PIN_SECONDS = 15

# The views whose reads may go to the replica (URL names): report reading only, no view that writes domain data.
# The yearly workbook writes an access log row after the workbook is written: that write goes to the primary, and
# nothing reads after it.
REPLICA_VIEWS = frozenset(
    {
        "reports:dashboard",
        "reports:dashboard-org",
        "reports:figures-api",
        "reports:workbook",
        "api:figures",
    }
)

# Who the user is, and whether their credentials still hold, is always read from the primary: a token or a password
# just revoked must not keep working for the replica's lag (the API authenticates inside its views).
PRIMARY_APPS = frozenset({"auth", "sessions", "axes", "api", "django_cache"})
# Writes that are not the user's: the cache's (the API counts each request there). They do not send the rest of the
# request to the primary.
UNTRACKED_WRITES = frozenset({"django_cache"})

_reading = contextvars.ContextVar("dongha76_reading_replica", default=False)
_wrote = contextvars.ContextVar("dongha76_wrote_to_primary", default=False)
_in_request = contextvars.ContextVar("dongha76_replica_request", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def reads_from_replica() -> bool:
    """Whether a read now goes to the replica (see the module's docstring)."""
    return (
        _reading.get()
        and not _wrote.get()
        and replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    )


@contextlib.contextmanager
def reading_replica():
    """Within it, reads go to the replica when there is one (outside transactions and before any write). Usable as a
    decorator. Outside a request (a management command), a write inside the block sends the block's later reads to
    the primary."""
    reading = _reading.set(True)
    wrote = None if _in_request.get() else _wrote.set(False)
    try:
        yield
    finally:
        if wrote is not None:
            _wrote.reset(wrote)
        _reading.reset(reading)


@contextlib.contextmanager
def request_scope():
    """A request's own state: not reading the replica, nothing written yet (a thread serves many requests)."""
    tokens = (_in_request.set(True), _reading.set(False), _wrote.set(False))
    try:
        yield
    finally:
        for var, token in zip((_in_request, _reading, _wrote), tokens, strict=True):
            var.reset(token)


def _primary_for(hints) -> str | None:
    """The primary for an object read from the replica (Django would otherwise stay on the alias it came from);
    no opinion (Django's default: the object's alias, else "default") for anything else, such as a script's own
    alias."""
    instance = hints.get("instance")
    return DEFAULT_DB_ALIAS if instance is not None and instance._state.db == REPLICA else None


class ReplicaRouter:
    """``DATABASE_ROUTERS``: reads to the replica as ``reads_from_replica()`` says, everything else to the primary."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label not in PRIMARY_APPS and reads_from_replica():
            return REPLICA
        return _primary_for(hints)

    def db_for_write(self, model, **hints):
        if model._meta.app_label not in UNTRACKED_WRITES:
            _wrote.set(True)
        return _primary_for(hints)

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: an object read from one may refer to an object read from the other.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA} or None

    def allow_migrate(self, db, app_label, **hints):
        # A standby replays the primary's schema: nothing is migrated on it.
        return False if db == REPLICA else None


class ReplicaMiddleware:
    """Gives each request a fresh router state, and reads the views of ``REPLICA_VIEWS`` from the replica. Placed
    after the session and authentication middleware: the session and the signed-in user are read from the primary
    before the view runs (``process_view`` resolves the user first).

    Read-your-writes across requests too: a response to a request that wrote sets a short cookie (``PIN_COOKIE``,
    ``PIN_SECONDS``), and while the browser sends it back every read goes to the primary, so a step recorded and
    the dashboard opened right after show the step even if the standby is a little behind. A client can only send
    itself to the primary with it. Without a replica, no cookie is set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_scope():
            response = self.get_response(request)
            wrote = _wrote.get()
        if wrote and replica_configured():
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.view_name not in REPLICA_VIEWS or not replica_configured():
            return None
        if request.COOKIES.get(PIN_COOKIE):
            return None  # this browser wrote moments ago
        user = getattr(request, "user", None)
        if user is not None:
            user.is_authenticated  # noqa: B018 - the lazy user, loaded now from the primary
        _reading.set(True)  # reset with the rest of the request's state by request_scope()
        return None
