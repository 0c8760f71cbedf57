"""Admin of members, referrals, meetings and comments, for city staff and support.

The admin is a repair tool, and it holds no rule of its own (issue 10, finding 7). A member's record stays writable
for support, validated by the very function the member services use (``members.services.validate_member``: the
model's field validators and ``clean()``, ``check_member``, the constraints with the services' messages). Referrals,
exemptions, meetings, attendance, comments and ratings are read-only here, with their history: each of their steps
has rules that need other rows and today's date, and the app's own pages record them through the services.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from audit.models import AccessLog
from audit.services import record_access
from dongha76.dates import ADMIN_FORMFIELD_OVERRIDES
from dongha76.text import search_key
from members import services
from members.models import (
    Attendance,
    Exemption,
    Meeting,
    Member,
    MemberHome,
    Referral,
    ResidenceComment,
    YearEndRating,
)


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Rows the admin shows, with their history, but never adds, changes, reverts or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history lets anyone who may *view* the history post a revert: refuse it here.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyInline:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MemberNameSearchMixin:
    """Search rows by their member's name typed without accents ("nguyen van duc") or card number."""

    search_fields = ["member__search_name", "member__card_number"]

    def search_condition(self, term: str, key: str) -> Q:
        return Q(member__search_name__contains=key) | Q(member__card_number__startswith=term)

    def get_search_results(self, request, queryset, search_term):
        key = search_key(search_term)
        if not key:
            return queryset, False
        return queryset.filter(self.search_condition(search_term.strip(), key)), False


class MemberStatusListFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("working", _("Working")), ("retired", _("Retired")), ("left", _("No longer a member"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "working":
            return queryset.members_on(today).working_on(today)
        if self.value() == "retired":
            return queryset.members_on(today).filter(retired_on__lte=today)
        if self.value() == "left":
            return queryset.filter(left_on__lte=today)
        return queryset


class ReferralStateListFilter(admin.SimpleListFilter):
    """The state derived from the dates, as of today."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            (Referral.State.INTRODUCED, Referral.State.INTRODUCED.label),
            (Referral.State.RECEIVED, Referral.State.RECEIVED.label),
            (Referral.State.PLACED, _("Placed (reported or not)")),
            (Referral.State.ENDED, Referral.State.ENDED.label),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        match self.value():
            case Referral.State.INTRODUCED:
                return queryset.awaiting_reception_on(today)
            case Referral.State.RECEIVED:
                return queryset.awaiting_placement_on(today)
            case Referral.State.PLACED:
                return queryset.placed_as_of(today)
            case Referral.State.ENDED:
                return queryset.filter(ended_on__lte=today)
        return queryset


class ExemptionInline(ReadOnlyInline, admin.TabularInline):
    """The member's exemptions, to read: they are set and lifted on the member's page (``exemption_set/clear``)."""

    model = Exemption
    fields = ["kind", "reason", "started_on", "ended_on", "recorded_by"]
    readonly_fields = fields
    extra = 0


class MemberHomeInline(ReadOnlyInline, admin.TabularInline):
    """The member's homes, to read: a transfer is a change of home on a day, recorded on the member's page (the
    change form there asks for the day), so that the figures of the days before keep the home they had."""

    model = MemberHome
    fields = ["organisation", "started_on", "ended_on", "recorded_by"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organisation", "recorded_by")


class ReferralInline(ReadOnlyInline, admin.TabularInline):
    """The member's referrals, to read; their steps are recorded on the app's referral pages."""

    model = Referral
    fields = ["issuing_organisation", "receiving_ward", "introduced_on", "received_on", "placed_on", "ended_on"]
    readonly_fields = fields
    show_change_link = True
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issuing_organisation", "receiving_ward")


class MemberAdminForm(forms.ModelForm):
    """The member's record, checked by ``services.validate_member`` like every other write of a member."""

    class Meta:
        model = Member
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose what is shown)

    def validate_unique(self) -> None:
        """Uniqueness and the constraints are part of ``validate_member`` below, with the services' messages."""

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance as typed, its field validators and clean()
        try:
            services.validate_member(self.instance)
        except ValidationError as error:
            for field, errors in error.update_error_dict({}).items():
                target = field if field in self.fields else NON_FIELD_ERRORS
                if target not in self._errors:
                    self.add_error(None if target == NON_FIELD_ERRORS else target, errors)


@admin.register(Member)
class MemberAdmin(SimpleHistoryAdmin):
    form = MemberAdminForm
    formfield_overrides = ADMIN_FORMFIELD_OVERRIDES
    list_display = [
        "full_name",
        "card_number",
        "home_organisation",
        "date_of_birth",
        "admitted_on",
        "retired_on",
        "left_on",
    ]
    list_filter = [
        MemberStatusListFilter,
        "gender",
        "home_organisation__kind",
        "home_organisation__sector",
        "left_reason",
    ]
    search_fields = ["search_name", "card_number"]
    search_help_text = _("Name, with or without accents, or the start of the party card number.")
    list_select_related = ["home_organisation"]
    autocomplete_fields = ["home_organisation"]
    readonly_fields = ["search_name", "working", "created_at", "updated_at"]
    date_hierarchy = "admitted_on"
    inlines = [MemberHomeInline, ExemptionInline, ReferralInline]
    fieldsets = [
        (None, {"fields": ["full_name", "card_number", "date_of_birth", "gender", "national_id", "phone"]}),
        (_("Party"), {"fields": ["home_organisation", "admitted_on", "official_on", "retired_on", "working"]}),
        (_("Residence"), {"fields": ["residential_address"]}),
        (_("Leaving the party"), {"fields": ["left_on", "left_reason"]}),
        (_("Technical"), {"fields": ["search_name", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_search_results(self, request, queryset, search_term):
        """Fold the query as the names are folded: "nguyen van duc" finds "Nguyễn Văn Đức"."""
        if not search_key(search_term):
            return queryset, False
        return queryset.search(search_term), False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # The home of a stored member changes on a day (a transfer), which this form cannot ask: see the inline.
        return [*self.readonly_fields, "home_organisation"]

    def has_delete_permission(self, request, obj=None):
        # A member is never deleted: leaving the party or dying is a date (left_on), and the past figures, the
        # history and the exemptions (deleted with the member) must stay.
        return False

    # The admin's pages show the national ID in full (to edit it, and in the history): each is logged, as the
    # member's page logs its "show" step.

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        self._log_national_id(request, object_id, response)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        self._log_national_id(request, object_id, response)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        self._log_national_id(request, object_id, response)
        return response

    def _log_national_id(self, request, object_id, response) -> None:
        if request.method != "GET" or response.status_code != 200:
            return
        member = Member.objects.filter(pk=object_id).select_related("home_organisation").first()
        if member is not None and member.national_id:
            record_access(
                kind=AccessLog.Kind.NATIONAL_ID_SHOWN,
                by=request.user,
                request=request,
                organisation=member.home_organisation,
                subject=f"{member.card_number} (admin)",
                rows=1,
            )


@admin.register(Exemption)
class ExemptionAdmin(MemberNameSearchMixin, ReadOnlyAdmin):
    list_display = ["member", "kind", "reason", "started_on", "ended_on", "recorded_by"]
    list_filter = ["kind", "ended_on"]
    list_select_related = ["member", "recorded_by"]
    autocomplete_fields = ["member"]
    date_hierarchy = "started_on"


@admin.register(Referral)
class ReferralAdmin(MemberNameSearchMixin, ReadOnlyAdmin):
    list_display = [
        "member",
        "issuing_organisation",
        "receiving_ward",
        "letter_number",
        "introduced_on",
        "received_on",
        "placed_on",
        "ended_on",
        "state_display",
    ]
    list_filter = [
        ReferralStateListFilter,
        ("receiving_ward", admin.RelatedOnlyFieldListFilter),
        "end_reason",
        "issuing_organisation__sector",
    ]
    search_fields = ["member__search_name", "member__card_number", "letter_number"]
    list_select_related = ["member", "issuing_organisation", "receiving_ward"]
    autocomplete_fields = ["member", "issuing_organisation", "receiving_ward", "residential_cell"]
    readonly_fields = ["state_display", "created_at", "updated_at"]
    date_hierarchy = "introduced_on"
    fieldsets = [
        (None, {"fields": ["member", "state_display"]}),
        (
            _("Introduction"),
            {"fields": ["issuing_organisation", "receiving_ward", "letter_number", "introduced_on", "introduced_by"]},
        ),
        (_("Reception"), {"fields": ["received_on", "received_by"]}),
        (_("Placement"), {"fields": ["residential_cell", "placed_on", "placed_by", "reported_on", "reported_by"]}),
        (_("End"), {"fields": ["ended_on", "end_reason", "ended_by"]}),
        (None, {"fields": ["notes", "created_at", "updated_at"]}),
    ]

    def search_condition(self, term: str, key: str) -> Q:
        return super().search_condition(term, key) | Q(letter_number=term)

    @admin.display(description=_("state"))
    def state_display(self, obj: Referral) -> str:
        if obj.pk is None:
            return "–"
        return obj.state.label


class AttendanceInline(ReadOnlyInline, admin.TabularInline):
    model = Attendance
    fields = ["member", "status", "reason"]
    readonly_fields = fields
    extra = 0


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = ["residential_cell", "held_on", "kind", "year", "half", "attendance_count"]
    list_filter = ["kind", "year", "half"]
    search_fields = ["residential_cell__code", "residential_cell__name"]
    list_select_related = ["residential_cell"]
    autocomplete_fields = ["residential_cell"]
    readonly_fields = ["created_at"]
    date_hierarchy = "held_on"
    inlines = [AttendanceInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _present=Count("attendances", filter=Q(attendances__status=Attendance.Status.PRESENT)),
                _attendances=Count("attendances"),
            )
        )

    @admin.display(description=_("present / recorded"))
    def attendance_count(self, obj: Meeting) -> str:
        return f"{obj._present} / {obj._attendances}"


@admin.register(Attendance)
class AttendanceAdmin(MemberNameSearchMixin, ReadOnlyAdmin):
    list_display = ["member", "meeting", "status", "reason"]
    list_filter = ["status", "meeting__kind", "meeting__year", "meeting__half"]
    list_select_related = ["member", "meeting__residential_cell"]
    autocomplete_fields = ["member", "meeting"]


@admin.register(ResidenceComment)
class ResidenceCommentAdmin(MemberNameSearchMixin, ReadOnlyAdmin):
    list_display = ["member", "year", "residential_cell", "verdict", "written_on", "sent_on", "received_on"]
    list_filter = ["year", "verdict", ("residential_cell", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["member", "residential_cell"]
    autocomplete_fields = ["member", "residential_cell"]
    date_hierarchy = "written_on"


@admin.register(YearEndRating)
class YearEndRatingAdmin(MemberNameSearchMixin, ReadOnlyAdmin):
    list_display = ["member", "year", "level", "decided_on"]
    list_filter = ["year", "level"]
    list_select_related = ["member"]
    autocomplete_fields = ["member"]
