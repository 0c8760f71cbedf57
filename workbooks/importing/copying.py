"""Writing an import's new rows in one statement a table (issue 15: 100,000 rows in under 60 s).

``bulk_create`` compiles an INSERT of a thousand rows at a time (on SQLite, of as many rows as 999 parameters allow:
about 40), preparing every value through its field (``get_db_prep_save``, a few µs each), and simple_history builds a
model instance for each history row before compiling its INSERTs in turn: a fifth of an import's time on PostgreSQL,
two fifths on SQLite. Here the columns' converters are chosen once per column, the primary keys are drawn in one
query, and the rows go to the database in one statement per table, with their history in another, exactly as
``bulk_create`` and ``bulk_create_with_history`` write them (the same columns, values, triggers and constraints; the
history's user, reason and type as ``HistoryManager.bulk_history_create`` sets them):

- on PostgreSQL, a COPY, the keys drawn from the table's sequence;
- on SQLite, an ``executemany`` of one prepared INSERT (SQLite runs it row by row in C, without a parameter limit),
  the keys the ones SQLite would give next (read in the import's transaction: a concurrent writer is refused).

Only for models made of the plain fields below; anything else (another backend, another field type) goes through
``bulk_create`` as before. The statements are logged as queries like any other (the debug cursor's ``debug_sql``),
so that tests count them.
"""

import datetime
import io
from collections.abc import Callable

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object, get_history_manager_for_model

HISTORY_FIELDS = {"history_id", "history_date", "history_change_reason", "history_type", "history_user_id"}
# COPY's text format: a backslash, a tab, a newline or a carriage return in a value is escaped; None is \N.
ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _text(value) -> str:
    return NULL if value is None else str(value).translate(ESCAPES)


def _integer(value) -> str:
    return NULL if value is None else str(int(value))


def _boolean(value) -> str:
    return NULL if value is None else ("t" if value else "f")


def _date(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, datetime.datetime):  # as DateField.to_python: a date and time keeps its date
        value = value.date()
    return value.isoformat()


def _moment(value) -> str:
    if value is None:
        return NULL
    if timezone.is_naive(value):  # as DateTimeField.get_prep_value: made aware (with its warning) when USE_TZ
        value = models.DateTimeField().get_prep_value(value)
    return value.isoformat()


CONVERTERS: dict[str, Callable[[object], str]] = {
    "AutoField": _integer,
    "BigAutoField": _integer,
    "BigIntegerField": _integer,
    "IntegerField": _integer,
    "PositiveIntegerField": _integer,
    "PositiveSmallIntegerField": _integer,
    "SmallIntegerField": _integer,
    "ForeignKey": _integer,
    "BooleanField": _boolean,
    "CharField": _text,
    "TextField": _text,
    "DateField": _date,
    "DateTimeField": _moment,
}


# How SQLite is given each type: as Django's SQLite backend prepares it (``get_db_prep_save``).
def _sqlite_integer(value):
    return None if value is None else int(value)


def _sqlite_boolean(value):
    return None if value is None else bool(value)


def _sqlite_text(value):
    return value if value is None or isinstance(value, str) else str(value)


def _sqlite_date(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):  # as ``_date``
        value = value.date()
    return connection.ops.adapt_datefield_value(value)


def _sqlite_moment(value):
    if value is None:
        return None
    if timezone.is_naive(value):  # as ``_moment``
        value = models.DateTimeField().get_prep_value(value)
    return connection.ops.adapt_datetimefield_value(value)


SQLITE_CONVERTERS: dict[str, Callable[[object], object]] = {
    **dict.fromkeys(
        [
            "AutoField",
            "BigAutoField",
            "BigIntegerField",
            "IntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "SmallIntegerField",
            "ForeignKey",
        ],
        _sqlite_integer,
    ),
    "BooleanField": _sqlite_boolean,
    "CharField": _sqlite_text,
    "TextField": _sqlite_text,
    "DateField": _sqlite_date,
    "DateTimeField": _sqlite_moment,
}
assert SQLITE_CONVERTERS.keys() == CONVERTERS.keys()
VENDORS = {"postgresql", "sqlite"}


def usable(model) -> bool:
    """Whether ``copy_create`` writes ``model`` (and its history, if it keeps one)."""
    if connection.vendor not in VENDORS:
        return False
    if not all(_converter(field) for field in model._meta.concrete_fields if not field.generated):
        return False
    history = _history_model(model)
    if history is None:
        return True
    tracked = {field.attname for field in history.tracked_fields}
    fields = {field.attname for field in history._meta.concrete_fields}
    return (
        not hasattr(history, "history_relation")
        and fields == tracked | HISTORY_FIELDS
        and all(_converter(field) for field in history._meta.concrete_fields)
    )


def _converter(field) -> Callable[[object], str] | None:
    if getattr(field, "has_db_default", lambda: False)():
        return None  # a database default would need DEFAULT in an INSERT: not written by COPY
    return CONVERTERS.get(field.get_internal_type())


def _history_model(model):
    try:
        return get_history_manager_for_model(model).model
    except Exception:  # simple_history raises NotHistoricalModelError for a model without history
        return None


def copy_create(objects: list, model, *, history: bool, user=None, reason: str = "") -> None:
    """Insert ``objects`` (new, without primary keys) as ``bulk_create`` does, setting their primary keys; with
    ``history``, their history records as ``bulk_create_with_history`` writes them (``user``, ``reason``)."""
    if not objects:
        return
    meta = model._meta
    pks = _new_keys(meta, len(objects))
    for obj, pk in zip(objects, pks, strict=True):
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        obj.pk = pk
    fields = [field for field in meta.concrete_fields if not field.generated]
    # ``Field.pre_save`` with add=True, as bulk_create calls it: auto_now(_add) dates are set on the objects.
    stamped = [field for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)]
    for obj in objects:
        for field in stamped:
            field.pre_save(obj, True)
    _copy(meta.db_table, fields, ([getattr(obj, field.attname) for field in fields] for obj in objects))
    _returned(objects, model)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
    if history:
        copy_history(objects, model, user=user, reason=reason)


def _new_keys(meta, count: int) -> list[int]:
    """``count`` primary keys for new rows of the table, in the order the database would give them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, count],
            )
            return sorted(pk for (pk,) in cursor.fetchall())
        # SQLite gives a new row one more than the largest key the table has held (AUTOINCREMENT, which Django's
        # tables have, remembers it in sqlite_sequence) or holds; writing keys above both moves sqlite_sequence on.
        # No other writer can come between unseen: this read holds the transaction's lock (or, in WAL mode, its
        # snapshot), so a write committed meanwhile makes SQLite refuse our INSERT (busy), a DatabaseError that the
        # import reports as a concurrent change.
        quote = connection.ops.quote_name
        cursor.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608 - our table
            f"coalesce((SELECT max({quote(meta.pk.column)}) FROM {quote(meta.db_table)}), 0))",
            [meta.db_table],
        )
        (largest,) = cursor.fetchone()
    return list(range(largest + 1, largest + count + 1))


def _returned(objects: list, model) -> None:
    """The columns the database computes (a ``GeneratedField``), which ``bulk_create`` reads back with RETURNING on
    PostgreSQL: read in one query, so that reading them later costs none per row."""
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field.db_returning and not field.primary_key]
    if not fields:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    by_pk = {obj.pk: obj for obj in objects}
    pk = quote(meta.pk.column)
    with connection.cursor() as cursor:
        # The model's own table and columns, quoted. SQLite's keys are one run (``_new_keys``): read as a range,
        # not a list of parameters (SQLite takes a limited number).
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT {pk}, {columns} FROM {quote(meta.db_table)} WHERE {pk} = ANY(%s)", [list(by_pk)])  # noqa: S608
        else:
            cursor.execute(
                f"SELECT {pk}, {columns} FROM {quote(meta.db_table)} WHERE {pk} BETWEEN %s AND %s",  # noqa: S608
                [min(by_pk), max(by_pk)],
            )
        for pk, *values in cursor.fetchall():
            if pk not in by_pk:
                continue
            for field, value in zip(fields, values, strict=True):
                if hasattr(field, "from_db_value"):
                    value = field.from_db_value(value, None, connection)
                setattr(by_pk[pk], field.attname, value)


def copy_history(objects: list, model, *, user, reason: str, update: bool = False) -> None:
    """``HistoryManager.bulk_history_create(objects, update=update, default_user=user, default_change_reason=reason)``
    for a model ``usable`` says this writes: one record per object ("+", or "~" for an update), its history id drawn
    by the table's default."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    history = _history_model(model)
    tracked = [field.attname for field in history.tracked_fields]
    by_name = {field.attname: field for field in history._meta.concrete_fields}
    columns = [by_name[name] for name in tracked] + [
        by_name[name] for name in ("history_date", "history_change_reason", "history_type", "history_user_id")
    ]
    now = timezone.now()

    def rows():
        for obj in objects:
            fallback = user or history.get_default_history_user(obj)
            history_user = getattr(obj, "_history_user", fallback)
            yield [
                *(getattr(obj, name) for name in tracked),
                getattr(obj, "_history_date", now),
                get_change_reason_from_object(obj) or reason,
                "~" if update else "+",
                getattr(history_user, "pk", None),
            ]

    _copy(history._meta.db_table, columns, rows())


def _copy(table: str, fields, rows) -> None:
    """Write ``rows`` (lists of values in the order of ``fields``) into ``table``: a COPY on PostgreSQL, one INSERT
    run for every row on SQLite."""
    if connection.vendor == "sqlite":
        _insert_many(table, fields, rows)
        return
    converters = [_converter(field) for field in fields]
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        write("\t".join([convert(value) for convert, value in zip(converters, row, strict=True)]))
        write("\n")
    buffer.seek(0)
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(field.column) for field in fields)}) FROM STDIN"
    with connection.cursor() as cursor:
        debug = getattr(cursor, "debug_sql", None)  # the debug cursor logs it as a query (tests count them)
        if debug is not None:
            with debug(sql):
                cursor.cursor.copy_expert(sql, buffer)
        else:
            cursor.cursor.copy_expert(sql, buffer)


def _insert_many(table: str, fields, rows) -> None:
    converters = [SQLITE_CONVERTERS[field.get_internal_type()] for field in fields]
    params = [[convert(value) for convert, value in zip(converters, row, strict=True)] for row in rows]
    if not params:
        return
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608 - ours
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
