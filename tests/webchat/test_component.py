"""The <hubster-webchat> component in a real Chromium, on a page of another origin, against a
real `unihub serve` process: found by role and accessible name, as a visitor uses it."""

from __future__ import annotations

import pytest

from tests.webchat.scene import XSS, Scene, shadow

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect


async def test_visitor_chats_with_a_direct_agent(scene: Scene) -> None:
    url = scene.embed()
    assert not url.startswith(scene.server.base_url)  # another origin (another port)
    page = await scene.new_page(url=url)
    await page.get_by_role("button", name="Open chat").click()
    dialog = page.get_by_role("dialog", name="Chat")
    await expect(dialog).to_be_visible()
    box = dialog.get_by_role("textbox")
    await expect(box).to_have_attribute("placeholder", "Please type here...")
    await box.fill("Hello")
    await box.press("Enter")
    log = dialog.get_by_role("log")
    await expect(log.get_by_text("Hello", exact=True)).to_be_visible()
    await expect(box).to_have_value("")

    got = await scene.agent_got(1, "the visitor's Hello at the agent")
    assert got[0]["message"]["text"] == "Hello"
    assert got[0]["sender"]["integrationId"] == scene.webchat_id
    cid = await scene.visitor_conversation(page)

    await scene.agent_text(cid, f"Hi! {XSS}")
    await expect(log.get_by_text(f"Hi! {XSS}", exact=True)).to_be_visible()
    # Literal text: no element was made of it and nothing ran.
    assert await shadow(page, "root.querySelectorAll('img').length") == 0
    assert scene.alerts == [] and scene.errors == []
    await scene.shot(page, "text")
    # One bubble for the visitor's Hello (the socket echo is de-duplicated).
    await expect(log.get_by_text("Hello", exact=True)).to_have_count(1)

    await dialog.get_by_role("button", name="Close chat").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    assert scene.outside == []
