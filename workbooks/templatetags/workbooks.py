"""``{% may_import_workbooks as flag %}``: whether the menu shows "Import from Excel" (the same rule as the pages;
the user's posts are already read for the header, so it costs no query)."""

from django import template

from workbooks.selectors import may_import

register = template.Library()


@register.simple_tag(takes_context=True)
def may_import_workbooks(context) -> bool:
    request = context.get("request")
    return may_import(getattr(request, "user", None))
