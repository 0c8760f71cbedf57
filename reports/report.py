"""All the figures of an organisation as of a day, in one object, and its JSON form (the keys are a contract: the
``figures`` command, the API and users' scripts rely on them)."""

import dataclasses
import datetime
from decimal import Decimal

from branches.models import Organisation
from reports import figures, snapshots, steps


@dataclasses.dataclass(frozen=True)
class Report:
    organisation: Organisation
    as_of: datetime.date
    year: int
    headline: figures.Headline
    meetings: figures.MeetingFigures
    comments: figures.CommentFigures
    tracking_book: figures.TrackingBookActivity
    by_grassroots_organisation: list[figures.GrassrootsRow]
    # None in the dashboard's report (``build_report(..., breakdowns=False)``): only the API and the command show them.
    comments_by_side: figures.CommentSides | None
    by_sector: list[figures.SectorRow] | None
    by_ward_and_cell: list[figures.ResidenceRow] | None
    endings_by_reason: dict[str, int] | None


def build_report(
    organisation: Organisation,
    as_of: datetime.date,
    *,
    year: int | None = None,
    breakdowns: bool = True,
    headline: figures.Headline | None = None,
) -> Report:
    """Every figure of the dashboard and the API; ``year`` is the comment round's (default: the year of ``as_of``).

    ``breakdowns=False``: without the figures the dashboard does not show (the comments by side, by sector, by ward
    and cell, the endings by reason; None in the report), which would be more than a third of its queries.
    ``headline``: ``figures.headline(organisation, as_of)`` when the caller has it already (the dashboard reads a
    past day's from its snapshot, with its trend's)."""
    year = year or as_of.year
    # Every part is read stored (``reports.snapshots``); when it is not, a large subtree's is carried from a stored
    # day, a smaller one's counted whole, and stored.
    large = steps.pays(organisation)
    headline = headline or snapshots.headline_on(organisation, as_of, large=large)
    by_grassroots = snapshots.by_grassroots_on(organisation, as_of, large=large)
    return Report(
        organisation=organisation,
        as_of=as_of,
        year=year,
        headline=headline,
        meetings=snapshots.meetings_on(organisation, as_of, large=large),
        comments=snapshots.comments_on(organisation, year, as_of, large=large),
        tracking_book=snapshots.tracking_book_on(organisation, year, as_of, large=large),
        by_grassroots_organisation=by_grassroots,
        comments_by_side=snapshots.comment_sides_on(organisation, year, as_of, large=large) if breakdowns else None,
        by_sector=snapshots.by_sector_on(organisation, as_of, large=large) if breakdowns else None,
        by_ward_and_cell=snapshots.by_ward_and_cell_on(organisation, as_of, large=large) if breakdowns else None,
        endings_by_reason=figures.endings_by_reason(organisation, as_of) if breakdowns else None,
    )


def _plain(value):
    """Numbers as JSON numbers (a rate 99.3, not "99.3"), dates as ISO strings."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    return value


def report_as_json(report: Report) -> dict:
    """The JSON object: ``organisation`` and ``as_of``, the headline figures at the top level (``members``,
    ``eligible``, ``introduced``, ``referral_rate``, ``received_from_outside``, ...), then the yearly and the
    breakdown figures under their own keys."""
    headline = _plain(report.headline)
    meetings = _plain(report.meetings)
    return {
        "organisation": {"code": report.organisation.code, "name": report.organisation.name},
        "as_of": report.as_of.isoformat(),
        **headline,
        "irregular_attendees": meetings.pop("irregular_attendees"),
        "meetings": meetings,
        "comments": _plain(report.comments),
        "comments_by_side": _plain(report.comments_by_side),
        "tracking_book": _plain(report.tracking_book),
        "by_grassroots_organisation": _plain(report.by_grassroots_organisation),
        "by_sector": _plain(report.by_sector),
        "by_ward_and_cell": _plain(report.by_ward_and_cell),
        "endings_by_reason": report.endings_by_reason,
    }
