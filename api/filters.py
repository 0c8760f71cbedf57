"""The query parameters every list of the API understands, read once per request.

- ``as_of=YYYY-MM-DD``: what held on that day (each list says what that means for its rows);
- ``organisation=CODE``: rows of that organisation's subtree; a code outside the user's scope is 404, like an
  unknown one (the pages' rule: existence is not revealed);
- ``changed_since=<ISO 8601 date-time>``: rows created or changed at or after that moment, read from the rows'
  history (django-simple-history's tables, indexed on ``history_date``), for synchronisation.

A value that cannot be used is a 400 naming the parameter, with the message in the user's language, never a 500.
"""

import dataclasses
import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from api.scoping import get_in_scope
from branches.access import access_for
from branches.models import Organisation
from branches.selectors import visible_organisations
from dongha76.periods import FIRST_YEAR, LAST_YEAR, PeriodError, parse_iso_day

CHANGED_SINCE_MESSAGE = _(
    "Enter a date and time as YYYY-MM-DDTHH:MM:SS+07:00 (ISO 8601; without a time zone, Vietnam's time), "
    "between the years %(first)s and %(last)s."
)


@dataclasses.dataclass(frozen=True)
class ListFilters:
    as_of: datetime.date | None
    organisation: Organisation | None
    changed_since: datetime.datetime | None

    @classmethod
    def read(cls, request) -> "ListFilters":
        params = request.query_params
        errors = {}
        as_of = changed_since = None
        try:
            as_of = parse_iso_day(params.get("as_of"))
        except PeriodError as error:
            errors["as_of"] = [error.message]
        try:
            changed_since = read_changed_since(params)
        except ValidationError as error:
            errors.update(error.detail)
        if errors:
            raise ValidationError(errors)
        return cls(as_of=as_of, organisation=organisation_named(request), changed_since=changed_since)

    def changed(self, queryset: QuerySet, *histories: tuple[QuerySet, str]) -> QuerySet:
        """``queryset`` narrowed to rows changed since ``changed_since``: a row is changed when one of ``histories``
        (a history model's manager or queryset, and the field there naming the row) has a record at or after it."""
        if self.changed_since is None:
            return queryset
        condition = Q(pk__in=[])
        for history, field in histories:
            condition |= Q(pk__in=history.filter(history_date__gte=self.changed_since).values(field))
        return queryset.filter(condition)


def read_changed_since(params) -> datetime.datetime | None:
    """``?changed_since=``, or None; a value that cannot be used is a 400 naming the parameter."""
    try:
        return parse_moment(params.get("changed_since"))
    except ValueError:
        message = CHANGED_SINCE_MESSAGE % {"first": FIRST_YEAR, "last": LAST_YEAR}
        raise ValidationError({"changed_since": [message]}) from None


def parse_moment(text: str | None) -> datetime.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    moment = parse_datetime(text)  # None when malformed, ValueError when well formed but impossible
    if moment is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(text)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def organisation_named(request) -> Organisation | None:
    """The organisation ``?organisation=CODE`` names, in the user's scope (404 outside it), or None."""
    code = request.query_params.get("organisation", "").strip()
    if not code:
        return None
    return get_in_scope(visible_organisations(access_for(request.user)), code=code)


def subtree_of(organisation: Organisation, *fields: str) -> Q:
    """Any of ``fields`` (foreign keys to Organisation; "" for the organisation itself) lies in the subtree."""
    condition = Q(pk__in=[])
    for field in fields:
        condition |= Q(**{f"{field}__path__startswith" if field else "path__startswith": organisation.path})
    return condition


AS_OF = OpenApiParameter(
    "as_of", OpenApiTypes.DATE, description="The day (YYYY-MM-DD): what held on that day (see each list)."
)
ORGANISATION = OpenApiParameter(
    "organisation",
    OpenApiTypes.STR,
    description="An organisation's code: only rows of its subtree. 404 for a code outside your scope.",
)
CHANGED_SINCE = OpenApiParameter(
    "changed_since",
    OpenApiTypes.DATETIME,
    description="Only rows created or changed at or after this moment (ISO 8601; without a zone, Vietnam's time).",
)
LIST_PARAMETERS = [AS_OF, ORGANISATION, CHANGED_SINCE]
