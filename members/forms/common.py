"""What every form of the app shares: dd/mm/yyyy date boxes and a service's errors shown next to the fields."""

import contextlib

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.http import urlencode

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


# -- organisation choices at nation size ---------------------------------------------------------------------------
# A form's choice of an organisation offers those of the user's scope: for city staff, every residential cell or ward
# of the nation (hundreds of thousands). Up to ``options_shown()`` of them are options of a plain select; beyond, the
# select holds the chosen one only, and a search box above it asks the form's own page
# (``?options=<field>&<field>_term=...``, htmx; members.views.organisation_options) for the organisations of the same
# queryset that match. Without JavaScript the box is sent with the form: a term that matches one organisation stands
# for it, otherwise the form comes back with the matches as the select's options. Either way the field validates the
# posted key against its queryset as before: an organisation out of scope is refused.

TERM_SUFFIX = "_term"
SEARCHED = "?"  # starts the value that stands for a search term with no choice: never a key, so the field refuses it


def options_shown() -> int:
    """How many organisations a select lists before it turns into a search (setting ORGANISATION_OPTIONS_SHOWN)."""
    return getattr(settings, "ORGANISATION_OPTIONS_SHOWN", 50)


@contextlib.contextmanager
def shown_choices(widget, organisations, *, empty: bool):
    """While drawn, ``widget`` offers only ``organisations`` (and its field's empty choice when ``empty``), not its
    field's whole queryset; its choices come back after."""
    iterator = widget.choices
    choices = [("", iterator.field.empty_label)] if empty and iterator.field.empty_label is not None else []
    widget.choices = choices + [iterator.choice(organisation) for organisation in organisations]
    try:
        yield
    finally:
        widget.choices = iterator


def searched_value(field, value: list) -> tuple[str, str, list]:
    """A picker's value split into the term searched (``SEARCHED`` + term, or ""), the field's key name and the keys
    chosen (only well-formed ones: a key that is not a number never reaches a query on ``pk``)."""
    term = next((item[len(SEARCHED) :] for item in value if str(item).startswith(SEARCHED)), "")
    key_name = field.to_field_name or "pk"
    chosen = [item for item in value if item and not str(item).startswith(SEARCHED)]
    if key_name == "pk":
        chosen = [item for item in chosen if str(item).isdigit()]
    return term, key_name, chosen


def organisations_matching(queryset, term: str, limit: int | None = None):
    """The organisations of ``queryset`` whose name holds ``term`` or whose code starts with it."""
    term = term.strip()
    if term:
        queryset = queryset.filter(Q(name__icontains=term) | Q(code__istartswith=term))
    return queryset[: limit or options_shown()]


class OrganisationPicker(forms.Select):
    """The select of a form's ModelChoiceField over organisations, searched when it offers many (see above)."""

    template_name = "members/organisation_select.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._resolved: dict[tuple[str, str], str] = {}
        self.search: dict | None = None

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        term = (data.get(name + TERM_SUFFIX) or "").strip()
        if not term:
            return value
        # A term was typed: the choice is kept when it is one of the matches (picked from the search's answer);
        # else the term stands for its single match, or is sent back to list the matches (no JavaScript).
        key = (str(value or ""), term)
        if key not in self._resolved:
            key_name = self.choices.field.to_field_name or "pk"
            found = [
                str(k) for k in organisations_matching(self.choices.queryset, term).values_list(key_name, flat=True)
            ]
            if value and str(value) in found:
                self._resolved[key] = str(value)
            elif len(found) == 1:
                self._resolved[key] = found[0]
            else:
                self._resolved[key] = SEARCHED + term
        return self._resolved[key]

    def optgroups(self, name, value, attrs=None):
        iterator = self.choices
        queryset = iterator.queryset
        limit = options_shown()
        shown = list(queryset[: limit + 1])
        self.search = None
        if len(shown) > limit:
            term, key_name, chosen = searched_value(iterator.field, value)
            if term:
                shown = list(organisations_matching(queryset, term))
            else:
                shown = list(queryset.filter(**{f"{key_name}__in": chosen})) if chosen else []
            self.search = {"term": term, "found": len(shown) if term else None}
        with shown_choices(self, shown, empty=True):
            return super().optgroups(name, value, attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.search is not None:
            widget = context["widget"]
            # The select may be empty until a search: the browser must not block sending the typed term.
            if widget["attrs"].pop("required", False):
                widget["attrs"]["aria-required"] = "true"
            widget["form_search"] = {
                **self.search,
                "name": name + TERM_SUFFIX,
                "url": "?" + urlencode({"options": name}),
            }
        return context


class OrganisationChoiceField(forms.ModelChoiceField):
    widget = OrganisationPicker

    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name


class OrganisationMultiplePicker(forms.widgets.ChoiceWidget):
    """The tick boxes of a form's ModelMultipleChoiceField over organisations, searched when it offers many.

    Up to ``options_shown()`` organisations: a tick box each. Beyond, a search box (``<field>_term``) above the tick
    boxes of the organisations already ticked and of those matching the term. With JavaScript (htmx) the box asks the
    form's page (``?options=<field>&<field>_term=...&<field>=<ticked>...``), whose answer (``render_list``) is the
    ticked ones again plus the matches, so a new search never drops a tick. Without JavaScript the box is sent with
    the form: a term whose matches hold none of the ticked ones is added when it matches one organisation, otherwise
    the form comes back with the matches to tick. The field validates every posted key against its queryset."""

    allow_multiple_selected = True
    input_type = "checkbox"
    template_name = "members/organisation_checkboxes.html"
    list_template_name = "members/organisation_checkbox_list.html"
    add_id_index = True
    checked_attribute = {"checked": True}
    use_fieldset = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._resolved: dict[tuple[tuple[str, ...], str], list[str]] = {}
        self.search: dict | None = None

    def value_from_datadict(self, data, files, name):
        getter = getattr(data, "getlist", None)
        ticked = [str(item) for item in (getter(name) if getter else data.get(name) or [])]
        term = (data.get(name + TERM_SUFFIX) or "").strip()
        if not term:
            return ticked
        key = (tuple(ticked), term)
        if key not in self._resolved:
            key_name = self.choices.field.to_field_name or "pk"
            found = [
                str(k) for k in organisations_matching(self.choices.queryset, term).values_list(key_name, flat=True)
            ]
            if any(item in found for item in ticked):  # ticked among the matches: the search was used
                self._resolved[key] = ticked
            elif len(found) == 1:
                self._resolved[key] = [*ticked, found[0]]
            else:
                self._resolved[key] = [*ticked, SEARCHED + term]
        return self._resolved[key]

    def value_omitted_from_data(self, data, files, name):
        return False  # no box ticked sends nothing: that is a value (none)

    def optgroups(self, name, value, attrs=None):
        iterator = self.choices
        queryset = iterator.queryset
        limit = options_shown()
        shown = list(queryset[: limit + 1])
        self.search = None
        if len(shown) > limit:
            term, key_name, chosen = searched_value(iterator.field, value)
            shown = list(queryset.filter(**{f"{key_name}__in": chosen})) if chosen else []
            found = list(organisations_matching(queryset, term)) if term else []
            keys = {getattr(organisation, key_name) for organisation in shown}
            shown += [organisation for organisation in found if getattr(organisation, key_name) not in keys]
            self.search = {"term": term, "found": len(found) if term else None}
        with shown_choices(self, shown, empty=False):
            return super().optgroups(name, value, attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.search is not None:
            context["widget"]["form_search"] = {
                **self.search,
                "name": name + TERM_SUFFIX,
                "url": "?" + urlencode({"options": name}),
            }
        return context

    def render_list(self, name, ticked: list[str], term: str, attrs=None, renderer=None) -> str:
        """The tick boxes alone, for the search's answer: ``ticked`` (those of the queryset) and the matches of
        ``term``; the hint under the box comes with them (htmx out of band)."""
        value = [str(item) for item in ticked] + ([SEARCHED + term] if term else [])
        context = self.get_context(name, value, attrs)
        context["status_oob"] = True
        return self._render(self.list_template_name, context, renderer)
