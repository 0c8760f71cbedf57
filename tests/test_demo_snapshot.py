"""What tells the ``demo`` fixture that the demo it left is still as loaded (``demo_snapshot.committed``): the same
after writes rolled back, different after a write committed, on either database."""

import pytest
from django.db import connection, transaction

from branches.models import Organisation
from tests import demo_snapshot
from tests.factories import make_tree

pytestmark = pytest.mark.django_db(transaction=True)


class RolledBack(Exception):
    pass


def test_a_write_rolled_back_leaves_it_and_a_write_committed_changes_it():
    make_tree()
    before = demo_snapshot.committed()
    with pytest.raises(RolledBack), transaction.atomic():
        Organisation.objects.update(name="x")
        raise RolledBack
    assert demo_snapshot.committed() == before

    Organisation.objects.filter(pk=Organisation.objects.order_by("pk").first().pk).update(name="Đổi tên")
    assert demo_snapshot.committed() != before


def test_the_digest_sees_a_changed_value_of_an_unchanged_count_of_rows():
    make_tree()
    before = demo_snapshot.digest()
    assert demo_snapshot.digest() == before
    Organisation.objects.filter(pk=Organisation.objects.order_by("pk").first().pk).update(name="Đổi tên")
    assert demo_snapshot.digest() != before


def test_sqlite_reads_the_files_change_counter_and_postgresql_the_digest():
    make_tree()
    if connection.vendor == "sqlite":
        assert demo_snapshot.committed().startswith("change counter ")
    else:
        assert demo_snapshot.committed() == demo_snapshot.digest()
