"""The bench's URLconf (bench/settings_bench.py): every URL of the product, plus the floor bench/pages.py measures
each page against: a bare authenticated view rendering the site layout (navigation, the user's posts, the bell,
messages) around an empty content block. Not part of the product."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from dongha76.urls import urlpatterns as product_urlpatterns

BARE_URL = "/__bench__/bare/"

_LAYOUT = engines["django"].from_string('{% extends "base.html" %}{% block content %}{% endblock %}')


@login_required
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_LAYOUT.render({}, request))


urlpatterns = [path(BARE_URL.strip("/") + "/", bare, name="bench-bare"), *product_urlpatterns]
