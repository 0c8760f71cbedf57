"""The base of every list table (django-tables2), with what the project adds to it."""

from html import escape as html_escape

import django_tables2 as tables
from django.core.paginator import Paginator
from django.middleware.csrf import get_token
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.templatetags.l10n import localize, unlocalize
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django_tables2.columns.datecolumn import DateColumn
from django_tables2.columns.datetimecolumn import DateTimeColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.columns.templatecolumn import TemplateColumn
from django_tables2.utils import A, AttributeDict, signature

# An id no row has, reversed once in place of each row's own (``Table.url``).
_MARKER = 987_654_321_987_654_321

# The cell's optional arguments (django-tables2's ``BoundRow._optional_cell_arguments``), in its order.
CELL_ARGUMENTS = ("value", "record", "column", "bound_column", "bound_row", "table")


def html(template: str, *args) -> SafeString:
    """``format_html`` with the same escaping (``conditional_escape``) done without Django's check of every argument
    for a lazy string, which a row's many small pieces paid again and again (issue 15)."""
    return SafeString(
        template.format(*(arg.__html__() if hasattr(arg, "__html__") else html_escape(str(arg)) for arg in args))
    )


def _has_callable(attrs) -> bool:
    return any(callable(value) or (isinstance(value, dict) and _has_callable(value)) for value in attrs.values())


class _Caller:
    """``django_tables2.utils.call_with_appropriate`` with the function's signature read once, not once per cell:
    reading it (``inspect.signature``) was most of the cost of a list page's rows (issue 15)."""

    __slots__ = ("function", "takes_all", "wanted")

    def __init__(self, function):
        self.function = function
        names, catch_all = signature(function)
        self.takes_all = bool(catch_all)
        self.wanted = names

    def __call__(self, arguments: dict):
        if self.takes_all:
            return self.function(**arguments)
        try:
            chosen = {name: arguments[name] for name in self.wanted}
        except KeyError:
            return None  # as django-tables2: a function asking for what a cell does not offer is not called
        return self.function(**chosen)


class _CellRenderer:
    """One column's cells, as django-tables2 draws them (``BoundRow.get_cell`` through ``cards.html``'s ``<td>``), with
    everything that does not change from row to row worked out once: the ``<td>``'s attributes and label, the render
    function's signature, the accessor, the date format. A column this does not know how to draw faster (a choices
    field shown by its label, a link or template column, attributes computed per cell) is drawn by django-tables2
    itself, cell by cell."""

    def __init__(self, table, bound_column, context: Context):
        column = bound_column.column
        self.bound_column = bound_column
        self.name = bound_column.name
        self.context = context
        self.localize = column.localize
        self.label = render_value_in_context(bound_column.header, context)
        merged = {**table.attrs, **column.attrs}
        td_attrs = merged.get("td", merged.get("cell", {}))
        self.dynamic_attrs = _has_callable(td_attrs)
        bound_column.current_value = bound_column.current_record = None
        self.td_attrs = "" if self.dynamic_attrs else bound_column.attrs["td"].as_html()
        self.accessor = A(bound_column.accessor)
        self.empty_values = column.empty_values
        self.default = bound_column.default
        self.date_format = None
        self.dates = {}  # a page's dates repeat: each drawn once
        self.slow = (
            bool(bound_column.link)
            or isinstance(column, (ManyToManyColumn, BaseLinkColumn))
            or self._shows_choice_labels(table)
            or (isinstance(column, TemplateColumn) and not self._is_plain_date(column))
        )
        self.render = _Caller(bound_column.render)

    def _is_plain_date(self, column) -> bool:
        """A DateColumn or DateTimeColumn with django-tables2's own template, ``{{ value|date:FMT|default:default }}``
        (``date`` takes a date and time in the current time zone, as the template engine gives it)."""
        if type(column) not in (DateColumn, DateTimeColumn) or column.template_name or column.extra_context:
            return False
        prefix, suffix = '{{ value|date:"', '"|default:default }}'
        code = column.template_code or ""
        if not (code.startswith(prefix) and code.endswith(suffix)):
            return False
        self.date_format = code[len(prefix) : -len(suffix)]
        return True

    def _shows_choice_labels(self, table) -> bool:
        """django-tables2 shows a choices field by its ``get_FOO_display()``: such a column keeps its way."""
        model = getattr(table.data, "model", None)
        if model is None:
            return True  # not a queryset: each record could be anything
        try:
            field = self.accessor.get_field(model)
        except Exception:
            return True
        return bool(field is not None and getattr(field, "choices", None))

    def value_of(self, record):
        try:
            return self.accessor.resolve(record)
        except Exception:
            return None

    def cell(self, row) -> str:
        if self.slow:
            content = row.get_cell(self.name)
        else:
            record = row._record
            value = self.value_of(record)
            if value in self.empty_values:
                content = self.default
            elif self.date_format is not None:
                content = self.dates.get(value)
                if content is None:
                    # TemplateColumn renders its template to a safe string: the date escaped, or the default.
                    shown = date_filter(template_localtime(value), self.date_format)
                    content = self.dates[value] = conditional_escape(shown or self.default)
            else:
                content = self.render(
                    {
                        "value": value,
                        "record": record,
                        "column": self.bound_column.column,
                        "bound_column": self.bound_column,
                        "bound_row": row,
                        "table": row._table,
                    }
                )
        if self.localize is not None:
            content = localize(content) if self.localize else unlocalize(content)
        td_attrs = self.td_attrs
        if self.dynamic_attrs:
            self.bound_column.current_value, self.bound_column.current_record = content, row._record
            td_attrs = self.bound_column.attrs["td"].as_html()
        kind = type(content)
        if kind is SafeString:
            shown = content
        elif kind is str:  # what render_value_in_context does to a plain string, without its checks
            shown = html_escape(content)
        else:
            shown = render_value_in_context(content, self.context)
        return f'<td {td_attrs} data-label="{self.label}">{shown}</td>'


class Table(tables.Table):
    """A django-tables2 table whose ``?per_page=`` is a positive number or ignored, and whose rows are drawn by
    ``rendered_rows`` (``templates/django_tables2/cards.html``).

    django-tables2 passes any integer on: a negative one gave a paginator without pages, and its fallback to the last
    page then failed too (a 500 on every list, found by ``tests/test_fuzz.py``).
    """

    def paginate(self, paginator_class=Paginator, per_page=None, page=1, *args, **kwargs):
        if per_page is not None and per_page < 1:
            per_page = None
        return super().paginate(paginator_class, per_page, page, *args, **kwargs)

    def url(self, viewname: str, *args) -> str:
        """``reverse(viewname, args=args)`` for a row's link, at the cost of a string join: the URL is reversed once
        per table, with markers in place of the arguments."""
        cache = self.__dict__.setdefault("_urls", {})
        key = (viewname, len(args))
        if key not in cache:
            markers = [str(_MARKER + n) for n in range(len(args))]
            parts, rest = [], reverse(viewname, args=markers)
            for marker in markers:
                head, rest = rest.split(marker, 1)
                parts.append(head)
            cache[key] = (parts, rest)
        parts, tail = cache[key]
        return "".join(f"{head}{arg}" for head, arg in zip(parts, args, strict=True)) + tail

    @property
    def csrf_input(self) -> str:
        """``{% csrf_token %}`` for a row's form: the request's token, taken once per table."""
        if "_csrf_input" not in self.__dict__:
            request = getattr(self, "request", None)
            token = get_token(request) if request is not None else ""
            self._csrf_input = (
                format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token) if token else ""
            )
        return self._csrf_input

    def rendered_rows(self) -> list[SafeString]:
        """The page's rows as HTML, the same as django-tables2's row template drew them (each cell with its column's
        header as ``data-label`` for the phone's cards), at a fraction of the cost: django-tables2 looks up each
        cell's render signature, attributes and header again for every cell, and a template loop resolves each of
        them through the template engine (2.45 s of a 3.16 s members list under load, issue 15)."""
        context = Context()
        renderers = [_CellRenderer(self, bound_column, context) for bound_column in self.columns]
        row_attrs = {
            name: _Caller(value) if callable(value) else value for name, value in (self.row_attrs or {}).items()
        }
        dynamic_row_attrs = any(isinstance(value, dict) and _has_callable(value) for value in row_attrs.values())
        rows = []
        for row in self.paginated_rows:
            if dynamic_row_attrs:
                attrs = row.attrs.as_html()
            else:
                arguments = {"table": self, "record": row._record}
                values = {
                    name: value(arguments) if isinstance(value, _Caller) else value for name, value in row_attrs.items()
                }
                css = row.get_even_odd_css_class()
                values["class"] = f"{values['class']} {css}" if values.get("class") else css
                attrs = AttributeDict(values).as_html()
            cells = "".join([renderer.cell(row) for renderer in renderers])
            rows.append(mark_safe(f"<tr {attrs}>{cells}</tr>"))  # noqa: S308 - attributes and cells are escaped
        return rows
