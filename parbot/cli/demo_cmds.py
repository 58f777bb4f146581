"""`parbot demo` (a whole round on the sample province, through the real bot and the emulator) and
`parbot sandbox` (the training web chat)."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Optional

import typer

from .common import Steps, console, handle_errors, log_scheduler_skips_as_info, say


@handle_errors
def demo(out: Optional[Path] = typer.Option(None, "--out"),
         seed: int = typer.Option(1)) -> None:
    from ..sandbox.demo import YEAR, run_demo
    from ..settings import get_settings
    from . import setup_cmds

    folder = (out or Path(tempfile.mkdtemp(prefix="parbot-demo-"))).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise typer.BadParameter(say("cli.folder_not_empty", folder=folder), param_hint="--out")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Bot API URLs carry the token
    log_scheduler_skips_as_info()
    console.print(f"parbot demo — tỉnh mẫu, kỳ đánh giá {YEAR}, seed {seed}; thư mục {folder}", style="bold",
                  markup=False)
    result = run_demo(folder, seed, console)
    # `parbot results` on the demo database prints the ranking: the same command a province runs.
    os.environ["PARBOT_DATABASE_URL"] = f"sqlite:///{result.database}"
    os.environ["PARBOT_EVIDENCE_DIR"] = str(folder / "evidence")
    get_settings.cache_clear()
    console.print()
    setup_cmds.results_command(period=YEAR, block=None, format=setup_cmds.Format.table, out=None, items=False, wide=False)
    console.print("Đã ghi:", style="bold")
    for path in result.files:
        console.print(f"  {path.relative_to(folder)}", markup=False, highlight=False)
    console.print(f"Cơ sở dữ liệu: {result.database}  (xem lại: PARBOT_DATABASE_URL=sqlite:///{result.database} "
                  f"parbot results)", markup=False, highlight=False)
    for problem in result.problems:
        console.print(say("cli.demo.problem", problem=problem), style="red", markup=False)
    if result.problems:
        raise typer.Exit(1)


@handle_errors
def sandbox(out: Optional[Path] = typer.Option(None, "--out"),
            host: str = typer.Option("127.0.0.1"),
            port: int = typer.Option(8080)) -> None:
    import asyncio

    from ..sandbox.webchat import serve

    folder = (out or Path(tempfile.mkdtemp(prefix="parbot-sandbox-"))).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise typer.BadParameter(say("cli.folder_not_empty", folder=folder), param_hint="--out")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log_scheduler_skips_as_info()

    starting = Steps(say("cli.progress.sandbox"))

    def ready(url: str) -> None:
        starting.close()
        console.print(f"Phòng tập parbot: mở {url} trong trình duyệt (mỗi học viên một thẻ). Ctrl-C để dừng.",
                      style="bold", markup=False)
    with starting:
        asyncio.run(serve(folder, host, port, ready))
    console.print("Đã dừng phòng tập.", markup=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("sandbox")(sandbox)
