"""One browser test's world: a hub with a WebChat integration and a Direct agent (webhook to
the test receiver), a host page on another origin embedding the component exactly as the
issue's contract shows, and a browser context that refuses every request leaving 127.0.0.1
(and records it, so "no request" and "no map tiles" can be asserted)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.conftest import TenantCreds
from tests.engine.factories import MadeIntegration, make_hub, make_integration
from tests.engine.procs import Server
from tests.engine.receiver import Receiver, wait_for
from tests.webchat.conftest import HostSite
from unihub.core.context import AppContext

SHOTS = Path(__file__).parent / "screenshots"  # git-ignored
XSS = "<img src=x onerror=alert(1)>"
BUSINESS = "/inbound/business/v1/direct/activity/{}"


def host_page(server: Server, config_js: str, body: str = "", head: str = "") -> str:
    """The contract's three lines; `config_js` is the object literal of HUBSTER_CONFIG (raw
    JavaScript, so callbacks can be given)."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">{head}</head><body>
<h1>A shop</h1>{body}
<hubster-webchat></hubster-webchat>
<script>window.HUBSTER_CONFIG = {config_js};</script>
<script src="{server.base_url}/webchat/hubster-webchat.js"></script>
</body></html>"""


@dataclass
class Scene:
    client: httpx.AsyncClient
    ctx: AppContext
    tenant: TenantCreds
    receiver: Receiver
    server: Server
    site: HostSite
    browser: Any
    hub_id: str = ""
    webchat_id: str = ""
    agent: MadeIntegration | None = None
    agent_name: str = field(default_factory=lambda: f"agent-{uuid.uuid4().hex[:8]}")
    contexts: list[Any] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # refused requests leaving 127.0.0.1
    errors: list[str] = field(default_factory=list)  # uncaught page errors
    alerts: list[str] = field(default_factory=list)  # alert()/confirm() dialogs
    console: list[str] = field(default_factory=list)

    async def setup(
        self, *, start: list[dict[str, Any]] | None = None, origins: list[str] | None = None
    ) -> Scene:
        hub = await make_hub(self.client, self.tenant)
        self.hub_id = hub["hubId"]
        self.webchat_id = await self.add_webchat(start=start, origins=origins)
        self.agent = await make_integration(
            self.ctx.db,
            self.ctx.box,
            self.tenant.tenant_id,
            self.hub_id,
            integration_type="Agent",
            webhook_url=self.receiver.url(self.agent_name),
        )
        self.receiver.trust(self.agent.public_key, self.agent.private_key)
        return self

    async def add_webchat(
        self, *, start: list[dict[str, Any]] | None = None, origins: list[str] | None = None
    ) -> str:
        configuration: dict[str, Any] = {"allowedOrigins": origins or ["127.0.0.1"]}
        if start is not None:
            configuration["start"] = start
        r = await self.client.post(
            f"/api/v1/integrations/hubs/{self.hub_id}",
            json={
                "channelId": "WebChat",
                "name": f"web-{uuid.uuid4().hex[:6]}",
                "configuration": configuration,
            },
            headers=self.tenant.portal,
        )
        assert r.status_code == 200, r.text
        integration_id: str = r.json()["integrationId"]
        return integration_id

    def config(self, extra: str = "", integration_id: str | None = None) -> str:
        """HUBSTER_CONFIG as JavaScript; `extra` adds properties (`"openOnNewMessage: true"`)."""
        base = {
            "integrationId": integration_id or self.webchat_id,
            "engineEndpoint": self.server.base_url,
            "eventsEndpoint": self.server.base_url,
            "sessionTTL": 1440,
        }
        literal = orjson.dumps(base).decode()
        return literal if not extra.strip() else literal[:-1] + f", {extra}}}"

    def page_url(self, html: str) -> str:
        return self.site.add(f"p-{uuid.uuid4().hex[:8]}.html", html)

    def embed(self, extra: str = "", **kw: Any) -> str:
        """The URL of a host page embedding the component with `extra` config."""
        return self.page_url(host_page(self.server, self.config(extra), **kw))

    async def new_context(self, **options: Any) -> Any:
        context = await self.browser.new_context(**options)
        self.contexts.append(context)

        async def refuse_outside(route: Any) -> None:
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                await route.continue_()
            else:
                self.outside.append(url)
                await route.abort()

        await context.route("**/*", refuse_outside)
        return context

    async def new_page(self, context: Any = None, url: str | None = None) -> Any:
        context = context or await self.new_context()
        page = await context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: self.alerts.append(d.message))
        page.on("console", lambda m: self.console.append(m.text))
        if url:
            await page.goto(url)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()

    # --- the business side -------------------------------------------------------------------

    async def visitor_conversation(self, page: Any) -> str:
        """The conversation id the component stored for this integration."""
        key = f"hubster-webchat:{self.webchat_id.lower()}"
        raw = await page.evaluate(f"localStorage.getItem({orjson.dumps(key).decode()})")
        conversation: str = orjson.loads(raw)["conversationId"]
        return conversation

    async def agent_sends(
        self,
        conversation: str,
        message: dict[str, Any] | None = None,
        *,
        event: dict[str, Any] | None = None,
        sender: str | None = None,
    ) -> int:
        """The agent (or `sender`) posts a message or an event; its eventId."""
        assert self.agent is not None
        body: dict[str, Any] = {"sender": {"integrationId": sender or self.agent.id}}
        if event is not None:
            body.update(type="event", event=event)
        else:
            body.update(type="message", message=message)
        r = await self.client.post(
            BUSINESS.format(conversation), json=body, headers=self.tenant.engine
        )
        assert r.status_code == 200, r.text
        event_id: int = r.json()["eventId"]
        return event_id

    async def agent_text(self, conversation: str, text: str) -> int:
        return await self.agent_sends(conversation, {"type": "text", "text": text})

    async def agent_got(self, count: int = 1, what: str = "the agent's webhooks") -> list[Any]:
        """The activities the agent's webhook received, once at least `count` arrived."""
        await wait_for(lambda: len(self.receiver.at(self.agent_name)) >= count, what=what)
        return [d.activity for d in self.receiver.at(self.agent_name)]

    async def shot(self, page: Any, name: str) -> None:
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=SHOTS / f"{name}.png")


def shadow(page: Any, js: str) -> Any:
    """Evaluate `js` with `root` bound to the component's shadow root."""
    return page.locator("hubster-webchat").evaluate(
        f"e => {{ const root = e.shadowRoot; return {js}; }}"
    )


def js(value: Any) -> str:
    """A Python value as a JavaScript literal (for HUBSTER_CONFIG extras and evaluate)."""
    return orjson.dumps(value).decode()


async def open_chat(page: Any, title: str = "Chat") -> Any:
    """Click "Open chat"; the dialog named `title`, once visible."""
    from playwright.async_api import expect

    await page.get_by_role("button", name="Open chat").click()
    dialog = page.get_by_role("dialog", name=title)
    await expect(dialog).to_be_visible()
    return dialog


async def say(dialog: Any, text: str) -> None:
    """Type `text` and press Enter, as a visitor does; returns once the box is empty again."""
    from playwright.async_api import expect

    box = dialog.get_by_role("textbox")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")
