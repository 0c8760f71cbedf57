import pytest

from tests.factories import make_tree, make_user


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def user():
    return make_user()
