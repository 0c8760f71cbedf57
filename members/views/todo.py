"""The home page: Việc cần làm (to-do) for each role, and the figures of the user's organisations.

The to-do's counts come from ``members.selectors.todo``; this module turns them into the items of each role's section:
a label, the count, the link to the list of exactly those rows, and, where the role may not act on them, who does.
"""

import dataclasses
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import access_for
from members.selectors import ToDo, todo_for
from members.selectors.overview import OrganisationOverview
from members.selectors.todo import Role
from reports import snapshots

# The cell list's filter of the cells without a periodic meeting this half-year (members.filters.CellFilter).
CELLS_WITHOUT_MEETING_QUERY = {"meeting": "due"}


@dataclasses.dataclass(frozen=True)
class Item:
    key: str  # data-todo: what a test and the browser find it by
    label: str
    url: str
    count: int | None = None  # None: a step to take, not a number of rows
    urgent: bool = False
    who_acts: str = ""  # "ward", "cell", "workplace", "secretary": the role may not act; who does
    who_acts_text: str = ""


@dataclasses.dataclass(frozen=True)
class Section:
    role: str
    title: str
    items: tuple[Item, ...]
    can_act: bool


def _url(name: str, *args, **query) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


WHO_ACTS = {
    "ward": lambda: _("The ward records this."),
    "cell": lambda: _("The residential cell records this."),
    "comments": lambda: _("The cells write the comments; the ward sends them."),
    "workplace": lambda: _("The workplace committee records this."),
    "secretary": lambda: _("Your post is read-only: the secretary or staff record this."),
}


def _item(key, label, url, count=None, *, urgent=False, who_acts="") -> Item:
    return Item(
        key=key,
        label=label,
        url=url,
        count=count,
        urgent=urgent and bool(count),
        who_acts=who_acts,
        who_acts_text=WHO_ACTS[who_acts]() if who_acts else "",
    )


def _city(todo: ToDo) -> tuple[Item, ...]:
    # The weak spots of the seed article, each a list: the city reads them, the wards, cells and workplaces act.
    year = todo.day.year
    return (
        _item(
            "stalled",
            _("Introduced more than 30 days ago and still not received"),
            _url("members:referral-list", state="stalled"),
            todo.stalled,
            urgent=True,
            who_acts="ward",
        ),
        _item(
            "awaiting_placement",
            _("Received, not yet placed in a residential cell"),
            _url("members:referral-list", state="awaiting_placement"),
            todo.awaiting_placement,
            who_acts="ward",
        ),
        _item(
            "eligible_not_introduced",
            _("Eligible members not introduced to their residence"),
            _url("members:member-list", referral_state="not_introduced"),
            todo.eligible_not_introduced,
            who_acts="workplace",
        ),
        _item(
            "cells_without_meeting",
            _("Residential cells without a meeting this half-year"),
            _url("members:cell-list", **CELLS_WITHOUT_MEETING_QUERY),
            todo.cells_without_meeting,
            who_acts="cell",
        ),
        _item(
            "cells_missed",
            _("Residential cells that held no meeting in %(half_year)s") % {"half_year": todo.last_half_year},
            _url("members:cell-list", missed=f"{todo.last_half_year.year}-{todo.last_half_year.half}"),
            todo.cells_missed,
            urgent=True,
            who_acts="cell",
        ),
        *(
            (
                _item(
                    "irregular_attendees",
                    _("Irregular attendees this year"),
                    _url("members:member-list", status="all", irregular_in=todo.city.pk),
                    todo.irregular_attendees,
                    who_acts="cell",
                ),
            )
            if todo.city
            else ()
        ),
        _item(
            "comments_missing",
            _("Comments of %(year)s not written yet") % {"year": year},
            _url("members:comment-list", year, state="not_written"),
            todo.comments_not_written,
            urgent=bool(todo.round and todo.round.past_deadline),
            who_acts="comments",
        ),
        _item(
            "comments_late",
            _("Comments of %(year)s sent after the deadline") % {"year": year},
            _url("members:comment-list", year, state="late"),
            todo.comments_late,
            who_acts="ward",
        ),
    )


def _ward(todo: ToDo, can_act: bool) -> tuple[Item, ...]:
    year = todo.day.year
    viewer = "" if can_act else "secretary"
    items = [
        _item(
            "awaiting_reception",
            _("Referrals waiting for reception"),
            _url("members:referral-list", state="awaiting_reception"),
            todo.awaiting_reception,
            urgent=bool(todo.stalled),
            who_acts=viewer,
        ),
        _item(
            "awaiting_placement",
            _("Received, not yet placed in a residential cell"),
            _url("members:referral-list", state="awaiting_placement"),
            todo.awaiting_placement,
            urgent=True,
            who_acts=viewer,
        ),
        _item(
            "comments_to_send",
            _("Comments of %(year)s written, not sent to the workplace") % {"year": year},
            _url("members:comment-list", year, state="written"),
            todo.comments_written,
            urgent=True,
            who_acts=viewer,
        ),
        _item(
            "comments_missing",
            _("Comments of %(year)s not written yet") % {"year": year},
            _url("members:comment-list", year, state="not_written"),
            todo.comments_not_written,
            urgent=bool(todo.round and todo.round.past_deadline),
            who_acts=viewer,
        ),
        _item(
            "cells_without_meeting",
            _("Residential cells without a meeting this half-year"),
            _url("members:cell-list", **CELLS_WITHOUT_MEETING_QUERY),
            todo.cells_without_meeting,
            urgent=True,
            who_acts=viewer,
        ),
    ]
    if todo.eligible_not_introduced:
        # The ward's own office members (its agency cell): the ward introduces them as their workplace.
        items.append(
            _item(
                "eligible_not_introduced",
                _("Eligible members not introduced to their residence"),
                _url("members:member-list", referral_state="not_introduced"),
                todo.eligible_not_introduced,
                who_acts=viewer,
            )
        )
    return tuple(items)


def _workplace(todo: ToDo, can_act: bool) -> tuple[Item, ...]:
    year = todo.day.year
    viewer = "" if can_act else "secretary"
    return (
        _item(
            "eligible_not_introduced",
            _("Eligible members not introduced to their residence"),
            _url("members:member-list", referral_state="not_introduced"),
            todo.eligible_not_introduced,
            urgent=True,
            who_acts=viewer,
        ),
        # The workplace follows the letter up; the reception is the ward's to record.
        _item(
            "stalled",
            _("Letters introduced more than 30 days ago and still not received: follow them up"),
            _url("members:referral-list", state="stalled"),
            todo.stalled,
            urgent=True,
            who_acts="ward",
        ),
        _item(
            "comments_to_acknowledge",
            _("Comments of %(year)s sent by the wards, not acknowledged yet") % {"year": year},
            _url("members:comment-list", year, state="sent"),
            todo.comments_sent,
            urgent=True,
            who_acts=viewer,
        ),
    )


def _cell(todo: ToDo, can_act: bool) -> tuple[Item, ...]:
    year = todo.day.year
    viewer = "" if can_act else "secretary"
    items = [
        _item(
            "meeting_due",
            _("%(cell)s: record the meeting of %(half_year)s") % {"cell": cell.name, "half_year": todo.half_year},
            reverse("members:meeting-create" if can_act else "members:cell-detail", args=[cell.pk]),
            who_acts=viewer,
        )
        for cell in todo.cells_meeting_due
    ]
    items += [
        _item(
            "comments_to_write",
            _("Comments of %(year)s to write") % {"year": year},
            _url("members:comment-list", year, state="not_written"),
            todo.comments_not_written,
            urgent=True,
            who_acts=viewer,
        ),
        _item(
            "not_reported",
            _("Placed in the cell, not yet reported to it"),
            _url("members:referral-list", state="not_reported"),
            todo.not_reported,
            who_acts=viewer,
        ),
    ]
    return tuple(items)


def todo_sections(todo: ToDo) -> list[Section]:
    titles = {
        Role.CITY: _("Weak spots"),
        Role.WARD: _("Ward"),
        Role.WORKPLACE: _("Workplace"),
        Role.CELL: _("Residential cell"),
    }
    sections = []
    for role in todo.roles:
        if role.role == Role.CITY:
            items = _city(todo)
        elif role.role == Role.WARD:
            items = _ward(todo, role.can_act)
        elif role.role == Role.WORKPLACE:
            items = _workplace(todo, role.can_act)
        else:
            items = _cell(todo, role.can_act)
        sections.append(Section(role=role.role, title=titles[role.role], items=items, can_act=role.can_act))
    return sections


@login_required
def home(request: HttpRequest) -> HttpResponse:
    day = timezone.localdate()
    # The posts of the day as the header reads them (``access_for`` keeps them for the request: one query for both).
    posts_of_day = access_for(request.user, day=day).posts
    # Each post's figures are the dashboard's headline of today, stored until a write under the post's organisation
    # (``reports.snapshots``): read in one query between writes; counted whole, or for a large subtree carried from
    # yesterday's (at the nation's root 5.6 s whole, 0.4 s carried), on the first view after one.
    headlines = {post.organisation.pk: snapshots.headline_on(post.organisation, day) for post in posts_of_day}
    posts = [
        (post, OrganisationOverview.of_headline(post.organisation, day, headlines[post.organisation.pk]))
        for post in posts_of_day
    ]
    # A large city's to-do counts that are dashboard figures: from its carried figures, its headline read once. A
    # user of one organisation: its counts stored, read back until a write under it.
    todo = todo_for(
        request.user,
        day=day,
        carried=lambda city: snapshots.city_todo_if_large(city, day, headline=headlines.get(city.pk)),
        stored=snapshots.list_counts_on,
    )
    context = {"day": day, "posts": posts, "todo": todo, "todo_sections": todo_sections(todo)}
    return render(request, "home.html", context)
