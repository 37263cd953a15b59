"""The <hubster-webchat> component in a real Chromium, on a page of another origin, against a
real `unihub serve` process: found by role and accessible name, as a visitor uses it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import TenantCreds
from tests.engine.factories import make_hub, make_integration
from tests.engine.procs import Server
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_webchat import agent_reply
from tests.webchat.conftest import HostSite
from unihub.core.context import AppContext

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect

XSS = "<img src=x onerror=alert(1)>"
SHOTS = Path(__file__).parent / "screenshots"  # git-ignored


def embed(integration_id: str, server: Server) -> str:
    config = {
        "integrationId": integration_id,
        "engineEndpoint": server.base_url,
        "eventsEndpoint": server.base_url,
        "sessionTTL": 1440,
    }
    return f"""<!DOCTYPE html><html lang="en"><head><title>shop</title></head><body>
<h1>A shop</h1>
<hubster-webchat></hubster-webchat>
<script>window.HUBSTER_CONFIG = {orjson.dumps(config).decode()};</script>
<script src="{server.base_url}/webchat/hubster-webchat.js"></script>
</body></html>"""


async def test_visitor_chats_with_a_direct_agent(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    shared_server: Server,
    host_site: HostSite,
    browser: Any,
) -> None:
    hub = await make_hub(client, tenant)
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub['hubId']}",
        json={
            "channelId": "WebChat",
            "name": f"web-{uuid.uuid4().hex[:6]}",
            "configuration": {"allowedOrigins": ["127.0.0.1"]},
        },
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    webchat_id = r.json()["integrationId"]
    agent = await make_integration(
        ctx.db,
        ctx.box,
        tenant.tenant_id,
        hub["hubId"],
        integration_type="Agent",
        webhook_url=receiver.url("agent"),
    )
    receiver.trust(agent.public_key, agent.private_key)

    url = host_site.add(f"shop-{uuid.uuid4().hex[:6]}.html", embed(webchat_id, shared_server))
    assert not url.startswith(shared_server.base_url)  # another origin (another port)
    context = await browser.new_context()
    page = await context.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda d: alerts.append(d.message))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await page.goto(url)
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

        await wait_for(lambda: receiver.at("agent"), what="the visitor's Hello at the agent")
        got = receiver.at("agent")[0].activity
        assert got["message"]["text"] == "Hello"
        assert got["sender"]["integrationId"] == webchat_id
        cid = receiver.at("agent")[0].body["conversationId"]

        await agent_reply(client, tenant, agent.id, cid, f"Hi! {XSS}")
        reply = log.get_by_text(f"Hi! {XSS}", exact=True)
        await expect(reply).to_be_visible()
        # Literal text: no element was made of it and nothing ran.
        assert (
            await page.locator("hubster-webchat").evaluate(
                "e => e.shadowRoot.querySelectorAll('img').length"
            )
            == 0
        )
        assert alerts == [] and errors == []
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=SHOTS / "text.png")
        # One bubble for the visitor's Hello (the socket echo is de-duplicated).
        await expect(log.get_by_text("Hello", exact=True)).to_have_count(1)

        await dialog.get_by_role("button", name="Close chat").click()
        await expect(dialog).to_be_hidden()
        await expect(page.get_by_role("button", name="Open chat")).to_be_visible()
        binding = await page.evaluate(f"localStorage.getItem('hubster-webchat:{webchat_id}')")
        assert orjson.loads(binding)["conversationId"] == cid
    finally:
        await context.close()
