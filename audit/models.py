"""The log of personal data leaving the screen (decree 13/2023/NĐ-CP): every export and download, every national ID
shown in full. Written by ``audit.services.record_access``, read by city staff; never changed afterwards."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation


class AccessLog(models.Model):
    class Kind(models.TextChoices):
        MEMBER_EXPORT = "member_export", _("Member list (Excel)")
        TRACKING_BOOK = "tracking_book", _("Tracking book (Excel)")
        YEARLY_WORKBOOK = "yearly_workbook", _("Yearly report (Excel)")
        IMPORT_UPLOAD = "import_upload", _("Workbook uploaded for import")
        IMPORT_ERRORS = "import_errors", _("Uploaded workbook with its errors (Excel)")
        IMPORT_TEMPLATE = "import_template", _("Import template (Excel)")
        WORKBOOK_EXPORT = "workbook_export", _("Committees' workbook exported (command line)")
        REPORT_EXPORT = "report_export", _("Yearly report exported (command line)")
        NATIONAL_ID_SHOWN = "national_id_shown", _("National ID shown")
        # A national ID typed by the user was found on a member whose ID they do not see: the answer tells them it
        # exists, so such answers are counted, and limited (audit.services.national_id_answers_left).
        NATIONAL_ID_FOUND = "national_id_found", _("National ID found on a member out of sight")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # The user, and their username as it was: the entry outlives a renamed or deleted account.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    kind = models.CharField(_("what"), max_length=30, choices=Kind.choices, db_index=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organisation_code = models.CharField(_("organisation code"), max_length=30, blank=True)
    subject = models.CharField(_("about"), max_length=255, blank=True)  # a file name, a member's card number, a filter
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%d/%m/%Y %H:%M} {self.username or '—'} {self.get_kind_display()}"
