"""``python -m parbot.sandbox.emulator --port 8081``: run the emulator for manual use."""
from __future__ import annotations

import argparse

from aiohttp import web

from parbot.sandbox.emulator.server import create_app
from parbot.sandbox.emulator.world import DEFAULT_TOKEN, Emulator, RateLimits


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m parbot.sandbox.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default="parbot_emulator_bot")
    parser.add_argument("--rate-limit", action="store_true", help="enforce Telegram's flood limits (429)")
    args = parser.parse_args()
    emulator = Emulator(args.token, bot_username=args.bot_username,
                        rate_limits=RateLimits() if args.rate_limit else None)
    base = f"http://{args.host}:{args.port}"
    print(f"Bot API emulator: token {args.token}\n  base_url {base}/bot\n  base_file_url {base}/file/bot\n"
          f"  simulated users: {base}/_sim/...")
    web.run_app(create_app(emulator), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
