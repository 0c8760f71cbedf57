"""The restructure pages, for city committee staff (everyone else gets 404): the list of restructures, a form per
operation, its preview (the plan: what ends and starts, what moves where, the problems) and the confirm step, and
one record's page.

The views only translate HTTP: the plan is ``restructures.plans``', the writing ``restructures.services.apply_plan``.
A preview carries the plan's parameters; confirm plans again from them (inside the service too) and never takes a
count or a problem from the browser.
"""

import contextlib
import dataclasses
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from branches.models import Organisation, Restructure
from members.forms.common import TERM_SUFFIX, OrganisationMultiplePicker
from members.models import MemberHome, Placement
from members.views.organisation_options import form_organisation_options
from restructures import plans, services
from restructures.forms import (
    KINDS,
    OPERATION_FORMS,
    TABLE_LIMIT,
    ConfirmForm,
    ParamsError,
    clean_assignment_file,
    params_from_json,
    params_json,
    read_params,
)
from restructures.permissions import may_restructure

Kind = Restructure.Kind


def city_only(*methods: str):
    """Logged in (else the login page), city staff who write (else 404, whatever the method: nobody else learns the
    page exists), then one of ``methods`` (else 405)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not may_restructure(request.user):
                raise Http404
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Http404
    return kind


def restructure_records() -> QuerySet[Restructure]:
    """Every restructure, newest first, with its organisations and who recorded it."""
    organisations = Organisation.objects.order_by("code")
    return (
        Restructure.objects.select_related("recorded_by")
        .prefetch_related(
            Prefetch("predecessors", queryset=organisations), Prefetch("successors", queryset=organisations)
        )
        .order_by("-effective_on", "-pk")
    )


OPERATIONS = (Kind.MERGE, Kind.SPLIT, Kind.RENAME, Kind.MOVE)


# Restructures on a page of the list: a province records tens, the nation's 63 provinces over a thousand (1,197 in
# the generated nation: a 1 MB page).
PER_PAGE = 50


@city_only("GET", "HEAD")
def restructure_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(restructure_records(), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "restructures/restructure_list.html",
        {"page": page, "operations": [(kind, Kind(kind).label) for kind in OPERATIONS]},
    )


@city_only("GET", "HEAD")
def restructure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(restructure_records(), pk=pk)
    return render(request, "restructures/restructure_detail.html", {"record": record})


# -- the preview -------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class FlowRow:
    """One predecessor → successor line of the preview: members, open placements and unplaced referrals moving."""

    from_code: str
    from_name: str
    to_code: str
    to_name: str
    homes: int = 0
    placements: int = 0
    unplaced: int = 0


def _names(plan: plans.Plan) -> dict[str, str]:
    """Today's name of every code the plan mentions, the new organisations' names for those it creates."""
    codes = set(plan.successor_of) | set(plan.successor_of.values())
    for flow in (*plan.homes, *plan.placements, *plan.unplaced):
        codes.update((flow.from_code, flow.to_code))
    for _username, from_code, to_code in plan.officers:
        codes.update((from_code, to_code))
    codes.update(new.parent_code for new in plan.starting)
    codes.discard("")
    names = dict(Organisation.objects.filter(code__in=codes).values_list("code", "name"))
    names.update({new.code: new.name for new in plan.starting})
    return names


def _flows(plan: plans.Plan, names: dict[str, str]) -> list[FlowRow]:
    rows: dict[tuple[str, str], FlowRow] = {}

    def row(flow: plans.Flow) -> FlowRow:
        key = (flow.from_code, flow.to_code)
        if key not in rows:
            rows[key] = FlowRow(
                flow.from_code, names.get(flow.from_code, ""), flow.to_code, names.get(flow.to_code, "")
            )
        return rows[key]

    for flow in plan.homes:
        row(flow).homes += flow.count
    for flow in plan.placements:
        row(flow).placements += flow.count
    for flow in plan.unplaced:
        row(flow).unplaced += flow.count
    return sorted(rows.values(), key=lambda r: (r.from_code, r.to_code))


def _split_items(params: dict) -> list[dict]:
    """The rows of a split's table, as the plan reads them: the organisation's subordinate organisations still in
    force on the day, then the members whose home is the organisation itself (not left by then) or who are placed in
    it, each with the part chosen (the params', else the first part)."""
    organisation = Organisation.objects.filter(code=params["code"]).first()
    if organisation is None or not params["parts"]:
        return []
    day = params["effective_on"]
    assignment = params.get("assignment") or {}
    default = params["parts"][0][0]
    children = (
        Organisation.objects.filter(parent=organisation)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        .order_by("path")
        .values_list("code", "name")
    )
    items = [
        {"key": code, "label": name, "kind": _("organisation"), "part": assignment.get(code, default)}
        for code, name in children
    ]
    homes = (
        MemberHome.objects.filter(ended_on__isnull=True, organisation=organisation)
        .filter(Q(member__left_on__isnull=True) | Q(member__left_on__gt=day))
        .values_list("member__card_number", "member__full_name")
        .order_by("member__search_name", "member__card_number")
    )
    placed = (
        Placement.objects.filter(ended_on__isnull=True, residential_cell=organisation, referral__ended_on__isnull=True)
        .values_list("referral__member__card_number", "referral__member__full_name")
        .order_by("referral__member__search_name", "referral__member__card_number")
    )
    seen: set[str] = set()
    for rows, label in ((homes, _("member")), (placed, _("placed member"))):
        for card, name in rows[: TABLE_LIMIT + 1]:
            if card not in seen:
                seen.add(card)
                items.append({"key": card, "label": name, "kind": label, "part": assignment.get(card, default)})
    return items


def _preview(
    request: HttpRequest,
    kind: str,
    params: dict,
    *,
    note: str = "",
    officers: str = "follow",
    refused: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    plan = _plan(kind, params)
    # the plan's own reading of its inputs (trimmed, the day as YYYY-MM-DD) is what the preview carries
    with contextlib.suppress(ParamsError):
        params = read_params(kind, plan.params)
    names = _names(plan)
    problems = [*plan.problems, *(refused or [])]
    carried = params_json(params)
    kinds = dict(Organisation.Kind.choices)
    confirm = ConfirmForm(initial={"params": carried, "note": note, "officers": officers}, kind=kind)
    context = {
        "kind": kind,
        "kind_label": Kind(kind).label,
        "plan": plan,
        "params": params,
        "carried": carried,
        "names": names,
        "flows": _flows(plan, names),
        "ending": [
            {
                "code": org.code,
                "name": org.name,
                "kind_label": org.get_kind_display(),
                "to": plan.successor_of.get(org.code, ""),
                "to_name": names.get(plan.successor_of.get(org.code, ""), ""),
            }
            for org in plan.ending
        ],
        "starting": [
            {
                "code": new.code,
                "name": new.name,
                "kind_label": kinds.get(new.kind, new.kind),
                "parent_code": new.parent_code,
                "parent_name": names.get(new.parent_code, ""),
            }
            for new in plan.starting
        ],
        "officers": [
            {
                "username": username,
                "from_code": from_code,
                "from_name": names.get(from_code, ""),
                "to_code": to_code,
                "to_name": names.get(to_code, ""),
            }
            for username, from_code, to_code in plan.officers
        ],
        "problems": list(dict.fromkeys(str(problem) for problem in problems)),
        "confirm": confirm,
        "note": note,
    }
    if kind in (Kind.MERGE, Kind.MOVE):
        top = set(params["codes"]) if kind == Kind.MERGE else {params["code"]}
        context["children"] = [
            {"code": code, "name": names.get(code, ""), "to": to, "to_name": names.get(to, "")}
            for code, to in sorted(plan.successor_of.items())
            if code not in top
        ]
    if kind == Kind.SPLIT:
        items = _split_items(params)
        context["parts"] = params["parts"]
        context["items"] = items[:TABLE_LIMIT]
        context["too_many"] = len(items) > TABLE_LIMIT
        context["table_limit"] = TABLE_LIMIT
    return render(request, "restructures/restructure_preview.html", context, status=status)


def _plan(kind: str, params: dict) -> plans.Plan:
    return plans.plan_for(kind, **params)


def _assignment_from(upload) -> tuple[dict[str, str], str]:
    """A split's assignment read from an uploaded workbook, or the reason it could not be read."""
    try:
        return plans.assignment_from_file(upload), ""
    except ValidationError as error:
        return {}, " ".join(error.messages)
    except (ValueError, KeyError, OSError):
        return {}, _("The assignment workbook could not be read: use the columns Mã or Số thẻ, and Mã kế tục.")


@city_only("GET", "HEAD", "POST")
def restructure_new(request: HttpRequest, kind: str) -> HttpResponse:
    """GET: the operation's form. POST: its preview (``step=update``: the preview again, with the children or the
    split's table as edited)."""
    kind = _kind(kind)
    form_class = OPERATION_FORMS[kind]
    if request.method == "POST" and request.POST.get("step") == "update":
        return _update(request, kind)
    form = form_class(request.POST or None, request.FILES or None)
    if request.method != "POST" and (answer := _organisation_options(request, form)):
        return answer
    if request.method == "POST" and form.is_valid():
        params = form.params()
        refused = []
        upload = form.cleaned_data.get("assignment_file")
        if upload is not None:
            assignment, problem = _assignment_from(upload)
            params["assignment"] = assignment
            refused = [problem] if problem else []
        elif kind == Kind.SPLIT:
            params["assignment"] = {item["key"]: item["part"] for item in _split_items(params)[:TABLE_LIMIT]}
        return _preview(request, kind, params, note=form.cleaned_data["note"], refused=refused)
    return render(
        request,
        "restructures/restructure_form.html",
        {"form": form, "kind": kind, "kind_label": Kind(kind).label},
        status=400 if form.is_bound else 200,
    )


def _organisation_options(request: HttpRequest, form) -> HttpResponse | None:
    """The answer to a search of the form's organisations (``?options=<field>&<field>_term=...``), or ``None`` when
    the request is not one: a picker's options, or a merge's tick boxes (those ticked, sent along, and the matches),
    always of the field's own queryset."""
    name = request.GET.get("options")
    if name is None:
        return None
    field = form.fields.get(name)
    if field is None or not isinstance(field.widget, OrganisationMultiplePicker):
        return form_organisation_options(request, form)
    bound = form[name]
    html = field.widget.render_list(
        bound.html_name,
        request.GET.getlist(bound.html_name),
        request.GET.get(bound.html_name + TERM_SUFFIX, "").strip(),
        attrs={"id": bound.auto_id},
    )
    return HttpResponse(html)


def _update(request: HttpRequest, kind: str) -> HttpResponse:
    """The preview again from its own parameters, with what was edited in it: a merge's children, a split's table or
    its assignment workbook."""
    try:
        params = params_from_json(kind, request.POST.get("params", ""))
    except ParamsError:
        return _stale(request, kind)
    note = request.POST.get("note", "")[:2000]
    refused: list[str] = []
    if kind in (Kind.MERGE, Kind.MOVE):
        children = dict(params.get("children") or {})
        for key, value in request.POST.items():
            if key.startswith("child:") and value.strip():
                children[key[len("child:") :][:30]] = value.strip()[:30]
        params["children"] = children or None
    elif kind == Kind.SPLIT:
        part_codes = {code for code, _name in params["parts"]}
        assignment = dict(params["assignment"])
        for key, value in request.POST.items():
            if key.startswith("assign:") and value in part_codes:
                assignment[key[len("assign:") :][:30]] = value
        params["assignment"] = assignment
        upload = request.FILES.get("assignment_file")
        if upload is not None:
            try:
                upload = clean_assignment_file(upload)
            except ValidationError as error:
                refused += error.messages
            else:
                from_file, problem = _assignment_from(upload)
                params["assignment"] = {**assignment, **from_file}
                refused += [problem] if problem else []
    try:
        params = params_from_json(kind, params_json(params))  # what was typed in the table is checked as any params
    except ParamsError:
        return _stale(request, kind)
    return _preview(request, kind, params, note=note, refused=refused)


def _stale(request: HttpRequest, kind: str) -> HttpResponse:
    messages.error(request, _("This preview can no longer be read: start the restructure again."))
    return render(
        request,
        "restructures/restructure_form.html",
        {"form": OPERATION_FORMS[kind](), "kind": kind, "kind_label": Kind(kind).label},
        status=400,
    )


@city_only("POST")
def restructure_confirm(request: HttpRequest, kind: str) -> HttpResponse:
    """Plan again from the preview's parameters and apply; a refusal shows the preview with its problems."""
    kind = _kind(kind)
    form = ConfirmForm(request.POST, kind=kind)
    if not form.is_valid():
        if "params" in form.errors:
            return _stale(request, kind)
        params = params_from_json(kind, request.POST.get("params", ""))
        refused = [message for errors in form.errors.values() for message in errors]
        return _preview(request, kind, params, refused=refused, status=400)
    params = form.cleaned_data["params"]
    note, officers = form.cleaned_data["note"], form.cleaned_data["officers"]
    plan = _plan(kind, params)
    if not plan.problems:
        try:
            record = services.apply_plan(plan, by=request.user, note=note, officers=officers)
        except ValidationError as error:
            refused = error.messages
        else:
            messages.success(request, _("The restructure is recorded."))
            return redirect("restructures:restructure-detail", pk=record.pk)
    else:
        refused = []
    return _preview(request, kind, params, note=note, officers=officers, refused=refused, status=400)


urlpatterns = [
    path("", restructure_list, name="restructure-list"),
    path("<int:pk>/", restructure_detail, name="restructure-detail"),
    path("new/<str:kind>/", restructure_new, name="restructure-new"),
    path("new/<str:kind>/confirm/", restructure_confirm, name="restructure-confirm"),
]
