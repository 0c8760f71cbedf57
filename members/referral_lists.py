"""The referral list: its filters (django-filter) and its table (django-tables2)."""

import datetime

import django_filters
import django_tables2 as tables
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.text import search_key
from members.models import Referral

STATE_CHOICES = [
    ("open", _("Open")),
    ("awaiting_reception", _("Awaiting reception")),
    ("awaiting_placement", _("Received, awaiting placement")),
    ("not_reported", _("Placed, not reported yet")),
    ("placed", _("Placed in a residential cell")),
    ("stalled", _("Stalled: not received after 30 days")),
    ("ended", _("Ended")),
]


class ReferralFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or card number"), method="filter_q")
    state = django_filters.ChoiceFilter(label=_("State today"), choices=STATE_CHOICES, method="filter_state")
    receiving_ward = django_filters.ModelChoiceFilter(label=_("Receiving ward"), queryset=Organisation.objects.none())
    issuing_organisation = django_filters.ModelChoiceFilter(
        label=_("Introduced by organisation"), queryset=Organisation.objects.none()
    )
    year = django_filters.NumberFilter(label=_("Year introduced"), field_name="introduced_on", lookup_expr="year")

    class Meta:
        model = Referral
        fields = ["q", "state", "receiving_ward", "issuing_organisation", "year"]

    def __init__(self, *args, wards=None, issuers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = timezone.localdate()
        if wards is not None:
            self.filters["receiving_ward"].queryset = wards
        if issuers is not None:
            self.filters["issuing_organisation"].queryset = issuers

    def filter_q(self, queryset, name, value):
        key = search_key(value)
        if not key:
            return queryset
        return queryset.filter(Q(member__search_name__contains=key) | Q(member__card_number__startswith=value.strip()))

    def filter_state(self, queryset, name, value):
        day = self.day
        if value == "open":
            return queryset.active_on(day)
        if value == "awaiting_reception":
            return queryset.awaiting_reception_on(day)
        if value == "awaiting_placement":
            return queryset.awaiting_placement_on(day)
        if value == "not_reported":
            return queryset.placed_as_of(day).filter(reported_on__isnull=True)
        if value == "placed":
            return queryset.placed_as_of(day)
        if value == "stalled":
            return queryset.stalled_on(day)
        if value == "ended":
            return queryset.filter(ended_on__lte=day)
        return queryset


class ReferralTable(tables.Table):
    member = tables.Column(verbose_name=_("Party member"), order_by=("member__search_name",))
    issuing_organisation = tables.Column(verbose_name=_("Introduced by"), order_by=("issuing_organisation__name",))
    receiving_ward = tables.Column(verbose_name=_("Receiving ward"), order_by=("receiving_ward__name",))
    letter_number = tables.Column(verbose_name=_("Letter number"))
    introduced_on = tables.DateColumn(verbose_name=_("Introduced on"), short=True)
    received_on = tables.DateColumn(verbose_name=_("Received on"), short=True)
    residential_cell = tables.Column(verbose_name=_("Residential cell"), order_by=("residential_cell__name",))
    state = tables.Column(verbose_name=_("State"), empty_values=(), orderable=False)

    class Meta:
        model = Referral
        fields = [
            "member",
            "issuing_organisation",
            "receiving_ward",
            "letter_number",
            "introduced_on",
            "received_on",
            "residential_cell",
            "state",
        ]
        order_by = ("-introduced_on",)
        attrs = {"class": "table table-sm table-hover align-middle"}

    def render_member(self, record):
        url = reverse("members:referral-detail", args=[record.pk])
        return format_html(
            '<a href="{}">{}</a><div class="small text-body-secondary">{}</div>',
            url,
            record.member.full_name,
            record.member.card_number,
        )

    def render_issuing_organisation(self, value):
        return value.name

    def render_receiving_ward(self, value):
        return value.name

    def render_residential_cell(self, value):
        return value.name

    def render_state(self, record):
        today = timezone.localdate()
        state = record.state_on(today)
        badge = "text-bg-secondary" if state == Referral.State.ENDED else "text-bg-light border"
        if state == Referral.State.INTRODUCED and record.introduced_on < today - datetime.timedelta(days=30):
            badge = "text-bg-warning"
        return format_html('<span class="badge {}">{}</span>', badge, state.label)
