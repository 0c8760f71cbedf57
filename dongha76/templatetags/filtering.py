"""Template helpers of the list filters (templates/includes/filter_form.html)."""

from django import template

register = template.Library()


@register.simple_tag
def active_filter_count(form) -> int:
    """How many fields of a bound filter form hold a value: the folded filter of a phone says so, and opens itself."""
    if not form.is_bound:
        return 0
    return sum(1 for field in form if field.value() not in (None, "", [], ()))
