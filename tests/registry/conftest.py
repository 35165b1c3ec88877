"""The real server fixture (see tests/portal/live.py)."""

from tests.portal.live import live  # noqa: F401
