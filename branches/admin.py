"""Admin of the organisation tree and of users' posts, for city staff and support: both stay writable here (the app
has no pages for them). An organisation is checked and written by the tree's services (``branches.services``): the
same rules and messages as the workbook import, and a move re-roots its subtree under the services' locks. A post is
checked by the model (``Officer.clean()`` and its constraints), which is all the rules it has.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from branches import services
from branches.models import Officer, Organisation
from dongha76.services import validate_model

User = get_user_model()


class ValidityListFilter(admin.SimpleListFilter):
    """Organisations that exist today, or that were merged away or dissolved."""

    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [("current", _("Exists today")), ("ended", _("No longer exists"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "current":
            return queryset.valid_on(today)
        if self.value() == "ended":
            return queryset.filter(valid_to__lte=today)
        return queryset


class OpenPostListFilter(admin.SimpleListFilter):
    title = _("post")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", _("Held today")), ("no", _("Ended"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        held = Q(started_on__lte=today) & (Q(ended_on__isnull=True) | Q(ended_on__gt=today))
        if self.value() == "yes":
            return queryset.filter(held)
        if self.value() == "no":
            return queryset.filter(ended_on__lte=today)
        return queryset


class OrganisationAdminForm(forms.ModelForm):
    """Checked with the services' rules and messages (``validate_model`` with ``ORGANISATION_MESSAGES``)."""

    class Meta:
        model = Organisation
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose what is shown)

    def validate_unique(self) -> None:
        """Uniqueness and the constraints are checked below, with the services' messages."""

    def _post_clean(self) -> None:
        super()._post_clean()
        try:
            validate_model(self.instance, services.ORGANISATION_MESSAGES)
        except ValidationError as error:
            for field, errors in error.update_error_dict({}).items():
                target = field if field in self.fields else NON_FIELD_ERRORS
                if target not in self._errors:
                    self.add_error(None if target == NON_FIELD_ERRORS else target, errors)


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    form = OrganisationAdminForm
    list_display = ["code", "name_in_tree", "kind", "parent", "sector", "valid_from", "valid_to"]
    list_display_links = ["code", "name_in_tree"]
    list_filter = ["kind", "sector", ValidityListFilter]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path"]
    list_per_page = 100
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "parent", "sector", "address"]}),
        (_("Validity"), {"fields": ["valid_from", "valid_to"]}),
        (_("Technical"), {"fields": ["path"], "classes": ["collapse"]}),
    ]

    def save_model(self, request, obj, form, change):
        """Through the tree's services: a new parent moves the organisation with its subtree, under their locks."""
        fields = {
            name: form.cleaned_data[name] for name in services.ORGANISATION_UPDATABLE_FIELDS if name in form.fields
        }
        if change:
            saved = services.organisation_update(organisation=obj, by=request.user, **fields)
        else:
            saved = services.organisation_create(by=request.user, **fields)
        obj.pk, obj.path = saved.pk, saved.path

    @admin.display(description=_("name"), ordering="path")
    def name_in_tree(self, obj: Organisation) -> str:
        depth = max(obj.path.count("/") - 1, 0)
        return f"{'— ' * depth}{obj.name}"


@admin.register(Officer)
class OfficerAdmin(SimpleHistoryAdmin):
    list_display = ["user", "organisation", "role", "started_on", "ended_on"]
    list_filter = ["role", OpenPostListFilter, "organisation__kind"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "organisation__code",
        "organisation__name",
    ]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["user", "organisation"]
    date_hierarchy = "started_on"


class OfficerInline(admin.TabularInline):
    """A user's posts on the user page: support usually starts from the account."""

    model = Officer
    fk_name = "user"
    fields = ["organisation", "role", "started_on", "ended_on"]
    autocomplete_fields = ["organisation"]
    extra = 0


admin.site.unregister(User)


@admin.register(User)
class UserWithPostsAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, OfficerInline]
