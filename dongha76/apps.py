from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project package as an app, only to connect its signal receivers once Django is ready."""

    name = "dongha76"
    verbose_name = "dongha76"

    def ready(self) -> None:
        from dongha76 import middleware  # noqa: F401 (connects the login receiver of the idle-session middleware)
