"""Forms of meetings and attendance. They parse and check fields; the rules are the services'."""

import datetime

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.forms.common import add_service_errors, date_field
from members.models import Attendance, Meeting
from members.periods import HalfYear

# Reasons offered for an excused absence (any other text may be typed).
EXCUSE_SUGGESTIONS = (
    _("Business trip"),
    _("Illness"),
    _("Family matters"),
    _("Full-time study"),
    _("On duty at the workplace"),
)


def previous_half_year(half_year: HalfYear) -> HalfYear:
    return HalfYear.of(half_year.first_day - datetime.timedelta(days=1))


def half_year_value(half_year: HalfYear) -> str:
    return f"{half_year.year}-{half_year.half}"


def half_year_choices(day: datetime.date, *, keep: HalfYear | None = None) -> list[tuple[str, str]]:
    """The half-year of the meeting's date and the one before it (a late meeting may make up for it); ``keep`` is
    the meeting's current half-year, offered too when it is neither."""
    half_years = [HalfYear.of(day), previous_half_year(HalfYear.of(day))]
    if keep is not None and keep not in half_years:
        half_years.append(keep)
    return [(half_year_value(h), str(h)) for h in half_years]


class MeetingForm(forms.Form):
    held_on = date_field(_("Held on"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Meeting.Kind.choices, widget=forms.RadioSelect)
    half_year = forms.ChoiceField(
        label=_("Counts for the half-year"),
        help_text=_("Usually the half-year of the date; a meeting held late may make up for the half-year before."),
        error_messages={"invalid_choice": _("Choose the half-year of the date or the one before it.")},
    )
    summary = forms.CharField(label=_("Summary of content"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, refresh_url: str = "", keep: HalfYear | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.fields["kind"].initial = Meeting.Kind.PERIODIC
        day = self._day()
        self.fields["half_year"].choices = half_year_choices(day, keep=keep)
        if not self.is_bound and "half_year" not in self.initial:
            self.initial["half_year"] = half_year_value(HalfYear.of(day))
        if refresh_url:
            # With htmx, changing the date refreshes the half-year choices (without it, the form says so on submit).
            self.fields["held_on"].widget.attrs.update(
                {
                    "hx-get": refresh_url,
                    "hx-trigger": "change",
                    "hx-target": "#div_id_half_year",
                    "hx-select": "#div_id_half_year",
                    "hx-swap": "outerHTML",
                }
            )

    def _day(self) -> datetime.date:
        """The date the half-year choices follow: the one typed (when it parses), else the initial one, else today."""
        if self.is_bound:
            try:
                day = self.fields["held_on"].clean(self.data.get(self.add_prefix("held_on")))
            except forms.ValidationError:
                day = None
            if day:
                return day
        initial = self.initial.get("held_on")
        if isinstance(initial, datetime.date):
            return initial
        return timezone.localdate()

    def clean_half_year(self) -> HalfYear:
        year, half = self.cleaned_data["half_year"].split("-")
        return HalfYear(int(year), int(half))

    def add_service_errors(self, error) -> None:
        add_service_errors(self, error, {"half": "half_year", "residential_cell": NON_FIELD_ERRORS})


def meeting_arguments(cleaned_data: dict) -> dict:
    """``MeetingForm``'s cleaned data as the arguments of ``services.meeting_create`` and ``services.meeting_update``
    (the pages and the API): the form's fields are the meeting's."""
    return {field: cleaned_data[field] for field in MeetingForm.base_fields}


class AttendanceForm(forms.Form):
    """One tap on the sheet: the status and, for an excused absence, the reason."""

    status = forms.ChoiceField(choices=Attendance.Status.choices)
    reason = forms.CharField(max_length=255, required=False, strip=True)
