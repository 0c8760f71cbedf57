import pytest


@pytest.fixture(autouse=True)
def _vietnamese(settings):
    """Tests see what users see: the Vietnamese UI."""
    settings.LANGUAGE_CODE = "vi"
