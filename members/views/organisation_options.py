"""The options a list page's filter by organisation offers for what the user typed (members.filters.OrganisationSelect
asks the list page itself, with ``?options=<filter>&term=<text>``): the filter's own organisations, scoped as the
list is, that match."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def organisation_options(request: HttpRequest, filterset) -> HttpResponse | None:
    """The answer to a search of a filter's organisations, or ``None`` when the request is not one (the page)."""
    name = request.GET.get("options")
    if name is None:
        return None
    found = filterset.organisation_options(name, request.GET.get("term", ""))
    if found is None:
        raise Http404
    field, organisations = found
    options = [(organisation.pk, field.label_from_instance(organisation)) for organisation in organisations]
    return render(request, "members/organisation_options.html", {"empty_label": field.empty_label, "options": options})
