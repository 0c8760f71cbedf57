"""The access log's filters: what, who, which organisation, between which days."""

import django_filters
from django.utils.translation import gettext_lazy as _

from audit.models import AccessLog
from dongha76.dates import DayField, DayInput
from members.filters import Select


class DayFilter(django_filters.DateFilter):
    field_class = DayField


class AccessLogFilter(django_filters.FilterSet):
    # The select drawn in Python as the lists' filters draw theirs (the same HTML as Django's templates).
    kind = django_filters.ChoiceFilter(
        label=_("What"), choices=AccessLog.Kind.choices, empty_label=_("Everything"), widget=Select
    )
    username = django_filters.CharFilter(label=_("Username"), lookup_expr="icontains")
    organisation_code = django_filters.CharFilter(label=_("Organisation code"), lookup_expr="iexact")
    since = DayFilter(
        label=_("From"),
        field_name="at",
        lookup_expr="date__gte",
        widget=DayInput(),
    )
    until = DayFilter(
        label=_("To"),
        field_name="at",
        lookup_expr="date__lte",
        widget=DayInput(),
    )

    class Meta:
        model = AccessLog
        fields = ["kind", "username", "organisation_code", "since", "until"]
