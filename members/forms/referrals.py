"""Forms of the referral workflow. They parse and check fields; the rules are the services'."""

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from members.forms.common import OrganisationChoiceField, add_service_errors, date_field
from members.models import Referral


class WorkflowForm(forms.Form):
    """A form whose crispy helper renders the fields and no <form> tag (the template owns the tag and buttons)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def add_service_errors(self, error, field_map: dict[str, str] | None = None) -> None:
        add_service_errors(self, error, {"member": NON_FIELD_ERRORS, **(field_map or {})})


class IntroduceForm(WorkflowForm):
    receiving_ward = OrganisationChoiceField(label=_("Receiving ward"), queryset=Organisation.objects.none())
    letter_number = forms.CharField(label=_("Letter number"), max_length=30)
    introduced_on = date_field(_("Introduced on"))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, wards, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["receiving_ward"].queryset = wards


class ReceiveForm(WorkflowForm):
    received_on = date_field(_("Received on"))


def address_help(address: str | None) -> str:
    """The member's address under the choice of the cell, so that the ward picks the khu phố where they live."""
    if address:
        return format_lazy("{}: {}", _("Lives at"), address)
    return _("No address is recorded for this member: ask them, or see the letter.")


class PlaceForm(WorkflowForm):
    residential_cell = OrganisationChoiceField(label=_("Residential cell"), queryset=Organisation.objects.none())
    placed_on = date_field(_("Placed on"))

    def __init__(self, *args, cells, address: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residential_cell"].queryset = cells
        if address is not None:
            self.fields["residential_cell"].help_text = address_help(address)


class ReplaceForm(WorkflowForm):
    residential_cell = OrganisationChoiceField(label=_("New residential cell"), queryset=Organisation.objects.none())
    replaced_on = date_field(_("In the new cell since"))

    def __init__(self, *args, cells, address: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residential_cell"].queryset = cells
        if address is not None:
            self.fields["residential_cell"].help_text = address_help(address)


# At most this many members are placed in one step: a residential cell takes tens at a time, and the step stays one
# transaction of a few seconds. The server reads up to DATA_UPLOAD_MAX_NUMBER_FIELDS fields, well above it, so that
# ticking more gets this form's message rather than a bare "400".
PLACE_AT_ONCE = 500


class LimitedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses more than ``limit`` values before looking any of them up."""

    def __init__(self, *args, limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def clean(self, value):
        if isinstance(value, list | tuple) and len(value) > self.limit:
            raise forms.ValidationError(
                _("Choose at most %(limit)s members at a time (%(count)s are ticked)."),
                code="too_many",
                params={"limit": self.limit, "count": len(value)},
            )
        return super().clean(value)


class PlaceManyForm(PlaceForm):
    referrals = LimitedMultipleChoiceField(
        label=_("Members to place"),
        queryset=Referral.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        limit=PLACE_AT_ONCE,
    )

    def __init__(self, *args, referrals, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referrals"].queryset = referrals
        self.fields["referrals"].label_from_instance = lambda r: f"{r.member.full_name} ({r.member.card_number})"


class ReportForm(WorkflowForm):
    reported_on = date_field(_("Reported to the cell on"))


def end_step_arguments(cleaned_data: dict) -> dict:
    """``EndForm``'s cleaned data as the arguments of ``services.referral_end_step`` (the page and the API)."""
    fields = ("ended_on", "end_reason", "notes", "new_ward", "new_letter_number", "transfer_home")
    return {field: cleaned_data[field] for field in fields if field in cleaned_data}


class EndForm(WorkflowForm):
    ended_on = date_field(_("Ended on"))
    end_reason = forms.ChoiceField(label=_("End reason"), choices=[("", "---------"), *Referral.EndReason.choices])
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # "Moved residence": introduce to the new ward in the same step.
    new_ward = OrganisationChoiceField(
        label=_("Introduce to the new ward"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("Only when the member moved residence within the city: a new letter is issued in the same step."),
    )
    new_letter_number = forms.CharField(label=_("Number of the new letter"), max_length=30, required=False)
    # "Retired": the member's home becomes the residential cell.
    transfer_home = forms.BooleanField(
        label=_("Transfer the member's home cell to the residential cell"),
        required=False,
        help_text=_("Only when the member retired: retired members belong to their residential cell."),
    )

    def __init__(self, *args, wards=None, can_introduce=False, can_transfer=False, **kwargs):
        super().__init__(*args, **kwargs)
        if can_introduce and wards is not None:
            self.fields["new_ward"].queryset = wards
        else:
            del self.fields["new_ward"]
            del self.fields["new_letter_number"]
        if not can_transfer:
            del self.fields["transfer_home"]

    def clean(self):
        data = super().clean()
        reason = data.get("end_reason")
        if data.get("new_ward") and reason != Referral.EndReason.MOVED_RESIDENCE:
            self.add_error("new_ward", _("A new ward is given only when the member moved residence."))
        if data.get("new_ward") and not data.get("new_letter_number"):
            self.add_error("new_letter_number", _("Give the number of the new letter."))
        if data.get("transfer_home") and reason != Referral.EndReason.RETIRED:
            self.add_error("transfer_home", _("The home cell is transferred only when the member retired."))
        return data
