"""Admin of the organisation tree and of users' posts, for city staff and support: both stay writable here (the app
has no pages for them). An organisation is checked and written by the tree's services (``branches.services``): the
same rules and messages as the workbook import, and a move re-roots its subtree under the services' locks. A post is
checked by the model (``Officer.clean()`` and its constraints), which is all the rules it has.

Former names and restructure records are read-only here, with their history: the rename service and the restructure
operations write them (a rename is a dated event, not an edit of the name field, which stays for corrections).
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from api import deletions
from branches import services
from branches.models import Officer, Organisation, OrganisationName, Restructure
from dongha76.dates import ADMIN_FORMFIELD_OVERRIDES
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
        if self.instance.pk is not None:
            # What the update service decides from the organisation's history (a move, a kind change, new dates).
            stored = Organisation.objects.get(pk=self.instance.pk)
            changed = {
                name: self.cleaned_data[name]
                for name in services.ORGANISATION_UPDATABLE_FIELDS
                if name in self.fields and name in self.cleaned_data
            }
            for field, error in services.organisation_change_errors(stored, changed).items():
                if field not in self._errors:
                    self.add_error(field if field in self.fields else None, error)
        try:
            validate_model(self.instance, services.ORGANISATION_MESSAGES)
        except ValidationError as error:
            for field, errors in error.update_error_dict({}).items():
                target = field if field in self.fields else NON_FIELD_ERRORS
                if target not in self._errors:
                    self.add_error(None if target == NON_FIELD_ERRORS else target, errors)


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
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


class OrganisationNameInline(admin.TabularInline):
    """The names the organisation bore before its renames (written by the rename service only)."""

    model = OrganisationName
    fields = ["name", "valid_from", "valid_to"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _organisation_links(organisations) -> str:
    return format_html_join(
        ", ",
        '<a href="{}">{} ({})</a>',
        ((reverse("admin:branches_organisation_change", args=[org.pk]), org.name, org.code) for org in organisations),
    )


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    form = OrganisationAdminForm
    formfield_overrides = ADMIN_FORMFIELD_OVERRIDES
    list_display = ["code", "name_in_tree", "kind", "parent", "sector", "valid_from", "valid_to", "successor"]
    list_display_links = ["code", "name_in_tree"]
    list_filter = ["kind", "sector", ValidityListFilter]
    search_fields = ["code", "name"]
    list_select_related = ["parent", "successor"]
    autocomplete_fields = ["parent", "successor"]
    readonly_fields = ["path", "restructures"]
    list_per_page = 100
    inlines = [OrganisationNameInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "parent", "sector", "address"]}),
        (_("Validity"), {"fields": ["valid_from", "valid_to", "successor", "restructures"]}),
        (_("Technical"), {"fields": ["path"], "classes": ["collapse"]}),
    ]

    @admin.display(description=_("restructures"))
    def restructures(self, obj: Organisation) -> str:
        if obj.pk is None:
            return "–"
        records = (
            Restructure.objects.filter(Q(predecessors=obj) | Q(successors=obj))
            .distinct()
            .order_by("effective_on", "pk")
        )
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                ((reverse("admin:branches_restructure_change", args=[r.pk]), str(r)) for r in records),
            )
            or "–"
        )

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

    # An organisation the API listed and a superuser deletes here is recorded for the API's deletions feed, as an
    # import's undo records the rows it deletes: a synchronising client must learn that it is gone.
    def delete_model(self, request, obj):
        with transaction.atomic():
            deletions.record(Organisation, [obj.pk])
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            deletions.record(Organisation, list(queryset.values_list("pk", flat=True)))
            super().delete_queryset(request, queryset)

    @admin.display(description=_("name"), ordering="path")
    def name_in_tree(self, obj: Organisation) -> str:
        depth = max(obj.path.count("/") - 1, 0)
        return f"{'— ' * depth}{obj.name}"


@admin.register(Restructure)
class RestructureAdmin(ReadOnlyHistoryAdmin):
    list_display = ["effective_on", "kind", "predecessor_list", "successor_list", "recorded_by", "recorded_at"]
    list_display_links = ["effective_on", "kind"]
    list_filter = ["kind"]
    date_hierarchy = "effective_on"
    ordering = ["-effective_on", "-pk"]
    search_fields = ["predecessors__code", "predecessors__name", "successors__code", "successors__name"]
    list_select_related = ["recorded_by"]
    fields = ["kind", "effective_on", "predecessor_list", "successor_list", "note", "recorded_by", "recorded_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("predecessors", "successors")

    @admin.display(description=_("predecessors"))
    def predecessor_list(self, obj: Restructure) -> str:
        return _organisation_links(obj.predecessors.all())

    @admin.display(description=_("successors"))
    def successor_list(self, obj: Restructure) -> str:
        return _organisation_links(obj.successors.all())


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
    formfield_overrides = ADMIN_FORMFIELD_OVERRIDES


class OfficerInline(admin.TabularInline):
    """A user's posts on the user page: support usually starts from the account."""

    model = Officer
    fk_name = "user"
    fields = ["organisation", "role", "started_on", "ended_on"]
    autocomplete_fields = ["organisation"]
    extra = 0
    formfield_overrides = ADMIN_FORMFIELD_OVERRIDES


admin.site.unregister(User)


@admin.register(User)
class UserWithPostsAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, OfficerInline]
