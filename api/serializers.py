"""What the API shows of each row. Organisations are named by their code (stable across systems), members by id and
card number. Each serializer reads only its own row and the columns its view's queryset joins or prefetches: a page
of a list costs the same few queries whatever its size.

A national ID is always masked here, as in the lists of the pages (showing it in full is a logged step of the
member's page, for those who may: ``members.selectors.national_ids_shown_to``)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.models import Deletion
from branches.models import Organisation
from dongha76.privacy import mask_national_id
from members.models import Attendance, Meeting, Member, Placement, Referral, ResidenceComment


def code_of(field: str, **kwargs) -> serializers.CharField:
    """The code of the organisation ``field`` names (joined by the view), or null."""
    return serializers.CharField(source=f"{field}.code", read_only=True, allow_null=True, default=None, **kwargs)


class OrganisationSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField(help_text="The name in force on as_of (today's without as_of).")
    parent = code_of("parent")
    successor = code_of("successor")

    class Meta:
        model = Organisation
        fields = ["id", "code", "name", "kind", "parent", "sector", "valid_from", "valid_to", "successor", "address"]

    @extend_schema_field(serializers.CharField())
    def get_name(self, organisation) -> str:
        return getattr(organisation, "name_then", None) or organisation.name


class MemberSerializer(serializers.ModelSerializer):
    home_organisation = code_of("home_organisation")
    national_id = serializers.SerializerMethodField(help_text="Masked: only the last 4 digits are shown.")

    class Meta:
        model = Member
        fields = [
            "id",
            "card_number",
            "full_name",
            "date_of_birth",
            "gender",
            "national_id",
            "admitted_on",
            "official_on",
            "home_organisation",
            "retired_on",
            "left_on",
            "left_reason",
            "residential_address",
        ]

    @extend_schema_field(serializers.CharField())
    def get_national_id(self, member) -> str:
        return mask_national_id(member.national_id)


class PlacementSerializer(serializers.ModelSerializer):
    residential_cell = code_of("residential_cell")

    class Meta:
        model = Placement
        fields = ["residential_cell", "started_on", "ended_on"]


class ReferralSerializer(serializers.ModelSerializer):
    card_number = serializers.CharField(source="member.card_number", read_only=True)
    issuing_organisation = code_of("issuing_organisation")
    receiving_ward = code_of("receiving_ward")
    residential_cell = code_of("residential_cell")
    placements = PlacementSerializer(
        many=True, read_only=True, help_text="The residential cells the member was placed in, in order."
    )

    class Meta:
        model = Referral
        fields = [
            "id",
            "member",
            "card_number",
            "issuing_organisation",
            "letter_number",
            "receiving_ward",
            "introduced_on",
            "received_on",
            "residential_cell",
            "placed_on",
            "reported_on",
            "ended_on",
            "end_reason",
            "placements",
        ]


class AttendanceSerializer(serializers.ModelSerializer):
    card_number = serializers.CharField(source="member.card_number", read_only=True)

    class Meta:
        model = Attendance
        fields = ["member", "card_number", "status", "reason"]


class MeetingSerializer(serializers.ModelSerializer):
    residential_cell = code_of("residential_cell")
    attendance = AttendanceSerializer(source="attendances", many=True, read_only=True)

    class Meta:
        model = Meeting
        fields = ["id", "residential_cell", "held_on", "kind", "year", "half", "summary", "attendance"]


class CommentSerializer(serializers.ModelSerializer):
    card_number = serializers.CharField(source="member.card_number", read_only=True)
    residential_cell = code_of("residential_cell")

    class Meta:
        model = ResidenceComment
        fields = [
            "id",
            "member",
            "card_number",
            "year",
            "residential_cell",
            "keeps_contact",
            "citizen_example",
            "attends_meetings",
            "joins_movements",
            "verdict",
            "text",
            "written_on",
            "sent_on",
            "received_on",
        ]


class DeletionSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="object_id", read_only=True, help_text="The id the row had in its list.")
    kind = serializers.ChoiceField(
        choices=Deletion.Kind.choices, read_only=True, help_text="The list the row was in: `/api/v1/<kind>s/`."
    )

    class Meta:
        model = Deletion
        fields = ["kind", "id", "deleted_at"]
        read_only_fields = fields
