"""Every configuration property and callback of the reference (1_webchat_config.rst) in a real
Chromium: endpoints defaulting to the script's origin, every `styles` key (camelCase and
hyphenated), the styling gallery without a request, openOnNewMessage, hideCloseIcon,
fullWindow, mountOnLoad, onMount, onReceivedActivity, onBeforeActivitySend, onConversation,
the integration's start messages, the error notices, and the keyboard."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any
from uuid import UUID

import orjson
import pytest
from sqlalchemy import select

from tests.engine.factories import make_integration
from tests.webchat.scene import Scene, host_page, js, open_chat, shadow
from unihub.conversations.models import Conversation

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect

VARIANTS = ("primary", "info", "secondary", "success", "warning", "danger")
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    '<circle cx="32" cy="32" r="30" fill="#ffd23f"/></svg>'
)


def typed(variant: str) -> list[dict[str, Any]]:
    """The Webchat `type` metadata of a button (4_activities.rst)."""
    return [{"type": "Webchat", "metadata": [{"key": "type", "value": variant}]}]


async def serve_logo(context: Any, scene: Scene) -> str:
    """An icon URL on the host site (a route of this context answers it with an SVG)."""
    url = f"{scene.site.base_url}/logo-{uuid.uuid4().hex[:6]}.svg"

    async def fulfil(route: Any) -> None:
        await route.fulfill(body=LOGO, content_type="image/svg+xml")

    await context.route(url, fulfil)
    return url


async def style_of(page: Any, selector: str, *props: str, pseudo: str | None = None) -> Any:
    """The computed `props` of the first shadow-root element matching `selector`."""
    return await shadow(
        page,
        f"(() => {{ const n = root.querySelector({js(selector)}); if (!n) return null;"
        f" const s = getComputedStyle(n, {js(pseudo)});"
        f" return Object.fromEntries({js(list(props))}"
        f".map(p => [p, s.getPropertyValue(p)])); }})()",
    )


async def until(page: Any, condition: str, timeout: float = 5000) -> None:
    """Wait until the JavaScript `condition` (with `root` = the shadow root) holds."""
    await page.wait_for_function(
        f"() => {{ const root = document.querySelector('hubster-webchat').shadowRoot;"
        f" return {condition}; }}",
        timeout=timeout,
    )


async def say(dialog: Any, text: str) -> None:
    box = dialog.get_by_role("textbox")
    await box.fill(text)
    await box.press("Enter")
    await expect(dialog.get_by_role("log").get_by_text(text, exact=True)).to_be_visible()


async def chatting(scene: Scene, extra: str = "", title: str = "Chat") -> tuple[Any, Any, str]:
    """A page whose visitor said "Hello" (so a conversation exists): page, dialog, its id."""
    page = await scene.new_page(url=scene.embed(extra))
    dialog = await open_chat(page, title)
    await say(dialog, "Hello")
    await scene.agent_got(1, "the visitor's Hello at the agent")
    return page, dialog, await scene.visitor_conversation(page)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- endpoints --------------------------------------------------------------------------------


async def test_endpoints_default_to_the_origin_the_script_came_from(scene: Scene) -> None:
    config = js({"integrationId": scene.webchat_id})  # no engineEndpoint, no eventsEndpoint
    page = await scene.new_page(url=scene.page_url(host_page(scene.server, config)))
    dialog = await open_chat(page)
    await say(dialog, "Hello without endpoints")
    got = await scene.agent_got(1, "the visitor's message at the agent")
    assert got[0]["message"]["text"] == "Hello without endpoints"
    cid = await scene.visitor_conversation(page)
    await scene.agent_text(cid, "Answered through the script's origin")  # the socket, live
    await expect(dialog.get_by_text("Answered through the script's origin")).to_be_visible(
        timeout=10000
    )
    assert scene.errors == [] and scene.outside == []


# --- styles -----------------------------------------------------------------------------------


async def test_blue_theme_header_footer_mount_and_bubbles(scene: Scene) -> None:
    """The reference's blue sample: header {title, iconUrl, style}, mount {iconUrl, style with
    bottom/right/z-index}, the three bubbles, chatBackgroundColor, footer {maxInputHeight,
    placeholderText}; hyphenated keys (`'z-index'`, `'background-color'`) beside camelCase."""
    assert scene.agent is not None
    bot = await make_integration(
        scene.ctx.db, scene.ctx.box, scene.tenant.tenant_id, scene.hub_id, integration_type="Bot"
    )
    context = await scene.new_context()
    header_icon = await serve_logo(context, scene)
    mount_icon = await serve_logo(context, scene)
    styles = {
        "chatBackgroundColor": "#eef4fb",
        "header": {
            "title": "My Company Title",
            "iconUrl": header_icon,
            "style": {"backgroundColor": "#004F99", "color": "rgb(255, 250, 240)"},
        },
        "mount": {
            "iconUrl": mount_icon,
            "style": {
                "background-color": "#004F99",
                "bottom": "5rem",
                "right": ".9rem",
                "z-index": "100",
            },
        },
        "userTextMessage": {"backgroundColor": "#3566BF", "color": "rgb(255, 255, 254)"},
        "agentTextMessage": {"color": "#22186e", "background-color": "#ECECEC"},
        "botTextMessage": {"color": "rgb(10, 90, 20)", "backgroundColor": "rgb(220, 245, 220)"},
        "footer": {"maxInputHeight": "40px", "placeholderText": "Ask the shop..."},
    }
    page = await scene.new_page(context, scene.embed(f"styles: {js(styles)}"))
    launcher = page.get_by_role("button", name="Open chat")
    await expect(launcher).to_be_visible()
    assert await style_of(page, ".launcher", "background-color") == {
        "background-color": "rgb(0, 79, 153)"
    }
    # The mount's position goes to the fixed host: 5rem from the bottom, .9rem from the right.
    host = await page.locator("hubster-webchat").evaluate(
        "e => { const s = getComputedStyle(e); return [s.bottom, s.right, s.zIndex]; }"
    )
    assert host == ["80px", "14.4px", "100"]
    box = await launcher.bounding_box()
    viewport = page.viewport_size
    assert abs(viewport["height"] - (box["y"] + box["height"]) - 80) <= 1
    assert abs(viewport["width"] - (box["x"] + box["width"]) - 14.4) <= 1
    icon = launcher.locator("img")
    await expect(icon).to_have_attribute("src", mount_icon)
    await until(page, "root.querySelector('.launcher img').naturalWidth > 0")  # it loaded

    dialog = await open_chat(page, "My Company Title")
    await expect(dialog.get_by_role("heading", name="My Company Title")).to_be_visible()
    assert await style_of(page, "header", "background-color", "color") == {
        "background-color": "rgb(0, 79, 153)",
        "color": "rgb(255, 250, 240)",
    }
    await expect(dialog.locator("header img")).to_have_attribute("src", header_icon)
    box_input = dialog.get_by_role("textbox", name="Ask the shop...")
    await expect(box_input).to_have_attribute("placeholder", "Ask the shop...")
    assert await style_of(page, "textarea", "max-height") == {"max-height": "40px"}
    assert await style_of(page, ".log", "background-color") == {
        "background-color": "rgb(238, 244, 251)"
    }

    await say(dialog, "I would like a blue chat")
    await scene.agent_got(1, "the visitor's message at the agent")
    cid = await scene.visitor_conversation(page)
    # The bot (in the hub before the conversation began) holds it; then an agent takes over.
    await scene.agent_sends(cid, {"type": "text", "text": "A bot answers in green"}, sender=bot.id)
    await expect(dialog.get_by_text("A bot answers in green")).to_be_visible(timeout=10000)
    r = await scene.client.post(
        f"/api/v1/conversations/{cid}/control",
        json={"action": "takeover", "integrationId": scene.agent.id},
        headers=scene.tenant.engine,
    )
    assert r.status_code == 200, r.text
    await scene.agent_text(cid, "An agent answers in grey")
    log = dialog.get_by_role("log")
    await expect(log.get_by_text("An agent answers in grey")).to_be_visible(timeout=10000)
    bubbles = await shadow(
        page,
        "[...root.querySelectorAll('.msg')].map(m => { const b = m.querySelector('.bubble');"
        " const s = getComputedStyle(b); return [m.className, b.textContent,"
        " s.backgroundColor, s.color]; })",
    )
    by_text = {text: (cls.split(), bg, fg) for cls, text, bg, fg in bubbles}
    user = by_text["I would like a blue chat"]
    agent = by_text["An agent answers in grey"]
    bot_row = by_text["A bot answers in green"]
    assert "customer" in user[0] and user[1:] == ("rgb(53, 102, 191)", "rgb(255, 255, 254)")
    assert "agent" in agent[0] and agent[1:] == ("rgb(236, 236, 236)", "rgb(34, 24, 110)")
    assert "bot" in bot_row[0] and bot_row[1:] == ("rgb(220, 245, 220)", "rgb(10, 90, 20)")
    # maxInputHeight caps the growing textarea.
    await box_input.fill("one\ntwo\nthree\nfour\nfive")
    await box_input.dispatch_event("input")
    assert (await box_input.bounding_box())["height"] <= 40.5
    await box_input.fill("")
    # The chat background reaches the footer: no strip of another colour between them.
    gap = await shadow(
        page,
        "root.querySelector('footer').getBoundingClientRect().top"
        " - root.querySelector('.log').getBoundingClientRect().bottom",
    )
    assert gap == 0
    await scene.shot(page, "blue-theme")
    assert scene.errors == []


def palette(group: int, variant: int, hover: bool) -> str:
    """A distinct colour per group, variant and state."""
    return f"rgb({20 + group * 40}, {10 + variant * 35}, {200 if hover else 60})"


GROUPS = ("buttons", "quickReplies", "links", "listButtons", "listItemButtons")
SELECTORS = {
    "buttons": ".postback",
    "quickReplies": ".quick",
    "links": ".link",
    "listButtons": ".list-btn",
    "listItemButtons": ".item-btn",
}


def button_styles() -> dict[str, Any]:
    """Every group x variant x Hover, alternating camelCase and hyphenated keys."""
    styles: dict[str, Any] = {}
    for g, group in enumerate(GROUPS):
        entry: dict[str, Any] = {}
        for v, variant in enumerate(VARIANTS):
            bg = "backgroundColor" if v % 2 == 0 else "background-color"
            border = "borderColor" if v % 2 == 0 else "border-color"
            entry[variant] = {bg: palette(g, v, False), border: palette(g, v, False)}
            hover = f"{variant}Hover" if v % 2 == 0 else f"{variant}-hover"
            entry[hover] = {bg: palette(g, v, True), "textDecoration": "underline"}
        styles[group] = entry
    return styles


async def test_every_button_group_and_variant_with_its_hover(scene: Scene) -> None:
    """buttons, quickReplies, links, listButtons, listItemButtons: the six variants and their
    Hover styles, read as computed styles before and while Playwright's mouse is over each."""
    page, dialog, cid = await chatting(scene, f"styles: {js(button_styles())}")
    actions: list[dict[str, Any]] = []
    for variant in VARIANTS:
        actions.append(
            {
                "type": "postback",
                "title": f"pb-{variant}",
                "payload": variant,
                "channels": typed(variant),
            }
        )
        actions.append(
            {
                "type": "link",
                "title": f"ln-{variant}",
                "url": "https://example.com",
                "channels": typed(variant),
            }
        )
        actions.append(
            {
                "type": "reply",
                "title": f"qr-{variant}",
                "payload": variant,
                "channels": typed(variant),
            }
        )
    await scene.agent_sends(cid, {"type": "text", "text": "Every button", "actions": actions})
    item_actions = [
        {"type": "postback", "title": f"it-{v}", "payload": v, "channels": typed(v)}
        for v in VARIANTS
    ]
    list_actions = [
        {"type": "postback", "title": f"ls-{v}", "payload": v, "channels": typed(v)}
        for v in VARIANTS
    ]
    await scene.agent_sends(
        cid,
        {
            "type": "list",
            "items": [{"title": "An item", "content": "With buttons", "actions": item_actions}],
            "actions": list_actions,
        },
    )
    log = dialog.get_by_role("log")
    await expect(log.get_by_role("button", name="ls-danger")).to_be_visible(timeout=10000)
    prefixes = {
        "buttons": "pb",
        "quickReplies": "qr",
        "links": "ln",
        "listButtons": "ls",
        "listItemButtons": "it",
    }
    for g, group in enumerate(GROUPS):
        for v, variant in enumerate(VARIANTS):
            name = f"{prefixes[group]}-{variant}"
            role = "link" if group == "links" else "button"
            control = log.get_by_role(role, name=name, exact=True)
            await expect(control).to_have_class(f"btn {SELECTORS[group][1:]} {variant}")
            await page.mouse.move(0, 0)
            await expect(control).to_have_css("background-color", palette(g, v, False))
            await expect(control).to_have_css("border-top-color", palette(g, v, False))
            await control.hover()
            await expect(control).to_have_css("background-color", palette(g, v, True))
            await expect(control).to_have_css("text-decoration-line", "underline")
    assert scene.errors == []


# --- styling: the gallery ---------------------------------------------------------------------


async def test_styling_shows_every_part_at_once_and_asks_the_server_nothing(scene: Scene) -> None:
    context = await scene.new_context()
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    styles = {
        "buttons": {"danger": {"backgroundColor": "rgb(1, 2, 3)"}},
        "header": {"title": "Styling my chat"},
    }
    url = scene.embed(f"styling: true, styles: {js(styles)}")
    page = await scene.new_page(context, url)
    dialog = page.get_by_role("dialog", name="Styling my chat")
    await expect(dialog).to_be_visible()  # open at once, no click
    log = dialog.get_by_role("log")
    for text in (
        "userTextMessage",
        "agentTextMessage",
        "botTextMessage",
        "Postback buttons",
        "Link buttons",
        "Quick replies",
        "Year end report",
        "Eva Green",
        "Card title",
        "Not delivered",
        "A transfer link",
    ):
        await expect(log.get_by_text(text).first).to_be_visible()
    for variant in VARIANTS:
        await expect(log.get_by_role("button", name=variant, exact=True)).to_have_count(2)
        await expect(log.get_by_role("link", name=variant, exact=True)).to_have_count(1)
    await expect(log.get_by_role("button", name=VARIANTS[-1], exact=True).first).to_have_css(
        "background-color", "rgb(1, 2, 3)"
    )  # the styles apply to the gallery
    await expect(log.get_by_role("region", name="Carousel")).to_be_visible()
    await expect(log.get_by_role("list")).to_be_visible()
    await expect(log.get_by_role("img", name="Sample image")).to_be_visible()
    await expect(log.get_by_role("status", name="Typing")).to_be_visible()
    await shadow(page, "root.querySelector('.log').scrollTop = 0")
    await scene.shot(page, "styling")
    # Typing and pressing buttons stays in the page: still nothing is asked of the server.
    box = dialog.get_by_role("textbox")
    await box.fill("Styled text")
    await box.press("Enter")
    await expect(log.get_by_text("Styled text", exact=True)).to_be_visible()
    await log.get_by_role("button", name="primary", exact=True).first.click()
    await dialog.get_by_role("button", name="Close chat").click()
    await page.get_by_role("button", name="Open chat").click()
    await expect(dialog).to_be_visible()
    await page.wait_for_load_state("networkidle")

    script = f"{scene.server.base_url}/webchat/hubster-webchat.js"
    to_server = [u for u in requests if u.startswith(scene.server.base_url)]
    assert to_server == [script]
    assert all(u.startswith(("http://127.0.0.1", "data:")) for u in requests), requests
    assert scene.outside == [] and scene.errors == []
    assert await page.evaluate("localStorage.length") == 0  # no session either


# --- window behaviour -------------------------------------------------------------------------


async def test_open_on_new_message_opens_else_the_launcher_counts_unread(scene: Scene) -> None:
    """Two visitors (two browsers) close their chats; an agent message arrives for each."""
    pages, cids = [], []
    for n, extra in enumerate(("openOnNewMessage: true", "")):
        page = await scene.new_page(url=scene.embed(extra))
        dialog = await open_chat(page)
        await say(dialog, f"Hello {n}")
        await scene.agent_got(n + 1, f"visitor {n}'s Hello at the agent")
        cids.append(await scene.visitor_conversation(page))
        await dialog.get_by_role("button", name="Close chat").click()
        await expect(dialog).to_be_hidden()
        pages.append(page)
    opening, counting = pages

    await scene.agent_text(cids[0], "Are you still there?")
    dialog = opening.get_by_role("dialog", name="Chat")
    await expect(dialog).to_be_visible(timeout=10000)  # opened by itself
    await expect(dialog.get_by_text("Are you still there?")).to_be_visible()

    launcher = counting.get_by_role("button", name="Open chat")
    await scene.agent_text(cids[1], "First answer")
    await expect(launcher).to_have_accessible_description("1 new message", timeout=10000)
    await scene.agent_text(cids[1], "Second answer")
    await expect(launcher).to_have_accessible_description("2 new messages", timeout=10000)
    await expect(launcher.locator(".badge")).to_have_text("2")
    dialog = counting.get_by_role("dialog", name="Chat")
    await expect(dialog).to_be_hidden()  # stays closed
    await launcher.click()
    await expect(dialog.get_by_text("Second answer")).to_be_visible()
    await dialog.get_by_role("button", name="Close chat").click()
    await expect(launcher.locator(".badge")).to_be_hidden()  # read: the count is gone


async def test_hide_close_icon_leaves_no_way_to_close(scene: Scene) -> None:
    page = await scene.new_page(url=scene.embed("hideCloseIcon: true"))
    dialog = await open_chat(page)
    await expect(dialog.get_by_role("button", name="Close chat")).to_have_count(0)
    await dialog.get_by_role("textbox").press("Escape")
    await expect(dialog).to_be_visible()
    # No way to close, so no focus wrap either: Tab leaves the chat for the page.
    await dialog.get_by_role("button", name="Send").focus()
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.tagName") != "HUBSTER-WEBCHAT"
    # Without the option, the same page has the button (and Escape closes).
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    await expect(dialog.get_by_role("button", name="Close chat")).to_be_visible()
    await dialog.get_by_role("textbox").press("Escape")
    await expect(dialog).to_be_hidden()


async def test_full_window_covers_the_viewport(scene: Scene) -> None:
    """Even with the mount positioned by its style (the reference's blue sample)."""
    mount = {"style": {"bottom": "5rem", "right": ".9rem", "z-index": "100"}}
    page = await scene.new_page(
        url=scene.embed(f"fullWindow: true, styles: {js({'mount': mount})}")
    )
    dialog = await open_chat(page)
    box = await dialog.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 1280, "height": 720}
    await dialog.get_by_role("button", name="Close chat").click()
    launcher = page.get_by_role("button", name="Open chat")
    box = await launcher.bounding_box()
    assert box["width"] < 100 and box["x"] > 1100  # closed: the launcher in its corner
    assert abs(720 - (box["y"] + box["height"]) - 80) <= 1  # 5rem up, as its style says
    # Without it, the window is a panel in the corner.
    page = await scene.new_page(url=scene.embed())
    dialog = await open_chat(page)
    box = await dialog.bounding_box()
    assert box["width"] < 400 and box["height"] < 720


# --- callbacks --------------------------------------------------------------------------------

RECORD = """onMount(mounted) {
    (window.mounts = window.mounts || []).push([mounted, performance.now()]);
}"""


async def test_mount_on_load_delays_the_opening_or_prevents_it(scene: Scene) -> None:
    """mountOnLoad() returning 0 and 500 opens after that many ms; -1 does not open."""
    for delay in (0, 500):
        extra = f"mountOnLoad() {{ window.asked = performance.now(); return {delay}; }}, {RECORD}"
        page = await scene.new_page(url=scene.embed(extra))  # a browser of its own each
        dialog = page.get_by_role("dialog", name="Chat")
        await expect(dialog).to_be_visible()
        mounts = await page.evaluate("window.mounts")
        waited = mounts[0][1] - await page.evaluate("window.asked")
        assert mounts[0][0] is True and len(mounts) == 1
        assert delay <= waited < delay + 1500, (delay, waited)
        await expect(page.get_by_role("button", name="Open chat")).to_be_hidden()

    extra = f"mountOnLoad() {{ window.asked = (window.asked || 0) + 1; return -1; }}, {RECORD}"
    page = await scene.new_page(url=scene.embed(extra))
    await expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    assert await page.evaluate("window.asked") == 1  # asked once the launcher shows
    # Give a wrong implementation the time to open anyway, then check that it did not.
    await page.wait_for_timeout(1000)
    await expect(page.get_by_role("dialog")).to_be_hidden()
    assert await page.evaluate("window.mounts") is None


async def test_on_mount_is_called_true_on_open_and_false_on_close(scene: Scene) -> None:
    page = await scene.new_page(url=scene.embed(RECORD))
    await open_chat(page)
    await page.get_by_role("button", name="Close chat").click()
    await open_chat(page)
    await page.get_by_role("dialog").get_by_role("textbox").press("Escape")
    await expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    mounts = await page.evaluate("window.mounts.map(m => m[0])")
    assert mounts == [True, False, True, False]


async def test_on_received_activity_sees_the_agent_activity_before_it_is_shown(
    scene: Scene,
) -> None:
    extra = """onReceivedActivity(activity) {
        const root = document.querySelector('hubster-webchat').shadowRoot;
        const text = activity.message && activity.message.text;
        (window.received = window.received || []).push({activity,
          shown: Boolean(text) && root.querySelector('[role=log]').textContent.includes(text)});
    }"""
    page, dialog, cid = await chatting(scene, extra)
    event_id = await scene.agent_text(cid, "Seen by the host first")
    await expect(dialog.get_by_text("Seen by the host first")).to_be_visible(timeout=10000)
    received = await page.evaluate("window.received")
    (mine,) = [r for r in received if r["activity"]["eventId"] == event_id]
    assert mine["shown"] is False  # called before the bubble existed
    assert mine["activity"]["message"] == {"type": "text", "text": "Seen by the host first"}
    assert mine["activity"]["sender"]["integrationId"] == scene.agent.id  # type: ignore[union-attr]
    # A payload event is never shown, yet the host hears it.
    await scene.agent_sends(
        cid, event={"type": "payload", "payloadType": "shop.cart", "payload": {"items": 2}}
    )
    await page.wait_for_function(
        "() => (window.received || []).some(r => r.activity.event"
        " && r.activity.event.payloadType === 'shop.cart')"
    )


async def test_on_before_activity_send_false_keeps_the_activity_in_the_page(scene: Scene) -> None:
    extra = """onBeforeActivitySend(activity) {
        (window.asked = window.asked || []).push(activity);
        return !activity.message.text.startsWith('local:');
    }"""
    page = await scene.new_page(url=scene.embed(extra))
    dialog = await open_chat(page)
    box = dialog.get_by_role("textbox")
    await box.fill("local: open the size guide")
    await box.press("Enter")
    log = dialog.get_by_role("log")
    await say(dialog, "Sent to the agent")
    got = await scene.agent_got(1, "the allowed message at the agent")
    assert [a["message"]["text"] for a in got] == ["Sent to the agent"]
    await expect(log.get_by_text("local: open the size guide")).to_have_count(0)
    asked = await page.evaluate("window.asked")
    assert asked == [
        {"type": "message", "message": {"type": "text", "text": "local: open the size guide"}},
        {"type": "message", "message": {"type": "text", "text": "Sent to the agent"}},
    ]
    # Postbacks ask too: refused, nothing leaves; allowed, the agent gets it.
    cid = await scene.visitor_conversation(page)
    await scene.agent_sends(
        cid,
        {
            "type": "text",
            "text": "Pick one",
            "actions": [
                {"type": "postback", "title": "local:guide", "payload": "GUIDE"},
                {"type": "postback", "title": "Buy", "payload": "BUY"},
            ],
        },
    )
    await log.get_by_role("button", name="local:guide").click()
    await log.get_by_role("button", name="Buy").click()
    got = await scene.agent_got(2, "the allowed postback at the agent")
    assert [a["message"]["text"] for a in got] == ["Sent to the agent", "Buy"]
    assert (await page.evaluate("window.asked.length")) == 4
    assert scene.errors == []


async def test_on_conversation_binding_and_properties_reach_establish(scene: Scene) -> None:
    binding = f"user-{uuid.uuid4().hex[:8]}"
    given = {
        "bindingKey": binding,
        "properties": {
            "profile": {"full name": "Ada Lovelace", "gender": "female", "custom1": "value1"},
            "additional": {"plan": "gold", "visits": "3"},
        },
    }
    extra = f"onConversation() {{ window.calls = (window.calls || 0) + 1; return {js(given)}; }}"
    page, _, cid = await chatting(scene, extra)
    assert await page.evaluate("window.calls") >= 1
    r = await scene.client.get(f"/api/v1/conversations/{cid}", headers=scene.tenant.engine)
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert props["profile"]["full name"] == "Ada Lovelace"
    assert props["profile"]["gender"] == "female" and props["profile"]["custom1"] == "value1"
    assert props["additional"] == {"plan": "gold", "visits": "3"}
    async with scene.ctx.db.read() as s:
        stored = await s.scalar(select(Conversation.binding).where(Conversation.id == UUID(cid)))
    assert stored == binding
    # The binding key is the conversation's: another browser (no shared storage) with the same
    # key joins the same open conversation and sees its history.
    other = await scene.new_page(url=scene.embed(extra))
    again = await open_chat(other)
    await expect(again.get_by_text("Hello", exact=True)).to_be_visible(timeout=10000)
    assert await scene.visitor_conversation(other) == cid


async def test_start_messages_are_shown_when_a_conversation_begins(scene: Scene) -> None:
    start: list[dict[str, Any]] = [
        {"type": "text", "text": "Welcome to the shop!"},
        {
            "type": "text",
            "text": "Ask us anything.",
            "actions": [{"type": "reply", "title": "Opening hours", "payload": "HOURS"}],
        },
    ]
    webchat = await scene.add_webchat(start=start)
    page = await scene.new_page(
        url=scene.page_url(host_page(scene.server, scene.config(integration_id=webchat)))
    )
    dialog = await open_chat(page)
    log = dialog.get_by_role("log")
    await expect(log.get_by_text("Welcome to the shop!")).to_be_visible(timeout=10000)
    await expect(log.get_by_text("Ask us anything.")).to_be_visible()
    # The server stores the quick reply but the page never hears back before it reloads: the
    # reloaded page finds it both in its outbox and in the history.
    stored = asyncio.Event()

    async def store_then_drop(route: Any) -> None:
        await route.fetch()
        stored.set()
        await route.abort()

    posts = "**/inbound/customer/v1/web-chat/**"
    await page.route(posts, store_then_drop)
    await log.get_by_role("button", name="Opening hours").click()
    await expect(log.get_by_text("Opening hours", exact=True)).to_be_visible()
    await expect(log.get_by_role("group", name="Quick replies")).to_have_count(0)
    await asyncio.wait_for(stored.wait(), 10)
    await page.unroute(posts)
    # Shown once, in order, before the visitor's reply, after a reload (it was open: it opens
    # again by itself).
    await page.reload()
    texts = page.get_by_role("dialog").get_by_role("log").locator(".bubble")
    await expect(texts).to_have_text(
        ["Welcome to the shop!", "Ask us anything.", "Opening hours"], timeout=10000
    )
    await expect(page.get_by_role("log").locator(".msg.pending")).to_have_count(0)
    key = f"hubster-webchat:{webchat.lower()}"
    cid = orjson.loads(await page.evaluate(f"localStorage.getItem({js(key)})"))["conversationId"]
    r = await scene.client.get(
        f"/api/v1/interactions/activities/{cid}?type=Customer", headers=scene.tenant.engine
    )
    texts_stored = [a["message"]["text"] for a in r.json() if a["type"] == "message"]
    assert texts_stored == ["Welcome to the shop!", "Ask us anything.", "Opening hours"]
    await expect(texts).to_have_count(3)


# --- errors -----------------------------------------------------------------------------------


async def test_each_failure_is_a_short_distinct_notice_and_one_console_line(
    scene: Scene,
) -> None:
    """Origin not allowed, paused, unknown and network down: a status in the launcher's place,
    nothing thrown into the host page, one `hubster-webchat:` console line each."""
    elsewhere = await scene.add_webchat(origins=["shop.example.com"])
    paused = await scene.add_webchat()
    r = await scene.client.put(
        f"/api/v1/integrations/{paused}", json={"statusId": 3002}, headers=scene.tenant.portal
    )
    assert r.status_code == 200, r.text
    down = f"http://127.0.0.1:{closed_port()}"
    cases = {
        "origin": scene.config(integration_id=elsewhere),
        "paused": scene.config(integration_id=paused),
        "unknown": scene.config(integration_id=str(uuid.uuid4())),
        "down": js(
            {"integrationId": scene.webchat_id, "engineEndpoint": down, "eventsEndpoint": down}
        ),
    }
    notices: dict[str, str] = {}
    context = await scene.new_context()
    for name, config in cases.items():
        scene.console.clear()
        page = await scene.new_page(context, scene.page_url(host_page(scene.server, config)))
        notice = page.get_by_role("status")
        await expect(notice).to_be_visible(timeout=10000)
        notices[name] = (await notice.inner_text()).strip()
        assert 0 < len(notices[name]) < 80, notices[name]
        await expect(page.get_by_role("button", name="Open chat")).to_have_count(0)
        await expect(page.get_by_role("dialog")).to_be_hidden()
        ours = [line for line in scene.console if line.startswith("hubster-webchat:")]
        assert len(ours) == 1, (name, scene.console)
        await page.close()
    assert len(set(notices.values())) == 4, notices
    assert "site" in notices["origin"].lower()
    assert "paused" in notices["paused"].lower()
    assert "connect" in notices["down"].lower()
    assert scene.errors == [] and scene.alerts == []


# --- accessibility and the keyboard -----------------------------------------------------------

FOCUSED = """() => {
    let a = document.activeElement;
    if (!a || a.tagName !== 'HUBSTER-WEBCHAT') return 'page:' + (a ? a.tagName : '');
    a = a.shadowRoot.activeElement;
    if (!a) return 'host';
    return (a.getAttribute('aria-label') || a.textContent.trim() || a.tagName).slice(0, 30);
}"""


async def test_every_control_is_named_and_reachable_by_keyboard(scene: Scene) -> None:
    body = "<p>Some shop text</p>"
    page = await scene.new_page(url=scene.embed(body=body))
    launcher = page.get_by_role("button", name="Open chat")
    await expect(launcher).to_be_visible()
    await page.keyboard.press("Tab")  # from the page: the launcher is the first stop
    await expect(launcher).to_be_focused()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Chat")
    await expect(dialog).to_be_visible()
    box = dialog.get_by_role("textbox", name="Please type here...")
    await expect(box).to_have_attribute("placeholder", "Please type here...")
    await expect(box).to_be_focused()  # ready to type
    log = dialog.get_by_role("log")
    await expect(log).to_be_visible()  # role log: a polite live region
    await expect(dialog.get_by_role("button", name="Send")).to_be_visible()
    await expect(dialog.get_by_role("button", name="Close chat")).to_be_visible()

    # Shift+Enter breaks the line, Enter sends the two lines as one message.
    await page.keyboard.type("First line")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("second line")
    await expect(box).to_have_value("First line\nsecond line")
    await page.keyboard.press("Enter")
    got = await scene.agent_got(1, "the two-line message at the agent")
    assert got[0]["message"]["text"] == "First line\nsecond line"
    await expect(box).to_have_value("")
    # The Send button works from the keyboard too.
    await page.keyboard.type("Sent with the button")
    await page.keyboard.press("Tab")
    await expect(dialog.get_by_role("button", name="Send")).to_be_focused()
    await page.keyboard.press("Enter")
    got = await scene.agent_got(2, "the message sent with the Send button")
    assert got[1]["message"]["text"] == "Sent with the button"

    cid = await scene.visitor_conversation(page)
    await scene.agent_sends(
        cid,
        {
            "type": "text",
            "text": "Choose",
            "actions": [
                {"type": "postback", "title": "Track my order", "payload": "TRACK"},
                {"type": "link", "title": "Our store", "url": "https://example.com/store"},
                {"type": "reply", "title": "Talk to a human", "payload": "HUMAN"},
            ],
        },
    )
    await expect(log.get_by_role("button", name="Talk to a human")).to_be_visible(timeout=10000)
    # Tab cycles through every control of the dialog without falling out of it.
    await box.focus()
    stops = [await page.evaluate(FOCUSED)]
    for _ in range(12):
        await page.keyboard.press("Tab")
        stops.append(await page.evaluate(FOCUSED))
        if stops[-1] == stops[0]:
            break
    assert stops[-1] == stops[0], stops  # back to the textbox
    assert not any(s.startswith("page:") for s in stops), stops
    for control in (
        "Send",
        "Close chat",
        "Messages",
        "Track my order",
        "Our store",
        "Talk to a human",
        "Please type here...",
    ):
        assert control in stops, (control, stops)
    # Shift+Tab goes backwards: from the textbox to the last control before it.
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate(FOCUSED) == stops[-2]
    # A quick reply from the keyboard; Escape closes and gives the focus back to the launcher.
    await log.get_by_role("button", name="Talk to a human").focus()
    await page.keyboard.press("Enter")
    got = await scene.agent_got(3, "the quick reply at the agent")
    assert got[2]["message"]["text"] == "Talk to a human"
    await expect(box).to_be_focused()  # not lost with the quick replies
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(launcher).to_be_focused()
    assert scene.errors == []
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_visible()
    await scene.shot(page, "default")
