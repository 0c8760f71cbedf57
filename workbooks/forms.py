from django import forms
from django.utils.translation import gettext_lazy as _


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
