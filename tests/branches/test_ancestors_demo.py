"""The ancestor relation of the demo's tree holds exactly what the paths say (slow; the rest is in
test_ancestors.py)."""

import pytest

from tests.branches.test_ancestors import assert_exact

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_the_demo_tree(demo):
    assert_exact()
