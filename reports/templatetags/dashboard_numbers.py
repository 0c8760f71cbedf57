"""``{% number %}``: a number of the dashboard, linked to the list of exactly that many rows.

A tag rather than an included template: the grassroots table shows eight numbers a row, 50 rows a page, and an
``{% include %}`` each (a context pushed, the template looked up and rendered) was most of the time city staff's
dashboard spent drawing its HTML (about 10 of its 80-105 ms)."""

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def number(value, href="", *, count="", plain=False, danger=False):
    """``value`` linked to ``href`` (marked ``data-number``: the drill-down tests follow it) when there is a list and
    the number is not 0, else the number alone. ``plain``: a table cell's number (else a weak spot's, in its own
    style); ``danger``: a plain number in red; ``count``: its ``data-count``, which the tests and the page's script
    read."""
    shown = floatformat(value, "g")
    data_count = format_html(' data-count="{}"', count) if count else ""
    if href and value:
        css = ' class="app-weak-number"' if not plain else ' class="link-danger"' if danger else ""
        return format_html('<a data-number{} href="{}"{}>{}</a>', mark_safe(css), href, data_count, shown)  # noqa: S308
    css = "" if plain else ' class="app-weak-number"'
    return format_html("<span{}{}>{}</span>", mark_safe(css), data_count, shown)  # noqa: S308
