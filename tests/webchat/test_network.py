"""The component over a bad network, in a real Chromium: reconnect with backoff after a server
restart, the offline queue, one Idempotency-Key per message, "Not delivered" with Retry, and
the visitor token renewed before it expires."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.engine.procs import server_env, start_server
from tests.engine.receiver import wait_for
from tests.webchat.conftest import HostSite
from tests.webchat.scene import Scene, open_chat, say
from tests.webchat.test_session import agent_bodies, stored, texts
from unihub.core.config import Settings

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect

INBOUND = "/inbound/customer/v1/web-chat/"
PAUSED, ACTIVE = 3002, 3000


def agent_texts(scene: Scene) -> list[str]:
    return [d.activity["message"]["text"] for d in scene.receiver.at(scene.agent_name)]


async def test_the_socket_reconnects_with_backoff_after_a_server_restart(
    client: Any,
    ctx: Any,
    tenant: Any,
    receiver: Any,
    host_site: HostSite,
    browser: Any,
    settings: Settings,
) -> None:
    # A server of this test's own (the scene's shared one lives for the whole session).
    env = server_env(settings.data_dir, settings.database_url)
    servers = [await start_server(env)]
    scene = Scene(client, ctx, tenant, receiver, servers[0], host_site, browser)
    try:
        await scene.setup()
        page = await scene.new_page(url=scene.embed())
        sockets: list[tuple[float, str]] = []
        page.on("websocket", lambda ws: sockets.append((time.monotonic(), ws.url)))
        dialog = await open_chat(page)
        await say(dialog, "Hi")
        cid = (await agent_bodies(scene, 1))[0]["conversationId"]
        last_seen = await scene.agent_text(cid, "before")
        await expect(texts(dialog)).to_have_text(["Hi", "before"])
        assert len(sockets) == 1

        port = urlparse(servers[0].base_url).port
        down_at = time.monotonic()
        servers[0].kill()
        await expect(dialog.get_by_text("Connection lost. Reconnecting…")).to_be_visible()
        # The agent talks while the server is down (the database is shared).
        for text in ("missed 1", "missed 2"):
            await scene.agent_text(cid, text)
        await asyncio.sleep(4)  # the down period the attempts are counted over
        tries = sockets[1:]
        servers.append(await start_server(env, port=port))

        # Not a tight loop: a few attempts, further and further apart.
        assert 2 <= len(tries) <= 6, tries
        assert tries[0][0] - down_at < 1.5
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(tries)]
        assert gaps and gaps[-1] > tries[0][0] - down_at, (down_at, tries)

        # The next attempt comes within the backoff's cap (30 s), however slow the restart.
        await expect(texts(dialog)).to_have_text(
            ["Hi", "before", "missed 1", "missed 2"], timeout=35000
        )
        await expect(dialog.get_by_text("Connection lost. Reconnecting…")).to_be_hidden()
        # Resumed from its cursor: the socket that got through asked after the last message.
        assert parse_qs(urlparse(sockets[-1][1]).query)["leid"] == [str(last_seen)]
        await scene.agent_text(cid, "after")
        await expect(texts(dialog)).to_have_text(["Hi", "before", "missed 1", "missed 2", "after"])
        await say(dialog, "Back online")
        await agent_bodies(scene, 2)
        assert agent_texts(scene) == ["Hi", "Back online"]
        assert scene.errors == []
    finally:
        await scene.close()
        for server in servers:
            server.stop()


async def test_messages_typed_offline_wait_and_are_sent_once_in_order(scene: Scene) -> None:
    context = await scene.new_context()
    page = await scene.new_page(context, scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Online first")
    await agent_bodies(scene, 1)

    await context.set_offline(True)
    await say(dialog, "Offline one")
    await say(dialog, "Offline two")
    log = dialog.get_by_role("log")
    await expect(texts(dialog)).to_have_text(["Online first", "Offline one", "Offline two"])
    await expect(log.get_by_text("Waiting for network…")).to_have_count(2)
    assert agent_texts(scene) == ["Online first"]

    await context.set_offline(False)
    await agent_bodies(scene, 3)
    await expect(log.get_by_text("Waiting for network…")).to_have_count(0)
    await expect(log.locator(".msg.pending")).to_have_count(0)  # normal bubbles again
    cid = await scene.visitor_conversation(page)
    await scene.agent_text(cid, "Got both")
    await expect(texts(dialog)).to_have_text(
        ["Online first", "Offline one", "Offline two", "Got both"]
    )
    assert agent_texts(scene) == ["Online first", "Offline one", "Offline two"]


async def test_a_retried_send_carries_the_same_idempotency_key(scene: Scene) -> None:
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Hi")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await expect(dialog.get_by_role("log").locator(".msg.pending")).to_have_count(0)

    attempts: list[dict[str, str]] = []

    async def lose_the_first_answer(route: Any) -> None:
        request = route.request
        if request.method != "POST":
            await route.fallback()
            return
        attempts.append(await request.all_headers())
        if len(attempts) == 1:
            await route.fetch()  # the server got it and answered ...
            await route.abort("connectionreset")  # ... but the answer never arrives
        else:
            await route.fallback()

    await page.route(f"**{INBOUND}**", lose_the_first_answer)
    await say(dialog, "Exactly once")
    await agent_bodies(scene, 2)
    await wait_for(lambda: len(attempts) >= 2, what="the component's retry")
    log = dialog.get_by_role("log")
    await expect(log.locator(".msg.pending")).to_have_count(0)
    await scene.agent_text(cid, "Seen it")
    await expect(texts(dialog)).to_have_text(["Hi", "Exactly once", "Seen it"])
    assert agent_texts(scene) == ["Hi", "Exactly once"]
    assert len(attempts) == 2
    keys = [a.get("idempotency-key") for a in attempts]
    assert keys[0] and keys[0] == keys[1], attempts
    await expect(log.get_by_text("Not delivered")).to_have_count(0)


async def test_a_refused_send_shows_not_delivered_and_retry_sends_it_once(scene: Scene) -> None:
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Hi")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await expect(dialog.get_by_role("log").locator(".msg.pending")).to_have_count(0)

    integration = f"/api/v1/integrations/{scene.webchat_id}"
    r = await scene.client.put(integration, json={"statusId": PAUSED}, headers=scene.tenant.portal)
    assert r.status_code == 200, r.text
    await say(dialog, "While paused")
    log = dialog.get_by_role("log")
    await expect(log.get_by_text("Not delivered")).to_be_visible(timeout=10000)
    retry = log.get_by_role("button", name="Retry")
    await expect(retry).to_be_visible()
    await scene.shot(page, "not-delivered")
    assert agent_texts(scene) == ["Hi"]

    r = await scene.client.put(integration, json={"statusId": ACTIVE}, headers=scene.tenant.portal)
    assert r.status_code == 200, r.text
    await retry.click()
    await agent_bodies(scene, 2)
    await expect(log.get_by_text("Not delivered")).to_have_count(0)
    await expect(retry).to_have_count(0)
    await scene.agent_text(cid, "Now I see it")
    await expect(texts(dialog)).to_have_text(["Hi", "While paused", "Now I see it"])
    assert agent_texts(scene) == ["Hi", "While paused"]


async def test_the_visitor_token_is_renewed_before_it_expires(scene: Scene) -> None:
    page = await scene.new_page()
    await page.clock.install()
    token_calls: list[str] = []
    sent_with: list[str] = []

    def watch(request: Any) -> None:
        if "/api/v1/integrations/web-chat/token/" in request.url:
            token_calls.append(request.url)
        if INBOUND in request.url and request.method == "POST":
            sent_with.append(request.headers.get("authorization", ""))

    page.on("request", watch)
    await page.goto(scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Hi")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    first = await stored(page, scene.webchat_id)
    assert len(token_calls) == 1 and sent_with == [f"Bearer {first['token']}"]

    # 50 minutes on (the token lives 60): still the same token, no new request.
    await page.clock.fast_forward("50:00")
    await scene.agent_text(cid, "Fifty minutes later")
    await expect(texts(dialog)).to_have_text(["Hi", "Fifty minutes later"])
    assert len(token_calls) == 1
    assert (await stored(page, scene.webchat_id))["token"] == first["token"]

    # 56 minutes: renewed ahead of the expiry, by itself.
    await page.clock.fast_forward("06:00")
    await wait_for(lambda: len(token_calls) == 2, what="the token renewal")

    async def renewed() -> dict[str, Any]:
        for _ in range(100):
            state = await stored(page, scene.webchat_id)
            if state["token"] != first["token"]:
                return state
            await asyncio.sleep(0.05)
        raise AssertionError("the stored token did not change")

    second = await renewed()
    assert second["tokenExp"] > first["tokenExp"]
    # The chat keeps working, with the new token.
    await say(dialog, "Still here")
    await agent_bodies(scene, 2)
    assert sent_with[-1] == f"Bearer {second['token']}"
    await scene.agent_text(cid, "Yes")
    await expect(texts(dialog)).to_have_text(["Hi", "Fifty minutes later", "Still here", "Yes"])
    assert len(token_calls) == 2


async def test_a_message_whose_answer_was_lost_is_sent_once_across_a_reload(
    scene: Scene,
) -> None:
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Hi")
    await agent_bodies(scene, 1)
    await expect(dialog.get_by_role("log").locator(".msg.pending")).to_have_count(0)

    keys: list[str | None] = []
    losing = asyncio.Event()
    losing.set()
    reached = asyncio.Event()

    async def lose_answers(route: Any) -> None:
        request = route.request
        if request.method != "POST":
            await route.fallback()
            return
        keys.append((await request.all_headers()).get("idempotency-key"))
        if not losing.is_set():
            await route.fallback()
            return
        if not reached.is_set():
            await route.fetch()  # the server has it; the browser never hears back
            reached.set()
        await route.abort("connectionreset")

    await page.route(f"**{INBOUND}**", lose_answers)
    await say(dialog, "Lost answer")
    await asyncio.wait_for(reached.wait(), 10)
    await agent_bodies(scene, 2)
    # The visitor reloads while the message is still "sending": it stays queued.
    await page.reload()
    losing.clear()
    await expect(texts(dialog)).to_have_text(["Hi", "Lost answer"], timeout=10000)
    await expect(dialog.get_by_role("log").locator(".msg.pending")).to_have_count(0)
    cid = await scene.visitor_conversation(page)
    await scene.agent_text(cid, "Got it once")
    await expect(texts(dialog)).to_have_text(["Hi", "Lost answer", "Got it once"])
    assert agent_texts(scene) == ["Hi", "Lost answer"]
    assert len(keys) >= 2 and len(set(keys)) == 1 and keys[0], keys


async def test_two_offline_tabs_send_a_queued_message_once(scene: Scene) -> None:
    context = await scene.new_context()
    url = scene.embed()
    first = await scene.new_page(context, url)
    one = await open_chat(first)
    await say(one, "Hi")
    await agent_bodies(scene, 1)
    second = await scene.new_page(context, url)
    two = second.get_by_role("dialog", name="Chat")
    await expect(texts(two)).to_have_text(["Hi"])

    await context.set_offline(True)  # both tabs
    await say(one, "Typed offline")
    await expect(one.get_by_text("Waiting for network…")).to_be_visible()
    await context.set_offline(False)  # both tabs flush the shared queue
    await agent_bodies(scene, 2)
    for dialog in (one, two):
        await expect(texts(dialog)).to_have_text(["Hi", "Typed offline"])
        await expect(dialog.get_by_role("log").locator(".msg.pending")).to_have_count(0)
    cid = await scene.visitor_conversation(first)
    await scene.agent_text(cid, "Once")
    for dialog in (one, two):
        await expect(texts(dialog)).to_have_text(["Hi", "Typed offline", "Once"])
    assert agent_texts(scene) == ["Hi", "Typed offline"]


async def test_a_network_failure_while_reconnecting_keeps_the_chat(scene: Scene) -> None:
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Hi")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "one")
    await expect(texts(dialog)).to_have_text(["Hi", "one"])

    # After the reload the history request fails twice, as on a flaky network.
    async def drop(route: Any) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/api/v1/interactions/activities/**", drop, times=2)
    await page.reload()
    await scene.agent_text(cid, "two")
    await expect(texts(dialog)).to_have_text(["Hi", "one", "two"], timeout=10000)
    await expect(dialog.get_by_text("Connection lost. Reconnecting…")).to_be_hidden()
    await expect(page.get_by_text("Chat cannot connect right now.")).to_have_count(0)
    await scene.agent_text(cid, "three")
    await expect(texts(dialog)).to_have_text(["Hi", "one", "two", "three"])


async def test_a_send_failing_every_attempt_is_not_delivered_and_retry_keeps_its_key(
    scene: Scene,
) -> None:
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Hi")
    await agent_bodies(scene, 1)
    await expect(dialog.get_by_role("log").locator(".msg.pending")).to_have_count(0)

    keys: list[str | None] = []
    failing = True
    unavailable = {"errors": [{"code": "ENG000503", "description": "Service unavailable"}]}

    async def unavailable_server(route: Any) -> None:
        request = route.request
        if request.method != "POST":
            await route.fallback()
            return
        keys.append((await request.all_headers()).get("idempotency-key"))
        if failing:  # never reaches the server
            await route.fulfill(
                status=503,
                json=unavailable,
                headers={"Access-Control-Allow-Origin": "*"},
            )
        else:
            await route.fallback()

    await page.route(f"**{INBOUND}**", unavailable_server)
    await say(dialog, "Are you there?")
    log = dialog.get_by_role("log")
    await expect(log.get_by_text("Not delivered")).to_be_visible(timeout=10000)
    tries = len(keys)
    assert 2 <= tries <= 5, keys  # a few attempts, then it says so
    assert agent_texts(scene) == ["Hi"]

    failing = False
    await log.get_by_role("button", name="Retry").click()
    await agent_bodies(scene, 2)
    await expect(log.get_by_text("Not delivered")).to_have_count(0)
    await expect(log.locator(".msg.pending")).to_have_count(0)
    assert len(keys) == tries + 1 and len(set(keys)) == 1 and keys[0], keys
    cid = await scene.visitor_conversation(page)
    await scene.agent_text(cid, "Yes")
    await expect(texts(dialog)).to_have_text(["Hi", "Are you there?", "Yes"])
    assert agent_texts(scene) == ["Hi", "Are you there?"]
