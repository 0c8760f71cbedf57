"""The referral workflow: list, detail, introduce (and print the letter), receive, place, report, end.

Views translate HTTP into selector and service calls. Every object is looked up in a queryset scoped to the user:
out of scope answers 404; so does a step the user may not record.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from branches.access import access_for
from branches.models import Organisation
from branches.selectors import grassroots_of, root_of, visible_organisations, wards_on
from dongha76.history import history_of
from dongha76.http import found_or_404, next_url
from members import services
from members.filters import ReferralFilter
from members.forms.bulk import BulkDayForm
from members.forms.referrals import (
    EndForm,
    IntroduceForm,
    PlaceForm,
    PlaceManyForm,
    ReceiveForm,
    ReplaceForm,
    ReportForm,
    end_step_arguments,
)
from members.selectors import (
    cells_for_placement,
    cells_for_replacement,
    letter_names,
    member_to_introduce,
    members_editable_by,
    members_introducible_by,
    next_letter_number,
    placement_cells_for,
    referral_for,
    referral_list,
    referrals_awaiting_placement,
    referrals_endable_by,
    referrals_receivable_by,
    referrals_reportable_by,
    runs_residence_side,
    visible_members,
    wards_for_introduction,
)
from members.tables import ReferralTable
from members.views.bulk import bulk_step, post_only_for
from members.views.organisation_options import form_organisation_options, organisation_options

Kind = Organisation.Kind


@login_required
def referral_list_view(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    organisations = visible_organisations(access)
    referral_filter = ReferralFilter(
        request.GET or None,
        queryset=referral_list(request.user),
        wards=wards_on(timezone.localdate()).filter(pk__in=organisations.values("pk"))
        if not access.is_city()
        else wards_on(timezone.localdate()),
        issuers=organisations.filter(kind__in=[*Organisation.GRASSROOTS_KINDS, Kind.OUTSIDE]).order_by("name"),
        request=request,
    )
    if options := organisation_options(request, referral_filter):
        return options
    can_place = runs_residence_side(request.user)
    # The bulk reception (issue 13) is offered on the list of exactly the rows it acts on.
    bulk_receive = can_place and referral_filter.is_valid() and request.GET.get("state") == "awaiting_reception"
    table = ReferralTable(referral_filter.qs, pickable=bulk_receive)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    context = {
        "filter": referral_filter,
        "table": table,
        "can_place": can_place,
        "bulk_receive": bulk_receive,
        "bulk_form": BulkDayForm(day_field="received_on", day_label=_("Received on")) if bulk_receive else None,
    }
    return render(request, "members/referral_list.html", context)


@login_required
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    referral = found_or_404(referral_for, request.user, pk)
    today = timezone.localdate()
    return render(
        request,
        "members/referral_detail.html",
        {
            "referral": referral,
            "state": referral.state_on(today),
            "placements": list(referral.placements.select_related("residential_cell").order_by("started_on")),
            "history": history_of(referral, related=("member", "receiving_ward", "residential_cell")),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_introduce(request: HttpRequest, member_pk: int) -> HttpResponse:
    member = found_or_404(member_to_introduce, request.user, member_pk)
    today = timezone.localdate()
    issuer = grassroots_of(member.home_organisation)
    wards = wards_for_introduction(request.user, member, day=today)
    initial = {"letter_number": next_letter_number(issuer, today.year) if issuer else ""}
    form = IntroduceForm(request.POST or None, wards=wards, initial=initial)
    if answer := form_organisation_options(request, form):
        return answer
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_introduce(
                member=member,
                issuing_organisation=issuer,
                by=request.user,
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_service_errors(error, {"member": "__all__", "issuing_organisation": "__all__"})
        else:
            messages.success(
                request,
                _("%(name)s is introduced to %(ward)s.") % {"name": member.full_name, "ward": referral.receiving_ward},
            )
            return redirect("members:referral-detail", pk=referral.pk)
    return render(request, "members/referral_introduce.html", {"form": form, "member": member, "issuer": issuer})


@login_required
def referral_letter(request: HttpRequest, pk: int) -> HttpResponse:
    """The introduction letter (mẫu 1-76 style) with its tear-off return slip, for printing on A4."""
    referral = found_or_404(referral_for, request.user, pk)
    root = root_of(referral.issuing_organisation)
    # A member who has since left the reader's sight (moved to another workplace) is printed as the letter knew
    # them, not with their cell, address and dates of today.
    member_in_sight = visible_members(request.user).filter(pk=referral.member_id).exists()
    return render(
        request,
        "members/referral_letter.html",
        {
            "referral": referral,
            "root": root,
            "member_in_sight": member_in_sight,
            "names": letter_names(referral, root),
        },
    )


def _workflow_step(request, pk, *, queryset, form_class, title, run, success, form_kwargs=None, field_map=None):
    """GET shows the step's form; POST records it through the service; errors re-render the form."""
    referral = found_or_404(queryset.select_related("member", "receiving_ward", "residential_cell").get, pk=pk)
    kwargs = (form_kwargs or (lambda r: {}))(referral)
    form = form_class(request.POST or None, **kwargs)
    if answer := form_organisation_options(request, form):
        return answer
    if request.method == "POST" and form.is_valid():
        try:
            result = run(referral, form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error, field_map)
        else:
            messages.success(request, success(referral, result))
            return redirect(next_url(request, reverse("members:referral-detail", args=[referral.pk])))
    context = {"form": form, "referral": referral, "title": title, "next": request.GET.get("next", "")}
    return render(request, "members/referral_step.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def referral_receive(request: HttpRequest, pk: int) -> HttpResponse:
    return _workflow_step(
        request,
        pk,
        queryset=referrals_receivable_by(request.user),
        form_class=ReceiveForm,
        title=_("Receive"),
        run=lambda r, data: services.referral_receive(referral=r, received_on=data["received_on"], by=request.user),
        success=lambda r, _result: _("Reception of %(name)s recorded.") % {"name": r.member.full_name},
        field_map={"ended_on": "__all__"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_place(request: HttpRequest, pk: int) -> HttpResponse:
    today = timezone.localdate()
    return _workflow_step(
        request,
        pk,
        queryset=referrals_receivable_by(request.user),
        form_class=PlaceForm,
        form_kwargs=lambda r: {"cells": cells_for_placement(r, day=today), "address": r.member.residential_address},
        title=_("Place in a residential cell"),
        run=lambda r, data: services.referral_place(
            referral=r, residential_cell=data["residential_cell"], placed_on=data["placed_on"], by=request.user
        ),
        success=lambda r, result: (
            _("%(name)s is placed in %(cell)s.") % {"name": r.member.full_name, "cell": result.residential_cell}
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_replace(request: HttpRequest, pk: int) -> HttpResponse:
    today = timezone.localdate()
    return _workflow_step(
        request,
        pk,
        queryset=referrals_receivable_by(request.user),
        form_class=ReplaceForm,
        form_kwargs=lambda r: {"cells": cells_for_replacement(r, day=today), "address": r.member.residential_address},
        title=_("Move to another residential cell"),
        run=lambda r, data: services.referral_replace(
            referral=r, residential_cell=data["residential_cell"], replaced_on=data["replaced_on"], by=request.user
        ),
        success=lambda r, result: (
            _("%(name)s is placed in %(cell)s.") % {"name": r.member.full_name, "cell": result.residential_cell}
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_report(request: HttpRequest, pk: int) -> HttpResponse:
    return _workflow_step(
        request,
        pk,
        queryset=referrals_reportable_by(request.user),
        form_class=ReportForm,
        title=_("Reported to the cell"),
        run=lambda r, data: services.referral_report(referral=r, reported_on=data["reported_on"], by=request.user),
        success=lambda r, _result: _("%(name)s reported to the cell.") % {"name": r.member.full_name},
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_end(request: HttpRequest, pk: int) -> HttpResponse:
    today = timezone.localdate()
    can_introduce = members_introducible_by(request.user)
    can_edit = members_editable_by(request.user)

    def form_kwargs(referral):
        # The step's side effects on the member (a new letter, the retirement and the move of the home into the
        # cell) need the rights of the member's own pages: a ward ends the referral, the workplace retires the member.
        return {
            "wards": wards_on(today).exclude(pk=referral.receiving_ward_id),
            "can_introduce": can_introduce.filter(pk=referral.member_id).exists(),
            "can_transfer": referral.residential_cell_id is not None
            and can_edit.filter(pk=referral.member_id).exists(),
        }

    def run(referral, data):
        return services.referral_end_step(referral=referral, by=request.user, **end_step_arguments(data))

    def success(referral, new_referral):
        if new_referral is not None:
            return _("The referral ended; %(name)s is introduced to %(ward)s.") % {
                "name": referral.member.full_name,
                "ward": new_referral.receiving_ward,
            }
        return _("The referral of %(name)s ended.") % {"name": referral.member.full_name}

    return _workflow_step(
        request,
        pk,
        queryset=referrals_endable_by(request.user).filter(ended_on__isnull=True),
        form_class=EndForm,
        form_kwargs=form_kwargs,
        title=_("End the referral"),
        run=run,
        success=success,
        field_map={
            "receiving_ward": "new_ward",
            "letter_number": "new_letter_number",
            "introduced_on": "ended_on",
            "retired_on": "ended_on",
            "member": "__all__",
        },
    )


@login_required
def referral_receive_many(request: HttpRequest) -> HttpResponse:
    """Receive the referrals ticked on the list of those awaiting reception, on one day: all or none (POST only)."""
    refused = post_only_for(request, runs_residence_side(request.user))
    if refused:
        return refused
    return bulk_step(
        request,
        rows=referrals_receivable_by(request.user),
        field="referrals",
        day_field="received_on",
        day_label=_("Received on"),
        back=reverse("members:referral-list") + "?state=awaiting_reception",
        run=lambda rows, day: services.referrals_receive(referrals=rows, received_on=day, by=request.user),
        question=lambda n: ngettext("Receive %(count)s member?", "Receive %(count)s members?", n) % {"count": n},
        confirm_label=_("Yes, receive them"),
        success=lambda n: ngettext("%(count)s reception recorded.", "%(count)s receptions recorded.", n) % {"count": n},
    )


# Members listed on a page of the bulk placement: a ward's week of receptions on one page, the city's hundreds in pages
# (its 1,141 at the province's size made a 743 kB page).
PLACE_MANY_PER_PAGE = 100


@login_required
@require_http_methods(["GET", "POST"])
def referral_place_many(request: HttpRequest) -> HttpResponse:
    """Place several received members at once: all of them, or none with every problem listed. The members awaiting
    placement are listed a page at a time; the form accepts any of them (the ticked ones of the page shown)."""
    today = timezone.localdate()
    waiting = referrals_awaiting_placement(request.user, day=today)
    form = PlaceManyForm(request.POST or None, referrals=waiting, cells=placement_cells_for(request.user, day=today))
    if answer := form_organisation_options(request, form):
        return answer
    if request.method == "POST" and form.is_valid():
        problems = []
        try:
            with transaction.atomic():
                for referral in form.cleaned_data["referrals"]:
                    try:
                        services.referral_place(
                            referral=referral,
                            residential_cell=form.cleaned_data["residential_cell"],
                            placed_on=form.cleaned_data["placed_on"],
                            by=request.user,
                        )
                    except ValidationError as error:
                        problems.extend(f"{referral.member.full_name}: {message}" for message in error.messages)
                if problems:
                    raise ValidationError(problems)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            count = len(form.cleaned_data["referrals"])
            messages.success(
                request,
                _("%(count)s members placed in %(cell)s.")
                % {"count": count, "cell": form.cleaned_data["residential_cell"]},
            )
            return redirect("members:referral-place-many")
    selected = set(request.POST.getlist("referrals"))
    page = Paginator(waiting, PLACE_MANY_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "members/referral_place_many.html", {"form": form, "page": page, "selected": selected})


urlpatterns = [
    path("referrals/", referral_list_view, name="referral-list"),
    path("referrals/place/", referral_place_many, name="referral-place-many"),
    path("referrals/receive/", referral_receive_many, name="referral-receive-many"),
    path("referrals/<int:pk>/", referral_detail, name="referral-detail"),
    path("referrals/<int:pk>/letter/", referral_letter, name="referral-letter"),
    path("referrals/<int:pk>/receive/", referral_receive, name="referral-receive"),
    path("referrals/<int:pk>/place/", referral_place, name="referral-place"),
    path("referrals/<int:pk>/replace/", referral_replace, name="referral-replace"),
    path("referrals/<int:pk>/report/", referral_report, name="referral-report"),
    path("referrals/<int:pk>/end/", referral_end, name="referral-end"),
    path("members/<int:member_pk>/introduce/", referral_introduce, name="referral-introduce"),
]
