"""Integration fixtures: the shared emulator fixtures live in tests/emulator_fixtures.py."""
from emulator_fixtures import emulator_server, ptb_bot  # noqa: F401 - fixtures
