"""What the API's workflow steps read and answer (``api.steps``).

The request serializers only *describe* a step's body for the schema (drf-spectacular): the body is checked by the
same Django form as the page's, so that a refusal is the page's message word for word. Days are ``YYYY-MM-DD`` (the
forms also read ``dd/mm/yyyy``); organisations are named by their code, as the reads name them. A step answers the
object as saved with the read serializer (``api.serializers``); these are the answers the reads have no serializer
for.
"""

from rest_framework import serializers

from api.serializers import ReferralSerializer
from members.models import Attendance, Exemption, Meeting, Referral, ResidenceComment, YearEndRating


# -- requests (documentation of the body; the page's form checks it) ----------------------------------------------
class IntroduceRequest(serializers.Serializer):
    receiving_ward = serializers.CharField(help_text="Code of the receiving ward.")
    letter_number = serializers.CharField(max_length=30)
    introduced_on = serializers.DateField()
    notes = serializers.CharField(required=False, allow_blank=True)


class ReceiveRequest(serializers.Serializer):
    received_on = serializers.DateField()


class PlaceRequest(serializers.Serializer):
    residential_cell = serializers.CharField(help_text="Code of the residential cell.")
    placed_on = serializers.DateField()


class ReplaceRequest(serializers.Serializer):
    residential_cell = serializers.CharField(help_text="Code of the new residential cell.")
    replaced_on = serializers.DateField()


class ReportRequest(serializers.Serializer):
    reported_on = serializers.DateField()


class EndRequest(serializers.Serializer):
    ended_on = serializers.DateField()
    end_reason = serializers.ChoiceField(choices=Referral.EndReason.choices)
    notes = serializers.CharField(required=False, allow_blank=True)
    new_ward = serializers.CharField(
        required=False, help_text="Moved residence within the city: the code of the ward the member is introduced to."
    )
    new_letter_number = serializers.CharField(required=False, max_length=30)
    transfer_home = serializers.BooleanField(
        required=False, help_text="Retired: the member's home cell becomes the residential cell."
    )


class MeetingRequest(serializers.Serializer):
    held_on = serializers.DateField()
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices)
    half_year = serializers.RegexField(
        r"^[0-9]{4}-[12]$",
        help_text="YYYY-1 or YYYY-2: the half-year of the date or the one before it.",
    )
    summary = serializers.CharField(required=False, allow_blank=True)


class AttendanceRequest(serializers.Serializer):
    status = serializers.ChoiceField(choices=Attendance.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


class CommentRequest(serializers.Serializer):
    keeps_contact = serializers.BooleanField(required=False)
    citizen_example = serializers.BooleanField(required=False)
    attends_meetings = serializers.BooleanField(required=False)
    joins_movements = serializers.BooleanField(required=False)
    verdict = serializers.ChoiceField(choices=ResidenceComment.Verdict.choices)
    text = serializers.CharField(required=False, allow_blank=True)
    written_on = serializers.DateField()


class SendRequest(serializers.Serializer):
    sent_on = serializers.DateField(required=False, help_text="Default: today.")


class CommentReceiveRequest(serializers.Serializer):
    received_on = serializers.DateField(required=False, help_text="Default: today.")


class RatingRequest(serializers.Serializer):
    level = serializers.ChoiceField(choices=YearEndRating.Level.choices)
    decided_on = serializers.DateField(required=False, help_text="Default: today.")


class ExemptionSetRequest(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Exemption.Kind.choices)
    reason = serializers.CharField(max_length=255)
    started_on = serializers.DateField()


class ExemptionClearRequest(serializers.Serializer):
    ended_on = serializers.DateField(help_text="The first day the member is no longer exempt.")


# -- responses ----------------------------------------------------------------------------------------------------
class StepEnd(serializers.Serializer):
    referral = ReferralSerializer(help_text="The referral, ended.")
    new_referral = ReferralSerializer(
        allow_null=True, help_text="The letter to the new ward, when the member moved residence within the city."
    )


class StepMeetingExists(serializers.Serializer):
    detail = serializers.CharField()
    meeting = serializers.IntegerField(help_text="Id of the meeting already recorded.")


class StepAllPresent(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many members were marked present (0: nobody was left).")


class StepRating(serializers.ModelSerializer):
    class Meta:
        model = YearEndRating
        fields = ["id", "member", "year", "level", "decided_on"]


class StepExemption(serializers.ModelSerializer):
    class Meta:
        model = Exemption
        fields = ["id", "member", "kind", "reason", "started_on", "ended_on"]
