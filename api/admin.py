from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens of every user: issue one for a user (its key is shown once, on the page after saving) and revoke.
    A token's key cannot be changed or read back; a revoked token stays listed."""

    list_display = ("name", "user", "shown", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "user__username", "shown")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("shown", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("user", *self.readonly_fields)
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = ApiToken.issue(obj.user, obj.name)
        obj.pk, obj.shown, obj.digest, obj.created_at = token.pk, token.shown, token.digest, token.created_at
        obj._state.adding = False
        messages.warning(
            request,
            _("The key of the token %(name)s, shown only this once: %(key)s") % {"name": token.name, "key": key},
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: the list keeps who had access

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request, ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count}
        )
