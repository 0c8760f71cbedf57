from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RestructuresConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "restructures"
    verbose_name = _("Restructures")
