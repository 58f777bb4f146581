"""The Zalo emulator, driven through parbot's thin Zalo client: as strict as the platform's documentation."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from parbot.bot.zalo.client import ZaloClient, ZaloError, ZaloNetworkError
from parbot.sandbox.zalo_emulator import SECRET_HEADER, TEXT_LIMIT, ZaloEmulatorServer

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
async def parbot_site():
    """A stand-in for parbot's web server: a chart to fetch and a webhook endpoint that records calls."""
    received: list[tuple[dict, str | None]] = []

    async def chart(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get(SECRET_HEADER)))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/chart.png", chart)
    app.router.add_get("/page", page)
    app.router.add_post("/zalo", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", received
    await runner.cleanup()


@pytest.fixture
async def zalo(parbot_site):
    local, _ = parbot_site
    async with ZaloEmulatorServer(url_map={"https://parbot.example": local}) as server:
        yield server


@pytest.fixture
async def client(zalo):
    bot = ZaloClient(zalo.token, api_base=zalo.base_url)
    yield bot
    await bot.close()


async def test_get_me_and_wrong_token(zalo, client):
    me = await client.get_me()
    assert me["id"] == zalo.token.split(":")[0] and isinstance(me["id"], str)
    wrong = ZaloClient("1:wrong", api_base=zalo.base_url)
    with pytest.raises(ZaloError) as err:
        await wrong.get_me()
    await wrong.close()
    assert err.value.code == 401 and "wrong" not in str(err.value)


async def test_unknown_method_has_the_error_shape(zalo, client):
    with pytest.raises(ZaloError) as err:
        await client.call("sendDocument", chat_id="1")
    assert err.value.code == 404


async def test_text_update_is_delivered_one_per_call_then_408(zalo, client):
    lan = zalo.user("u-100", "Lan")
    await lan.send_text("xin chào")
    await lan.send_text("1")
    first, second = await client.get_update(timeout=5), await client.get_update(timeout=5)
    assert first["event_name"] == "message.text.received"
    assert first["message"]["text"] == "xin chào" and first["message"]["chat"] == {"id": "u-100",
                                                                                   "chat_type": "PRIVATE"}
    assert first["message"]["from"]["display_name"] == "Lan" and second["message"]["text"] == "1"
    assert first["message"]["message_id"] != second["message"]["message_id"]
    assert await client.get_update(timeout=0) is None  # the platform's 408 "Request timeout"


async def test_long_poll_returns_when_a_user_writes(zalo, client):
    poll = asyncio.create_task(client.get_update(timeout=30))
    await asyncio.sleep(0)
    await zalo.user("u-1", "Minh").send_text("tiếp")
    update = await asyncio.wait_for(poll, 30)
    assert update["message"]["text"] == "tiếp"


async def test_send_message_limits(zalo, client):
    lan = zalo.user("u-2", "Lan")
    await client.send_message("u-2", "x" * TEXT_LIMIT)
    (seen,) = await lan.wait_for_replies(1)
    assert seen.text == "x" * TEXT_LIMIT
    for text in ("", "x" * (TEXT_LIMIT + 1)):
        with pytest.raises(ZaloError) as err:
            await client.send_message("u-2", text)
        assert err.value.code == 400
    with pytest.raises(ZaloError, match="chat not found"):
        await client.send_message("u-never-wrote", "chào")
    with pytest.raises(ZaloError, match="string"):
        await client.call("sendMessage", chat_id=2, text="số không phải chuỗi")


async def test_send_photo_fetches_the_url_from_parbot(zalo, client):
    lan = zalo.user("u-3", "Lan")
    await client.send_photo("u-3", "https://parbot.example/chart.png", caption="Biểu đồ")
    (seen,) = await lan.wait_for_replies(1)
    assert (seen.kind, seen.text, seen.photo) == ("photo", "Biểu đồ", PNG)
    with pytest.raises(ZaloError, match="text/html"):
        await client.send_photo("u-3", "https://parbot.example/page")
    with pytest.raises(ZaloError, match="404"):
        await client.send_photo("u-3", "https://parbot.example/missing.png")
    with pytest.raises(ZaloError, match="caption"):
        await client.send_photo("u-3", "https://parbot.example/chart.png", caption="x" * (TEXT_LIMIT + 1))


async def test_chat_action_typing_only(zalo, client):
    zalo.user("u-4", "Lan")
    assert await client.send_chat_action("u-4") is True
    with pytest.raises(ZaloError):
        await client.send_chat_action("u-4", "upload_document")
    assert zalo.emulator.users["u-4"].actions == ["typing"]


async def test_webhook_rules_secret_header_and_polling_refused(zalo, client, parbot_site):
    _, received = parbot_site
    with pytest.raises(ZaloError, match="HTTPS"):
        await client.set_webhook("http://parbot.example/zalo", "a-long-secret")
    for bad in ("short", "x" * 257):
        with pytest.raises(ZaloError, match="secret_token"):
            await client.set_webhook("https://parbot.example/zalo", bad)
    assert await client.set_webhook("https://parbot.example/zalo", "s3cret-token-ok")
    assert (await client.get_webhook_info())["url"] == "https://parbot.example/zalo"
    with pytest.raises(ZaloError) as err:
        await client.get_update(timeout=1)
    assert err.value.code == 409
    update = await zalo.user("u-5", "Hoa").send_image(PNG, mime_type="image/png", caption="minh chứng")
    assert received == [(update, "s3cret-token-ok")]
    assert update["event_name"] == "message.image.received"
    # The image a user sent is served where its photo_url says.
    async with __import__("aiohttp").ClientSession() as session:
        async with session.get(update["message"]["photo_url"]) as response:
            assert (response.status, await response.read()) == (200, PNG)
    assert await client.delete_webhook()
    await zalo.user("u-5", "Hoa").send_text("lại polling")
    assert (await client.get_update(timeout=5))["message"]["text"] == "lại polling"


async def test_unreachable_api_is_a_network_error_without_the_token():
    bot = ZaloClient("999:top-secret-token", api_base="http://127.0.0.1:9")
    with pytest.raises(ZaloNetworkError) as err:
        await bot.get_me()
    await bot.close()
    assert "top-secret-token" not in str(err.value)
