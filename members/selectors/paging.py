"""A list's page found first by its keys, then read whole by them (issue 15).

A list page's cost is kept to what it shows: the scope, the filters and the order find the page's keys; the relations
and the per-row annotations (a referral's state, what the user may do on it, a member's rating and comment) are
computed for those rows only, never carried by a plan over the whole scope, and the scope is not tested again.
"""

import functools

from django.core.exceptions import EmptyResultSet
from django.db.models import F, Lookup, QuerySet
from django.db.models.query import ModelIterable


class KeysIn(Lookup):
    """``pk IN (keys)`` for keys read from the database a moment ago: PostgreSQL gets them as one array parameter,
    ``pk = ANY(%s)`` (the same plan: it turns an IN list into that array itself).

    A pinned scope holds hundreds of keys, and its page repeats them in each query (the count, the keys, each
    subquery of the rows' annotations: 911 parameters for a ward's members page); Django prepared, converted and
    compiled each of them one by one, again for every query (issue 15). Keys straight from a primary key column need
    none of that. Other databases get the plain IN list."""

    lookup_name = "keys_in"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        column, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{column} = ANY(%s)", (*params, self.rhs)
        return f"{column} IN ({', '.join(['%s'] * len(self.rhs))})", (*params, *self.rhs)


def with_keys(queryset: QuerySet, keys: list) -> QuerySet:
    """``queryset.filter(pk__in=keys)`` for keys read from the database (``KeysIn``). No keys: Django's own empty
    ``IN ()``, which it answers without asking the database."""
    if not keys:
        return queryset.filter(pk__in=[])
    return queryset.filter(KeysIn(F("pk"), keys))


class KeysFirst(Lookup):
    """``pk = ANY(ARRAY(keys))`` on PostgreSQL, for ``keys`` a subquery of a scope's keys: the subquery is read once
    (an InitPlan), and the rows by their primary key index.

    A ward's scope is a union of index scans whose size the planner cannot tell (it guessed 902 referrals for
    phuong1's 275): as ``pk IN (union)`` it hashed the union against a sequential scan of every referral for the
    home's counts and again for its list of referrals to receive (at the province's size, best of 7, load 4.6: 7.0
    and 5.7 ms, half the page's database time). As an array the rows are fetched by key (2.0 and 1.1 ms). At the
    nation's size the planner already chose the index (2.4 and 1.5 ms both ways). Other databases get the plain
    ``IN``."""

    lookup_name = "keys_first"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        template = "%s = ANY(ARRAY%s)" if connection.vendor == "postgresql" else "%s IN %s"
        return template % (lhs, rhs), (*lhs_params, *rhs_params)


def keys_first(scope: QuerySet) -> QuerySet:
    """The rows of ``scope`` (a user's scope: ``visible_referrals``, ``referrals_receivable_by``) found by their keys
    first (``KeysFirst``); a scope without a condition (city staff: every row) stays as it is."""
    if not scope.query.where:
        return scope
    return scope.model._default_manager.filter(KeysFirst(F("pk"), scope.order_by().values("pk")))


class PageFirst:
    """A mixin for a model's queryset class (``page_first``, ``listed``). A slice of the rows (a list's page) is found
    first as keys, on the scope, the filters and the joins the ordering needs (annotations not used by them are left
    out), then read whole through ``rows_of``, which takes the model's rows narrowed to those keys and gives them
    with what the page shows. Same rows, same order. Unsliced (an export, ``iterator``), the list is read in one
    query, through ``whole_of`` when it has one; read as values, likewise when they name (or, unnamed, include) what
    ``whole_of`` adds.

    ``all_keys`` (a small list): the keys of the whole list are read in order (``SELECT id ... ORDER BY ...``, no
    LIMIT, at most ``PINNED_AT_MOST`` of them), once for the count and the page. With a LIMIT, PostgreSQL walks the
    index of the order (members by name) and tests each of the table's rows against the few keys of the scope:
    12,029 rows read for a ward's first 50 (18 ms); without one it sorts the scope's few hundred (1 ms)."""

    rows_of = None  # (QuerySet narrowed to the page's keys) -> the same rows, with relations and annotations
    all_keys = False
    whole_of = None  # when the list itself lacks what ``rows_of`` adds: the same for the whole list, read unsliced
    shown = ()  # the names of what ``whole_of`` adds: sorting, filtering or reading values by one adds it first
    _keys_read = None  # {the keys query's SQL and values: its keys}, shared by the clones (a count, then a page)
    _keys_asked = None  # this list's key in ``_keys_read``, once compiled; given to its slices (its pages)

    def _clone(self):
        clone = super()._clone()
        clone.rows_of, clone.all_keys, clone._keys_read = self.rows_of, self.all_keys, self._keys_read
        clone.whole_of, clone.shown = self.whole_of, self.shown
        return clone

    def _names_what_is_shown(self, *names) -> bool:
        return self.whole_of is not None and any(field in str(name) for name in names for field in self.shown)

    def _with_what_is_shown(self):
        whole = self._chain()
        whole.whole_of = None
        return self.whole_of(whole)

    def order_by(self, *field_names):
        field_names = self._in_one_order(field_names)
        if self._names_what_is_shown(*field_names):
            return self._with_what_is_shown().order_by(*field_names)
        return super().order_by(*field_names)

    def _in_one_order(self, field_names: tuple) -> tuple:
        """``field_names`` ending on the key unless they end on a unique column: rows that tie (a list sorted by
        workplace, by date of birth) came back in another order in each query on PostgreSQL, so that its pages
        repeated some rows and skipped others."""
        if not field_names or not isinstance(last := field_names[-1], str):
            return field_names
        name = last.removeprefix("-")
        if name == "pk" or ("__" not in name and name in self._unique_columns()):
            return field_names
        return (*field_names, "pk")

    def _unique_columns(self) -> set[str]:
        return {field.name for field in self.model._meta.concrete_fields if field.unique} | {
            field.attname for field in self.model._meta.concrete_fields if field.unique
        }

    def _filter_or_exclude(self, negate, args, kwargs):
        if self._names_what_is_shown(*args, *kwargs):
            return self._with_what_is_shown()._filter_or_exclude(negate, args, kwargs)
        return super()._filter_or_exclude(negate, args, kwargs)

    def _values(self, *fields, **expressions):
        # ``values()`` without names reads every annotation: the shown ones too, as an unsliced read does.
        reads_all = self.whole_of is not None and not fields and not expressions
        if reads_all or self._names_what_is_shown(*fields, *expressions):
            return self._with_what_is_shown()._values(*fields, **expressions)
        return super()._values(*fields, **expressions)

    def iterator(self, chunk_size=None):
        # ``iterator`` bypasses ``_fetch_all``: a page is still read by its keys, and the whole list (in chunks)
        # still carries what the list shows.
        if self._reads_a_page():
            return iter(self._chain())
        if self._reads_the_whole_list():
            return self._with_what_is_shown().iterator(chunk_size=chunk_size)
        return super().iterator(chunk_size=chunk_size)

    def _reads_a_page(self) -> bool:
        return (
            self.rows_of is not None
            and self.query.is_sliced
            and self._fields is None
            and self._iterable_class is ModelIterable
        )

    def _reads_the_whole_list(self) -> bool:
        return (
            self.whole_of is not None
            and not self.query.is_sliced
            and self._fields is None
            and self._iterable_class is ModelIterable
        )

    def __getitem__(self, k):
        item = super().__getitem__(k)
        if isinstance(k, slice) and isinstance(item, PageFirst):
            # A page of this list: the same keys query, its SQL known already.
            item._keys_asked = self._keys_asked
        return item

    def _ordered_keys(self) -> list:
        """The keys of the whole list in its order (``all_keys``), read once for this list and its clones, and its
        query compiled once: for the count, then not again for the page (``__getitem__``), nor to be read."""
        if self._keys_asked is None:
            keys = super().values_list("pk", flat=True)
            keys.query.clear_limits()
            compiler = keys.query.get_compiler(using=keys.db)
            try:
                sql, params = compiler.as_sql()
            except EmptyResultSet:  # an empty scope: nothing to read
                self._keys_asked = ()
                self._keys_read[()] = []
                return []
            # The statement and its values apart: printed (``str(query)``), values are not quoted, and a filter on
            # a text holding SQL printed as another filter does.
            asked = (sql, repr(params))
            if asked not in self._keys_read:
                self._keys_read[asked] = _read_keys(compiler, sql, params)
            self._keys_asked = asked
        return self._keys_read[self._keys_asked]

    def count(self):
        if self.all_keys and self.rows_of is not None and not self.query.is_sliced and self._fields is None:
            return len(self._ordered_keys())
        return super().count()

    def _fetch_all(self):
        if self._result_cache is None and self._reads_the_whole_list():
            whole = self._chain()
            whole.whole_of = None
            self._result_cache = list(self.whole_of(whole))
            if self._prefetch_related_lookups:
                self._prefetch_related_objects()
            return None
        if self._result_cache is not None or not self._reads_a_page():
            return super()._fetch_all()
        if self.all_keys:
            low, high = self.query.low_mark, self.query.high_mark
            keys = self._ordered_keys()[low:high]
        else:
            keys = list(super().values_list("pk", flat=True))
        rows = self.rows_of(with_keys(self.model._default_manager.all(), keys)) if keys else []
        found = {row.pk: row for row in rows}
        # A row deleted between the two queries is left out rather than failing the page.
        self._result_cache = [found[key] for key in keys if key in found]
        if self._prefetch_related_lookups:
            self._prefetch_related_objects()
        return None


def _read_keys(compiler, sql: str, params) -> list:
    """The keys ``compiler`` (of a ``values_list("pk", flat=True)``) selects, by the SQL it compiled already:
    Django's ``execute_sql`` would compile it again."""
    with compiler.connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [row[0] for row in compiler.results_iter(results=[rows])]


@functools.cache
def page_first_class(queryset_class: type[QuerySet]) -> type[QuerySet]:
    """``queryset_class`` with ``PageFirst``: the model's own queryset methods (``search``, ``active_on``...) stay."""
    return type(f"PageFirst{queryset_class.__name__}", (PageFirst, queryset_class), {})


def page_first(queryset: QuerySet, rows_of, *, all_keys: bool = False) -> QuerySet:
    """``queryset``, whose pages are read as their keys first, then whole through ``rows_of`` (see ``PageFirst``)."""
    paged = page_first_class(type(queryset))(model=queryset.model, query=queryset.query.chain(), using=queryset._db)
    paged._prefetch_related_lookups = queryset._prefetch_related_lookups
    paged.rows_of = rows_of
    paged.all_keys = all_keys
    paged._keys_read = {}
    return paged


# A scope of at most this many rows is read as its keys first (``pinned``): a ward's members and referrals (hundreds
# at the province's size); beyond it (a district's committee), the scope stays a subquery.
PINNED_AT_MOST = 1_000


def pinned(queryset: QuerySet) -> tuple[QuerySet, bool]:
    """The rows of ``queryset`` (a user's scope) as ``pk IN (their keys)``, read in one query, when it holds at most
    ``PINNED_AT_MOST``; otherwise (or with no condition at all: the city's staff) ``queryset`` itself. Says which.

    A scope is a union of index scans whose size the planner cannot tell: it guessed 900 referrals for a ward's
    275 and planned the page's count and rows over every referral (a hash join on a sequential scan); and the union
    was built, compiled and planned again for each query (the count, the page, each annotation that reads the
    scope). Its keys tell it exactly, and the union is read once a page (phuong1's member count at the province's
    size: 16 → 3 ms; the referral states of its 50 rows 6 → 1 ms).
    """
    if not queryset.query.where:
        return queryset, False
    keys = list(queryset.order_by().values_list("pk", flat=True)[: PINNED_AT_MOST + 1])
    if len(keys) > PINNED_AT_MOST:
        return queryset, False
    return with_keys(queryset.model._default_manager.all(), keys), True


def listed(scope: QuerySet, rows_of, *, ordered_by=None, shown: tuple[str, ...] = ()) -> QuerySet:
    """The rows of ``scope`` with what a list shows of them (``rows_of``: relations, annotations, the default order),
    a page read as its keys first (``page_first``). A small scope is read as its keys first (``pinned``) and its list
    as all its keys in order (``all_keys``).

    ``ordered_by`` gives the list that filters, sorts and counts, when it needs less than ``rows_of`` (default:
    ``rows_of`` itself): the annotations named ``shown`` are then built for the page alone (Django takes 5-10 ms of
    CPU to build those that nest the scope's unions), and for the whole list only when it is sorted, filtered or
    read as values by one of them, or read unsliced (an export)."""
    keys, small = pinned(scope)
    if ordered_by is None:
        return page_first(rows_of(keys), rows_of, all_keys=small)
    paged = page_first(ordered_by(keys), rows_of, all_keys=small)
    paged.whole_of, paged.shown = rows_of, shown
    return paged
