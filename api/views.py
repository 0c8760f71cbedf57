"""The API's reads: each list and each object through the same scope functions as the pages (an object outside the
user's scope is 404, like one that does not exist), filtered by ``api.filters`` and paged by cursor."""

from django.db.models import Model, Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import pagination, serializers
from api.deletions import in_subtree, visible_deletions
from api.filters import (
    LIST_PARAMETERS,
    ORGANISATION,
    ListFilters,
    organisation_named,
    read_changed_since,
    subtree_of,
)
from api.models import Deletion
from api.throttling import AnonThrottle, ScopedThrottle, UserThrottle
from branches.access import access_for
from branches.models import Organisation
from branches.selectors import name_on_expression, visible_organisations
from dongha76.periods import PeriodError, parse_iso_day, parse_year
from members.models import Attendance, Meeting, Member, Placement, Referral, ResidenceComment
from members.selectors import FIRST_COMMENT_YEAR, visible_comments, visible_meetings, visible_members, visible_referrals
from reports.report import build_report, report_as_json

LIST_DOC = "Rows are ordered by id and paged by cursor: follow `next` until it is null."


# A list's subclass says what differs: its scope, what ``as_of`` keeps (``on_day``), the fields that place a row in an
# organisation's subtree, and the history tables whose records since ``changed_since`` make a row changed (each with
# the history model's field naming the row). The filters are applied in one place, in one order for every list. (The
# base's docstring is the schema's description of every single object: kept as it is, this comment stays out of it.)
class ScopedReadViewSet(viewsets.ReadOnlyModelViewSet):
    """A list (``GET /<things>/``) and an object (``GET /<things>/<id>/``) of the user's scope."""

    lookup_value_regex = "[0-9]+"
    list_description = ""  # the list's description in the schema (``LIST_DOC`` follows it)
    list_parameters = LIST_PARAMETERS
    organisation_fields: tuple[str, ...] = ()
    histories: tuple[tuple[type[Model], str], ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        schema = extend_schema(parameters=cls.list_parameters, description=f"{cls.list_description} {LIST_DOC}")
        extend_schema_view(list=schema)(cls)

    def scope(self):
        raise NotImplementedError

    def on_day(self, queryset, day):
        """``queryset`` narrowed to what ``as_of`` keeps."""
        raise NotImplementedError

    def in_subtree(self, queryset, organisation, day):
        return queryset.filter(subtree_of(organisation, *self.organisation_fields))

    def narrowed(self, queryset, filters: ListFilters):
        """``queryset`` narrowed by the list's filters."""
        if filters.as_of:
            queryset = self.on_day(queryset, filters.as_of)
        if filters.organisation:
            queryset = self.in_subtree(queryset, filters.organisation, filters.as_of)
        return filters.changed(queryset, *((model.history, field) for model, field in self.histories))

    def get_queryset(self):
        queryset = self.scope()
        if self.action == "list":
            queryset = self.narrowed(queryset, ListFilters.read(self.request))
        return queryset


class OrganisationViewSet(ScopedReadViewSet):
    serializer_class = serializers.OrganisationSerializer
    list_description = (
        "The organisations you may see. With `as_of`: those existing on that day, with the name they had then; "
        "without: every one, past ones too."
    )
    organisation_fields = ("",)
    histories = ((Organisation, "id"),)

    def scope(self):
        return visible_organisations(access_for(self.request.user)).select_related("parent", "successor")

    def on_day(self, queryset, day):
        return queryset.valid_on(day).annotate(name_then=name_on_expression(day))


class MemberViewSet(ScopedReadViewSet):
    serializer_class = serializers.MemberSerializer
    list_description = (
        "The members you may see. `as_of`: members of the party on that day; `organisation`: members whose home "
        "cell (on `as_of`, else today) lies in its subtree."
    )
    histories = ((Member, "id"),)

    def scope(self):
        return visible_members(self.request.user).select_related("home_organisation")

    def on_day(self, queryset, day):
        return queryset.members_on(day)

    def in_subtree(self, queryset, organisation, day):
        return queryset.in_subtree_on(organisation, day) if day else queryset.in_subtree(organisation)


class ReferralViewSet(ScopedReadViewSet):
    serializer_class = serializers.ReferralSerializer
    list_description = (
        "The referrals you may see, with their steps. `as_of`: open on that day (introduced, not yet ended); "
        "`organisation`: issued by, addressed to or placed in its subtree."
    )
    organisation_fields = ("issuing_organisation", "receiving_ward", "residential_cell")
    histories = ((Referral, "id"),)

    def scope(self):
        placements = Placement.objects.select_related("residential_cell").order_by("started_on", "pk")
        return (
            visible_referrals(self.request.user)
            .select_related("member", "issuing_organisation", "receiving_ward", "residential_cell")
            .prefetch_related(Prefetch("placements", queryset=placements))
        )

    def on_day(self, queryset, day):
        return queryset.active_on(day)


class MeetingViewSet(ScopedReadViewSet):
    serializer_class = serializers.MeetingSerializer
    pagination_class = pagination.Meetings
    list_description = (
        "The meetings of the residential cells you may see, with their attendance. `as_of`: held on or before that "
        "day; `organisation`: of cells in its subtree; `changed_since`: the meeting or its attendance changed."
    )
    organisation_fields = ("residential_cell",)
    histories = ((Meeting, "id"), (Attendance, "meeting_id"))

    def scope(self):
        attendance = Attendance.objects.select_related("member").order_by("pk")
        return (
            visible_meetings(self.request.user)
            .select_related("residential_cell")
            .prefetch_related(Prefetch("attendances", queryset=attendance))
        )

    def on_day(self, queryset, day):
        return queryset.filter(held_on__lte=day)


YEAR = OpenApiParameter("year", OpenApiTypes.INT, description="The year of the comment round.")


class CommentViewSet(ScopedReadViewSet):
    serializer_class = serializers.CommentSerializer
    list_description = (
        "The residence comments you may see. `as_of`: written on or before that day; `organisation`: written by a "
        "cell of its subtree, or on a member whose home cell lies in it."
    )
    list_parameters = [*LIST_PARAMETERS, YEAR]
    organisation_fields = ("residential_cell", "member__home_organisation")
    histories = ((ResidenceComment, "id"),)

    def scope(self):
        return visible_comments(self.request.user).select_related("member", "residential_cell")

    def on_day(self, queryset, day):
        return queryset.filter(written_on__lte=day)

    def narrowed(self, queryset, filters):
        try:
            year = parse_year(self.request.query_params.get("year"))
        except PeriodError as error:
            raise ValidationError({"year": [error.message]}) from None
        if year is not None:
            queryset = queryset.filter(year=year)
        return super().narrowed(queryset, filters)


DELETED_SINCE = OpenApiParameter(
    "changed_since",
    OpenApiTypes.DATETIME,
    description="Only the rows deleted at or after this moment (ISO 8601; without a zone, Vietnam's time).",
)
KIND = OpenApiParameter(
    "kind", OpenApiTypes.STR, enum=Deletion.Kind.values, description="Only the rows deleted from that list."
)


@extend_schema(
    parameters=[DELETED_SINCE, ORGANISATION, KIND],
    description="The rows deleted from the lists, for a client keeping a copy: each row's list (`kind`), its `id` "
    "and when it was deleted, shown to those whose scope held the row when it was deleted. `organisation`: a row "
    "that was in its subtree. Read with the same `changed_since` as the lists. " + LIST_DOC,
)
class DeletionListView(generics.ListAPIView):
    serializer_class = serializers.DeletionSerializer

    def get_queryset(self):
        params = self.request.query_params
        changed_since = read_changed_since(params)
        organisation = organisation_named(self.request)
        kind = params.get("kind", "").strip()
        if kind and kind not in Deletion.Kind.values:
            message = _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(Deletion.Kind.values)}
            raise ValidationError({"kind": [message]})
        queryset = visible_deletions(self.request.user)
        if changed_since is not None:
            queryset = queryset.filter(deleted_at__gte=changed_since)
        if organisation is not None:
            queryset = in_subtree(queryset, organisation)
        if kind:
            queryset = queryset.filter(kind=kind)
        return queryset


class FiguresView(APIView):
    """The figures of an organisation and its subtree: the same JSON as the ``figures`` command (and the dashboard's
    numbers). Each call computes every figure of a subtree: it has a rate of its own (``figures``), lower than the
    lists'."""

    throttle_classes = [UserThrottle, AnonThrottle, ScopedThrottle]
    throttle_scope = "figures"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "organisation", OpenApiTypes.STR, required=True, description="An organisation's code (your scope)."
            ),
            OpenApiParameter("as_of", OpenApiTypes.DATE, description="The day (YYYY-MM-DD); default today."),
            OpenApiParameter("year", OpenApiTypes.INT, description="The comment round's year; default as_of's."),
        ],
        responses={200: OpenApiTypes.OBJECT},
        description="Every figure of the organisation's subtree as of a day: the same JSON object as "
        "`manage.py figures --json`.",
    )
    def get(self, request):
        if not request.query_params.get("organisation", "").strip():
            raise ValidationError({"organisation": [_("Give an organisation's code.")]})
        organisation = organisation_named(request)
        try:
            as_of = parse_iso_day(request.query_params.get("as_of")) or timezone.localdate()
        except PeriodError as error:
            raise ValidationError({"as_of": [error.message]}) from None
        try:
            year = parse_year(request.query_params.get("year"))
        except PeriodError as error:
            raise ValidationError({"year": [error.message]}) from None
        if year is not None and not FIRST_COMMENT_YEAR <= year <= as_of.year + 1:
            message = _("year must be the year of a round of comments, from %(first)s to the year after as_of.")
            raise ValidationError({"year": [message % {"first": FIRST_COMMENT_YEAR}]})
        return Response(report_as_json(build_report(organisation, as_of, year=year)))
