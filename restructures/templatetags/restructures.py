from django import template

from restructures.permissions import may_restructure

register = template.Library()


@register.simple_tag(takes_context=True)
def may_restructure_tree(context) -> bool:
    """Whether the menu shows the restructure pages: city committee staff who write."""
    request = context.get("request")
    return request is not None and may_restructure(request.user)
