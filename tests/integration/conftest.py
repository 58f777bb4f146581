"""Integration fixtures: the shared emulator fixtures live in tests/emulator_fixtures.py."""
import sys
from pathlib import Path

# tests/ is not a package and not on sys.path under pytest's default import mode.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator_fixtures import emulator_server, ptb_bot  # noqa: E402,F401
