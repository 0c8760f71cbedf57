"""Small ORM helpers shared by the apps."""

from django.db.models import F, Func, IntegerField, QuerySet, Subquery
from django.db.models.functions import Coalesce


def subquery_count(queryset: QuerySet) -> Coalesce:
    """The number of rows of ``queryset`` as a scalar subquery, to annotate each row of an outer query with a count
    in the same query (COUNT over the subquery's rows, without a GROUP BY that Django would add for an aggregate)."""
    counted = queryset.order_by().annotate(_n=Func(F("pk"), function="COUNT")).values("_n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)
