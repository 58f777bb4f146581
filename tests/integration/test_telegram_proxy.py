"""PARBOT_PROXY_URL: where api.telegram.org is reachable only through the province's proxy, every Bot API call
of the Application goes through it (HTTP proxy here; socks5:// needs the socks extra, installed with parbot)."""
from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from emulator_fixtures import emulator_server  # noqa: F401 - a fixture

from parbot.bot.app import build_application
from parbot.settings import Settings
from parbot.storage.db import make_engine, upgrade


@pytest.fixture
async def proxy():
    """A forward HTTP proxy that records the URLs it is asked for (absolute-form request targets)."""
    seen: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        seen.append(str(request.url))
        async with aiohttp.ClientSession() as session:
            async with session.request(request.method, str(request.url), data=await request.read(),
                                       headers={"Content-Type": request.headers.get("Content-Type", "")}) as answer:
                return web.Response(status=answer.status, body=await answer.read(),
                                    content_type=answer.content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


def settings_for(server, tmp_path, proxy_url: str | None) -> Settings:
    return Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
                    TELEGRAM_BOT_TOKEN=server.token, PARBOT_TELEGRAM_API_BASE=server.base_url,
                    PARBOT_PROXY_URL=proxy_url, PARBOT_EVIDENCE_DIR=str(tmp_path / "evidence"))


@pytest.mark.parametrize("through_proxy", [True, False])
async def test_bot_api_calls_go_through_the_proxy_when_set(emulator_server, proxy, tmp_path,  # noqa: F811
                                                           through_proxy):
    proxy_url, seen = proxy
    settings = settings_for(emulator_server, tmp_path, proxy_url if through_proxy else None)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    application = build_application(settings, engine)
    await application.initialize()  # getMe
    try:
        await application.bot.get_updates(timeout=0)  # the polling request has a client of its own
    finally:
        await application.shutdown()
        engine.dispose()
    methods = [url.rsplit("/", 1)[-1] for url in seen]
    assert methods == (["getMe", "getUpdates"] if through_proxy else [])
    assert all(url.startswith(emulator_server.base_url) for url in seen)


def test_a_socks_proxy_is_accepted(emulator_server, tmp_path):  # noqa: F811
    settings = settings_for(emulator_server, tmp_path, "socks5://127.0.0.1:1080")
    engine = make_engine(settings.database_url)
    try:
        assert build_application(settings, engine).bot is not None  # PTB refuses socks without its extra
    finally:
        engine.dispose()
