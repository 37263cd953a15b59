"""Transfers in a real Chromium: an agent types `::trans [-force] -n <name>` and the hub's
transfer command reaches the visitor as a link (`linkDescription` to `url`); a forced one
navigates at once; on the target page the component opens after `mountDelay` (< 0: not at
all) and continues the same conversation; read back from history it is only a link."""

from __future__ import annotations

from typing import Any

import pytest

from tests.webchat.scene import Scene, open_chat, say
from tests.webchat.test_session import agent_bodies, texts

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect

# The target page says when the component opened, in ms since its navigation started.
ON_MOUNT = (
    "onMount: (m) => { if (m && window.mountedAt === undefined)"
    " window.mountedAt = performance.now(); }"
)


async def transfer_command(scene: Scene, url: str, mount_delay: int, name: str = "cart") -> None:
    r = await scene.client.post(
        f"/api/v1/commands/transfers/{scene.hub_id}",
        json={
            "name": name,
            "url": url,
            "linkDescription": "Go to your cart",
            "mountDelay": mount_delay,
        },
        headers=scene.tenant.portal,
    )
    assert r.status_code == 200, r.text


async def chatting(scene: Scene, url: str) -> tuple[Any, Any, str]:
    """A visitor on `url` who said Hi and got an answer: (page, dialog, conversation id)."""
    page = await scene.new_page(url=url)
    dialog = await open_chat(page)
    await say(dialog, "Hi")
    cid = (await agent_bodies(scene, 1))[0]["conversationId"]
    await scene.agent_text(cid, "Let me show you")
    await expect(texts(dialog)).to_have_text(["Hi", "Let me show you"])
    return page, dialog, cid


async def test_a_transfer_is_a_link_and_the_target_page_opens_after_mount_delay(
    scene: Scene,
) -> None:
    target = scene.embed(ON_MOUNT)
    await transfer_command(scene, target, 1500)
    page, dialog, cid = await chatting(scene, scene.embed())
    await scene.agent_text(cid, "::trans -n CART")

    link = dialog.get_by_role("link", name="Go to your cart")
    await expect(link).to_have_attribute("href", target)
    await scene.shot(page, "transfer-link")
    assert page.url != target  # not forced: it waits for the visitor
    await link.click()
    await page.wait_for_url(target)

    again = page.get_by_role("dialog", name="Chat")
    await expect(again).to_be_visible(timeout=10000)
    mounted_at = await page.evaluate("window.mountedAt")
    assert mounted_at >= 1500, mounted_at
    # The same conversation, its history shown, and it goes on.
    assert await scene.visitor_conversation(page) == cid
    await expect(texts(again)).to_have_text(["Hi", "Let me show you"])
    await expect(again.get_by_role("link", name="Go to your cart")).to_be_visible()
    await say(again, "I'm on the cart page")
    got = await agent_bodies(scene, 2)
    assert got[1]["conversationId"] == cid
    assert scene.outside == [] and scene.errors == []


async def test_a_forced_transfer_navigates_once_and_history_only_shows_it(
    scene: Scene,
) -> None:
    target = scene.embed(ON_MOUNT)
    await transfer_command(scene, target, 0)
    start = scene.embed()
    page, _dialog, cid = await chatting(scene, start)
    await scene.agent_text(cid, "::trans -force -n cart")
    await page.wait_for_url(target)  # at once, no click

    dialog = page.get_by_role("dialog", name="Chat")
    await expect(dialog).to_be_visible()
    assert await scene.visitor_conversation(page) == cid
    await expect(texts(dialog)).to_have_text(["Hi", "Let me show you"])
    await expect(dialog.get_by_role("link", name="Go to your cart")).to_be_visible()

    # Read back from history (a reload of the target page, a second tab on the first page):
    # the link, and no navigation.
    navigations: list[str] = []
    page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
    await page.reload()
    second = await scene.new_page(page.context, start)
    second_dialog = second.get_by_role("dialog", name="Chat")
    for d in (dialog, second_dialog):
        await expect(d.get_by_role("link", name="Go to your cart")).to_be_visible()
    # A live round trip later, both pages are still where they were.
    await scene.agent_text(cid, "Here it is")
    for d in (dialog, second_dialog):
        await expect(texts(d)).to_have_text(["Hi", "Let me show you", "Here it is"])
    assert second.url == start
    assert navigations == [target]  # the reload only
    assert scene.errors == []


async def test_a_negative_mount_delay_keeps_the_component_closed_on_the_target(
    scene: Scene,
) -> None:
    target = scene.embed(ON_MOUNT)
    await transfer_command(scene, target, -1)
    page, _dialog, cid = await chatting(scene, scene.embed())
    await scene.agent_text(cid, "::trans -force -n cart")
    await page.wait_for_url(target)

    launcher = page.get_by_role("button", name="Open chat")
    await expect(launcher).to_be_visible()
    # The conversation goes on behind the launcher: a new message is counted, not shown.
    await scene.agent_text(cid, "Whenever you are ready")
    await expect(launcher).to_have_accessible_description("1 new message")
    await expect(page.get_by_role("dialog", name="Chat")).to_be_hidden()
    assert await page.evaluate("window.mountedAt") is None

    dialog = await open_chat(page)
    await expect(texts(dialog)).to_have_text(["Hi", "Let me show you", "Whenever you are ready"])
    assert await scene.visitor_conversation(page) == cid
