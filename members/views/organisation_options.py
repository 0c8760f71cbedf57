"""The options a filter or a form field of organisations offers for what the user typed: the list page itself answers
``?options=<filter>&term=<text>`` (members.filters.OrganisationSelect), a form's page answers
``?options=<field>&<field>_term=<text>`` (members.forms.common.OrganisationPicker). Either way the organisations are
the filter's or the field's own queryset, scoped as the page is, that match."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from members.forms.common import TERM_SUFFIX, OrganisationPicker, organisations_matching


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


def form_organisation_options(request: HttpRequest, form) -> HttpResponse | None:
    """The answer to a search of a form field's organisations, or ``None`` when the request is not one (the page).
    A single match comes selected; the count of matches replaces the hint under the box (htmx out of band)."""
    name = request.GET.get("options")
    if name is None:
        return None
    field = form.fields.get(name)
    if field is None or not isinstance(field.widget, OrganisationPicker):
        raise Http404
    bound = form[name]
    term = request.GET.get(bound.html_name + TERM_SUFFIX, "").strip()
    found = organisations_matching(field.queryset, term)
    options = [(str(field.prepare_value(org)), field.label_from_instance(org)) for org in found]
    context = {
        "empty_label": field.empty_label,
        "options": options,
        "selected": options[0][0] if term and len(options) == 1 else None,
        "status_id": f"{bound.auto_id}_found",
        "term": term,
    }
    return render(request, "members/organisation_options.html", context)
