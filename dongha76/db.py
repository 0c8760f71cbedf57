"""Small ORM helpers shared by the apps."""

from django.db.models import DO_NOTHING, F, ForeignObject, Func, Index, IntegerField, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.db.models.query_utils import PathInfo


def subquery_count(queryset: QuerySet) -> Coalesce:
    """The number of rows of ``queryset`` as a scalar subquery, to annotate each row of an outer query with a count
    in the same query (COUNT over the subquery's rows, without a GROUP BY that Django would add for an aggregate)."""
    counted = queryset.order_by().annotate(_n=Func(F("pk"), function="COUNT")).values("_n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def date_indexes(prefix: str, *, always: tuple[str, ...] = (), sometimes: tuple[str, ...] = ()) -> list[Index]:
    """An index of each date column, named ``{prefix}_{column}``: ``always`` set, or ``sometimes`` (nullable, indexed
    where set). ``reports.steps`` finds the rows whose date falls between two days by them, a range each."""
    indexes = [Index(fields=[column], name=f"{prefix}_{column}"[:30]) for column in always]
    indexes += [
        Index(fields=[column], name=f"{prefix}_{column}"[:30], condition=Q(**{f"{column}__isnull": False}))
        for column in sometimes
    ]
    return indexes


class SameValueRows(ForeignObject):
    """A relation without a column of its own, for querysets only: the rows of ``to`` whose ``to_field`` holds the
    same value as this row's ``from_field`` (a meeting's ``cell_placements``: every placement, any day, in the
    meeting's cell). A query through it joins the two tables on that column directly, where the path through the row
    both point to (``residential_cell__placements``) joins that table in between: PostgreSQL cannot drop an inner
    join, and with the third table it planned the province root's attendance a third slower.

    Like a ``GenericRelation``: private (no column, not in migrations, forms, serializers or the history), one to
    many (filters through it are multi-valued, as through a reverse foreign key), and no attribute on instances."""

    requires_unique_target = False
    many_to_many = False
    many_to_one = False
    one_to_many = True
    one_to_one = False

    def __init__(self, to, *, from_field: str, to_field: str, **kwargs):
        kwargs.update(on_delete=DO_NOTHING, related_name="+", editable=False, serialize=False)
        super().__init__(to, from_fields=[from_field], to_fields=[to_field], **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("on_delete", "related_name", "editable", "serialize", "from_fields", "to_fields"):
            kwargs.pop(key, None)
        kwargs.update(from_field=self.from_fields[0], to_field=self.to_fields[0])
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, private_only=False, **kwargs):
        # ForeignObject's own step would set a many-to-one descriptor on the model (one row, fetched): skipped.
        super(ForeignObject, self).contribute_to_class(cls, name, private_only=True, **kwargs)

    def get_path_info(self, filtered_relation=None):
        opts = self.remote_field.model._meta
        return [
            PathInfo(
                from_opts=self.model._meta,
                to_opts=opts,
                target_fields=(opts.pk,),
                join_field=self,
                m2m=True,
                direct=False,
                filtered_relation=filtered_relation,
            )
        ]
