"""The visitor's session in a real Chromium: one localStorage key per integration, reload
(history, then live, no duplicate and no gap), two tabs, sessionTTL (rolling) and a
conversation closed by the business."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.webchat.scene import Scene, open_chat, say

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect

ACTIVITIES = "/api/v1/interactions/activities/"


def key_of(integration_id: str) -> str:
    return f"hubster-webchat:{integration_id.lower()}"


async def stored(page: Any, integration_id: str) -> dict[str, Any]:
    """The component's localStorage entry for this integration."""
    raw = await page.evaluate(
        f"localStorage.getItem({orjson.dumps(key_of(integration_id)).decode()})"
    )
    assert raw, "nothing stored for the integration"
    state: dict[str, Any] = orjson.loads(raw)
    return state


async def agent_bodies(scene: Scene, count: int) -> list[dict[str, Any]]:
    """The agent's webhook bodies (conversationId, activity), once `count` arrived."""
    await scene.agent_got(count)
    return [d.body for d in scene.receiver.at(scene.agent_name)]


def texts(dialog: Any) -> Any:
    """Every text bubble of the log, in order (the class the styles target)."""
    return dialog.get_by_role("log").locator(".msg .text")


async def test_session_lives_in_one_localstorage_key_per_integration(scene: Scene) -> None:
    # Given in upper case, the key is still the lowercased id.
    upper = scene.webchat_id.upper()
    page = await scene.new_page(url=scene.embed(f"integrationId: {orjson.dumps(upper).decode()}"))
    dialog = await open_chat(page)
    await say(dialog, "Where is my order?")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "On its way")
    await expect(texts(dialog)).to_have_text(["Where is my order?", "On its way"])

    keys = await page.evaluate("Object.keys(localStorage)")
    assert keys == [key_of(scene.webchat_id)]
    state = await stored(page, scene.webchat_id)
    assert state["conversationId"] == cid
    assert isinstance(state["token"], str) and state["token"].count(".") == 2  # a JWT
    # The cursor: the last event this browser handled (the agent's answer).
    history = await scene.client.get(
        f"{ACTIVITIES}{cid}?type=Customer&leid=0", headers=scene.tenant.engine
    )
    assert history.status_code == 200, history.text
    assert state["leid"] == max(a["eventId"] for a in history.json())

    # A second integration on the same page origin has its own key, its own conversation.
    other = await scene.add_webchat()
    page2 = await scene.new_page(
        page.context, scene.embed(f"integrationId: {orjson.dumps(other).decode()}")
    )
    dialog2 = await open_chat(page2)
    await say(dialog2, "Other shop")
    got = await agent_bodies(scene, 2)
    assert got[1]["activity"]["message"]["text"] == "Other shop"
    keys = sorted(await page2.evaluate("Object.keys(localStorage)"))
    assert keys == sorted([key_of(scene.webchat_id), key_of(other)])
    assert (await stored(page2, other))["conversationId"] == got[1]["conversationId"] != cid
    assert (await stored(page2, scene.webchat_id))["conversationId"] == cid


async def test_reload_shows_the_history_then_live_with_no_duplicate_and_no_gap(
    scene: Scene,
) -> None:
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Hello")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "one")
    await expect(texts(dialog)).to_have_text(["Hello", "one"])

    # The agent keeps talking while the page reloads, after the server answered the history
    # request and before the socket opens: exactly the gap a history-then-live start has.
    in_history: list[list[str]] = []

    async def hold_history(route: Any) -> None:
        response = await route.fetch()
        in_history.append([a["message"]["text"] for a in await response.json()])
        for text in ("two", "three"):
            await scene.agent_text(cid, text)
        await route.fulfill(response=response)

    await page.route(f"**{ACTIVITIES}**", hold_history, times=1)
    await page.reload()
    await expect(texts(dialog)).to_have_text(["Hello", "one", "two", "three"], timeout=10000)
    assert in_history == [["Hello", "one"]]  # two and three came live, after the cursor
    await scene.agent_text(cid, "four")
    # Open again (it was open) with everything exactly once, in order.
    await expect(texts(dialog)).to_have_text(
        ["Hello", "one", "two", "three", "four"], timeout=10000
    )
    assert (await stored(page, scene.webchat_id))["conversationId"] == cid
    await scene.agent_text(cid, "five")
    await expect(texts(dialog)).to_have_text(["Hello", "one", "two", "three", "four", "five"])
    # Live after the reload: the visitor still chats in the same conversation.
    await say(dialog, "Thanks")
    got = await agent_bodies(scene, 2)
    assert got[1]["conversationId"] == cid and got[1]["activity"]["message"]["text"] == "Thanks"
    await expect(texts(dialog)).to_have_text(
        ["Hello", "one", "two", "three", "four", "five", "Thanks"]
    )
    await expect(dialog.get_by_role("log").get_by_text("Thanks", exact=True)).to_have_count(1)
    assert scene.errors == []


async def test_two_tabs_show_the_same_conversation(scene: Scene) -> None:
    context = await scene.new_context()
    url = scene.embed()
    first = await scene.new_page(context, url)
    one = await open_chat(first)
    await say(one, "From tab one")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "Agent answers")
    await expect(texts(one)).to_have_text(["From tab one", "Agent answers"])

    second = await scene.new_page(context, url)
    # The session says the chat is open: the second tab opens it by itself.
    two = second.get_by_role("dialog", name="Chat")
    await expect(two).to_be_visible()
    await expect(texts(two)).to_have_text(["From tab one", "Agent answers"])
    assert await scene.visitor_conversation(second) == cid

    # Typed in the second tab: shown in both, once; the agent gets it once.
    await say(two, "From tab two")
    await expect(texts(one)).to_have_text(["From tab one", "Agent answers", "From tab two"])
    got = await agent_bodies(scene, 2)
    assert got[1]["conversationId"] == cid
    await scene.agent_text(cid, "Both see this")
    want = ["From tab one", "Agent answers", "From tab two", "Both see this"]
    await expect(texts(one)).to_have_text(want)
    await expect(texts(two)).to_have_text(want)
    await say(one, "And again from one")
    await expect(texts(two)).to_have_text([*want, "And again from one"])
    await expect(texts(one)).to_have_text([*want, "And again from one"])
    await agent_bodies(scene, 3)
    assert len(scene.receiver.at(scene.agent_name)) == 3


async def test_the_session_survives_closing_the_browser(scene: Scene) -> None:
    context = await scene.new_context()
    url = scene.embed()
    page = await scene.new_page(context, url)
    dialog = await open_chat(page)
    await say(dialog, "Remember me")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "I will")
    await expect(texts(dialog)).to_have_text(["Remember me", "I will"])
    kept = await context.storage_state()
    await context.close()
    scene.contexts.remove(context)

    # The browser restarts with its profile (localStorage) and nothing else.
    again = await scene.new_page(await scene.new_context(storage_state=kept), url)
    dialog = again.get_by_role("dialog", name="Chat")
    await expect(texts(dialog)).to_have_text(["Remember me", "I will"])
    assert await scene.visitor_conversation(again) == cid


async def test_a_new_conversation_after_session_ttl_without_activity(scene: Scene) -> None:
    """sessionTTL: 1 minute, rolling; the page's clock runs fast (Playwright's clock)."""
    page = await scene.new_page()
    await page.clock.install()
    closes: list[str] = []
    page.on("request", lambda r: closes.append(r.url) if r.url.endswith("/close") else None)
    await page.goto(scene.embed("sessionTTL: 1"))
    dialog = await open_chat(page)
    await say(dialog, "First visit")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "Welcome")
    await expect(texts(dialog)).to_have_text(["First visit", "Welcome"])

    # Rolling: activity within the TTL keeps the conversation, though 80 s passed in all.
    await page.clock.fast_forward(40_000)
    await say(dialog, "Still here")
    await agent_bodies(scene, 2)
    await page.clock.fast_forward(40_000)
    await page.reload()
    await expect(texts(dialog)).to_have_text(["First visit", "Welcome", "Still here"])
    assert await scene.visitor_conversation(page) == cid

    # 70 s without activity: a new conversation, the old history gone.
    await page.clock.fast_forward(70_000)
    await page.reload()
    await expect(dialog).to_be_visible()
    await say(dialog, "Back again")
    await expect(texts(dialog)).to_have_text(["Back again"])
    got = await agent_bodies(scene, 3)
    new_cid = got[2]["conversationId"]
    assert new_cid != cid and got[2]["activity"]["message"]["text"] == "Back again"
    assert await scene.visitor_conversation(page) == new_cid
    # The old one was closed server-side too (best effort: the answer is not the visitor's).
    assert any(f"/api/v1/conversations/{cid}/close" in url for url in closes)
    await scene.agent_text(new_cid, "Hello again")
    await expect(texts(dialog)).to_have_text(["Back again", "Hello again"])
    assert scene.errors == []


async def test_a_conversation_closed_by_the_business_continues_in_a_new_one(
    scene: Scene,
) -> None:
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await say(dialog, "Before")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "Done, closing")
    await expect(texts(dialog)).to_have_text(["Before", "Done, closing"])
    r = await scene.client.post(f"/api/v1/conversations/{cid}/close", headers=scene.tenant.engine)
    assert r.status_code == 200, r.text

    await say(dialog, "One more question")
    got = await agent_bodies(scene, 2)
    new_cid = got[1]["conversationId"]
    assert new_cid != cid and got[1]["activity"]["message"]["text"] == "One more question"
    await scene.agent_text(new_cid, "Sure")
    log = dialog.get_by_role("log")
    await expect(log.get_by_text("Sure", exact=True)).to_be_visible()
    await expect(log.get_by_text("One more question", exact=True)).to_have_count(1)
    await expect(log.get_by_text("Not delivered")).to_have_count(0)
    assert await scene.visitor_conversation(page) == new_cid
    # Sent once: the agent got nothing else.
    texts_at_agent = [d.activity["message"]["text"] for d in scene.receiver.at(scene.agent_name)]
    assert texts_at_agent == ["Before", "One more question"]
