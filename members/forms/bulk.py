"""The forms of the bulk steps (issue 13): the rows ticked on a list, one day for all of them, and the confirmation.

The rows ticked are read by ``picked_keys`` in the view before the form, because a row out of the user's scope must
answer 404 before any message about the others (or about the day) could tell anything.
"""

from crispy_forms.helper import FormHelper
from django import forms
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from members.forms.common import date_field

# At most this many rows in one step (one transaction of a few seconds), like the bulk placement; above what the
# server reads at all (DATA_UPLOAD_MAX_NUMBER_FIELDS) answers templates/400.html.
BULK_AT_ONCE = 500


def picked_keys(values: list[str]) -> list[int]:
    """The keys of the rows ticked, without repeats. A value that is no key names no row the user may see: 404."""
    keys = []
    for value in values:
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise Http404
        keys.append(int(value))
    return list(dict.fromkeys(keys))


class BulkDayForm(forms.Form):
    """One day for every row of the step (default today) and whether the user confirmed the count."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, day_field: str, day_label, **kwargs):
        super().__init__(*args, **kwargs)
        self.day_field = day_field
        self.fields[day_field] = date_field(day_label)
        self.fields[day_field].widget.attrs["class"] = "form-control"  # also drawn by hand in the list's bar
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has the token

    @property
    def day(self):
        return self.cleaned_data[self.day_field]


def too_many_message(count: int) -> str:
    return str(_("Choose at most %(limit)s rows at a time (%(count)s are ticked).")) % {
        "limit": BULK_AT_ONCE,
        "count": count,
    }
