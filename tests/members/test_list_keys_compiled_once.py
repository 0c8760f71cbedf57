"""A small list's keys query (``PageFirst._ordered_keys``) is compiled once for the count and the page the paginator
asks for, and read once (issue 15: it was compiled three times, twice for the count and again for the page)."""

from unittest import mock

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from members.selectors import member_list, referral_list
from tests.members import test_list_paging
from tests.members.test_list_paging import DAY, _members, _referrals

pytestmark = pytest.mark.django_db

tree, users = test_list_paging.tree, test_list_paging.users  # the same data and users


def _compiled(action) -> list[str]:
    """The statements compiled by ``action`` (outermost ``as_sql`` calls only), in order."""
    statements, depth = [], [0]
    as_sql = SQLCompiler.as_sql

    def recording(compiler, *args, **kwargs):
        depth[0] += 1
        try:
            sql, params = as_sql(compiler, *args, **kwargs)
        finally:
            depth[0] -= 1
        if not depth[0]:
            statements.append(sql)
        return sql, params

    with mock.patch.object(SQLCompiler, "as_sql", recording):
        action()
    return statements


@pytest.mark.parametrize("listed, shown", [(member_list, _members), (referral_list, _referrals)])
def test_the_keys_are_compiled_and_read_once_for_the_count_and_the_page(users, listed, shown):
    ward = users[1]
    rows = listed(ward, **({"day": DAY} if listed is member_list else {})).order_by("pk")
    assert rows.all_keys  # a ward's scope is small: read as all its keys in order
    whole = [row[0] for row in shown(rows.all())]
    page = []

    def count_then_page():
        assert rows.count() == len(whole)
        page.extend(shown(rows[1:3]))

    with CaptureQueriesContext(connection) as queries:
        statements = _compiled(count_then_page)

    keys = statements[0]  # the count compiles the keys query first
    assert statements.count(keys) == 1
    assert len(queries) == 2  # the keys, then the page's rows
    assert [row[0] for row in page] == whole[1:3]


def test_another_order_is_another_keys_query(users):
    ward = users[1]
    rows = member_list(ward, day=DAY)
    by_name, by_card = rows.order_by("search_name", "card_number"), rows.order_by("-card_number")
    assert by_name.count() == by_card.count()
    assert [m[0] for m in _members(by_card[0:3])] == [m[0] for m in _members(by_name.order_by("-card_number")[0:3])]
    assert [m[0] for m in _members(by_card[0:3])] != [m[0] for m in _members(by_name[0:3])]
