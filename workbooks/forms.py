from django import forms
from django.utils.translation import gettext_lazy as _

from workbooks.layout import SHEETS
from workbooks.models import ImportChange

SHEET_CHOICES = [(sheet.key, sheet.title) for sheet in SHEETS]


class UploadForm(forms.Form):
    """The workbook to check. Whatever the file holds is the service's business (an empty or broken file becomes a
    refused import with its reason); the form only asks that a file be given."""

    file = forms.FileField(
        label=_("Workbook (.xlsx)"),
        allow_empty_file=True,
        widget=forms.FileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
        error_messages={
            "required": _("Choose the workbook (.xlsx) to import."),
            "missing": _("Choose the workbook (.xlsx) to import."),
            "invalid": _("The file did not arrive; choose it again."),
        },
    )
    update_existing = forms.BooleanField(
        label=_("Update existing rows"),
        required=False,
        help_text=_(
            "Without it, a row of an organisation or a member already recorded that would change it is a problem: "
            "nothing already recorded is overwritten by surprise."
        ),
    )


class PreviewFilterForm(forms.Form):
    """The filter of the preview's rows (GET ``sheet``, ``kind``; blank: all). A value that is not a choice is
    ignored (``valid_value``) and the page says so; the page draws the fields itself, with the counts."""

    sheet = forms.ChoiceField(label=_("Sheet"), required=False, choices=[("", _("All sheets")), *SHEET_CHOICES])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *ImportChange.Kind.choices])

    def valid_value(self, name: str) -> str:
        """The field's value if it is one of its choices, else "" (all)."""
        return "" if not self.is_valid() and name in self.errors else self.cleaned_data.get(name) or ""
