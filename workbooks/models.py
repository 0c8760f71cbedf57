"""An uploaded workbook between its preview and its import, the record of who imported what and when (and who undid
it), the rows of its preview, and the database rows it wrote (what its undo restores)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkbookImport(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", _("Being checked")
        CHECKED = "checked", _("Checked, ready to import")
        REFUSED = "refused", _("Has problems, nothing imported")
        IMPORTING = "importing", _("Being imported")
        IMPORTED = "imported", _("Imported")
        UNDONE = "undone", _("Imported, then undone")

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.CASCADE, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    # The file itself, kept for the confirmation and the workbook of errors; emptied once it is no longer needed.
    content = models.BinaryField(default=b"", editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    # Ticked on the upload form: rows of organisations and members already recorded may change them. Unticked, such a
    # row that would change something is a problem, so that an upload never overwrites real records by surprise.
    update_existing = models.BooleanField(_("update existing rows"), default=False)
    problems = models.JSONField(default=list, editable=False)  # [{"sheet", "row", "column", "message"}]
    counts = models.JSONField(default=dict, editable=False)  # {sheet key: {"rows", "create", "update", "unchanged"}}
    header_rows = models.JSONField(default=dict, editable=False)  # {sheet title: row of its headers}
    # While it is checked or imported: {"step": what is being done, "done": rows, "total": rows}.
    progress = models.JSONField(default=dict, editable=False)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("workbook import")
        verbose_name_plural = _("workbook imports")
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def has_content(self) -> bool:
        return bool(self.content)


class ImportChange(models.Model):
    """One row of an uploaded workbook that creates or changes something, or has a problem: the preview, row by
    row. Rows that change nothing are only counted (``WorkbookImport.counts``)."""

    class Kind(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        PROBLEM = "problem", _("Problem")

    record = models.ForeignKey(WorkbookImport, on_delete=models.CASCADE, related_name="changes")
    sheet = models.CharField(max_length=20)  # the sheet's key in workbooks.layout
    sheet_order = models.PositiveSmallIntegerField()  # the sheet's place in the workbook, to list them in its order
    row = models.PositiveIntegerField()  # as Excel numbers it; 0 for a problem of the whole sheet
    key = models.CharField(max_length=255)  # the row's key as the sheet shows it ("GDDT", "123456 · 01/02/2020")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    changes = models.JSONField(default=list)  # [[column header, before, after]] as text; an update's only
    problems = models.JSONField(default=list)  # [[column header, message]]

    class Meta:
        ordering = ["sheet_order", "row", "pk"]
        indexes = [models.Index(fields=["record", "kind", "sheet_order", "row"], name="workbooks_change_list")]

    def __str__(self) -> str:
        return f"{self.sheet} {self.row} {self.kind}"


class ImportedRow(models.Model):
    """A database row that an import wrote, with its values before and after: the undo restores ``before`` where the
    row still holds ``after``."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")

    record = models.ForeignKey(WorkbookImport, on_delete=models.CASCADE, related_name="written_rows")
    position = models.PositiveIntegerField()  # the order of writing; the undo goes backwards
    model = models.CharField(max_length=100)  # "app_label.model_name"
    object_pk = models.PositiveBigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField(null=True)  # {attname: value}; None for a row the import created
    after = models.JSONField(null=True)  # {attname: value}; None for a row the import deleted

    class Meta:
        ordering = ["record", "position"]
        indexes = [models.Index(fields=["model", "object_pk"], name="workbooks_written_object")]

    def __str__(self) -> str:
        return f"{self.model} {self.object_pk} {self.action}"


class ReportExport(models.Model):
    """A yearly report workbook (``reports.workbook``) too large to write within a request: written by a background
    job for the user who asked for it, stored in the database in chunks (any app process can serve it: nothing is
    kept on one machine's disk), downloaded by that user alone while the organisation is in their scope, and
    deleted when it expires."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Being written")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.CASCADE, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    organisation = models.ForeignKey(
        "branches.Organisation", verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    # While it runs: {"step": sheet name, "done": rows, "total": rows, "at": ISO time} (as WorkbookImport.progress).
    progress = models.JSONField(default=dict, editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    rows = models.PositiveIntegerField(default=0)  # the rows about people (YearlyWorkbook.data_rows), for the log

    class Meta:
        verbose_name = _("report workbook")
        verbose_name_plural = _("report workbooks")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["requested_by", "organisation", "year", "as_of"], name="workbooks_export_ask")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.year} {self.as_of}"


class ReportExportChunk(models.Model):
    """A piece of a stored report workbook, in order: served one after another without holding the file whole."""

    export = models.ForeignKey(ReportExport, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["export", "index"]
        constraints = [models.UniqueConstraint(fields=["export", "index"], name="workbooks_export_chunk_once")]

    def __str__(self) -> str:
        return f"{self.export_id}:{self.index}"
