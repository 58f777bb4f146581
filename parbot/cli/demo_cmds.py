"""`parbot demo` (a whole round on the sample province, through the real bot and the emulator) and
`parbot sandbox` (the training web chat)."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Optional

import typer

from .common import console


def demo(out: Optional[Path] = typer.Option(None, "--out", help="An empty or new folder for the database and "
                                                                   "outputs (default: a new temporary folder)."),
         seed: int = typer.Option(1, help="Seed for the simulated choices (same seed, same round).")) -> None:
    """Play a whole round of the 2020 sample province through the real bot on the built-in Telegram
    emulator: invitations, self-assessment, reminders, appraisal, explanation, survey, publication, charts.
    Prints the ranking per block and writes the charts, workbook, PDF report and chat transcripts."""
    from ..sandbox.demo import YEAR, run_demo
    from ..settings import get_settings
    from . import setup_cmds

    folder = (out or Path(tempfile.mkdtemp(prefix="parbot-demo-"))).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise typer.BadParameter(f"{folder} is not empty", param_hint="--out")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Bot API URLs carry the token
    console.print(f"parbot demo — tỉnh mẫu, kỳ đánh giá {YEAR}, seed {seed}; thư mục {folder}", style="bold",
                  markup=False)
    result = run_demo(folder, seed, console)
    # `parbot results` on the demo database prints the ranking: the same command a province runs.
    os.environ["PARBOT_DATABASE_URL"] = f"sqlite:///{result.database}"
    os.environ["PARBOT_EVIDENCE_DIR"] = str(folder / "evidence")
    get_settings.cache_clear()
    console.print()
    setup_cmds.results_command(period=YEAR, block=None, format=setup_cmds.Format.table, out=None, items=False)
    console.print("Đã ghi:", style="bold")
    for path in result.files:
        console.print(f"  {path.relative_to(folder)}", markup=False, highlight=False)
    console.print(f"Cơ sở dữ liệu: {result.database}  (xem lại: PARBOT_DATABASE_URL=sqlite:///{result.database} "
                  f"parbot results)", markup=False, highlight=False)
    for problem in result.problems:
        console.print(f"Problem: {problem}", style="red", markup=False)
    if result.problems:
        raise typer.Exit(1)


def sandbox(out: Optional[Path] = typer.Option(None, "--out", help="An empty or new folder for the throw-away "
                                                                      "database (default: a new temporary folder)."),
            host: str = typer.Option("127.0.0.1", help="Address to listen on (keep it local)."),
            port: int = typer.Option(8080, help="Port of the page (0: any free port).")) -> None:
    """The training web chat: the bot on the built-in emulator, with a page where each trainee picks a sample
    unit, a role and a channel (Telegram or Zalo) and works in a chat like it. Stop with Ctrl-C."""
    import asyncio

    from ..sandbox.webchat import serve

    folder = (out or Path(tempfile.mkdtemp(prefix="parbot-sandbox-"))).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise typer.BadParameter(f"{folder} is not empty", param_hint="--out")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    def ready(url: str) -> None:
        console.print(f"Phòng tập parbot: mở {url} trong trình duyệt (mỗi học viên một thẻ). Ctrl-C để dừng.",
                      style="bold", markup=False)
    asyncio.run(serve(folder, host, port, ready))
    console.print("Đã dừng phòng tập.", markup=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("sandbox")(sandbox)
