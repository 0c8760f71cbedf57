"""An uploaded workbook between its preview and its import, and the record of who imported what and when."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkbookImport(models.Model):
    class Status(models.TextChoices):
        CHECKED = "checked", _("Checked, ready to import")
        REFUSED = "refused", _("Has problems, nothing imported")
        IMPORTED = "imported", _("Imported")

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.CASCADE, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    # The file itself, kept for the confirmation and the workbook of errors; emptied once it is no longer needed.
    content = models.BinaryField(default=b"", editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    problems = models.JSONField(default=list, editable=False)  # [{"sheet", "row", "column", "message"}]
    counts = models.JSONField(default=dict, editable=False)  # {sheet key: {"rows", "create", "update", "unchanged"}}
    header_rows = models.JSONField(default=dict, editable=False)  # {sheet title: row of its headers}
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    class Meta:
        verbose_name = _("workbook import")
        verbose_name_plural = _("workbook imports")
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def has_content(self) -> bool:
        return bool(self.content)
