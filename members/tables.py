"""django-tables2 tables of the members app's list pages."""

import datetime
from urllib.parse import quote

import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from branches.models import Organisation
from dongha76.tables import Table, html
from members.models import Referral, ResidenceComment, YearEndRating
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


class MemberTable(Table):
    """The member list. Expects the rows of ``members.selectors.member_list`` (referral state annotated)."""

    card_number = tables.Column(verbose_name=_("Card number"))
    full_name = tables.Column(verbose_name=_("Full name"), order_by=("search_name", "card_number"))
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

    def render_full_name(self, value, record):
        return html('<a href="{}">{}</a>', self.url("members:member-detail", record.pk), value)

    def render_working(self, record):
        return working_status_label(record)

    def render_referral_state(self, value, record):
        if value not in REFERRAL_STATE_LABELS:
            return "—"
        label, badge = REFERRAL_STATE_LABELS[value]
        where = " › ".join(name for name in (record.referral_ward_name, record.referral_cell_name) if name)
        return html(
            '<span class="badge text-wrap text-start {}" data-state="{}">{}</span>{}',
            badge,
            value,
            label,
            html('<br><small class="text-body-secondary">{}</small>', where) if where else "",
        )

    def value_referral_state(self, value, record):
        return referral_state_label(value)


def pick_box(*, name: str, value: int, form: str, label: str) -> str:
    """A row's tick for a bulk step: it belongs to the step's form outside the table (``form=``), because a row may
    hold forms of its own. (issue 13)"""
    return html(
        '<input class="form-check-input app-pick" type="checkbox" name="{}" value="{}" form="{}" aria-label="{}">',
        name,
        value,
        form,
        label,
    )


class ReferralTable(Table):
    # The tick of the bulk reception (issue 13), shown on the list of those awaiting reception only (``pickable``).
    pick = tables.Column(verbose_name="", empty_values=(), orderable=False, attrs={"td": {"class": "app-pick-cell"}})
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
        # The state right after the name: on a phone's card it is the second line (issue 13).
        fields = [
            "pick",
            "member",
            "state",
            "issuing_organisation",
            "receiving_ward",
            "letter_number",
            "introduced_on",
            "received_on",
            "residential_cell",
        ]
        order_by = ("-introduced_on",)
        attrs = {"class": "table table-sm table-hover align-middle", "id": "referral-table"}
        row_attrs = {"data-referral": lambda record: record.pk}

    def __init__(self, *args, pickable: bool = False, **kwargs):
        if not pickable:
            kwargs["exclude"] = (*kwargs.get("exclude", ()), "pick")
        super().__init__(*args, **kwargs)

    def render_pick(self, record):
        if not record.can_receive:
            return ""
        label = _("Choose %(name)s") % {"name": record.member.full_name}
        return pick_box(name="referrals", value=record.pk, form="bulk-receive-form", label=label)

    def render_member(self, record):
        url = self.url("members:referral-detail", record.pk)
        return html(
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
        return html('<span class="badge text-wrap text-start {}">{}</span>', badge, state.label)


class CellTable(Table):
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
        link = html('<a href="{}">{}</a>', self.url("members:cell-detail", record.pk), value)
        if record.is_valid_on(self.day):
            return link
        return html('{} <span class="badge text-bg-light border">{}</span>', link, _("no longer exists"))

    def render_awaiting_report(self, value: int):
        if value:
            return html('<span class="badge text-bg-warning">{}</span>', value)
        return value


# -- residence comments and year-end ratings -------------------------------------------------------------------------

COMMENT_STATE_LABELS = {
    "not_written": (_("Not written yet"), "text-bg-light border"),
    "missing": (_("Missing"), "text-bg-danger"),
    "written": (_("Written, not sent"), "text-bg-info"),
    "sent": (_("Sent, not received"), "text-bg-warning"),
    "received": (_("Received by the workplace"), "text-bg-success"),
}
VERDICT_BADGES = {"good": "text-bg-success", "fair": "text-bg-secondary", "limited": "text-bg-danger"}
# The ratings page's words for a verdict (longer than the verdict's own label).
RATING_VERDICT_LABELS = {
    "good": _("Good: sets an example at the place of residence"),
    "fair": _("Fair: fulfils the duties"),
    "limited": _("Limited: falls short of the duties"),
}
LEVEL_BADGES = {"excellent": "text-bg-primary", "good": "text-bg-primary", "fulfilled": "text-bg-secondary"}


def comment_state_badge(state: str) -> str:
    label, badge = COMMENT_STATE_LABELS[state]
    return html('<span class="badge text-wrap text-start {}" data-state="{}">{}</span>', badge, state, label)


def verdict_badge(verdict: str | None) -> str:
    if not verdict:
        return ""
    label = ResidenceComment.Verdict(verdict).label
    return html(
        '<span class="badge text-wrap text-start {}" data-verdict="{}">{}</span>',
        VERDICT_BADGES[verdict],
        verdict,
        label,
    )


class CommentTable(Table):
    """The members a comment is due for. Expects the rows of ``members.selectors.comment_rows``."""

    # The tick of a bulk step (issue 13): sending the written comments (ward), recording the sent ones as received
    # (workplace); shown on the list of exactly those rows only (``pick``).
    pick = tables.Column(verbose_name="", empty_values=(), orderable=False, attrs={"td": {"class": "app-pick-cell"}})
    member = tables.Column(verbose_name=_("Party member"), order_by=("member__search_name", "member__card_number"))
    residential_cell = tables.Column(
        verbose_name=_("Residential cell"), order_by=("residential_cell__name", "member__search_name")
    )
    workplace = tables.Column(
        verbose_name=_("Workplace"),
        accessor="member__home_organisation__name",
        order_by=("member__home_organisation__name", "member__search_name"),
        attrs=NOT_ON_PHONES,
    )
    comment_state = tables.Column(verbose_name=_("Comment"), empty_values=(), order_by=("comment_state",))
    comment_written_on = tables.DateColumn(verbose_name=_("Written on"), short=True, attrs=WIDE_SCREENS_ONLY)
    comment_sent_on = tables.DateColumn(verbose_name=_("Sent on"), short=True, attrs=WIDE_SCREENS_ONLY)
    comment_received_on = tables.DateColumn(verbose_name=_("Received on"), short=True, attrs=WIDE_SCREENS_ONLY)
    comment_verdict = tables.Column(verbose_name=_("Verdict"), attrs=WIDE_SCREENS_ONLY)
    actions = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "comment-table"}
        row_attrs = {
            "data-member": lambda record: record.member.card_number,
            "data-state": lambda record: record.comment_state,
        }
        empty_text = _("No member is due for a comment.")
        # The state right after the name: on a phone's card it is the second line (issue 13).
        sequence = ("pick", "member", "comment_state", "...")

    PICK_FORMS = {"send": "bulk-send-form", "receive": "bulk-receive-form"}

    def __init__(self, *args, actions, round_, next_url: str = "", pick: str | None = None, **kwargs):
        if pick is None:
            kwargs["exclude"] = (*kwargs.get("exclude", ()), "pick")
        super().__init__(*args, **kwargs)
        self.permissions = actions
        self.round = round_
        self.next_url = next_url
        self.pick = pick

    def render_pick(self, record):
        """A tick where the row's own button of the step would be (the rule of comment_row_actions.html)."""
        if not record.comment_pk or record.comment_received_on:
            return ""
        if self.pick == "send":
            allowed = record.comment_sent_on is None and self.permissions.may_send(record.residential_cell)
        else:
            allowed = record.comment_sent_on is not None and self.permissions.may_receive(
                record.member.home_organisation
            )
        if not allowed:
            return ""
        label = _("Choose %(name)s") % {"name": record.member.full_name}
        return pick_box(name="comments", value=record.comment_pk, form=self.PICK_FORMS[self.pick], label=label)

    def render_member(self, record):
        return html(
            '<a href="{}">{}</a><div class="small text-body-secondary">{}</div>',
            self.url("members:member-detail", record.member_id),
            record.member.full_name,
            record.member.card_number,
        )

    def render_residential_cell(self, record):
        cell = record.residential_cell
        return html('{}<div class="small text-body-secondary">{}</div>', cell.name, cell.parent.name)

    def render_comment_state(self, record):
        parts = [comment_state_badge(record.comment_state)]
        if record.comment_late:
            parts.append(html(' <span class="badge text-bg-danger" data-late="1">{}</span>', _("Late")))
        elif record.comment_sent_on:
            parts.append(html(' <span class="badge text-bg-light border">{}</span>', _("On time")))
        if record.comment_overdue:
            parts.append(
                html(' <span class="badge text-bg-danger" data-overdue="1">{}</span>', _("Not sent by the deadline"))
            )
        if not record.is_due:
            parts.append(html(' <span class="badge text-bg-light border">{}</span>', _("No longer due")))
        return html("{}" * len(parts), *parts)

    def value_comment_state(self, record):
        return str(COMMENT_STATE_LABELS[record.comment_state][0])

    def render_comment_verdict(self, value):
        return verdict_badge(value)

    def render_actions(self, record):
        """The row's buttons of the round's steps (write, correct, send, receive, print), as the user may take them."""
        cell, home = record.residential_cell, record.member.home_organisation
        may_write = self.permissions.may_write(cell)
        next_url = self.next_url
        query = f"?next={quote(next_url, safe='/')}"  # the template filter ``urlencode``
        parts = ['<div class="d-flex flex-wrap gap-1 justify-content-end comment-actions">\n']
        if not record.comment_pk:
            if may_write:
                url = self.url("members:comment-write", self.round.year, record.member_id)
                parts.append(
                    html(
                        '<a class="btn btn-sm btn-primary" data-action="write" href="{}{}">{}</a>',
                        url,
                        query,
                        _("Write"),
                    )
                )
            return mark_safe("".join([*parts, "\n</div>"]))  # noqa: S308 - each piece is escaped
        pk = record.comment_pk
        if not record.comment_sent_on:
            if may_write:
                parts.append(
                    html(
                        '<a class="btn btn-sm btn-outline-primary" data-action="edit" href="{}{}">{}</a>\n',
                        self.url("members:comment-edit", pk),
                        query,
                        _("Correct"),
                    )
                )
            if self.permissions.may_send(cell):
                parts.append(self._step_form("members:comment-send", pk, "send", _("Send today"), _("Send"), query))
        elif not record.comment_received_on and self.permissions.may_receive(home):
            parts.append(
                self._step_form("members:comment-receive", pk, "receive", _("Received today"), _("Received"), query)
            )
        parts.append(
            html(
                '<a class="btn btn-sm btn-outline-secondary" data-action="print" href="{}">{}</a>\n</div>',
                self.url("members:comment-print", pk),
                _("Print"),
            )
        )
        return mark_safe("".join(parts))  # noqa: S308 - each piece is escaped

    def _step_form(self, viewname: str, pk: int, action: str, title, label, query: str) -> str:
        """A step taken today (a one-button form), and the link to take it on another day."""
        url = self.url(viewname, pk)
        return html(
            '<form method="post" action="{}" class="d-inline">\n{}<input type="hidden" name="next" value="{}">\n'
            '<button type="submit" class="btn btn-sm btn-success" data-action="{}" title="{}">{}</button>\n</form>\n'
            '<a class="btn btn-sm btn-link px-1" data-action="{}-date" href="{}{}">{}</a>\n',
            url,
            self.csrf_input,
            self.next_url,
            action,
            title,
            label,
            action,
            url,
            query,
            _("other date"),
        )


class RatingTable(Table):
    """The members of a workplace with their residence comment next to the year-end rating. Expects the rows of
    ``members.selectors.rating_rows``."""

    full_name = tables.Column(verbose_name=_("Party member"), order_by=("search_name", "card_number"))
    home_organisation = tables.Column(
        verbose_name=_("Home cell"),
        accessor="home_organisation__name",
        order_by=("home_organisation__name",),
        attrs=NOT_ON_PHONES,
    )
    comment_verdict = tables.Column(
        verbose_name=_("Residence comment"), empty_values=(), order_by=("comment_verdict", "search_name")
    )
    rating_level = tables.Column(verbose_name=_("Year-end rating"), empty_values=(), order_by=("rating_level",))

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "id": "rating-table"}
        row_attrs = {
            "data-member": lambda record: record.card_number,
            "data-warning": lambda record: "1" if record.rating_warning else "0",
        }
        empty_text = _("No member.")

    def __init__(self, *args, actions, round_, filters: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.permissions = actions
        self.round = round_
        self.filters = filters

    def render_full_name(self, record):
        return html(
            '<a href="{}">{}</a><div class="small text-body-secondary">{}</div>',
            self.url("members:member-detail", record.pk),
            record.full_name,
            record.card_number,
        )

    def render_comment_verdict(self, record):
        """The residence comment beside the rating: its verdict and where it stands, or why there is none."""
        if record.comment_pk:
            verdict = record.comment_verdict
            badge = VERDICT_BADGES.get(verdict, "text-bg-danger")
            label = RATING_VERDICT_LABELS.get(verdict, RATING_VERDICT_LABELS["limited"])
            if record.comment_received_on:
                where = html("{} {}", _("received on"), date_format(record.comment_received_on, "SHORT_DATE_FORMAT"))
            elif record.comment_sent_on:
                where = html(
                    "{} {}, {}",
                    _("sent on"),
                    date_format(record.comment_sent_on, "SHORT_DATE_FORMAT"),
                    _("not received"),
                )
            else:
                where = _("written, not sent yet")
            return html(
                '<div class="rating-comment">\n'
                '<span class="badge text-wrap text-start {}" data-verdict="{}">{}</span>\n'
                '<div class="small text-body-secondary">\n{}\n· <a href="{}">{}</a>\n</div>\n</div>',
                badge,
                "good" if verdict == "good" else "fair" if verdict == "fair" else "limited",
                label,
                where,
                self.url("members:comment-print", record.comment_pk),
                _("form"),
            )
        if record.comment_due:
            cell = (
                html('\n<div class="small text-body-secondary">{}</div>', record.residence_cell)
                if record.residence_cell
                else ""
            )
            return html(
                '<div class="rating-comment">\n<span class="badge text-bg-warning" data-verdict="missing">{}</span>{}\n'
                "</div>",
                _("No comment"),
                cell,
            )
        why = (
            _("Not due (exempt or no longer placed)")
            if record.residence_cell
            else _("Not placed in a residential cell")
        )
        return html(
            '<div class="rating-comment">\n<span class="text-body-secondary small" data-verdict="not_due">{}</span>\n'
            "</div>",
            why,
        )

    def value_comment_verdict(self, record):
        return ResidenceComment.Verdict(record.comment_verdict).label if record.comment_verdict else ""

    def render_rating_level(self, record):
        """The rating and, for who may rate, its inline form: the HTML of members/rating_cell.html (which the form's
        answer still renders) for a row of the list, drawn in Python (a template per row was most of the page)."""
        level = record.rating_level
        parts = [
            html(
                '<div class="rating-cell" id="rating-{}">\n<div class="d-flex flex-wrap gap-1 align-items-center">\n',
                record.pk,
            )
        ]
        if level:
            label = self._level_labels.get(level)
            if label is not None:
                parts.append(
                    html(
                        '<span class="badge text-wrap text-start {}" data-level="{}">{}</span>',
                        LEVEL_BADGES.get(level, "text-bg-dark"),
                        level,
                        label,
                    )
                )
            parts.append(
                html(
                    '\n<span class="small text-body-secondary">{}</span>\n',
                    date_format(record.rating_decided_on, "SHORT_DATE_FORMAT") if record.rating_decided_on else "",
                )
            )
        else:
            parts.append(html('<span class="small text-body-secondary" data-level="">{}</span>\n', _("Not rated yet")))
        if record.rating_warning:
            parts.append(
                html(
                    '<span class="badge text-bg-danger" data-warning="1" title="{}">⚠ {}</span>\n',
                    _("Rated excellent or good with a limited or missing residence comment"),
                    _("Comment: limited") if record.comment_pk else _("Comment missing"),
                )
            )
        parts.append("</div>\n")
        if self.permissions.may_rate(record.home_organisation):
            if level:
                parts.append(
                    html('<details class="mt-1"><summary class="small text-primary">{}</summary>\n', _("Change"))
                )
            url = self.url("members:rating-record", self.round.year, record.pk)
            decided = record.rating_decided_on or timezone.localdate()
            parts.append(
                html(
                    '<form method="post" action="{}" class="d-flex flex-wrap gap-1 mt-1 rating-form"\n'
                    'hx-post="{}" hx-target="#rating-{}" hx-swap="outerHTML">\n{}\n'
                    '<input type="hidden" name="filters" value="{}">\n'
                    '<input type="hidden" name="next" value="{}?{}">\n'
                    '<select name="level" class="form-select form-select-sm w-auto mw-100" aria-label="{}" required>\n'
                    '<option value="">{}</option>\n{}\n</select>\n'
                    '<input type="text" name="decided_on" class="form-control form-control-sm app-date-input"\n'
                    'value="{}"\nplaceholder="dd/mm/yyyy" inputmode="decimal" autocomplete="off" aria-label="{}">\n'
                    '<button type="submit" class="btn btn-sm btn-outline-primary">{}</button>\n</form>\n',
                    url,
                    url,
                    record.pk,
                    self.csrf_input,
                    self.filters,
                    self.url("members:rating-list", self.round.year),
                    self.filters,
                    _("Year-end rating"),
                    _("Rating…"),
                    self._level_options(level),
                    date_format(decided, "d/m/Y"),
                    _("Decided on"),
                    _("Save"),
                )
            )
            if level:
                parts.append("</details>\n")
        parts.append("</div>")
        return mark_safe("".join(parts))  # noqa: S308 - each piece is escaped

    @cached_property
    def _level_labels(self) -> dict[str, str]:
        return {value: str(label) for value, label in YearEndRating.Level.choices}

    def _level_options(self, chosen: str | None) -> str:
        """The levels' options, the row's own selected: drawn once per level a row may have, not once per row."""
        cache = self.__dict__.setdefault("_options", {})
        if chosen not in cache:
            cache[chosen] = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (value, mark_safe(" selected") if value == chosen else "", label)
                    for value, label in self._level_labels.items()
                ),
            )
        return cache[chosen]
