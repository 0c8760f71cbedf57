"""The error pages (403, 404, 500 and the CSRF failure) in the site layout: the menu and a way back home.

Django's own handlers render 404.html without telling the template it is an error page and 500.html without the
request (no menu for a signed-in user). These render each page with the request, and with ``error_status`` so that
the layout leaves out whatever would echo the address (the language form's ``next``): the 404 for a page outside
the user's scope must be byte for byte the 404 for a page that does not exist, or its difference would reveal that
the record exists. Nothing of the exception is ever shown.
"""

import logging

from django.http import HttpResponseForbidden, HttpResponseNotFound, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)

# The last resort when even the template cannot be rendered (a broken template or settings): plain, self-contained.
BARE_500 = (
    '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Lỗi máy chủ (500)</title></head><body>'
    '<h1>Lỗi máy chủ (500)</h1><p>Đã có lỗi. Xin thử lại sau.</p><p><a href="/">Trang chủ</a></p>'
    "</body></html>"
)


def _render(request, template_name: str, status: int) -> str:
    # The menu marks the page's section as active from the resolved URL: an error page belongs to no section, and a
    # 404 raised inside /members/5/ must not differ from the 404 of an address that resolved to nothing.
    request.resolver_match = None
    return loader.render_to_string(template_name, {"error_status": status}, request=request)


@requires_csrf_token
def page_not_found(request, exception=None):
    # The exception's text (e.g. "No Member matches the given query") is left out on purpose: see the module doc.
    return HttpResponseNotFound(_render(request, "404.html", 404))


@requires_csrf_token
def permission_denied(request, exception=None):
    return HttpResponseForbidden(_render(request, "403.html", 403))


@requires_csrf_token
def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: usually a form left open past the session's end; the page says to reload and send again."""
    return HttpResponseForbidden(_render(request, "403_csrf.html", 403))


@requires_csrf_token
def server_error(request):
    """The full layout when it can be drawn; when it cannot (the database is down, so the user, their posts and the
    menu cannot be read), the same page without the request, which reads nothing from the database."""
    try:
        return HttpResponseServerError(_render(request, "500.html", 500))
    except Exception:  # whatever broke the layout, the visitor still gets an error page
        logger.warning("The 500 page could not be drawn with the layout; drawing it without the request", exc_info=True)
    try:
        return HttpResponseServerError(loader.render_to_string("500.html", {"error_status": 500}))
    except Exception:
        logger.exception("The 500 page could not be drawn at all")
        return HttpResponseServerError(BARE_500)
