"""``python -m parbot.sandbox.zalo_emulator [HOST] [PORT]``: run the Zalo emulator alone."""
import asyncio
import sys

from parbot.sandbox.zalo_emulator.server import serve_forever
from parbot.sandbox.zalo_emulator.world import DEFAULT_TOKEN

if __name__ == "__main__":
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8082
    asyncio.run(serve_forever(host, port, DEFAULT_TOKEN))
