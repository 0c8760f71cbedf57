"""``person_name``: a user's name family name first (a template builtin: no ``{% load %}`` needed)."""

from django import template

from dongha76.names import person_name as _person_name

register = template.Library()


@register.filter
def person_name(user) -> str:
    return _person_name(user)
