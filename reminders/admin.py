"""Admin of the reminders: the thresholds with their history (the city staff's page sets them too), the reminders
read-mostly (``send_reminders`` makes and closes them; support may only mark one read), the users' preferences."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from reminders.models import Reminder, ReminderPreference, ReminderSettings
from reminders.texts import sentence


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(SimpleHistoryAdmin):
    list_display = [
        "organisation",
        "introduce_after_days",
        "letter_follow_up_after_days",
        "receive_after_days",
        "place_after_days",
        "comments_first_notice_days",
        "comments_last_notice_days",
        "recorded_by",
    ]
    list_select_related = ["organisation", "recorded_by"]
    readonly_fields = ["recorded_by"]

    def save_model(self, request, obj, form, change):
        obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["due_on", "user", "organisation", "rule", "step", "read_at", "closed_on", "closed_because", "email"]
    list_filter = ["rule", "email", "closed_because", "due_on"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__username", "user__email", "organisation__name", "organisation__code"]
    date_hierarchy = "due_on"
    fields = [
        "user",
        "organisation",
        "rule",
        "object_id",
        "step",
        "says",
        "details",
        "due_on",
        "created_at",
        "read_at",
        "closed_on",
        "closed_because",
        "email",
        "emailed_at",
    ]
    readonly_fields = [name for name in fields if name != "read_at"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("What it says"))
    def says(self, obj: Reminder) -> str:
        return sentence(obj)


@admin.register(ReminderPreference)
class ReminderPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "delivery", "last_digest_on"]
    list_filter = ["delivery"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
    readonly_fields = ["last_digest_on"]
