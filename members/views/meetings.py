"""Meetings of residential cells and their attendance sheet.

The cell's secretary (or the ward's, for every cell of the ward; or the city staff) records a meeting and marks each
member on the sheet with one tap: the tap posts with htmx and the answer is the member's line, re-rendered, plus the
counts (an out-of-band swap); without JavaScript the same form posts normally and comes back to the sheet. "All
present" first marks every expected member not yet marked in one request, so that only the exceptions take a tap.
Everyone else who sees the cell reads the sheet. Out of scope, or a write one may not record: 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget

from dongha76.history import history_of
from dongha76.http import found_or_404
from members import services
from members.forms.meetings import EXCUSE_SUGGESTIONS, AttendanceForm, MeetingForm, half_year_value, meeting_arguments
from members.models import Attendance, Meeting
from members.selectors import (
    AttendanceFigures,
    attendance_changes,
    meeting_figures,
    meeting_for,
    meeting_roster,
    meetings_writable_by,
    residential_cells_writable_by,
    roster_row,
    visible_members,
)

Status = Attendance.Status


def _sheet_url(meeting: Meeting, *, member_pk: int | None = None, reason_for: int | None = None) -> str:
    url = reverse("members:meeting-detail", args=[meeting.pk])
    if reason_for is not None:
        url += f"?reason_for={reason_for}"
    if member_pk is not None:
        url += f"#attendance-row-{member_pk}"
    return url


def _initial_day(request: HttpRequest):
    """The date typed in the form, for the htmx refresh of the half-year choices (``?held_on=dd/mm/yyyy``)."""
    text = request.GET.get("held_on")
    if not text:
        return None
    try:
        return MeetingForm.base_fields["held_on"].clean(text)
    except ValidationError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, pk: int) -> HttpResponse:
    cell = get_object_or_404(residential_cells_writable_by(request.user).select_related("parent"), pk=pk)
    initial = {"held_on": _initial_day(request) or timezone.localdate()}
    form = MeetingForm(request.POST or None, initial=initial, refresh_url=request.path)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = services.meeting_create(residential_cell=cell, **meeting_arguments(data), by=request.user)
        except services.MeetingExists as existing:
            # The same form posted twice (a double click, a reload): show the meeting recorded the first time.
            messages.info(request, _("%(error)s Here it is.") % {"error": " ".join(existing.messages)})
            return redirect("members:meeting-detail", pk=existing.meeting.pk)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The meeting is recorded. Mark the attendance of each member."))
            return redirect("members:meeting-detail", pk=meeting.pk)
    context = {"form": form, "cell": cell, "title": _("Record a meeting")}
    return render(request, "members/meeting_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(meetings_writable_by(request.user).select_related("residential_cell__parent"), pk=pk)
    initial = {
        "held_on": _initial_day(request) or meeting.held_on,
        "kind": meeting.kind,
        "half_year": half_year_value(meeting.half_year),
        "summary": meeting.summary,
    }
    form = MeetingForm(request.POST or None, initial=initial, refresh_url=request.path, keep=meeting.half_year)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.meeting_update(meeting=meeting, **meeting_arguments(data), by=request.user)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The meeting is saved."))
            return redirect("members:meeting-detail", pk=meeting.pk)
    context = {"form": form, "cell": meeting.residential_cell, "meeting": meeting, "title": _("Edit the meeting")}
    return render(request, "members/meeting_form.html", context)


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendance sheet of a meeting."""
    meeting = found_or_404(meeting_for, request.user, pk)
    rows = list(meeting_roster(request.user, meeting))
    try:
        reason_for = int(request.GET.get("reason_for", ""))
    except ValueError:
        reason_for = None
    for row in rows:
        _prepare_row(row, asking=meeting.can_edit and row.member_id == reason_for)
    context = {
        "meeting": meeting,
        "cell": meeting.residential_cell,
        "can_edit": meeting.can_edit,
        "expected": [r for r in rows if not r.not_expected],
        "not_expected": [r for r in rows if r.not_expected],
        "figures": AttendanceFigures.of(meeting),
        "suggestions": EXCUSE_SUGGESTIONS,
        "history": history_of(meeting),
        "changes": attendance_changes(meeting),
        "today": timezone.localdate(),
    }
    return render(request, "members/meeting_detail.html", context)


def _prepare_row(row, *, asking: bool = False, error: str = "", reason: str | None = None):
    """What the line template shows besides the saved attendance: the reason box (``asking``), an error, the text in
    the box (what was typed, else the saved reason)."""
    row.asking = asking
    row.error = error
    row.reason_value = reason if reason is not None else (row.attendance_reason or "")
    return row


def _row_response(request, meeting, row, *, asking=False, error="", reason=None) -> HttpResponse:
    """The member's line of the sheet, re-rendered, with the meeting's counts swapped out of band."""
    context = {
        "meeting": meeting,
        "row": _prepare_row(row, asking=asking, error=error, reason=reason),
        "can_edit": True,
        "figures": meeting_figures(meeting),
        "suggestions": EXCUSE_SUGGESTIONS,
        "oob": True,
    }
    return render(request, "members/attendance_row_response.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def attendance_mark(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    """One tap on the sheet. "Excused" without a reason field asks for the reason (nothing is saved yet). A GET
    answers the member's line as saved (the "cancel" of the reason box)."""
    meeting = get_object_or_404(meetings_writable_by(request.user).select_related("residential_cell"), pk=pk)
    member = get_object_or_404(visible_members(request.user), pk=member_pk)
    row = roster_row(request.user, meeting, member.pk)
    if request.method == "GET":
        if row is None:
            raise Http404
        return _row_response(request, meeting, row)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        return _refused(request, meeting, member, row, _("Choose present, excused or absent."))
    status, reason = form.cleaned_data["status"], form.cleaned_data["reason"]
    if status == Status.EXCUSED and "reason" not in request.POST and row is not None:
        if request.htmx:
            return _row_response(request, meeting, row, asking=True)
        return redirect(_sheet_url(meeting, member_pk=member.pk, reason_for=member.pk))
    try:
        services.attendance_record(meeting=meeting, member=member, status=status, reason=reason, by=request.user)
    except ValidationError as error:
        return _refused(
            request, meeting, member, row, " ".join(error.messages), asking=status == Status.EXCUSED, reason=reason
        )
    if request.htmx:
        return _row_response(request, meeting, roster_row(request.user, meeting, member.pk))
    return redirect(_sheet_url(meeting, member_pk=member.pk))


@login_required
def attendance_all_present(request: HttpRequest, pk: int) -> HttpResponse:
    """The sheet's "all present": every expected member not yet marked is marked present in one request; the
    exceptions then take one tap each. A plain form post (with or without JavaScript) that comes back to the sheet
    and its counts. The scope is checked before the method: a meeting outside it is a 404 whatever the method."""
    meeting = get_object_or_404(meetings_writable_by(request.user), pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    marked = services.attendance_all_present(meeting=meeting, by=request.user)
    if marked:
        messages.success(
            request,
            ngettext(
                "%(count)s member marked present. Now mark the exceptions: one tap each.",
                "%(count)s members marked present. Now mark the exceptions: one tap each.",
                len(marked),
            )
            % {"count": len(marked)},
        )
    else:
        messages.info(request, _("Every expected member is already marked: nothing changed."))
    return redirect(_sheet_url(meeting))


def _refused(request, meeting, member, row, text: str, *, asking: bool = False, reason: str | None = None):
    """Nothing saved: say why in the member's line (htmx), or above the sheet (a plain POST, or a member who is not
    on the sheet and so has no line)."""
    if request.htmx:
        if row is not None:
            return _row_response(request, meeting, row, asking=asking, error=text, reason=reason)
        response = render(request, "members/attendance_alert.html", {"message": text})
        return reswap(retarget(response, "#attendance-alert"), "innerHTML")
    if row is None:
        messages.error(request, text)
        return redirect(_sheet_url(meeting))
    messages.error(request, f"{member.full_name}: {text}")
    return redirect(_sheet_url(meeting, member_pk=member.pk, reason_for=member.pk if asking else None))


urlpatterns = [
    path("cells/<int:pk>/meetings/new/", meeting_create, name="meeting-create"),
    path("meetings/<int:pk>/", meeting_detail, name="meeting-detail"),
    path("meetings/<int:pk>/edit/", meeting_edit, name="meeting-edit"),
    path("meetings/<int:pk>/attendance/<int:member_pk>/", attendance_mark, name="attendance-mark"),
    path("meetings/<int:pk>/attendance/all-present/", attendance_all_present, name="attendance-all-present"),
]
