"""GET /webchat/demo in a real Chromium against a real `unihub serve`: the page's strict CSP
lets the component do what it needs from this server (its script, the same-origin token,
establish, the Events websocket) and blocks anything else (an inline script without the
nonce)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import TenantCreds
from tests.engine.factories import make_hub, make_integration
from tests.engine.procs import Server
from unihub.core.context import AppContext

# Recorded before any of the page's scripts run.
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.effectiveDirective + ' ' + e.blockedURI);
});
"""

PROBE = """async (integrationId) => {
  const token = await fetch('/api/v1/integrations/web-chat/token/' + integrationId);
  const auth = {Authorization: 'Bearer ' + (await token.json()).access_token};
  const established = await fetch('/api/v1/conversations/establish', {
    method: 'POST',
    headers: {...auth, 'Content-Type': 'application/json'},
    body: JSON.stringify({integrationId, binding: 'demo-visitor', channelType: 'WebChat'}),
  });
  const cid = (await established.json()).conversationId;
  const url = new URL('/api/v1/events/ws', location.href.replace(/^http/, 'ws'));
  url.search = new URLSearchParams({integrationId, conversationId: cid,
                                    access_token: auth.Authorization.slice(7)});
  const opened = await new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.onopen = () => { ws.close(); resolve(true); };
    ws.onerror = () => resolve(false);
  });
  const inline = document.createElement('script');
  inline.textContent = 'window.__ran = true';
  document.body.append(inline);
  return {token: token.status, established: established.status, opened,
          ran: window.__ran === true, config: window.HUBSTER_CONFIG};
}"""


async def test_demo_page_runs_the_component_under_its_csp(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    shared_server: Server,
    browser: Any,
) -> None:
    hub = await make_hub(client, tenant)
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub['hubId']}",
        json={
            "channelId": "WebChat",
            "name": f"web-{uuid.uuid4().hex[:6]}",
            "configuration": {"allowedOrigins": ["127.0.0.1"]},  # this server's host
        },
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    webchat_id = r.json()["integrationId"]
    await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"], integration_type="Bot")

    context = await browser.new_context()
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.add_init_script(WATCH_CSP)
        await page.goto(f"{shared_server.base_url}/webchat/demo?integrationId={webchat_id}")
        await page.wait_for_function("customElements.get('hubster-webchat') !== undefined")
        assert await page.locator("h1").inner_text() == "unihub WebChat demo"

        out = await page.evaluate(PROBE, webchat_id)
        assert out == {
            "token": 200,
            "established": 200,
            "opened": True,
            "ran": False,  # the nonce-less inline script was blocked
            "config": {"integrationId": webchat_id},
        }
        violations = await page.evaluate("window.__violations")
        assert [v.split()[0] for v in violations] == ["script-src-elem"], violations
        assert errors == []
    finally:
        await context.close()
