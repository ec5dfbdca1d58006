"""Fixtures shared with the agent tests: the demo repository."""

from tests.agent.conftest import demo_repo  # noqa: F401 (a fixture, re-exported)
