"""`parbot demo`: parbot's main job on its embedded defaults, in one command."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import typer

from .common import console

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def demo(out: Optional[Path] = typer.Option(None, "--out", help="Folder for the database and outputs "
                                                                   "(default: a new temporary folder)."),
         year: int = typer.Option(2020, help="The sample period to play (2020)."),
         seed: int = typer.Option(1, help="Seed for the simulated choices (same seed, same round).")) -> None:
    """Play a round on a sample province: create the database, load the criteria sets and units, import scores,
    print the ranking of every block."""
    from ..settings import get_settings
    from . import setup_cmds

    folder = out or Path(tempfile.mkdtemp(prefix="parbot-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PARBOT_DATABASE_URL"] = f"sqlite:///{folder / 'parbot.db'}"
    os.environ["PARBOT_EVIDENCE_DIR"] = str(folder / "evidence")
    get_settings.cache_clear()
    console.print(f"parbot demo — sample province, period {year}, output in {folder}", style="bold")
    setup_cmds.period_create(SAMPLES / f"period-{year}.yaml")
    setup_cmds.units_import(SAMPLES / f"units-{year}.csv")
    setup_cmds.scores_import(SAMPLES / f"scores-{year}.csv", period=year, reason="demo: sample scores")
    setup_cmds.results_command(period=year, block=None, format=setup_cmds.Format.table, out=None, items=False)
    setup_cmds.results_command(period=year, block=None, format=setup_cmds.Format.xlsx,
                               out=folder / f"results-{year}.xlsx", items=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
