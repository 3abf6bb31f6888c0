"""Fixtures of the provincial tests that start real processes (tests/processes.py)."""

from tests.processes import media, start_worker  # noqa: F401  (fixtures)
