"""FilterSets of the members app's list pages. They narrow a queryset the view already scoped to the user."""

import datetime

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.template import Context
from django.template.base import render_value_in_context
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.http import urlencode
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext_lazy as _

from branches.access import access_for
from branches.models import Organisation
from branches.selectors import visible_organisations
from dongha76.periods import YearField
from dongha76.text import search_key
from members.forms.common import shown_choices
from members.models import Exemption, Meeting, Referral, ResidenceComment, YearEndRating
from members.models.referral import ward_under_q, with_placement_on  # drill
from members.periods import HalfYear  # drill
from members.selectors import (
    ReferralStateToday,
    members_in_referral_state,
    members_in_working_status,
    members_with_exemption,
    visible_referrals,
)
from members.selectors.comments import not_commented_in, not_rated_in
from members.selectors.people import (  # drill
    MemberStatus,
    irregular_attendees_under,
    members_in_status,
    members_to_introduce,
)
from members.selectors.todo import cells_without_meeting  # todo

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

# drill: the member list's status (default: members today) and its "to introduce" figures
MEMBER_STATUS_CHOICES = [
    (MemberStatus.PAST, _("Past members (left the party or died)")),
    (MemberStatus.OUTSIDE, _("Members of outside organisations")),
    (MemberStatus.ALL, _("Everyone, past and outside members included")),
]
INTRODUCTION_CHOICES = [
    ("eligible", _("Working members to introduce")),
    ("introduced", _("To introduce, introduced")),
]


# -- organisation filters ------------------------------------------------------------------------------------------
# A filter by organisation offers the organisations of the user's scope: for city staff, every one of the nation's
# (tens of thousands). Up to OPTIONS_SHOWN of them are options of a plain select; beyond, the select holds the chosen
# one only, and a search box above it asks the list page itself (``?options=<filter>&term=...``, htmx) for the
# organisations of the same filter whose name or code matches: the page stays small and the choices stay the
# filter's own, scoped as the list is.

OPTIONS_SHOWN = 50


def _attributes_html(attrs: dict) -> str:
    """Django's ``django/forms/widgets/attrs.html``: `` name="value"``, `` name`` for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
            continue
        text = "%s" % value  # noqa: UP031 - the template's ``stringformat:'s'``, which keeps a safe string safe
        if isinstance(value, SafeData):
            text = mark_safe(text)  # noqa: S308 - it was safe already
        parts.append(f' {conditional_escape(name)}="{conditional_escape(text)}"')
    return "".join(parts)


class Select(forms.Select):
    """A select drawn in Python, the same HTML as Django's templates (``select.html``, an ``{% include %}`` of
    ``select_option.html`` and ``attrs.html`` per option), which made the filter cards about a quarter of a list
    page's time (issue 15). A select with option groups is drawn by the templates. Named ``Select`` because
    crispy-forms gives each field its widget's class name as a CSS class (``select``), as before."""

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        html = self.select_html(context["widget"])
        return self._render(self.template_name, context, renderer) if html is None else html

    @staticmethod
    def select_html(widget: dict) -> str | None:
        context = Context()
        options = []
        for group_name, group, _index in widget["optgroups"]:
            if group_name:
                return None
            options.extend(
                f'\n  <option value="{conditional_escape("%s" % option["value"])}"'  # noqa: UP031 - as above
                f"{_attributes_html(option['attrs'])}>{render_value_in_context(option['label'], context)}</option>\n"
                for option in group
            )
        head = f'<select name="{conditional_escape(widget["name"])}"{_attributes_html(widget["attrs"])}>'
        # The form renderer strips what a widget's template ends with.
        return mark_safe(f"{head}{''.join(options)}\n</select>")  # noqa: S308 - every piece is escaped


class OrganisationSelect(Select):
    """A select of organisations that renders OPTIONS_SHOWN of them at most (see above). Filters over the same
    organisations (the same queryset) share their first OPTIONS_SHOWN: one query for both (``shared``)."""

    template_name = "members/organisation_select.html"

    def __init__(self, *args, search_url: str = "", shared: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.search_url = search_url
        self.searching = False
        self.shared = {} if shared is None else shared

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        if context["widget"]["search_url"]:
            return self._render(self.template_name, context, renderer)
        html = self.select_html(context["widget"])
        return self._render(self.template_name, context, renderer) if html is None else html

    def optgroups(self, name, value, attrs=None):
        iterator = self.choices
        queryset = iterator.queryset
        if "first" not in self.shared:
            self.shared["first"] = list(queryset[: OPTIONS_SHOWN + 1])
        first = self.shared["first"]
        self.searching = bool(self.search_url) and len(first) > OPTIONS_SHOWN
        if self.searching:
            chosen = [item for item in value if str(item).isdigit()]
            first = list(queryset.filter(pk__in=chosen)) if chosen else []
        with shown_choices(self, first, empty=True):
            return super().optgroups(name, value, attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["search_url"] = self.search_url if self.searching else ""
        return context


def matching_organisations(queryset, term: str):
    """The organisations of ``queryset`` whose name holds ``term`` or whose code starts with it (OPTIONS_SHOWN)."""
    term = term.strip()
    if term:
        queryset = queryset.filter(Q(name__icontains=term) | Q(code__istartswith=term))
    return queryset[:OPTIONS_SHOWN]


class OrganisationSearch:
    """For a FilterSet: its filters by organisation searched as one types (``OrganisationSelect``) when they offer
    more than OPTIONS_SHOWN organisations. ``search_path`` is the list page's path (the request's, by default)."""

    def search_organisations(self, search_path: str = "") -> None:
        request = getattr(self, "request", None)
        path = search_path or (request.path if request is not None else "")
        shared = {}
        for name, field in self.form.fields.items():
            if isinstance(field, forms.ModelChoiceField) and field.queryset.model is Organisation:
                url = f"{path}?{urlencode({'options': name})}" if path else ""
                source = getattr(self.filters.get(name), "queryset", None)
                field.widget = OrganisationSelect(
                    search_url=url,
                    attrs=field.widget.attrs,
                    shared=shared.setdefault(id(source), {}) if source is not None else None,
                )
                field.widget.choices = field.choices
            elif type(field.widget) is forms.Select:
                plain = Select(attrs=field.widget.attrs, choices=field.widget.choices)
                plain.is_required, plain.is_localized = field.widget.is_required, field.widget.is_localized
                field.widget = plain

    def organisation_options(self, name: str, term: str):
        """The organisations the filter ``name`` offers that match ``term``; ``None`` for a name that is not a
        filter by organisation."""
        field = self.form.fields.get(name)
        if field is None or not isinstance(field.widget, OrganisationSelect):
            return None
        return field, matching_organisations(field.queryset, term)


def _organisations(request):
    return visible_organisations(access_for(request.user)).order_by("path")


class MemberFilter(OrganisationSearch, django_filters.FilterSet):
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
    # drill: who is listed at all (default: the members of today, as the figures count them), the dashboard's "to
    # introduce" and the irregular attendees of an organisation's cells. The status is applied in filter_queryset.
    status = django_filters.ChoiceFilter(
        label=_("Members"), choices=MEMBER_STATUS_CHOICES, method="filter_nothing", empty_label=_("Members today")
    )
    introduction = django_filters.ChoiceFilter(
        label=_("To introduce"), choices=INTRODUCTION_CHOICES, method="filter_introduction", empty_label=_("All")
    )
    irregular_in = django_filters.ModelChoiceFilter(
        label=_("Irregular attendees in"), queryset=_organisations, method="filter_irregular", empty_label=_("All")
    )

    def __init__(self, *args, day: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = day or timezone.localdate()
        self.form.fields["q"].widget.attrs.update(
            {"placeholder": _("Name without accents, or card number"), "type": "search", "autocomplete": "off"}
        )
        self.search_organisations()

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_organisation(self, queryset, name, value):
        return queryset.in_subtree(value)

    def filter_working(self, queryset, name, value):
        return members_in_working_status(queryset, value, day=self.day)

    def filter_exemption(self, queryset, name, value):
        return members_with_exemption(queryset, value, day=self.day)

    def filter_referral_state(self, queryset, name, value):
        return members_in_referral_state(queryset, value, day=self.day, referrals=visible_referrals(self.request.user))

    # drill: the membership status and the two drill-down filters
    def filter_nothing(self, queryset, name, value):
        return queryset  # the status is applied by filter_queryset, with its default

    def filter_introduction(self, queryset, name, value):
        return members_to_introduce(queryset, value, day=self.day)

    def filter_irregular(self, queryset, name, value):
        return irregular_attendees_under(queryset, value, day=self.day)

    def filter_queryset(self, queryset):
        """The status first, empty meaning the members of today; "Left the party or died" (``working=left``) is
        a status of its own, so it is not narrowed to today's members."""
        status = self.form.cleaned_data.get("status") or ""
        if not status and self.form.cleaned_data.get("working") == "left":
            status = MemberStatus.ALL
        return super().filter_queryset(members_in_status(queryset, status, day=self.day))

    def describe(self) -> list[str]:
        """The filters in use, as "label: value" (for the heading of an export)."""
        if not self.is_bound or not self.form.is_valid():
            return []
        described = []
        for name, value in self.form.cleaned_data.items():
            if value in (None, ""):
                continue
            field = self.form.fields[name]
            if name in ("working", "exemption", "referral_state", "status", "introduction"):
                value = dict(field.choices).get(value, value)
            described.append(f"{field.label}: {value}")
        return described


class YearFilter(django_filters.NumberFilter):
    """A year, read and bounded by ``dongha76.periods`` (a year the database cannot hold is a form error)."""

    field_class = YearField


# -- referrals -------------------------------------------------------------------------------------------------------

REFERRAL_STATE_CHOICES = [
    ("open", _("Open")),
    ("awaiting_reception", _("Awaiting reception")),
    ("awaiting_placement", _("Received, awaiting placement")),
    ("not_reported", _("Placed, not reported yet")),
    ("placed", _("Placed in a residential cell")),
    ("stalled", _("Stalled: not received after 30 days")),
    ("ended", _("Ended")),
    ("received", _("Received (placed or not)")),  # drill: the dashboard's "received by ward committees"
]


class ReferralFilter(OrganisationSearch, django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or card number"), method="filter_q")
    state = django_filters.ChoiceFilter(label=_("State today"), choices=REFERRAL_STATE_CHOICES, method="filter_state")
    receiving_ward = django_filters.ModelChoiceFilter(
        label=_("Receiving ward"), queryset=Organisation.objects.none(), method="filter_receiving_ward"
    )
    issuing_organisation = django_filters.ModelChoiceFilter(
        label=_("Introduced by organisation"), queryset=Organisation.objects.none()
    )
    year = YearFilter(label=_("Year introduced"), field_name="introduced_on", lookup_expr="year")
    # drill: the referrals the dashboard counts for an organisation: issued by it (or under it), or with their ward
    # of today in it (the ward of the cell they are placed in, else the ward addressed or its successor).
    concerning = django_filters.ModelChoiceFilter(
        label=_("Issued by or addressed to"), queryset=Organisation.objects.none(), method="filter_concerning"
    )

    class Meta:
        model = Referral
        fields = ["q", "state", "receiving_ward", "issuing_organisation", "year", "concerning"]

    def __init__(self, *args, wards=None, issuers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = timezone.localdate()
        if wards is not None:
            self.filters["receiving_ward"].queryset = wards
        if issuers is not None:
            self.filters["issuing_organisation"].queryset = issuers
            self.filters["concerning"].queryset = issuers  # drill
        self.search_organisations()

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
        if value == "received":  # drill
            return queryset.received_as_of(day)
        return queryset

    def filter_receiving_ward(self, queryset, name, value):  # drill
        """The referrals whose ward is ``value`` today: placed in one of its cells, or addressed to it or to a ward
        merged into it (the figures' ward of a referral), not only those addressed to it by name."""
        return with_placement_on(queryset, self.day).filter(ward_under_q(self.day, value.path))

    def filter_concerning(self, queryset, name, value):  # drill
        day, path = self.day, value.path
        return with_placement_on(queryset, day).filter(
            ward_under_q(day, path) | Q(issuing_organisation__path__startswith=path)
        )


# -- residential cells -----------------------------------------------------------------------------------------------


class CellFilter(OrganisationSearch, django_filters.FilterSet):
    ward = django_filters.ModelChoiceFilter(
        label=_("Ward"), field_name="parent", queryset=Organisation.objects.none(), empty_label=_("All wards")
    )

    # drill: the cells that missed the periodic meeting of a half-year already over ("2026-1"), as the dashboard
    # counts them: cells existing on its last day, with no periodic meeting of it held by today.
    missed = django_filters.ChoiceFilter(
        label=_("No periodic meeting in"), choices=[], method="filter_missed", empty_label=_("All")
    )
    # todo: the cells whose periodic meeting of the current half-year is not recorded yet (the to-do's count).
    meeting = django_filters.ChoiceFilter(
        label=_("This half-year's meeting"),
        choices=[("due", _("Not recorded yet"))],
        method="filter_meeting",
        empty_label=_("All"),
    )

    class Meta:
        model = Organisation
        fields = ["ward", "missed"]

    def __init__(self, *args, wards, day: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["ward"].queryset = wards
        self.day = day or timezone.localdate()  # drill
        over = [
            half
            for year in (self.day.year - 1, self.day.year)
            for half in (HalfYear(year, 1), HalfYear(year, 2))
            if half.last_day < self.day
        ]
        self.form.fields["missed"].choices = [("", _("All"))] + [
            (f"{half.year}-{half.half}", str(half)) for half in reversed(over)
        ]
        self.search_organisations()

    def filter_missed(self, queryset, name, value):  # drill
        return queryset  # applied by filter_queryset, which also chooses the day the cells must exist on

    def filter_queryset(self, queryset):  # drill
        """The cells existing today; with ``missed``, those existing on the half-year's last day that held no
        periodic meeting of it (by today)."""
        missed = self.form.cleaned_data.get("missed")
        if not missed:
            return super().filter_queryset(queryset.valid_on(self.day))
        year, number = (int(part) for part in missed.split("-"))
        half = HalfYear(year, number)
        held = Meeting.objects.filter(
            residential_cell=OuterRef("pk"), kind=Meeting.Kind.PERIODIC, year=year, half=number, held_on__lte=self.day
        )
        return super().filter_queryset(queryset.valid_on(half.last_day).exclude(Exists(held)))

    def filter_meeting(self, queryset, name, value):  # todo
        return cells_without_meeting(queryset, self.day) if value == "due" else queryset


# -- residence comments and year-end ratings -------------------------------------------------------------------------

COMMENT_STATE_CHOICES = [
    ("not_written", _("Not written (missing after the deadline)")),
    ("written", _("Written, not sent")),
    ("overdue", _("Written, not sent by the deadline")),
    ("sent", _("Sent, not received")),
    ("received", _("Received by the workplace")),
    ("late", _("Sent after the deadline")),
]


class CommentFilter(OrganisationSearch, django_filters.FilterSet):
    """Filters of the comment list; narrows the rows of ``members.selectors.comment_rows``."""

    q = django_filters.CharFilter(label=_("Name or card number"), method="filter_q")
    state = django_filters.ChoiceFilter(
        label=_("Comment"), choices=COMMENT_STATE_CHOICES, method="filter_state", empty_label=_("All")
    )
    ward = django_filters.ModelChoiceFilter(
        label=_("Ward"),
        field_name="residential_cell__parent",
        queryset=Organisation.objects.none(),
        empty_label=_("All wards"),
    )
    cell = django_filters.ModelChoiceFilter(
        label=_("Residential cell"),
        field_name="residential_cell",
        queryset=Organisation.objects.none(),
        empty_label=_("All"),
    )
    workplace = django_filters.ModelChoiceFilter(
        label=_("Workplace"), queryset=Organisation.objects.none(), method="filter_workplace", empty_label=_("All")
    )
    # drill: the comments the dashboard counts for an organisation: due, for members placed in its cells or whose
    # home is in it (either side), as ``reports.figures.comments`` counts them.
    due_under = django_filters.ModelChoiceFilter(
        label=_("Due in or for"), queryset=Organisation.objects.none(), method="filter_due_under", empty_label=_("All")
    )

    def __init__(self, *args, wards, cells, workplaces, year: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.year = year  # the round's: "not written" is of that year
        self.filters["ward"].queryset = wards
        self.filters["cell"].queryset = cells
        self.filters["workplace"].queryset = workplaces
        # drill: the user's own sides, the root. One OR of the sides' own conditions, not a "pk IN (subquery)" of
        # each: at the nation's size a ward's workplaces are every workplace (52,000), hashed whole before the first
        # options by path could be read (80 ms at nation size -> 3 ms).
        self.filters["due_under"].queryset = (
            wards | cells | workplaces | Organisation.objects.filter(kind=Organisation.Kind.ROOT)
        ).order_by("path")
        self.form.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})
        self.search_organisations()

    def filter_q(self, queryset, name, value):
        key = search_key(value)
        if not key:
            return queryset
        return queryset.filter(Q(member__search_name__contains=key) | Q(member__card_number__startswith=value.strip()))

    def filter_state(self, queryset, name, value):
        if value == "not_written":
            return queryset.filter(not_commented_in(self.year, member="member"))
        if value == "written":
            return queryset.filter(comment_pk__isnull=False, comment_sent_on__isnull=True)
        if value == "overdue":
            return queryset.filter(comment_overdue=True)
        if value == "sent":
            return queryset.filter(comment_sent_on__isnull=False, comment_received_on__isnull=True)
        if value == "received":
            return queryset.filter(comment_received_on__isnull=False)
        if value == "late":
            return queryset.filter(comment_late=True)
        return queryset

    def filter_workplace(self, queryset, name, value):
        return queryset.filter(member__home_organisation__path__startswith=value.path)

    def filter_due_under(self, queryset, name, value):  # drill
        return queryset.filter(is_due=True).filter(
            Q(residential_cell__path__startswith=value.path) | Q(member__home_organisation__path__startswith=value.path)
        )


RATING_CHOICES = [("none", _("Not rated yet")), *YearEndRating.Level.choices]
VERDICT_CHOICES = [("none", _("No comment")), *ResidenceComment.Verdict.choices]


class RatingFilter(OrganisationSearch, django_filters.FilterSet):
    """Filters of the ratings page; narrows the rows of ``members.selectors.rating_rows``."""

    q = django_filters.CharFilter(label=_("Name or card number"), method="filter_q")
    organisation = django_filters.ModelChoiceFilter(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        method="filter_organisation",
        empty_label=_("All"),
    )
    rating = django_filters.ChoiceFilter(
        label=_("Year-end rating"), choices=RATING_CHOICES, method="filter_rating", empty_label=_("All")
    )
    verdict = django_filters.ChoiceFilter(
        label=_("Residence comment"), choices=VERDICT_CHOICES, method="filter_verdict", empty_label=_("All")
    )
    warnings = django_filters.BooleanFilter(
        label=_("Only warnings"), method="filter_warnings", widget=forms.CheckboxInput
    )

    def __init__(self, *args, organisations, year: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.year = year  # the round's: "not rated" and "no comment" are of that year
        self.filters["organisation"].queryset = organisations
        self.form.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})
        self.search_organisations()

    def filter_q(self, queryset, name, value):
        return queryset.search(value)

    def filter_organisation(self, queryset, name, value):
        return queryset.in_subtree(value)

    def filter_rating(self, queryset, name, value):
        if value == "none":
            return queryset.filter(not_rated_in(self.year))
        return queryset.filter(rating_level=value)

    def filter_verdict(self, queryset, name, value):
        if value == "none":
            return queryset.filter(not_commented_in(self.year))
        return queryset.filter(comment_verdict=value)

    def filter_warnings(self, queryset, name, value):
        return queryset.filter(rating_warning=True) if value else queryset
