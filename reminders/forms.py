"""Forms of the reminders pages: how a user wants their reminders by e-mail, and the city staff's thresholds."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils.translation import gettext_lazy as _

from reminders.models import ReminderPreference, ReminderSettings

Delivery = ReminderPreference.Delivery


def _helper(*layout) -> FormHelper:
    """Fields only: the template owns the <form> tag, the token and the buttons."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


class PreferenceForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("Reminders are sent here. Leave it empty to receive none by e-mail."),
    )
    delivery = forms.ChoiceField(
        label=_("Reminders by e-mail"),
        choices=Delivery.choices,
        widget=forms.RadioSelect,
        help_text=_("Whatever you choose, the reminders are listed under the bell of the menu."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("delivery", Delivery.NONE) != Delivery.NONE and not cleaned.get("email"):
            self.add_error("email", _("Give an e-mail address to receive reminders by e-mail, or choose no e-mail."))
        return cleaned


WORKPLACE_FIELDS = ("introduce_after_days", "letter_follow_up_after_days", "acknowledge_after_days")
WARD_FIELDS = ("receive_after_days", "place_after_days", "comments_first_notice_days", "comments_last_notice_days")
CELL_FIELDS = ("meeting_notice_days", "report_after_days")


class ThresholdsForm(forms.ModelForm):
    """The thresholds of a root organisation; the model checks them (1 to 365 days, the last notice after the
    first)."""

    # The saved state the page showed (``thresholds_version``): a colleague's change saved meanwhile is not undone.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    class Meta:
        model = ReminderSettings
        fields = [*WORKPLACE_FIELDS, *WARD_FIELDS, *CELL_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update({"inputmode": "numeric", "class": "app-days-input"})
        self.helper = _helper(
            Fieldset(_("Workplace committee"), *WORKPLACE_FIELDS),
            Fieldset(_("Ward committee"), *WARD_FIELDS),
            Fieldset(_("Residential cell"), *CELL_FIELDS),
            "version",
        )
