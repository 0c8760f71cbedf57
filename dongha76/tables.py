"""The base of every list table (django-tables2), with what the project adds to it."""

import django_tables2 as tables
from django.core.paginator import Paginator


class Table(tables.Table):
    """A django-tables2 table whose ``?per_page=`` is a positive number or ignored.

    django-tables2 passes any integer on: a negative one gave a paginator without pages, and its fallback to the last
    page then failed too (a 500 on every list, found by ``tests/test_fuzz.py``).
    """

    def paginate(self, paginator_class=Paginator, per_page=None, page=1, *args, **kwargs):
        if per_page is not None and per_page < 1:
            per_page = None
        return super().paginate(paginator_class, per_page, page, *args, **kwargs)
