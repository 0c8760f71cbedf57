import gc

from django.apps import AppConfig, apps
from django.core.management import call_command
from django.core.signals import request_finished
from django.db.models.signals import post_migrate


def _create_cache_table(*, using: str = "default", **kwargs) -> None:
    """The cache lives in a table every app process shares (settings.CACHES: the API's request counts), so `migrate`
    alone must leave a working database: `make run`, a deployment, a generated benchmark database. Idempotent."""
    call_command("createcachetable", database=using, verbosity=0)


def _freeze_after_first_request(**kwargs) -> None:
    """The objects alive after a process's first request (modules, classes, the URLconf, compiled templates,
    translations: 130,000 of them) are set aside from the garbage collector (``gc.freeze``), once.

    They live as long as the process, yet each full collection walked them all again: 60-100 ms, on one request of
    about ten, which made a list page's p95 2-3x its p50 (issue 15). What the requests create is still collected.
    Collected once first, so that the first request's garbage is not kept."""
    request_finished.disconnect(dispatch_uid="dongha76-gc-freeze")
    gc.collect()
    gc.freeze()


class ProjectConfig(AppConfig):
    """The project package as an app, only to connect its signal receivers once Django is ready."""

    name = "dongha76"
    verbose_name = "dongha76"

    def ready(self) -> None:
        from dongha76 import middleware  # noqa: F401 (connects the login receiver of the idle-session middleware)

        # Sent once per app with models after each migrate; the sessions app's is the one that fits: the cache, like
        # the sessions, is state the processes share. (This app has no models, so it is never a sender itself.)
        post_migrate.connect(
            _create_cache_table, sender=apps.get_app_config("sessions"), dispatch_uid="dongha76-cache-table"
        )
        request_finished.connect(_freeze_after_first_request, dispatch_uid="dongha76-gc-freeze")
