"""Stored figures of past days (a materialised table kept exact by the database's own triggers, never a cache).

The headline figures of a day before today change only when a write touches that day or an earlier one (a back-dated
step, a correction, a restructure). ``FigureSnapshot`` keeps them for each organisation and day once computed; every
write that can change the figures of day D deletes the snapshots of D and after, in the same statement's transaction
(``reports.stale``, migration ``reports/0001``). ``reports.snapshots`` reads and writes them.
"""

from django.db import models

from branches.models import Organisation


class FigureSnapshot(models.Model):
    """The ``reports.figures.Headline`` of ``organisation`` as of ``day`` (a day before the one it was computed on)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # ``dataclasses.asdict(Headline)`` with the rate as a string ("99.3") or null: exact, whatever JSON does to floats.
    figures = models.JSONField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "day"], name="figure_snapshot_once_a_day"),
        ]
        # The triggers delete by day ("this day and after").
        indexes = [models.Index(fields=["day"], name="figure_snapshot_day")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day}"


class ReportSnapshot(models.Model):
    """A part of the report (``reports.report.Report``) of ``organisation`` as of ``day`` (today, or a day before
    it), as JSON: the meetings' counts of the day's year ("meetings", ``figures.meeting_counts``: the attendance and
    the irregular attendees; "meeting_half_years", ``figures.half_year_meetings``: the cells due to meet and those
    that met, by half-year), the tracking book's gaps of the day's year ("tracking_book",
    ``figures.tracking_book_activity``, by the organisations' keys), the comment figures of the day's year
    ("comments", ``figures.comments``; or "comments_by_side", ``figures.comment_sides``), the members by sector
    ("by_sector", ``figures.by_sector``), or the counts of the breakdown by grassroots organisation that add up member
    by member ("by_grassroots_organisation", ``figures.grassroots_counts``), and of the breakdown by ward and cell
    ("by_ward_and_cell", ``figures.residence_counts``); or, for the yearly workbook, the counts of its summary's rows
    that add up member by member ("summary", ``figures.summary_counts``).

    They change only with a write the triggers see (``reports.stale.WATCHED``); a later day's are carried from them
    (``reports.snapshots``). A large subtree's today's are stored too: a write of today deletes them."""

    class Part(models.TextChoices):
        MEETINGS = "meetings"
        MEETING_HALF_YEARS = "meeting_half_years"
        TRACKING_BOOK = "tracking_book"
        COMMENTS = "comments"
        COMMENTS_BY_SIDE = "comments_by_side"
        BY_SECTOR = "by_sector"
        BY_GRASSROOTS_ORGANISATION = "by_grassroots_organisation"
        BY_WARD_AND_CELL = "by_ward_and_cell"
        SUMMARY = "summary"
        # Not figures: the counts of the lists of the users who see the organisation's committee's rows, as of the
        # day (``reports.snapshots.list_counts_on``): the home page's to-do; the comment list's and the ratings
        # list's of the round of the day's year; the member list's.
        TODO = "todo"
        COMMENT_COUNTS = "comment_counts"
        RATING_COUNTS = "rating_counts"
        MEMBER_COUNT = "member_count"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    part = models.CharField(max_length=30, choices=Part.choices)
    day = models.DateField()
    figures = models.JSONField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "part", "day"], name="report_snapshot_once_a_day"),
        ]
        indexes = [models.Index(fields=["day"], name="report_snapshot_day")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.part} {self.day}"
