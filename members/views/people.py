"""The member screens: the list (search, filters, Excel export), the member's file, creating and editing a member
(workplace side), registering a member of an outside organisation (ward side), and exemptions.

Every lookup goes through the scope selectors: a member the user may not see, or may not change, answers 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from audit.models import AccessLog
from audit.services import national_id_answers_left, record_access
from branches.access import access_for
from branches.models import Organisation
from branches.selectors import member_home_cells, outside_organisations, wards_receiving_for
from dongha76.downloads import xlsx_download
from dongha76.history import history_of
from dongha76.privacy import mask_national_id
from dongha76.services import day_text
from members import services
from members.exports import write_member_list
from members.filters import MemberFilter
from members.forms.common import add_service_errors
from members.forms.people import (
    ExemptionClearForm,
    ExemptionSetForm,
    MemberEditForm,
    MemberForm,
    OutsideMemberForm,
)
from members.selectors import (
    member_count_for,
    member_file,
    member_list,
    members_editable_by,
    national_id_held_out_of_sight,
    national_ids_shown_to,
    runs_residence_side,
    visible_members,
)
from members.tables import MemberTable
from members.views.organisation_options import form_organisation_options, organisation_options
from reports import snapshots

PER_PAGE = 50


def _filtered_members(request: HttpRequest, day) -> MemberFilter:
    return MemberFilter(request.GET, queryset=member_list(request.user, day=day), request=request, day=day)


# The parameters of the member list that leave every member of today listed: a page and an order show the same rows.
UNFILTERED = frozenset({"page", "sort"})


@login_required
def member_list_view(request: HttpRequest) -> HttpResponse:
    day = timezone.localdate()
    filterset = _filtered_members(request, day)
    if options := organisation_options(request, filterset):
        return options
    table = MemberTable(filterset.qs)
    if set(request.GET) <= UNFILTERED:
        # Today's members of the user's scope: the paginator takes their number stored by the organisation whose rows
        # the user sees (``member_count_for``), not a count of the scope on every view.
        table.data._length = member_count_for(request.user, day, stored=snapshots.list_counts_on)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(
        request,
        "members/member_list.html",
        {
            "day": day,
            "filter": filterset,
            "table": table,
            "export_query": export_query.urlencode(),
            "can_create": member_home_cells(access_for(request.user), day=day).exists(),
            "can_register_outside": runs_residence_side(request.user),
        },
    )


@login_required
def member_export(request: HttpRequest) -> HttpResponse:
    """The list as the user filtered (and sorted) it, as a workbook; logged as personal data leaving the screen."""
    day = timezone.localdate()
    filterset = _filtered_members(request, day)
    table = MemberTable(filterset.qs)
    RequestConfig(request, paginate=False).configure(table)  # the list's sorting (``?sort=``)
    heading = _("Party members as of %(day)s") % {"day": day_text(day)}
    described = filterset.describe()
    if described:
        heading = f"{heading} ({'; '.join(described)})"
    response, rows = xlsx_download(
        lambda file: write_member_list(table.data.data, file, day=day, heading=heading),
        f"dang-vien-{day:%d-%m-%Y}.xlsx",
    )
    organisation = filterset.form.cleaned_data.get("organisation") if filterset.form.is_valid() else None
    record_access(
        kind=AccessLog.Kind.MEMBER_EXPORT,
        by=request.user,
        request=request,
        organisation=organisation or _first_organisation(request.user),
        subject="; ".join(described),
        rows=rows,
    )
    return response


def _log_national_id_shown(request: HttpRequest, member) -> None:
    record_access(
        kind=AccessLog.Kind.NATIONAL_ID_SHOWN,
        by=request.user,
        request=request,
        organisation=member.home_organisation,
        subject=member.card_number,
        rows=1,
    )


def _service_errors(request: HttpRequest, form, error: ValidationError) -> None:
    """The service's errors on the form. "Another member already has this national ID" about a member whose ID the
    user does not see is an answer about that member (only four digits of an ID are shown, and two of the others
    can be guessed): it is logged, and beyond the day's limit it is not given."""
    national_id = form.cleaned_data.get("national_id")  # read before the errors take the field out of cleaned_data
    add_service_errors(form, error)
    if not national_id or "national_id" not in form.errors:
        return
    if not national_id_held_out_of_sight(request.user, national_id):
        return
    if national_id_answers_left(request.user) < 1:
        form.errors["national_id"] = form.error_class([NATIONAL_ID_NOT_TOLD])
    else:
        record_access(kind=AccessLog.Kind.NATIONAL_ID_FOUND, by=request.user, request=request, rows=1)


NATIONAL_ID_NOT_TOLD = gettext_lazy(
    "This national ID cannot be used here, and you have been told of national IDs of other members too often today. "
    "Check it with the member, or ask the city committee."
)


def _first_organisation(user) -> Organisation | None:
    return next(iter(access_for(user).organisations), None)


HISTORY_MASKS = {"national_id": mask_national_id}  # the history shows a national ID masked, to anyone


def _detail_page(request: HttpRequest, member, *, national_id_shown: bool = False) -> HttpResponse:
    file = member_file(request.user, member)
    return render(
        request,
        "members/member_detail.html",
        {
            "member": member,
            "file": file,
            "day": timezone.localdate(),
            "national_id": member.national_id if national_id_shown else mask_national_id(member.national_id),
            "national_id_shown": national_id_shown,
            "history": history_of(member, related=("home_organisation",), masked=HISTORY_MASKS),
        },
    )


@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(visible_members(request.user).select_related("home_organisation"), pk=pk)
    return _detail_page(request, member)


@login_required
def member_national_id(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a member's national ID in full, to the member's own committees, and log it. With htmx the answer is the
    number alone, in place of the masked one; without, the member's page with the number shown."""
    member = get_object_or_404(
        national_ids_shown_to(request.user)
        .filter(pk__in=visible_members(request.user).values("pk"))
        .exclude(national_id="")
        .select_related("home_organisation"),
        pk=pk,
    )
    if request.method != "POST":  # after the lookup: out of scope is 404 whatever the method
        return HttpResponseNotAllowed(["POST"])
    _log_national_id_shown(request, member)
    if request.htmx:
        return render(request, "members/national_id.html", {"national_id": member.national_id, "shown": True})
    return _detail_page(request, member, national_id_shown=True)


@login_required
def member_create(request: HttpRequest) -> HttpResponse:
    cells = member_home_cells(access_for(request.user))
    if not cells.exists():
        raise Http404
    form = MemberForm(request.POST or None, home_choices=cells)
    if answer := form_organisation_options(request, form):
        return answer
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _service_errors(request, form, error)
        else:
            messages.success(request, _("The member %(member)s has been added.") % {"member": member})
            return redirect("members:member-detail", pk=member.pk)
    return render(request, "members/member_form.html", {"form": form, "member": None})


@login_required
@require_http_methods(["GET", "POST"])  # the form holds the national ID in full: no OPTIONS or TRACE answered with it
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(members_editable_by(request.user).select_related("home_organisation"), pk=pk)
    if member.home_organisation.kind == Organisation.Kind.OUTSIDE:
        choices = outside_organisations(including=member.home_organisation)
    else:
        choices = member_home_cells(access_for(request.user), including=member.home_organisation)
    form = MemberEditForm(request.POST or None, home_choices=choices, initial=MemberEditForm.initial_for(member))
    if answer := form_organisation_options(request, form):
        return answer
    if request.method == "GET" and member.national_id:
        # The form holds the national ID in full, for the member's workplace committee to correct: shown, so logged.
        _log_national_id_shown(request, member)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data if name != "home_since"}
        try:
            member = services.member_update(
                member=member, by=request.user, home_since=form.cleaned_data.get("home_since"), **changed
            )
        except ValidationError as error:
            _service_errors(request, form, error)
        else:
            messages.success(request, _("The record of %(member)s has been saved.") % {"member": member})
            return redirect("members:member-detail", pk=member.pk)
    return render(request, "members/member_form.html", {"form": form, "member": member})


@login_required
def outside_member_register(request: HttpRequest) -> HttpResponse:
    if not runs_residence_side(request.user):
        raise Http404
    form = OutsideMemberForm(
        request.POST or None,
        outside_choices=outside_organisations(),
        ward_choices=wards_receiving_for(access_for(request.user)),
    )
    if answer := form_organisation_options(request, form):
        return answer
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            referral = services.outside_member_register(
                by=request.user,
                outside_organisation=data["outside_organisation"],
                receiving_ward=data["receiving_ward"],
                letter_number=data["letter_number"],
                introduced_on=data["introduced_on"],
                received_on=data["received_on"],
                **{name: data[name] for name in OutsideMemberForm.MEMBER_FIELDS},
            )
        except ValidationError as error:
            _service_errors(request, form, error)
        else:
            messages.success(
                request,
                _("%(member)s has been registered and the reception recorded at %(ward)s.")
                % {"member": referral.member, "ward": referral.receiving_ward},
            )
            return redirect("members:member-detail", pk=referral.member_id)
    return render(request, "members/outside_member_form.html", {"form": form})


@login_required
def exemption_set(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(members_editable_by(request.user), pk=pk)
    form = ExemptionSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exemption = services.exemption_set(member=member, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(member)s: %(kind)s since %(day)s.")
                % {"member": member, "kind": exemption.get_kind_display(), "day": day_text(exemption.started_on)},
            )
            return redirect("members:member-detail", pk=member.pk)
    return render(
        request, "members/exemption_form.html", {"form": form, "member": member, "title": _("Set an exemption")}
    )


@login_required
def exemption_clear(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(members_editable_by(request.user), pk=pk)
    form = ExemptionClearForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exemption = services.exemption_clear(member=member, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(member)s: the exemption is lifted from %(day)s.")
                % {"member": member, "day": day_text(exemption.ended_on)},
            )
            return redirect("members:member-detail", pk=member.pk)
    return render(
        request, "members/exemption_form.html", {"form": form, "member": member, "title": _("Lift the exemption")}
    )


urlpatterns = [
    path("members/", member_list_view, name="member-list"),
    path("members/export.xlsx", member_export, name="member-export"),
    path("members/new/", member_create, name="member-create"),
    path("members/outside/new/", outside_member_register, name="outside-member-register"),
    path("members/<int:pk>/", member_detail, name="member-detail"),
    path("members/<int:pk>/edit/", member_edit, name="member-edit"),
    path("members/<int:pk>/national-id/", member_national_id, name="member-national-id"),
    path("members/<int:pk>/exemption/", exemption_set, name="exemption-set"),
    path("members/<int:pk>/exemption/clear/", exemption_clear, name="exemption-clear"),
]
