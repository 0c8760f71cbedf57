"""FilterSets of the members app's list pages. They narrow a queryset the view already scoped to the user."""

import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.access import access_for
from branches.selectors import visible_organisations
from members.models import Exemption
from members.selectors import (
    ReferralStateToday,
    members_in_referral_state,
    members_in_working_status,
    members_with_exemption,
)

WORKING_CHOICES = [
    ("working", _("Working")),
    ("retired", _("Retired")),
    ("left", _("Left the party or died")),
]
EXEMPTION_CHOICES = [
    ("none", _("Not exempt")),
    (Exemption.Kind.INTRODUCTION, _("Exempt from introduction")),
    (Exemption.Kind.ACTIVITIES, _("Exempt from residence activities")),
]
REFERRAL_STATE_CHOICES = [
    (ReferralStateToday.NOT_INTRODUCED, _("Eligible, not introduced")),
    (ReferralStateToday.INTRODUCED, _("Introduced, awaiting reception")),
    (ReferralStateToday.STALLED, _("Awaiting reception for more than 30 days")),
    (ReferralStateToday.RECEIVED, _("Received, awaiting placement")),
    (ReferralStateToday.PLACED, _("Placed in a residential cell")),
]


def _organisations(request):
    return visible_organisations(access_for(request.user)).order_by("path")


class MemberFilter(django_filters.FilterSet):
    """Search and filters of the member list; states, exemptions and working status are taken as of ``day``."""

    q = django_filters.CharFilter(label=_("Search"), method="filter_search")
    organisation = django_filters.ModelChoiceFilter(
        label=_("Organisation"), queryset=_organisations, method="filter_organisation", empty_label=_("All")
    )
    working = django_filters.ChoiceFilter(
        label=_("Working or retired"), choices=WORKING_CHOICES, method="filter_working", empty_label=_("All")
    )
    exemption = django_filters.ChoiceFilter(
        label=_("Exemption"), choices=EXEMPTION_CHOICES, method="filter_exemption", empty_label=_("All")
    )
    referral_state = django_filters.ChoiceFilter(
        label=_("Referral"), choices=REFERRAL_STATE_CHOICES, method="filter_referral_state", empty_label=_("All")
    )

    def __init__(self, *args, day: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = day or timezone.localdate()
        self.form.fields["q"].widget.attrs.update(
            {"placeholder": _("Name without accents, or card number"), "type": "search", "autocomplete": "off"}
        )

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_organisation(self, queryset, name, value):
        return queryset.in_subtree(value)

    def filter_working(self, queryset, name, value):
        return members_in_working_status(queryset, value, day=self.day)

    def filter_exemption(self, queryset, name, value):
        return members_with_exemption(queryset, value, day=self.day)

    def filter_referral_state(self, queryset, name, value):
        return members_in_referral_state(queryset, value, day=self.day)

    def describe(self) -> list[str]:
        """The filters in use, as "label: value" (for the heading of an export)."""
        if not self.is_bound or not self.form.is_valid():
            return []
        described = []
        for name, value in self.form.cleaned_data.items():
            if value in (None, ""):
                continue
            field = self.form.fields[name]
            if name in ("working", "exemption", "referral_state"):
                value = dict(field.choices).get(value, value)
            described.append(f"{field.label}: {value}")
        return described
