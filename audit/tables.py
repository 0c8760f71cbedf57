"""The access log as a table."""

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from dongha76.tables import Table


class AccessLogTable(Table):
    at = tables.DateTimeColumn(verbose_name=_("When"), format="d/m/Y H:i")
    username = tables.Column(verbose_name=_("Username"), empty_values=(), default="—")
    kind = tables.Column(verbose_name=_("What"))
    organisation_code = tables.Column(verbose_name=_("Organisation"), empty_values=(), default="—")
    subject = tables.Column(verbose_name=_("About"), empty_values=(), default="—", orderable=False)
    rows = tables.Column(verbose_name=_("Rows"), empty_values=(), default="—")
    address = tables.Column(verbose_name=_("Address"), empty_values=(), default="—", orderable=False)

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "access-log-table"}
        empty_text = _("Nothing was exported, downloaded or shown in full in this period.")
        order_by = ("-at",)

    def render_organisation_code(self, value, record):
        return record.organisation.name if record.organisation is not None else value

    def render_username(self, value, record):
        return value or _("command line")
