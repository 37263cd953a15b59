"""The fake providers, until the project-wide conftest imports them."""

from tests.fakes.fixtures import *  # noqa: F403
