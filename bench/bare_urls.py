"""The bench's URLconf (bench/settings_bench.py): every URL of the product, plus the floor bench/pages.py measures
each page against: a bare authenticated view rendering the site layout (navigation, the user's posts, the bell,
messages) around an empty content block; and the floor of a list: the same layout around 50 referrals with their
member and organisations (one query, no scope, no filter, no count), drawn by a template loop. Not part of the
product."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from dongha76.urls import urlpatterns as product_urlpatterns

BARE_URL = "/__bench__/bare/"
BARE_LIST_URL = "/__bench__/bare-list/"

_LAYOUT = engines["django"].from_string('{% extends "base.html" %}{% block content %}{% endblock %}')


_LIST = engines["django"].from_string(
    '{% extends "base.html" %}{% block content %}<table class="table table-sm"><tbody>'
    "{% for referral in referrals %}<tr>"
    '<td><a href="/referrals/{{ referral.pk }}/">{{ referral.member.full_name }}</a>'
    "<div>{{ referral.member.card_number }}</div></td>"
    "<td>{{ referral.issuing_organisation.name }}</td><td>{{ referral.receiving_ward.name }}</td>"
    "<td>{{ referral.letter_number }}</td><td>{{ referral.introduced_on|date:'d/m/Y' }}</td>"
    "<td>{{ referral.received_on|date:'d/m/Y' }}</td><td>{{ referral.residential_cell.name }}</td>"
    "</tr>{% endfor %}</tbody></table>{% endblock %}"
)


@login_required
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_LAYOUT.render({}, request))


@login_required
def bare_list(request: HttpRequest) -> HttpResponse:
    from members.models import Referral

    referrals = Referral.objects.select_related(
        "member", "issuing_organisation", "receiving_ward", "residential_cell"
    ).order_by("pk")[:50]
    return HttpResponse(_LIST.render({"referrals": referrals}, request))


urlpatterns = [
    path(BARE_URL.strip("/") + "/", bare, name="bench-bare"),
    path(BARE_LIST_URL.strip("/") + "/", bare_list, name="bench-bare-list"),
    *product_urlpatterns,
]
