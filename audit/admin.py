"""The access log in the admin: read only (an entry is never changed nor deleted by hand)."""

from django.contrib import admin

from audit.models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "kind", "organisation_code", "subject", "rows", "address")
    list_filter = ("kind",)
    search_fields = ("username", "organisation_code", "subject")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
