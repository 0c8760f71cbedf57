"""Forms of the member screens: the member record, members of outside organisations, exemptions.

Fields only check their own format (a date is a date, a national ID has 12 digits); every rule that needs the
database or today's date is the service's, and its messages are put next to the fields by ``add_service_errors``.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dongha76.dates import DayField
from dongha76.periods import FIRST_BIRTH_DAY
from members.forms.common import OrganisationPicker, date_input
from members.models import Exemption, Member


def member_field(name: str, **kwargs) -> forms.Field:
    """The form field of a member's model field, with its label, validators and help text."""
    field = Member._meta.get_field(name)
    if field.get_internal_type() == "DateField":
        kwargs.setdefault("widget", date_input())
        kwargs.setdefault("form_class", DayField)
        if name == "date_of_birth":
            kwargs.setdefault("first", FIRST_BIRTH_DAY)
    return field.formfield(**kwargs)


class MemberIdentityForm(forms.Form):
    """The particulars of a member every member form asks for, with the model's labels and validators."""

    card_number = member_field("card_number")
    full_name = member_field("full_name")
    date_of_birth = member_field("date_of_birth")
    gender = member_field("gender")
    national_id = member_field("national_id")
    phone = member_field("phone")
    admitted_on = member_field("admitted_on")


class MemberForm(MemberIdentityForm):
    """A member's record on the workplace side. ``home_choices`` are the cells the user may put the member in."""

    official_on = member_field("official_on")
    home_organisation = forms.ModelChoiceField(queryset=None, label=_("Home cell"), widget=OrganisationPicker)
    residential_address = member_field("residential_address")

    def __init__(self, *args, home_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["home_organisation"].queryset = home_choices
        self.fields["home_organisation"].help_text = Member._meta.get_field("home_organisation").help_text


class MemberEditForm(MemberForm):
    """Editing also records retirement and leaving the party. A new home cell is a transfer from a day."""

    home_since = DayField(
        label=_("In the new home cell since"),
        widget=date_input(),
        required=False,
        help_text=_(
            "Only when the home cell changes: the day of the transfer (default today). The days before keep the "
            "former cell."
        ),
    )
    retired_on = member_field("retired_on")
    left_on = member_field("left_on")
    left_reason = member_field("left_reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = [name for name in self.fields if name != "home_since"]
        names.insert(names.index("home_organisation") + 1, "home_since")
        self.order_fields(names)

    @classmethod
    def initial_for(cls, member: Member) -> dict:
        return {name: getattr(member, name) for name in cls.base_fields if name != "home_since"}


class OutsideMemberForm(MemberIdentityForm):
    """A member of an outside organisation, registered by the ward with the introduction letter it received."""

    residential_address = member_field("residential_address")
    outside_organisation = forms.ModelChoiceField(
        queryset=None, label=_("Outside organisation"), widget=OrganisationPicker
    )
    letter_number = forms.CharField(label=_("Letter number"), max_length=30)
    introduced_on = DayField(label=_("Introduced on"), widget=date_input())
    receiving_ward = forms.ModelChoiceField(queryset=None, label=_("Receiving ward"), widget=OrganisationPicker)
    received_on = DayField(label=_("Received on"), widget=date_input())

    MEMBER_FIELDS = (
        "card_number",
        "full_name",
        "date_of_birth",
        "gender",
        "national_id",
        "phone",
        "admitted_on",
        "residential_address",
    )

    def __init__(self, *args, outside_choices, ward_choices, **kwargs):
        kwargs.setdefault("initial", {"received_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["outside_organisation"].queryset = outside_choices
        self.fields["receiving_ward"].queryset = ward_choices
        only = list(ward_choices[:2])  # not every ward of the nation, for city staff
        if len(only) == 1:
            self.fields["receiving_ward"].initial = only[0]


class ExemptionSetForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of exemption"), choices=Exemption.Kind.choices)
    reason = forms.CharField(label=_("Reason"), max_length=255)
    started_on = DayField(label=_("Exempt since"), widget=date_input())

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"started_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class ExemptionClearForm(forms.Form):
    ended_on = DayField(
        label=_("Exemption lifted on"),
        widget=date_input(),
        help_text=_("The first day the member is no longer exempt."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"ended_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
