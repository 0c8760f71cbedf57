from django import template

from audit.selectors import reads_access_log

register = template.Library()


@register.simple_tag(takes_context=True)
def may_read_access_log(context) -> bool:
    request = context.get("request")
    return request is not None and reads_access_log(request.user)
