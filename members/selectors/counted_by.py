"""Whose counts a user's lists show, and those counts stored by that organisation.

Users who see the same rows see the same counts: every user whose posts are all at one organisation below the city
sees what its own committee sees (``branches.access.Committee``; a viewer reads what a secretary does), and every city
staff member sees every row. So the counts of their lists (the to-do of the home page, a list's counts by state) are
an organisation's, and ``reports.snapshots.list_counts_on`` stores them by it for the day, read back until a write
under it (a write counts under every root too: ``reports.stale``). The selectors do not store: the views pass
``list_counts_on`` in (``stored=``); without it, or for a user with posts at two organisations below the city (the
union of two scopes), the counts are counted on each view.
"""

import datetime
from collections.abc import Callable

from branches.access import Committee, access_for
from branches.models import Organisation
from members.selectors.comments import (
    CommentYear,
    comment_counts,
    comment_root_id,
    comment_rows,
    rating_counts,
    rating_rows,
)
from members.selectors.people import members_in_status
from members.selectors.scope import visible_members

# The parts of the stored counts (``reports.models.ReportSnapshot.Part``): the to-do's; the comment list's and the
# ratings list's of the round of today's year (the to-do's comment counts are the comment list's); the member list's.
TODO_COUNTS = "todo"
COMMENT_COUNTS = "comment_counts"
RATING_COUNTS = "rating_counts"
MEMBER_COUNT = "member_count"  # the member list's, of today's members

# ``reports.snapshots.list_counts_on``: (part, organisation, day, count) -> the counts of ``part`` stored for the
# organisation and day, or ``count()``, stored.
StoredCounts = Callable[[str, Organisation, datetime.date, Callable[[], dict]], dict]


def counted_by(user) -> Organisation | None:
    """The organisation whose committee's lists hold the user's rows, and whose to-do is theirs: for city staff whose
    posts are all in one root's tree, that root (whose rounds of comments they work in: the deadline their lists
    read); for a user whose posts are all at one organisation below the city, that organisation; else None (a
    superuser, posts in two trees or at two organisations below the city)."""
    access = access_for(user)
    if access.is_superuser:
        return None  # every root's rows, and their to-do counts its lists, not one city's figures
    if access.is_city():
        root_id = comment_root_id(user)  # a root post's (the user is not a superuser)
        root = next(organisation for organisation in access.organisations if organisation.pk == root_id)
        # Posts under another root too: the to-do counts the lists, not the city's figures (``todo._city_alone``).
        return root if all(o.path.startswith(root.path) for o in access.organisations) else None
    organisations = {post.organisation.pk: post.organisation for post in access.posts}
    return next(iter(organisations.values())) if len(organisations) == 1 else None


def stored_counts(
    user, part: str, day: datetime.date, count: Callable[[object], dict], stored: StoredCounts | None
) -> dict:
    """``count(user)``, or, when ``stored`` is given and the user's rows are an organisation's (``counted_by``), the
    counts of its committee (``count(Committee(organisation))``) stored by it as ``part`` of ``day``."""
    organisation = counted_by(user) if stored is not None else None
    if organisation is None:
        return count(user)
    return stored(part, organisation, day, lambda: count(Committee(organisation)))


def _of_todays_round(round_: CommentYear, stored: StoredCounts | None) -> StoredCounts | None:
    """``stored`` for the round of today's year (a part is stored by day: another year's counts are counted). The
    committee's round is the user's: the same root's (``counted_by``, ``comment_root_id``)."""
    return stored if round_.year == round_.today.year else None


def comment_counts_for(user, round_: CommentYear, *, stored: StoredCounts | None = None) -> dict[str, int]:
    """``comment_counts(comment_rows(user, round_))``, stored for the round of today's year (``stored_counts``)."""

    def count(viewer) -> dict:
        return comment_counts(comment_rows(viewer, round_))

    return stored_counts(user, COMMENT_COUNTS, round_.today, count, _of_todays_round(round_, stored))


def rating_counts_for(user, round_: CommentYear, *, stored: StoredCounts | None = None) -> dict[str, int]:
    """``rating_counts(rating_rows(user, round_))``, stored for the round of today's year (``stored_counts``)."""

    def count(viewer) -> dict:
        return rating_counts(rating_rows(viewer, round_))

    return stored_counts(user, RATING_COUNTS, round_.today, count, _of_todays_round(round_, stored))


def member_count_for(user, day: datetime.date, *, stored: StoredCounts | None = None) -> int:
    """How many members the user's member list holds unfiltered: the members of ``day`` the user sees, but those of
    outside organisations (``members_in_status``' default), stored (``stored_counts``; city staff's 0.05 s at the
    province's size, on every view of the list)."""

    def count(viewer) -> dict:
        return {"total": members_in_status(visible_members(viewer), "", day=day).count()}

    return stored_counts(user, MEMBER_COUNT, day, count, stored)["total"]
