"""Model fields shared by the apps."""

from django.conf import settings
from django.db import models


def recorded_by_field(verbose_name) -> models.ForeignKey:
    """Who recorded a step. Kept when the user account is deleted later, as the paper book keeps a signature."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
