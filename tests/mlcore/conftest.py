import pytest


@pytest.fixture(autouse=True)
def _media():
    """No Django here: override the project-wide autouse fixture (which needs pytest-django's settings)."""
    yield


@pytest.fixture(autouse=True)
def _pages_not_kept():
    """No Django here either (see _media)."""
    yield
