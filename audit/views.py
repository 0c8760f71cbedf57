"""The access log, for city committee staff: who exported, downloaded or showed what, and when."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from audit.filters import AccessLogFilter
from audit.selectors import access_log, reads_access_log
from audit.tables import AccessLogTable


@login_required
@require_GET
def access_log_view(request: HttpRequest) -> HttpResponse:
    if not reads_access_log(request.user):
        raise Http404
    log_filter = AccessLogFilter(request.GET or None, queryset=access_log(request.user))
    table = AccessLogTable(log_filter.qs)
    RequestConfig(request, paginate={"per_page": 100}).configure(table)
    return render(request, "audit/access_log.html", {"filter": log_filter, "table": table})


urlpatterns = [path("", access_log_view, name="access-log")]
