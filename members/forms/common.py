"""What every form of the app shares: dd/mm/yyyy date boxes and a service's errors shown next to the fields."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from branches.models import Organisation
from dongha76.dates import DayField, DayInput


def date_input() -> DayInput:
    """A text box for a day, shown dd/mm/yyyy (``dongha76.dates.DayInput``)."""
    return DayInput()


def date_field(label, *, required: bool = True, initial_today: bool = True) -> forms.DateField:
    """A dd/mm/yyyy box bounded like every stored day (``dongha76.periods``): 01/01/0001 is a form error."""
    return DayField(
        label=label,
        required=required,
        initial=timezone.localdate if initial_today else None,
        widget=date_input(),
    )


def add_service_errors(form: forms.Form, error: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """Put a service's ``ValidationError`` on the form: next to the field it names (``field_map`` renames the
    service's argument names to the form's field names), else at the top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    field_map = field_map or {}
    for field, errors in error.error_dict.items():
        target = field_map.get(field, field)
        form.add_error(target if target in form.fields and target != NON_FIELD_ERRORS else None, errors)


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name
