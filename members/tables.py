"""django-tables2 tables of the members app's list pages."""

import datetime

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from members.models import Referral
from members.selectors import ReferralStateToday

REFERRAL_STATE_LABELS = {
    ReferralStateToday.NOT_INTRODUCED: (_("Not introduced"), "text-bg-warning"),
    ReferralStateToday.INTRODUCED: (_("Awaiting reception"), "text-bg-info"),
    ReferralStateToday.STALLED: (_("Awaiting reception for more than 30 days"), "text-bg-danger"),
    ReferralStateToday.RECEIVED: (_("Received, awaiting placement"), "text-bg-primary"),
    ReferralStateToday.PLACED: (_("Placed in a residential cell"), "text-bg-success"),
    ReferralStateToday.REPORTED: (_("Reported to the cell"), "text-bg-success"),
}

# Columns a 360 px phone leaves out: the card number, the name and the referral state are what a secretary needs.
NOT_ON_PHONES = {"th": {"class": "d-none d-sm-table-cell"}, "td": {"class": "d-none d-sm-table-cell"}}
WIDE_SCREENS_ONLY = {"th": {"class": "d-none d-md-table-cell"}, "td": {"class": "d-none d-md-table-cell"}}


def referral_state_label(state: str) -> str:
    return str(REFERRAL_STATE_LABELS[state][0]) if state in REFERRAL_STATE_LABELS else ""


def working_status_label(member, day=None) -> str:
    day = day or timezone.localdate()
    if member.left_on and member.left_on <= day:
        return str(member.get_left_reason_display() or _("Left the party"))
    return str(_("Working") if member.is_working_on(day) else _("Retired"))


class MemberTable(tables.Table):
    """The member list. Expects the rows of ``members.selectors.member_list`` (referral state annotated)."""

    card_number = tables.Column(verbose_name=_("Card number"))
    full_name = tables.Column(
        verbose_name=_("Full name"),
        linkify=("members:member-detail", {"pk": tables.A("pk")}),
        order_by=("search_name", "card_number"),
    )
    date_of_birth = tables.DateColumn(verbose_name=_("Date of birth"), short=True, attrs=WIDE_SCREENS_ONLY)
    home_organisation = tables.Column(
        verbose_name=_("Home cell"),
        accessor="home_organisation__name",
        order_by=("home_organisation__name",),
        attrs=NOT_ON_PHONES,
    )
    working = tables.Column(
        verbose_name=_("Working / retired"),
        accessor="retired_on",
        empty_values=(),
        order_by=("-working", "retired_on"),
        attrs=WIDE_SCREENS_ONLY,
    )
    referral_state = tables.Column(verbose_name=_("Referral today"), empty_values=(), order_by=("referral_state",))

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "member-table"}
        row_attrs = {"data-member": lambda record: record.pk}
        empty_text = _("No member matches.")
        order_by = ("full_name",)

    def render_working(self, record):
        return working_status_label(record)

    def render_referral_state(self, value, record):
        if value not in REFERRAL_STATE_LABELS:
            return "—"
        label, badge = REFERRAL_STATE_LABELS[value]
        where = " › ".join(name for name in (record.referral_ward_name, record.referral_cell_name) if name)
        return format_html(
            '<span class="badge text-wrap text-start {}" data-state="{}">{}</span>{}',
            badge,
            value,
            label,
            format_html('<br><small class="text-body-secondary">{}</small>', where) if where else "",
        )

    def value_referral_state(self, value, record):
        return referral_state_label(value)


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


class CellTable(tables.Table):
    name = tables.Column(verbose_name=_("Residential cell"), order_by=("name",))
    ward = tables.Column(verbose_name=_("Ward"), accessor="parent__name", order_by=("parent__name", "name"))
    placed_members = tables.Column(
        verbose_name=_("Referred members placed"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    awaiting_report = tables.Column(
        verbose_name=_("Not reported yet"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    own_members = tables.Column(
        verbose_name=_("Members of the cell"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "cell-table"}
        row_attrs = {"data-cell": lambda record: record.code}
        empty_text = _("No residential cell.")

    def __init__(self, *args, day, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = day

    def render_name(self, record: Organisation, value: str):
        link = format_html('<a href="{}">{}</a>', reverse("members:cell-detail", args=[record.pk]), value)
        if record.is_valid_on(self.day):
            return link
        return format_html('{} <span class="badge text-bg-light border">{}</span>', link, _("no longer exists"))

    def render_awaiting_report(self, value: int):
        if value:
            return format_html('<span class="badge text-bg-warning">{}</span>', value)
        return value
