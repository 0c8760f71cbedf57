"""Template helpers of the list filters (templates/includes/filter_form.html)."""

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms, template
from django.conf import settings
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def active_filter_count(form) -> int:
    """How many fields of a bound filter form hold a value: the folded filter of a phone says so, and opens itself."""
    if not form.is_bound:
        return 0
    return sum(1 for field in form if field.value() not in (None, "", [], ()))


def _crispy_widget_class(widget, css: str) -> None:
    """What crispy-forms' ``{% crispy_field field 'class' css %}`` does to the widget before drawing it: the widget's
    class name, then ``css``, added to its ``class`` attribute (once each)."""
    name = widget.__class__.__name__.lower()
    name = getattr(settings, "CRISPY_CLASS_CONVERTERS", {}).get(name, name)
    classes = widget.attrs.get("class", "")
    if classes:
        if classes.find(name) == -1:
            classes += f" {name}"
    else:
        classes = name
    for part in css.split():
        if part not in classes.split():
            classes += f" {part}"
    widget.attrs["class"] = classes


def _drawn_plainly(field) -> bool:
    """A field ``filter_field`` draws itself: shown, valid, without help text nor a form helper, and a widget that
    crispy-forms draws in the plain way (an input, a select, a checkbox)."""
    widget = field.field.widget
    if field.is_hidden or field.errors or field.help_text or getattr(field.form, "helper", None) is not None:
        return False
    if field.field.required or getattr(widget, "use_fieldset", False) or hasattr(widget, "widgets"):
        return False
    if isinstance(widget, (forms.FileInput, forms.RadioSelect, forms.CheckboxSelectMultiple)):
        return False
    if hasattr(widget, "widget"):  # a wrapper of another widget
        return False
    return isinstance(widget, (forms.widgets.Input, forms.Select, forms.CheckboxInput))


@register.filter
def filter_field(field):
    """A list filter's field, the same HTML as ``{{ field|as_crispy_field }}`` (crispy-forms' bootstrap5
    ``field.html``) but drawn in Python: its template, its includes and their tags drawn for each field were 4-6 ms of
    a list page (issue 15). A field it does not draw the plain way (an error, help text, a required or hidden field,
    another widget) is drawn by crispy-forms."""
    if not _drawn_plainly(field):
        return as_crispy_field(field)
    widget = field.field.widget
    auto_id = conditional_escape(field.auto_id)
    css_classes = field.css_classes()
    wrapper = f" {conditional_escape(css_classes)}" if css_classes else ""
    label = conditional_escape(field.label) if field.label else ""
    # The pieces apart as the template's lines are: the same HTML once white space is taken as the browser takes it.
    if isinstance(widget, forms.CheckboxInput):
        _crispy_widget_class(widget, "form-check-input")
        target = conditional_escape(field.id_for_label)
        parts = (
            '<div class="mb-3">',
            f'<div id="div_{auto_id}" class="form-check{wrapper}">',
            str(field),
            f'<label for="{target}" class="form-check-label">',
            label,
            "</label>",
            "</div>",
            "</div>",
        )
    else:
        _crispy_widget_class(widget, "form-select" if isinstance(widget, forms.Select) else "form-control")
        heading = ()
        if field.label:
            target = f'for="{conditional_escape(field.id_for_label)}" ' if field.id_for_label else ""
            heading = (f'<label {target}class="form-label">', label, "</label>")
        parts = (f'<div id="div_{auto_id}" class="mb-3{wrapper}">', *heading, str(field), "</div>")
    return mark_safe("\n".join(("", *parts, "")))  # noqa: S308 - every piece is escaped, the widget drawn by Django
