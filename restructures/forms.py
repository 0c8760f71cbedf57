"""The forms of the restructure pages: they read what city staff typed into the parameters of a plan
(``restructures.plans``); every rule of a restructure is the plan's (its problems), none is the form's.

A preview carries the plan's parameters as JSON (``ParamsForm``): on confirm they are read back, checked for their
shape and planned again, so nothing the preview computed is ever taken from the browser.
"""

import datetime
import json
import re

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation, Restructure
from dongha76.periods import PeriodError, check_day
from dongha76.text import validate_text
from members.forms.common import SEARCHED, OrganisationMultiplePicker, OrganisationPicker, date_field

Kind = Restructure.Kind
KINDS = tuple(Kind.values)

# A split's assignment is edited in a table up to this many rows; beyond, a workbook is uploaded.
TABLE_LIMIT = 500
ASSIGNMENT_FILE_LIMIT = 10 * 1024 * 1024  # like the workbook import's upload

CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,30}$")


def organisations(day: datetime.date | None = None):
    """The organisations valid on ``day`` (today) that a restructure may name, in tree order."""
    day = day or timezone.localdate()
    return Organisation.objects.valid_on(day).exclude(kind=Organisation.Kind.ROOT).order_by("path", "code")


def holders(day: datetime.date | None = None):
    """Organisations that may hold others (no cell, no outside organisation), valid on ``day`` (today)."""
    day = day or timezone.localdate()
    kinds = [kind for kind, _label in Organisation.Kind.choices if kind not in _LEAF_KINDS]
    return Organisation.objects.valid_on(day).filter(kind__in=kinds).order_by("path")


def organisation_choices(day: datetime.date | None = None) -> list[tuple[str, str]]:
    """The organisations of ``organisations()`` as (code, "name (code) · kind"): every one (for a few only)."""
    return [(org.code, organisation_label(org)) for org in organisations(day)]


def organisation_label(org: Organisation) -> str:
    return f"{org.name} ({org.code}) · {org.get_kind_display()}"


def holder_label(org: Organisation) -> str:
    return f"{org.name} ({org.code})"


_LEAF_KINDS = (
    Organisation.Kind.CELL,
    Organisation.Kind.RESIDENTIAL_CELL,
    Organisation.Kind.GRASSROOTS_CELL,
    Organisation.Kind.OUTSIDE,
)

# The fields naming organisations are keyed by code (the plans' parameters are codes) and searched when there are
# many (members.forms.common): the page never lists every organisation. An unknown or out-of-scope code is refused
# with the message of a plain choice, as before; a search term not yet resolved to a choice with Django's own.
_INVALID_CODE = forms.ChoiceField.default_error_messages["invalid_choice"]
_SEARCHED_MESSAGE = forms.ModelChoiceField.default_error_messages["invalid_choice"]


class OrganisationCodeField(forms.ModelChoiceField):
    """One organisation of ``queryset``, by code; ``cleaned_data`` holds its code ("" for none)."""

    widget = OrganisationPicker

    def __init__(self, queryset, *, label_from=organisation_label, **kwargs):
        self.label_from = label_from
        kwargs.setdefault("error_messages", {"invalid_choice": _INVALID_CODE})
        super().__init__(queryset, to_field_name="code", **kwargs)

    def label_from_instance(self, obj: Organisation) -> str:
        return self.label_from(obj)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(SEARCHED):
            raise forms.ValidationError(_SEARCHED_MESSAGE, code="invalid_choice")
        return super().to_python(value)

    def clean(self, value) -> str:
        organisation = super().clean(value)
        return organisation.code if organisation is not None else ""


class OrganisationCodesField(forms.ModelMultipleChoiceField):
    """Several organisations of ``queryset``, by code; ``cleaned_data`` holds the codes as posted."""

    widget = OrganisationMultiplePicker

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault(
            "error_messages", {"invalid_choice": forms.MultipleChoiceField.default_error_messages["invalid_choice"]}
        )
        super().__init__(queryset, to_field_name="code", **kwargs)

    def label_from_instance(self, obj: Organisation) -> str:
        return organisation_label(obj)

    def clean(self, value) -> list[str]:
        if isinstance(value, list | tuple) and any(str(item).startswith(SEARCHED) for item in value):
            raise forms.ValidationError(_SEARCHED_MESSAGE, code="invalid_choice")
        super().clean(value)  # every code one of the queryset's
        return [str(item) for item in value or []]


def _code_field(label, *, required: bool = True, help_text="") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=30,
        help_text=help_text,
        validators=[RegexValidator(CODE_RE, _("Use only letters without accents, digits, dot, dash and underscore."))],
    )


def _note_field() -> forms.CharField:
    return forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        validators=[validate_text],
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The decision's number and date, for instance."),
    )


class OperationForm(forms.Form):
    """What every operation asks: the effective day and a note; ``params()`` gives the plan's keyword arguments."""

    kind: str = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_on"] = date_field(_("Effective from"))
        self.fields["effective_on"].help_text = _(
            "The first day of the new organisation. Nothing before that day changes."
        )
        self.fields["note"] = _note_field()
        self.order_fields([name for name in self.fields if name not in ("effective_on", "note")] + ["effective_on"])

    def params(self) -> dict:
        raise NotImplementedError


class MergeForm(OperationForm):
    kind = Kind.MERGE
    new_code = _code_field(_("Code of the new organisation"), required=False)
    new_name = forms.CharField(label=_("Name of the new organisation"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["codes"] = OrganisationCodesField(
            organisations(),
            label=_("Organisations to merge"),
            help_text=_("Two or more organisations of one kind."),
        )
        self.fields["into"] = OrganisationCodeField(
            organisations(),
            label=_("Merge into"),
            required=False,
            empty_label=_("A new organisation"),
            help_text=_("One of them, which keeps its row and code; or leave blank and name a new organisation below."),
        )
        self.fields["parent"] = OrganisationCodeField(
            holders(),
            label_from=holder_label,
            label=_("Parent of the new organisation"),
            required=False,
            empty_label=_("The common parent"),
            help_text=_("Blank: the parent the merged organisations share."),
        )
        self.order_fields(["codes", "into", "new_code", "new_name", "parent", "effective_on", "note"])

    def clean_codes(self):
        codes = self.cleaned_data["codes"]
        if len(codes) < 2:
            raise forms.ValidationError(_("Choose at least two organisations to merge."))
        return codes

    def clean(self):
        data = super().clean()
        into = data.get("into")
        if into:
            if "codes" in data and into not in data["codes"]:
                self.add_error("into", _("Merge into one of the organisations chosen above."))
            for field in ("new_code", "new_name", "parent"):
                if data.get(field):
                    self.add_error(field, _("Leave this blank when merging into one of the organisations."))
        else:
            for field in ("new_code", "new_name"):
                if not data.get(field):
                    self.add_error(field, _("Give the new organisation's code and name, or choose one to merge into."))
        return data

    def params(self) -> dict:
        data = self.cleaned_data
        into = data["into"] or None
        return {
            "codes": list(data["codes"]),
            "effective_on": data["effective_on"],
            "into": into,
            "new_code": None if into else data["new_code"],
            "new_name": None if into else data["new_name"],
            "parent": None if into else (data["parent"] or None),
            "children": None,
        }


class SplitForm(OperationForm):
    kind = Kind.SPLIT
    parts = forms.CharField(
        label=_("New organisations"),
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "P1-KP1A = Chi bộ Khu phố 1A\nP1-KP1B = Chi bộ Khu phố 1B"}
        ),
        help_text=_("One a line: code = name. They stand under the same parent, with the same kind."),
    )
    assignment_file = forms.FileField(
        label=_("Assignment workbook (optional)"),
        required=False,
        help_text=_(
            "For a large split: an .xlsx or .csv with the columns Mã (a cell's code) or Số thẻ (a card number) and "
            "Mã kế tục (the new organisation's code). Otherwise choose in the table of the preview."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"] = OrganisationCodeField(organisations(), label=_("Organisation to split"))
        self.order_fields(["code", "parts", "assignment_file", "effective_on", "note"])

    def clean_parts(self) -> list[tuple[str, str]]:
        return parse_parts(self.cleaned_data["parts"])

    def clean_assignment_file(self):
        return clean_assignment_file(self.cleaned_data.get("assignment_file"))

    def params(self) -> dict:
        data = self.cleaned_data
        return {
            "code": data["code"],
            "effective_on": data["effective_on"],
            "parts": [list(part) for part in data["parts"]],
            "assignment": {},
            "children": None,
        }


def parse_parts(text: str) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        code, sep, name = line.partition("=")
        code, name = code.strip(), name.strip()
        if not sep or not CODE_RE.match(code) or not name:
            raise forms.ValidationError(
                _("Line %(number)s: write a code, then =, then a name (e.g. P1-KP1A = Chi bộ Khu phố 1A).")
                % {"number": number}
            )
        if len(name) > 200:
            raise forms.ValidationError(_("Line %(number)s: the name is too long.") % {"number": number})
        try:
            validate_text(name)
        except forms.ValidationError as error:
            raise forms.ValidationError(
                _("Line %(number)s: %(error)s") % {"number": number, "error": " ".join(error.messages)}
            ) from None
        if code in {part[0] for part in parts}:
            raise forms.ValidationError(
                _("Line %(number)s: the code %(code)s is given twice.") % {"number": number, "code": code}
            )
        parts.append((code, name))
    if len(parts) < 2:
        raise forms.ValidationError(_("Name at least two new organisations."))
    return parts


def clean_assignment_file(upload):
    if upload is None:
        return None
    name = (upload.name or "").lower()
    if not name.endswith((".xlsx", ".csv")):
        raise forms.ValidationError(_("Upload an .xlsx or .csv file."))
    if upload.size > ASSIGNMENT_FILE_LIMIT:
        raise forms.ValidationError(_("The file is larger than 10 MB."))
    return upload


class RenameForm(OperationForm):
    kind = Kind.RENAME
    name = forms.CharField(label=_("New name"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"] = OrganisationCodeField(organisations(), label=_("Organisation to rename"))
        self.order_fields(["code", "name", "effective_on", "note"])

    def params(self) -> dict:
        data = self.cleaned_data
        return {"code": data["code"], "effective_on": data["effective_on"], "name": data["name"]}


class MoveForm(OperationForm):
    kind = Kind.MOVE
    new_code = _code_field(
        _("Code of the successor"), required=False, help_text=_("Blank: the code followed by the year, e.g. P1-2025.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"] = OrganisationCodeField(organisations(), label=_("Organisation to move"))
        self.fields["parent"] = OrganisationCodeField(
            holders(), label_from=holder_label, label=_("New parent organisation")
        )
        self.order_fields(["code", "parent", "new_code", "effective_on", "note"])

    def params(self) -> dict:
        data = self.cleaned_data
        return {
            "code": data["code"],
            "effective_on": data["effective_on"],
            "parent": data["parent"],
            "new_code": data["new_code"] or None,
            "children": None,
        }


OPERATION_FORMS: dict[str, type[OperationForm]] = {
    Kind.MERGE: MergeForm,
    Kind.SPLIT: SplitForm,
    Kind.RENAME: RenameForm,
    Kind.MOVE: MoveForm,
}


# -- the parameters a preview carries ---------------------------------------------------------------------------------


class ParamsError(ValueError):
    """The parameters sent back by a preview are not those of a plan (tampered with, or from an older page)."""


def _text(value, *, optional: bool = False, code: bool = False, limit: int = 200) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise ParamsError(value)
    if code and not CODE_RE.match(value):
        raise ParamsError(value)
    return value


def _day(value) -> datetime.date:
    if not isinstance(value, str):
        raise ParamsError(value)
    try:
        return check_day(datetime.date.fromisoformat(value))
    except (ValueError, PeriodError):
        raise ParamsError(value) from None


def _mapping(value, *, optional: bool = True) -> dict[str, str] | None:
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise ParamsError(value)
    return {_text(key, limit=30): _text(part, code=True) for key, part in value.items()}


def read_params(kind: str, params: dict) -> dict:
    """The plan's keyword arguments from the parameters of a preview: each key of the operation, of its type, the
    day a date (a ``ParamsError`` otherwise)."""
    if not isinstance(params, dict):
        raise ParamsError(params)
    params = {key: value for key, value in params.items() if key != "kind"}
    day = _day(params.get("effective_on"))
    if kind == Kind.MERGE:
        codes = params.get("codes")
        if not isinstance(codes, list) or not codes:
            raise ParamsError(codes)
        return {
            "codes": [_text(code, code=True) for code in codes],
            "effective_on": day,
            "into": _text(params.get("into"), optional=True, code=True),
            "new_code": _text(params.get("new_code"), optional=True, code=True),
            "new_name": _text(params.get("new_name"), optional=True),
            "parent": _text(params.get("parent"), optional=True, code=True),
            "children": _mapping(params.get("children")),
        }
    if kind == Kind.SPLIT:
        parts = params.get("parts")
        if not isinstance(parts, list) or not parts:
            raise ParamsError(parts)
        checked = []
        for part in parts:
            if not isinstance(part, list | tuple) or len(part) != 2:
                raise ParamsError(part)
            checked.append((_text(part[0], code=True), _text(part[1])))
        return {
            "code": _text(params.get("code"), code=True),
            "effective_on": day,
            "parts": checked,
            "assignment": _mapping(params.get("assignment"), optional=False),
            "children": _mapping(params.get("children")),
        }
    if kind == Kind.RENAME:
        return {"code": _text(params.get("code"), code=True), "effective_on": day, "name": _text(params.get("name"))}
    if kind == Kind.MOVE:
        return {
            "code": _text(params.get("code"), code=True),
            "effective_on": day,
            "parent": _text(params.get("parent"), code=True),
            "new_code": _text(params.get("new_code"), optional=True, code=True),
            "children": _mapping(params.get("children")),
        }
    raise ParamsError(kind)


def params_json(params: dict) -> str:
    """The parameters as the preview carries them: JSON, the day as YYYY-MM-DD, tuples as lists."""

    def default(value):
        if isinstance(value, datetime.date):
            return value.isoformat()
        raise TypeError(value)

    return json.dumps(params, default=default, ensure_ascii=False, sort_keys=True)


def params_from_json(kind: str, text: str) -> dict:
    try:
        raw = json.loads(text or "")
    except (ValueError, RecursionError):
        raise ParamsError(text) from None
    return read_params(kind, raw)


class ConfirmForm(forms.Form):
    """The confirm button's form: the plan's parameters (planned again), the note, and what becomes of the posts."""

    OFFICERS = (
        ("follow", _("Follow the organisation: the same post at the successor")),
        ("end", _("End on the effective day")),
    )

    params = forms.CharField(widget=forms.HiddenInput, max_length=2_000_000)
    note = _note_field()
    officers = forms.ChoiceField(
        label=_("Officers' posts at the organisations that end"),
        choices=OFFICERS,
        initial="follow",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_params(self) -> dict:
        try:
            return params_from_json(self.kind, self.cleaned_data["params"])
        except ParamsError:
            raise forms.ValidationError(_("This preview can no longer be read: start the restructure again.")) from None
