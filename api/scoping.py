"""Scope for the API: the same functions as the pages (members.selectors.scope, branches.selectors), and the same
answer outside the scope: 404, like an object that does not exist."""

from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound


def get_in_scope(queryset: QuerySet, **lookup) -> Model:
    """The one object of ``queryset`` (a scope function's result) matching ``lookup``, else 404. A value no key
    can be (not a number for a pk, a NUL character) is 404 too, never a 500."""
    for value in lookup.values():
        if isinstance(value, str) and "\x00" in value:
            raise NotFound
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
