"""The yearly residence comments (phiếu nhận xét) and the year-end rating input.

The residential cell (or its ward, or the city staff) writes each due member's comment on the uniform form, the ward
sends it to the workplace, the workplace records that it arrived and rates its members with the comment beside the
rating. Every object is looked up in a queryset scoped to the user and to the step: out of scope answers 404, and so
does a step the user may not record.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from dongha76.http import found_or_404, next_url
from members import services
from members.filters import CommentFilter, RatingFilter
from members.forms.bulk import BulkDayForm
from members.forms.comments import (
    CommentForm,
    CommentRoundForm,
    RatingForm,
    ReceiveForm,
    SendForm,
    comment_initial,
)
from members.models import YearEndRating
from members.selectors import (
    FIRST_COMMENT_YEAR,
    CommentYear,
    attendance_summary,
    cell_comments,
    comment_actions_for,
    comment_counts,
    comment_counts_for,
    comment_filter_choices,
    comment_for,
    comment_of,
    comment_root,
    comment_rows,
    comment_year,
    comment_years,
    comments_receivable_by,
    comments_sendable_by,
    comments_writable_by,
    members_ratable_by,
    rating_counts,
    rating_counts_for,
    rating_organisations,
    rating_row,
    rating_rows,
    referral_to_comment,
    sets_comment_rounds,
    visible_residential_cells,
    with_names_of_their_day,
)
from members.tables import CommentTable, RatingTable
from members.views.bulk import bulk_step, post_only_for
from members.views.organisation_options import organisation_options
from reports import snapshots

# The parameters of the comment list that leave every row of the round counted: a state picks the rows shown, not
# those counted; a page and an order show the same rows.
UNFILTERED = frozenset({"state", "page", "sort"})
# The ratings list's, "only warnings" being its state.
RATINGS_UNFILTERED = frozenset({"warnings", "page", "sort"})


def _round(request: HttpRequest, year: int) -> CommentYear:
    """The year's round; a year before the regulation or after this one does not exist."""
    today = timezone.localdate()
    if not FIRST_COMMENT_YEAR <= year <= today.year:
        raise Http404
    return comment_year(request.user, year, today=today)


def _list_url(year: int) -> str:
    return reverse("members:comment-list", args=[year])


# -- the round -----------------------------------------------------------------------------------------------------


@login_required
def comment_list(request: HttpRequest, year: int) -> HttpResponse:
    round_ = _round(request, year)
    rows = comment_rows(request.user, round_)
    choices = comment_filter_choices(request.user, day=round_.today)
    comment_filter = CommentFilter(request.GET or None, queryset=rows, **choices, year=round_.year, request=request)
    if options := organisation_options(request, comment_filter):
        return options
    # The counts at the top follow every filter but the state one: each count is the link to that state.
    without_state = request.GET.copy()
    without_state.pop("state", None)
    without_state.pop("page", None)
    if set(request.GET) <= UNFILTERED:
        # Every row of the round in the user's scope: the counts stored by the organisation whose rows the user sees
        # (``members.selectors.counted_by``), the ones the home page's to-do reads.
        counts = comment_counts_for(request.user, round_, stored=snapshots.list_counts_on)
    else:
        # Without a state, they follow the very filters of the list (another FilterSet of the same values, built and
        # validated again, was 3-5 ms of the page).
        counted = (
            comment_filter
            if "state" not in request.GET
            else CommentFilter(without_state or None, queryset=rows, **choices, year=round_.year)
        )
        counts = comment_counts(counted.qs)
    actions = comment_actions_for(request.user)
    # A bulk step (issue 13) is offered on the list of exactly the rows it acts on: the written comments for the
    # ward to send, the sent ones for the workplace to record as received.
    state = request.GET.get("state", "") if comment_filter.is_valid() else ""
    pick = None
    if state in ("written", "overdue") and _sends(actions):
        pick = "send"
    elif state == "sent" and _receives(actions):
        pick = "receive"
    table = CommentTable(
        comment_filter.qs,
        actions=actions,
        round_=round_,
        next_url=request.get_full_path(),
        pick=pick,
    )
    if not request.GET.get("state"):
        # Without a state the list's rows are the counted ones: the paginator takes their total, not a second count
        # of the whole scope (thanhuy at the province's size: 0.23 s).
        table.data._length = counts["total"]
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    bulk_form = None
    if pick == "send":
        bulk_form = BulkDayForm(day_field="sent_on", day_label=_("Sent to the workplace on"))
    elif pick == "receive":
        bulk_form = BulkDayForm(day_field="received_on", day_label=_("Received by the workplace on"))
    return render(
        request,
        "members/comment_list.html",
        {
            "round": round_,
            "year": year,
            "years": comment_years(round_.today),
            "filter": comment_filter,
            "table": table,
            "counts": counts,
            "state_query": without_state.urlencode(),
            "current_state": request.GET.get("state", ""),
            "can_set_round": sets_comment_rounds(request.user),
            "pick": pick,
            "bulk_form": bulk_form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def comment_round(request: HttpRequest, year: int) -> HttpResponse:
    """The city staff set the deadline of a year's round."""
    round_ = _round(request, year)
    root = comment_root(request.user) if sets_comment_rounds(request.user) else None
    if root is None:
        raise Http404
    form = CommentRoundForm(request.POST if request.method == "POST" else None, initial={"deadline": round_.deadline})
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_round_set(
                organisation=root, year=year, deadline=form.cleaned_data["deadline"], by=request.user
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("The deadline of the round of %(year)s is %(date)s.")
                % {"year": year, "date": form.cleaned_data["deadline"].strftime("%d/%m/%Y")},
            )
            return redirect(_list_url(year))
    return render(request, "members/comment_round.html", {"form": form, "round": round_, "root": root})


# -- writing -------------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def comment_write(request: HttpRequest, year: int, member_pk: int) -> HttpResponse:
    round_ = _round(request, year)
    referral = found_or_404(referral_to_comment, request.user, member_pk, round_)
    existing = comment_of(referral.member, year)
    if existing is not None and request.method == "GET":
        messages.info(request, _("The comment of %(year)s on this member is already written.") % {"year": year})
        if existing.sent_on is None:
            return redirect("members:comment-edit", pk=existing.pk)
        return redirect("members:comment-print", pk=existing.pk)
    attendance = attendance_summary(referral, year, until=min(round_.today, round_.last_day))
    form = CommentForm(
        request.POST if request.method == "POST" else None,
        initial=comment_initial(None, attendance),
        attendance=attendance,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.residence_comment_write(
                member=referral.member,
                year=year,
                residential_cell=referral.residential_cell,
                by=request.user,
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The comment on %(name)s is saved.") % {"name": referral.member.full_name})
            return redirect(next_url(request, _list_url(year)))
    return render(
        request,
        "members/comment_form.html",
        {
            "form": form,
            "member": referral.member,
            "cell": referral.residential_cell,
            "round": round_,
            "title": _("Write the comment"),
            "next": next_url(request, ""),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment = found_or_404(comment_for, request.user, pk, comments_writable_by(request.user))
    if comment.sent_on is not None and request.method == "GET":
        messages.warning(
            request,
            _("This comment was sent to the workplace on %(date)s; it can no longer be changed.")
            % {"date": comment.sent_on.strftime("%d/%m/%Y")},
        )
        return redirect("members:comment-print", pk=comment.pk)
    round_ = _round(request, comment.year)
    form = CommentForm(request.POST if request.method == "POST" else None, initial=comment_initial(comment))
    if request.method == "POST" and form.is_valid():
        try:
            services.residence_comment_update(comment=comment, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The comment on %(name)s is saved.") % {"name": comment.member.full_name})
            return redirect(next_url(request, _list_url(comment.year)))
    return render(
        request,
        "members/comment_form.html",
        {
            "form": form,
            "comment": comment,
            "member": comment.member,
            "cell": comment.residential_cell,
            "round": round_,
            "title": _("Correct the comment"),
            "next": next_url(request, ""),
        },
    )


# -- sending and receiving -----------------------------------------------------------------------------------------


def _comment_step(request, pk, *, queryset, form_class, field, title, run, success):
    """GET shows the step's small form; POST (from it, or one click from the list: today) records it."""
    comment = found_or_404(comment_for, request.user, pk, queryset)
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            run(comment, form.cleaned_data[field])
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, success % {"name": comment.member.full_name})
            return redirect(next_url(request, _list_url(comment.year)))
    context = {"form": form, "comment": comment, "title": title, "next": next_url(request, "")}
    return render(request, "members/comment_step.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def comment_send(request: HttpRequest, pk: int) -> HttpResponse:
    return _comment_step(
        request,
        pk,
        queryset=comments_sendable_by(request.user),
        form_class=SendForm,
        field="sent_on",
        title=_("Send the comment to the workplace"),
        run=lambda comment, day: services.residence_comment_send(comment=comment, sent_on=day, by=request.user),
        success=_("The comment on %(name)s is sent to the workplace."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def comment_receive(request: HttpRequest, pk: int) -> HttpResponse:
    return _comment_step(
        request,
        pk,
        queryset=comments_receivable_by(request.user),
        form_class=ReceiveForm,
        field="received_on",
        title=_("Record that the comment was received"),
        run=lambda comment, day: services.residence_comment_receive(comment=comment, received_on=day, by=request.user),
        success=_("The comment on %(name)s is recorded as received."),
    )


def _sends(actions) -> bool:
    """Whether the user sends any comment (the rule of ``comments_sendable_by``): a ward's committee, the city."""
    return actions.city or bool(actions.ward_paths)


def _receives(actions) -> bool:
    """Whether the user records any arrival (the rule of ``comments_receivable_by``): a workplace, the city."""
    return actions.city or bool(actions.workplace_paths)


@login_required
def comment_send_many(request: HttpRequest, year: int) -> HttpResponse:
    """Send the written comments ticked on the year's list, on one day: all or none (POST only)."""
    round_ = _round(request, year)
    refused = post_only_for(request, _sends(comment_actions_for(request.user)))
    if refused:
        return refused
    return bulk_step(
        request,
        rows=comments_sendable_by(request.user).filter(year=round_.year),
        field="comments",
        day_field="sent_on",
        day_label=_("Sent to the workplace on"),
        back=f"{_list_url(year)}?state=written",
        run=lambda rows, day: services.residence_comments_send(comments=rows, sent_on=day, by=request.user),
        question=lambda n: (
            ngettext("Send %(count)s comment to the workplace?", "Send %(count)s comments to the workplaces?", n)
            % {"count": n}
        ),
        confirm_label=_("Yes, send them"),
        success=lambda n: ngettext("%(count)s comment sent.", "%(count)s comments sent.", n) % {"count": n},
    )


@login_required
def comment_receive_many(request: HttpRequest, year: int) -> HttpResponse:
    """Record as received the sent comments ticked on the year's list, on one day: all or none (POST only)."""
    round_ = _round(request, year)
    refused = post_only_for(request, _receives(comment_actions_for(request.user)))
    if refused:
        return refused
    return bulk_step(
        request,
        rows=comments_receivable_by(request.user).filter(year=round_.year),
        field="comments",
        day_field="received_on",
        day_label=_("Received by the workplace on"),
        back=f"{_list_url(year)}?state=sent",
        run=lambda rows, day: services.residence_comments_receive(comments=rows, received_on=day, by=request.user),
        question=lambda n: (
            ngettext("Record %(count)s comment as received?", "Record %(count)s comments as received?", n)
            % {"count": n}
        ),
        confirm_label=_("Yes, record them"),
        success=lambda n: (
            ngettext("%(count)s comment recorded as received.", "%(count)s comments recorded as received.", n)
            % {"count": n}
        ),
    )


# -- printing ------------------------------------------------------------------------------------------------------


@login_required
def comment_print(request: HttpRequest, pk: int) -> HttpResponse:
    """One member's comment form, A4 portrait."""
    comment = found_or_404(comment_for, request.user, pk)
    return render(
        request,
        "members/comment_print.html",
        {
            "comments": with_names_of_their_day([comment]),
            "title": _("Residence comment %(year)s") % {"year": comment.year},
            "back": _list_url(comment.year),
        },
    )


@login_required
def cell_comments_print(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    """All the comments of a residential cell for a year in one document, a page each."""
    round_ = _round(request, year)
    cell = visible_residential_cells(request.user).select_related("parent").filter(pk=pk).first()
    if cell is None:
        raise Http404
    comments = with_names_of_their_day(list(cell_comments(request.user, cell, year)))
    not_written = list(
        comment_rows(request.user, round_)
        .filter(residential_cell=cell, comment_pk__isnull=True)
        .values_list("member__full_name", flat=True)
    )
    return render(
        request,
        "members/comment_print.html",
        {
            "comments": comments,
            "cell": cell,
            "year": year,
            "not_written": not_written,
            "title": _("Residence comments %(year)s · %(cell)s") % {"year": year, "cell": cell.name},
            "back": f"{_list_url(year)}?cell={cell.pk}",
        },
    )


# -- year-end ratings ----------------------------------------------------------------------------------------------


def _rating_filter(request: HttpRequest, data: QueryDict | None, round_: CommentYear) -> RatingFilter:
    return RatingFilter(
        data or None,
        queryset=rating_rows(request.user, round_),
        organisations=rating_organisations(request.user, day=round_.today),
        year=round_.year,
        request=request,
    )


@login_required
def rating_list(request: HttpRequest, year: int) -> HttpResponse:
    round_ = _round(request, year)
    rating_filter = _rating_filter(request, request.GET, round_)
    if options := organisation_options(request, rating_filter):
        return options
    without_warnings = request.GET.copy()
    without_warnings.pop("warnings", None)
    without_warnings.pop("page", None)
    if set(request.GET) <= RATINGS_UNFILTERED:
        # Every row of the round in the user's scope: counts stored by the organisation whose rows the user sees.
        counts = rating_counts_for(request.user, round_, stored=snapshots.list_counts_on)
    else:
        counts = rating_counts(_rating_filter(request, without_warnings, round_).qs)
    filters = request.GET.copy()
    filters.pop("page", None)
    table = RatingTable(
        rating_filter.qs, actions=comment_actions_for(request.user), round_=round_, filters=filters.urlencode()
    )
    if not request.GET.get("warnings"):
        # Without "only warnings" the rows are the counted ones: the paginator takes their total (as the comments').
        table.data._length = counts["total"]
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(
        request,
        "members/rating_list.html",
        {
            "round": round_,
            "year": year,
            "years": comment_years(round_.today),
            "filter": rating_filter,
            "table": table,
            "counts": counts,
            "warnings_query": without_warnings.urlencode(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def rating_record(request: HttpRequest, year: int, member_pk: int) -> HttpResponse:
    """Record or change a member's year-end rating: inline from the ratings page (htmx answers with the row's cell
    and the new count of warnings), or on its own small page."""
    round_ = _round(request, year)
    member = members_ratable_by(request.user).filter(pk=member_pk).first()
    if member is None:
        raise Http404
    rating = YearEndRating.objects.filter(member=member, year=year).first()
    initial = {"level": rating.level, "decided_on": rating.decided_on} if rating else {}
    form = RatingForm(request.POST if request.method == "POST" else None, initial=initial)
    saved = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if rating is None:
                services.year_end_rating_record(
                    member=member, year=year, level=data["level"], decided_on=data["decided_on"], by=request.user
                )
            else:
                services.year_end_rating_update(
                    rating=rating, level=data["level"], decided_on=data["decided_on"], by=request.user
                )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            saved = True
    if request.htmx and request.method == "POST":
        return _rating_cell_response(request, round_, member.pk, form=None if saved else form, saved=saved)
    if saved:
        messages.success(request, _("The year-end rating of %(name)s is saved.") % {"name": member.full_name})
        return redirect(next_url(request, reverse("members:rating-list", args=[year])))
    return render(
        request,
        "members/rating_form.html",
        {"form": form, "member": member, "round": round_, "rating": rating, "next": next_url(request, "")},
    )


def _rating_cell_response(request, round_: CommentYear, member_pk: int, *, form, saved: bool) -> HttpResponse:
    """The rating cell of the row again (with the form's errors), and the page's count of warnings out of band."""
    filters = QueryDict(request.POST.get("filters", ""), mutable=True)
    filters.pop("warnings", None)
    counts = rating_counts(_rating_filter(request, filters, round_).qs)
    record = rating_row(request.user, round_, member_pk)
    html = render_to_string(
        "members/rating_cell.html",
        {
            "record": record,
            "year": round_.year,
            "may_rate": True,
            "filters": request.POST.get("filters", ""),
            "levels": YearEndRating.Level.choices,
            "today": round_.today,
            "form": form,
            "saved": saved,
            "counts": counts,
            "oob": True,
        },
        request=request,
    )
    return HttpResponse(html)


urlpatterns = [
    path("comments/<int:year>/", comment_list, name="comment-list"),
    path("comments/<int:year>/deadline/", comment_round, name="comment-round"),
    path("comments/<int:year>/<int:member_pk>/write/", comment_write, name="comment-write"),
    path("comments/c/<int:pk>/edit/", comment_edit, name="comment-edit"),
    path("comments/c/<int:pk>/send/", comment_send, name="comment-send"),
    path("comments/<int:year>/send/", comment_send_many, name="comment-send-many"),
    path("comments/<int:year>/receive/", comment_receive_many, name="comment-receive-many"),
    path("comments/c/<int:pk>/receive/", comment_receive, name="comment-receive"),
    path("comments/c/<int:pk>/print/", comment_print, name="comment-print"),
    path("cells/<int:pk>/comments/<int:year>/print/", cell_comments_print, name="cell-comments-print"),
    path("ratings/<int:year>/", rating_list, name="rating-list"),
    path("ratings/<int:year>/<int:member_pk>/", rating_record, name="rating-record"),
]
