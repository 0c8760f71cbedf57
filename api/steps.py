"""The API's writes: the workflow steps, each through the same scope, form and service as its page.

A step is a POST of a JSON object. It is looked up in the same scope queryset as the page (outside it, or a step the
user may not record: 404, like the page), its body is checked by the page's own form (so a refusal is the page's
message, in the user's language: Vietnamese unless ``Accept-Language`` asks for English), and the page's service
records it. The answer is the object as saved (200, or 201 for a new one); a refusal is 400 with the messages keyed
by the body's field names (``non_field_errors`` for the whole step); a meeting already recorded is 409 (the page leads
to it: the answer names it).
"""

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api import step_serializers as s
from api.scoping import get_in_scope
from api.serializers import AttendanceSerializer, CommentSerializer, MeetingSerializer, ReferralSerializer
from branches.selectors import grassroots_of, wards_on
from members import services
from members.forms import comments as comment_forms
from members.forms.common import add_service_errors
from members.forms.meetings import AttendanceForm, MeetingForm, meeting_arguments
from members.forms.people import ExemptionClearForm, ExemptionSetForm
from members.forms.referrals import (
    EndForm,
    IntroduceForm,
    PlaceForm,
    ReceiveForm,
    ReplaceForm,
    ReportForm,
    end_step_arguments,
)
from members.models import Attendance, Meeting, Placement, Referral, ResidenceComment, YearEndRating
from members.selectors import (
    FIRST_COMMENT_YEAR,
    cells_for_placement,
    cells_for_replacement,
    comment_year,
    meetings_writable_by,
    members_editable_by,
    members_introducible_by,
    referral_to_comment,
    referrals_endable_by,
    referrals_receivable_by,
    referrals_reportable_by,
    residential_cells_writable_by,
    visible_members,
    wards_for_introduction,
)
from members.selectors.scope import (
    comments_receivable_by,
    comments_sendable_by,
    comments_writable_by,
    members_ratable_by,
)

# The errors a step may answer, for the schema: the body's fields (or non_field_errors) with their messages; a
# whole-request refusal as {"detail": ...} (bad JSON, 401, 403, 404, 405, 415, 429).
FIELD_ERRORS = {
    "type": "object",
    "description": "The refusal: each field of the body (or `non_field_errors`) with its messages, or `detail`.",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
}
DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
REFUSALS = {
    400: OpenApiResponse(FIELD_ERRORS, description="Refused: the same messages as the page's form."),
    401: OpenApiResponse(DETAIL, description="No credentials, or a key that is not valid."),
    403: OpenApiResponse(DETAIL, description="Forbidden (a session without its CSRF token)."),
    404: OpenApiResponse(DETAIL, description="Not in your scope, or a step you may not record: as the page."),
    415: OpenApiResponse(DETAIL, description="The body is not JSON."),
    429: OpenApiResponse(DETAIL, description="Too many requests: wait and retry."),
}


def step_schema(request, response, *, created: bool = False, extra: dict | None = None, tag: str = "steps"):
    ok = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return extend_schema(
        request=request, responses={ok: response, **REFUSALS, **(extra or {})}, tags=[tag], methods=["POST"]
    )


def activate_asked_language(request) -> None:
    """Vietnamese, unless the client asks for another language the site has (``Accept-Language: en``). A page
    follows the language switcher only (office browsers are often English); an API client says what it reads."""
    supported = {code for code, _name in settings.LANGUAGES}
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        language = code.split("-")[0].lower()
        if language in supported:
            translation.activate(language)
            request.LANGUAGE_CODE = language
            return


def form_data(data) -> dict:
    """The JSON body as a form's data: scalars as the text a browser would post (``true``/``false`` stay booleans for
    the check boxes), ``null`` as an empty field. Anything else (a list, an object) is not a value of any field."""
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": [_("Enter a valid value.")]})
    values, wrong = {}, {}
    for name, value in data.items():
        if value is None:
            continue
        if isinstance(value, bool):
            values[name] = value
        elif isinstance(value, int | float | str):
            text = str(value)
            if "\x00" in text:
                wrong[name] = [_("Enter a valid value.")]
            values[name] = text
        else:
            wrong[name] = [_("Enter a valid value.")]
    if wrong:
        raise exceptions.ValidationError(wrong)
    return values


def form_errors(form: forms.Form) -> dict:
    """A form's errors as the API says them: by field, ``non_field_errors`` for the form's own."""
    return {
        ("non_field_errors" if field == NON_FIELD_ERRORS else field): list(messages)
        for field, messages in form.errors.items()
    }


class StepView(APIView):
    """One workflow step: ``lookup`` (scope: 404), ``form`` (the page's), ``run`` (the page's service call), and the
    answer. ``add_service_errors`` is the page's: the service's errors land on the fields the page shows them on."""

    created = False

    def initial(self, request, *args, **kwargs):
        activate_asked_language(request)
        super().initial(request, *args, **kwargs)

    def lookup(self, request, **kwargs):
        raise NotImplementedError

    def form(self, request, obj, data) -> forms.Form:
        raise NotImplementedError

    def run(self, request, obj, cleaned):
        raise NotImplementedError

    def answer(self, result):
        raise NotImplementedError

    def add_service_errors(self, form, error: ValidationError) -> None:
        form.add_service_errors(error)

    def post(self, request, **kwargs):
        obj = self.lookup(request, **kwargs)
        form = self.form(request, obj, form_data(request.data))
        if form.is_valid():
            try:
                result = self.run(request, obj, form.cleaned_data)
            except services.MeetingExists as existing:
                return Response(
                    {"detail": " ".join(existing.messages), "meeting": existing.meeting.pk},
                    status=status.HTTP_409_CONFLICT,
                )
            except ValidationError as error:
                self.add_service_errors(form, error)
            else:
                code = status.HTTP_201_CREATED if self.created else status.HTTP_200_OK
                return Response(self.answer(result), status=code)
        raise exceptions.ValidationError(form_errors(form))


def referral_data(referral: Referral) -> dict:
    """The referral as saved, as the reads show it (read again: a step changes its placements)."""
    found = (
        Referral.objects.select_related("member", "issuing_organisation", "receiving_ward", "residential_cell")
        .prefetch_related(Prefetch("placements", queryset=Placement.objects.select_related("residential_cell")))
        .get(pk=referral.pk)
    )
    return ReferralSerializer(found).data


def meeting_data(meeting: Meeting) -> dict:
    attendance = Attendance.objects.select_related("member").order_by("pk")
    found = (
        Meeting.objects.select_related("residential_cell")
        .prefetch_related(Prefetch("attendances", queryset=attendance))
        .get(pk=meeting.pk)
    )
    return MeetingSerializer(found).data


def by_code(form: forms.Form, *names: str) -> forms.Form:
    """Organisations are named by their code in the API, as the reads name them (the page's form takes the id)."""
    for name in names:
        if name in form.fields:
            form.fields[name].to_field_name = "code"
    return form


# -- referrals ----------------------------------------------------------------------------------------------------
class ReferralStep(StepView):
    scope = staticmethod(referrals_receivable_by)
    field_map: dict[str, str] | None = None

    def lookup(self, request, pk):
        queryset = self.scope(request.user).select_related("member", "receiving_ward", "residential_cell")
        return get_in_scope(queryset, pk=pk)

    def add_service_errors(self, form, error):
        form.add_service_errors(error, self.field_map)

    def answer(self, result):
        return referral_data(result)


@step_schema(s.IntroduceRequest, ReferralSerializer, created=True)
class IntroduceView(ReferralStep):
    """Introduce a working member to the ward where they live (the letter): the member's workplace committee."""

    created = True
    field_map = {"member": "__all__", "issuing_organisation": "__all__"}

    def lookup(self, request, pk):
        return get_in_scope(members_introducible_by(request.user).select_related("home_organisation"), pk=pk)

    def form(self, request, member, data):
        wards = wards_for_introduction(request.user, member, day=timezone.localdate())
        return by_code(IntroduceForm(data, wards=wards), "receiving_ward")

    def run(self, request, member, cleaned):
        return services.referral_introduce(
            member=member, issuing_organisation=grassroots_of(member.home_organisation), by=request.user, **cleaned
        )


@step_schema(s.ReceiveRequest, ReferralSerializer)
class ReceiveView(ReferralStep):
    """The ward records the reception of the letter."""

    field_map = {"ended_on": "__all__"}

    def form(self, request, referral, data):
        return ReceiveForm(data)

    def run(self, request, referral, cleaned):
        return services.referral_receive(referral=referral, received_on=cleaned["received_on"], by=request.user)


@step_schema(s.PlaceRequest, ReferralSerializer)
class PlaceView(ReferralStep):
    """The ward places the received member in a residential cell."""

    def form(self, request, referral, data):
        return by_code(
            PlaceForm(data, cells=cells_for_placement(referral, day=timezone.localdate())), "residential_cell"
        )

    def run(self, request, referral, cleaned):
        return services.referral_place(
            referral=referral,
            residential_cell=cleaned["residential_cell"],
            placed_on=cleaned["placed_on"],
            by=request.user,
        )


@step_schema(s.ReplaceRequest, ReferralSerializer)
class ReplaceView(ReferralStep):
    """The ward moves a placed member to another residential cell."""

    def form(self, request, referral, data):
        cells = cells_for_replacement(referral, day=timezone.localdate())
        return by_code(ReplaceForm(data, cells=cells), "residential_cell")

    def run(self, request, referral, cleaned):
        return services.referral_replace(
            referral=referral,
            residential_cell=cleaned["residential_cell"],
            replaced_on=cleaned["replaced_on"],
            by=request.user,
        )


@step_schema(s.ReportRequest, ReferralSerializer)
class ReportView(ReferralStep):
    """The member reported to the cell: the ward, or the cell's secretary."""

    scope = staticmethod(referrals_reportable_by)

    def form(self, request, referral, data):
        return ReportForm(data)

    def run(self, request, referral, cleaned):
        return services.referral_report(referral=referral, reported_on=cleaned["reported_on"], by=request.user)


@step_schema(s.EndRequest, s.StepEnd)
class EndView(ReferralStep):
    """End the referral: the ward or the workplace. Moved residence within the city: a new letter in the same step
    (``new_ward``, ``new_letter_number``); retired: the home cell may become the residential cell
    (``transfer_home``)."""

    field_map = {
        "receiving_ward": "new_ward",
        "letter_number": "new_letter_number",
        "introduced_on": "ended_on",
        "retired_on": "ended_on",
        "member": "__all__",
    }

    def lookup(self, request, pk):
        queryset = referrals_endable_by(request.user).filter(ended_on__isnull=True)
        return get_in_scope(queryset.select_related("member", "receiving_ward", "residential_cell"), pk=pk)

    def form(self, request, referral, data):
        # As the page: the side effects on the member need the rights of the member's own pages.
        form = EndForm(
            data,
            wards=wards_on(timezone.localdate()).exclude(pk=referral.receiving_ward_id),
            can_introduce=members_introducible_by(request.user).filter(pk=referral.member_id).exists(),
            can_transfer=referral.residential_cell_id is not None
            and members_editable_by(request.user).filter(pk=referral.member_id).exists(),
        )
        return by_code(form, "new_ward")

    def run(self, request, referral, data):
        new_referral = services.referral_end_step(referral=referral, by=request.user, **end_step_arguments(data))
        return referral, new_referral

    def answer(self, result):
        referral, new_referral = result
        return {
            "referral": referral_data(referral),
            "new_referral": referral_data(new_referral) if new_referral is not None else None,
        }


# -- meetings and attendance --------------------------------------------------------------------------------------
MEETING_EXISTS = {409: OpenApiResponse(s.StepMeetingExists, description="This meeting is already recorded.")}


class MeetingStep(StepView):
    def answer(self, meeting):
        return meeting_data(meeting)


@step_schema(s.MeetingRequest, MeetingSerializer, created=True, extra=MEETING_EXISTS, tag="meetings")
class MeetingCreateView(MeetingStep):
    """Record a meeting of a residential cell: its secretary, the ward's committee, the city staff."""

    created = True

    def lookup(self, request, pk):
        return get_in_scope(residential_cells_writable_by(request.user).select_related("parent"), pk=pk)

    def form(self, request, cell, data):
        return MeetingForm(data)

    def run(self, request, cell, data):
        return services.meeting_create(residential_cell=cell, by=request.user, **meeting_arguments(data))


@step_schema(s.MeetingRequest, MeetingSerializer, tag="meetings")
class MeetingUpdateView(MeetingStep):
    """Correct a meeting's record (its date, kind, half-year, summary)."""

    def lookup(self, request, pk):
        return get_in_scope(meetings_writable_by(request.user).select_related("residential_cell__parent"), pk=pk)

    def form(self, request, meeting, data):
        return MeetingForm(data, keep=meeting.half_year)

    def run(self, request, meeting, data):
        return services.meeting_update(meeting=meeting, by=request.user, **meeting_arguments(data))


class AttendanceStepForm(AttendanceForm):
    """The sheet's tap: a refusal of the status is the sheet's one message."""

    def add_service_errors(self, error):
        add_service_errors(self, error, {"member": NON_FIELD_ERRORS, "meeting": NON_FIELD_ERRORS})


@step_schema(s.AttendanceRequest, AttendanceSerializer, tag="meetings")
class AttendanceView(StepView):
    """Mark one member on the attendance sheet (present, excused with a reason, absent)."""

    def lookup(self, request, pk, member_pk):
        meeting = get_in_scope(meetings_writable_by(request.user).select_related("residential_cell"), pk=pk)
        return meeting, get_in_scope(visible_members(request.user), pk=member_pk)

    def form(self, request, obj, data):
        form = AttendanceStepForm(data)
        form.fields["status"].error_messages["invalid_choice"] = _("Choose present, excused or absent.")
        form.fields["status"].error_messages["required"] = _("Choose present, excused or absent.")
        return form

    def run(self, request, obj, data):
        meeting, member = obj
        return services.attendance_record(
            meeting=meeting, member=member, status=data["status"], reason=data["reason"], by=request.user
        )

    def answer(self, attendance):
        return AttendanceSerializer(Attendance.objects.select_related("member").get(pk=attendance.pk)).data


@extend_schema(request=None, responses={200: s.StepAllPresent, **REFUSALS}, tags=["meetings"], methods=["POST"])
class AllPresentView(APIView):
    """The sheet's "all present": every expected member not yet marked is marked present."""

    def initial(self, request, *args, **kwargs):
        activate_asked_language(request)
        super().initial(request, *args, **kwargs)

    def post(self, request, pk):
        meeting = get_in_scope(meetings_writable_by(request.user), pk=pk)
        marked = services.attendance_all_present(meeting=meeting, by=request.user)
        return Response({"marked": len(marked)})


# -- residence comments and year-end ratings ----------------------------------------------------------------------
def _round(request, year: int):
    """The year's round, as the pages: a year before the regulation or after this one does not exist (404)."""
    today = timezone.localdate()
    if not FIRST_COMMENT_YEAR <= year <= today.year:
        raise Http404
    return comment_year(request.user, year, today=today)


class CommentStep(StepView):
    def answer(self, comment):
        found = ResidenceComment.objects.select_related("member", "residential_cell").get(pk=comment.pk)
        return CommentSerializer(found).data


@step_schema(s.CommentRequest, CommentSerializer, created=True, tag="comments")
class CommentWriteView(CommentStep):
    """Write a member's residence comment of the year: the cell, its ward, the city staff."""

    created = True

    def lookup(self, request, year, member_pk):
        round_ = _round(request, year)
        try:
            return referral_to_comment(request.user, member_pk, round_), year
        except Referral.DoesNotExist:
            raise exceptions.NotFound from None

    def form(self, request, obj, data):
        return comment_forms.CommentForm(data)

    def run(self, request, obj, data):
        referral, year = obj
        return services.residence_comment_write(
            member=referral.member, year=year, residential_cell=referral.residential_cell, by=request.user, **data
        )


@step_schema(s.CommentRequest, CommentSerializer, tag="comments")
class CommentUpdateView(CommentStep):
    """Correct a comment not sent yet."""

    def lookup(self, request, pk):
        return get_in_scope(comments_writable_by(request.user).select_related("member"), pk=pk)

    def form(self, request, comment, data):
        return comment_forms.CommentForm(data)

    def run(self, request, comment, data):
        return services.residence_comment_update(comment=comment, by=request.user, **data)


@step_schema(s.SendRequest, CommentSerializer, tag="comments")
class CommentSendView(CommentStep):
    """The ward sends the comment to the member's workplace."""

    def lookup(self, request, pk):
        return get_in_scope(comments_sendable_by(request.user).select_related("member"), pk=pk)

    def form(self, request, comment, data):
        return comment_forms.SendForm(data)

    def run(self, request, comment, data):
        return services.residence_comment_send(comment=comment, sent_on=data["sent_on"], by=request.user)


@step_schema(s.CommentReceiveRequest, CommentSerializer, tag="comments")
class CommentReceiveView(CommentStep):
    """The workplace records that the comment arrived."""

    def lookup(self, request, pk):
        return get_in_scope(comments_receivable_by(request.user).select_related("member"), pk=pk)

    def form(self, request, comment, data):
        return comment_forms.ReceiveForm(data)

    def run(self, request, comment, data):
        return services.residence_comment_receive(comment=comment, received_on=data["received_on"], by=request.user)


@step_schema(s.RatingRequest, s.StepRating, tag="comments")
class RatingView(StepView):
    """Record or change a member's year-end rating: the member's workplace."""

    def lookup(self, request, year, member_pk):
        _round(request, year)
        member = get_in_scope(members_ratable_by(request.user), pk=member_pk)
        return member, year, YearEndRating.objects.filter(member=member, year=year).first()

    def form(self, request, obj, data):
        return comment_forms.RatingForm(data)

    def run(self, request, obj, data):
        member, year, rating = obj
        if rating is None:
            return services.year_end_rating_record(
                member=member, year=year, level=data["level"], decided_on=data["decided_on"], by=request.user
            )
        return services.year_end_rating_update(
            rating=rating, level=data["level"], decided_on=data["decided_on"], by=request.user
        )

    def answer(self, rating):
        return s.StepRating(rating).data


# -- exemptions ---------------------------------------------------------------------------------------------------
class ExemptionStep(StepView):
    """The member's workplace committee (or the city staff), as the member's page."""

    def lookup(self, request, pk):
        return get_in_scope(members_editable_by(request.user), pk=pk)

    def add_service_errors(self, form, error):
        add_service_errors(form, error)

    def answer(self, exemption):
        return s.StepExemption(exemption).data


@step_schema(s.ExemptionSetRequest, s.StepExemption, created=True, tag="members")
class ExemptionSetView(ExemptionStep):
    """Exempt a member from activity and meetings (age, illness...) from a day on."""

    created = True

    def form(self, request, member, data):
        return ExemptionSetForm(data)

    def run(self, request, member, data):
        return services.exemption_set(member=member, by=request.user, **data)


@step_schema(s.ExemptionClearRequest, s.StepExemption, tag="members")
class ExemptionClearView(ExemptionStep):
    """Lift the member's exemption in force."""

    def form(self, request, member, data):
        return ExemptionClearForm(data)

    def run(self, request, member, data):
        return services.exemption_clear(member=member, by=request.user, **data)
