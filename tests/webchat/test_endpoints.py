"""The component's two server endpoints over real HTTP: the script (ETag, 304, gzip,
Cache-Control) and the Origin-checked config (start messages, no secret, CORS on errors)."""

from __future__ import annotations

import uuid
from importlib import resources

import httpx

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub, make_integration
from tests.engine.procs import Server
from unihub.core.context import AppContext

SCRIPT = "/webchat/hubster-webchat.js"
CONFIG = "/api/v1/integrations/web-chat/config/{}"
ORIGIN = "http://127.0.0.1:5173"


async def test_script_is_served_with_etag_cache_control_and_gzip(shared_server: Server) -> None:
    packaged = resources.files("unihub.webchat").joinpath("static/hubster-webchat.js")
    source = packaged.read_bytes()
    async with httpx.AsyncClient(base_url=shared_server.base_url) as http:
        r = await http.get(SCRIPT, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200
        assert r.content == source and b"customElements.define('hubster-webchat'" in source
        assert r.headers["content-type"].startswith("text/javascript")
        assert "content-encoding" not in r.headers
        etag = r.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert "max-age=" in r.headers["cache-control"]
        assert "accept-encoding" in r.headers["vary"].lower()

        # gzip when accepted: the same bytes, compressed (and well under the budget).
        r = await http.get(SCRIPT, headers={"Accept-Encoding": "gzip, deflate"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        assert r.headers["etag"] == etag
        raw = await http.get(SCRIPT, headers={"Accept-Encoding": "gzip"})
        assert r.content == source  # httpx decoded it
        assert int(raw.headers["content-length"]) < 35 * 1024
        r = await http.get(SCRIPT, headers={"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in r.headers

        # Revalidation: 304 without a body for a matching tag (or one in a list), 200 otherwise.
        for match in (etag, f'"nope", {etag}', f"W/{etag}", "*"):
            r = await http.get(SCRIPT, headers={"If-None-Match": match})
            assert r.status_code == 304, match
            assert r.content == b"" and r.headers["etag"] == etag
        r = await http.get(SCRIPT, headers={"If-None-Match": '"something-else"'})
        assert r.status_code == 200 and r.content == source


async def _webchat(client: httpx.AsyncClient, t: TenantCreds, hub_id: str, **config: object) -> str:
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub_id}",
        json={
            "channelId": "WebChat",
            "name": f"web-{uuid.uuid4().hex[:6]}",
            "configuration": {"allowedOrigins": ["127.0.0.1"], **config},
        },
        headers=t.portal,
    )
    assert r.status_code == 200, r.text
    integration_id: str = r.json()["integrationId"]
    return integration_id


async def test_config_is_origin_checked_and_names_the_origin_on_errors(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, shared_server: Server
) -> None:
    hub = await make_hub(client, tenant)
    start = [{"type": "text", "text": "Welcome to the shop"}]
    webchat_id = await _webchat(client, tenant, hub["hubId"], start=start)
    agent = await make_integration(
        ctx.db, ctx.box, tenant.tenant_id, hub["hubId"], integration_type="Agent"
    )
    async with httpx.AsyncClient(base_url=shared_server.base_url) as http:
        url = CONFIG.format(webchat_id)
        r = await http.get(url, headers={"Origin": ORIGIN})
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert "origin" in r.headers["vary"].lower()
        body = r.json()
        assert body == {
            "integrationId": webchat_id,
            "channelType": "WebChat",
            "statusId": 3000,
            "active": True,
            "start": start,
        }
        text = r.text.lower()
        for secret in ("allowedorigins", "signing", "private", "secret", "webhook"):
            assert secret not in text

        # Preflight: GET only.
        r = await http.options(
            url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
        )
        assert r.status_code == 204 and r.headers["access-control-allow-methods"] == "GET"

        # Refusals are in the error model and readable by the page (CORS headers on errors).
        evil = "https://evil.example.com"
        r = await http.get(url, headers={"Origin": evil})
        assert r.status_code == 403 and codes(r) == [101]
        assert "(code: ENG000101)" in r.json()["errors"][0]["description"]
        assert r.headers["access-control-allow-origin"] == evil
        r = await http.get(url)
        assert r.status_code == 400 and codes(r) == [200]
        for missing, status, code in (
            (CONFIG.format(uuid.uuid4()), 404, 6000),
            (CONFIG.format("not-a-guid"), 400, 203),
            (CONFIG.format(agent.id), 400, 206),
        ):
            r = await http.get(missing, headers={"Origin": ORIGIN})
            assert r.status_code == status and codes(r) == [code], missing
            assert r.headers["access-control-allow-origin"] == ORIGIN

        r = await client.put(
            f"/api/v1/integrations/{webchat_id}", json={"statusId": 3002}, headers=tenant.portal
        )
        assert r.status_code == 200, r.text
        r = await http.get(url, headers={"Origin": ORIGIN})
        assert r.status_code == 400 and codes(r) == [6502]
        assert "(code: ENG006502)" in r.json()["errors"][0]["description"]
        assert r.headers["access-control-allow-origin"] == ORIGIN


TOKEN = "/api/v1/integrations/web-chat/token/{}"
EXPOSED = {"idempotent-replayed", "retry-after", "x-request-id"}


def _names_origin(r: httpx.Response, origin: str) -> bool:
    exposed = r.headers.get("access-control-expose-headers", "").lower().replace(" ", "")
    return (
        r.headers.get("access-control-allow-origin") == origin
        and "origin" in r.headers.get("vary", "").lower()
        and set(exposed.split(",")) >= EXPOSED
    )


async def test_token_answers_name_the_origin_errors_included(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, shared_server: Server
) -> None:
    hub = await make_hub(client, tenant)
    webchat_id = await _webchat(client, tenant, hub["hubId"])
    agent = await make_integration(
        ctx.db, ctx.box, tenant.tenant_id, hub["hubId"], integration_type="Agent"
    )
    async with httpx.AsyncClient(base_url=shared_server.base_url) as http:
        url = TOKEN.format(webchat_id)
        r = await http.get(url, headers={"Origin": ORIGIN})
        assert r.status_code == 200 and _names_origin(r, ORIGIN), r.headers
        assert r.headers["x-request-id"]

        evil = "https://evil.example.com"
        r = await http.get(url, headers={"Origin": evil})
        assert r.status_code == 403 and codes(r) == [101] and _names_origin(r, evil)
        assert "access_token" not in r.text
        for path, status, code in (
            (TOKEN.format("not-a-guid"), 400, 203),
            (TOKEN.format(uuid.uuid4()), 404, 6000),
            (TOKEN.format(agent.id), 400, 206),
        ):
            r = await http.get(path, headers={"Origin": ORIGIN})
            assert r.status_code == status and codes(r) == [code], path
            assert _names_origin(r, ORIGIN), path

        r = await client.put(
            f"/api/v1/integrations/{webchat_id}", json={"statusId": 3002}, headers=tenant.portal
        )
        assert r.status_code == 200, r.text
        r = await http.get(url, headers={"Origin": ORIGIN})
        assert r.status_code == 400 and codes(r) == [6502] and _names_origin(r, ORIGIN)
        # Without an Origin there is no page to answer: 400, no CORS headers.
        r = await http.get(url)
        assert r.status_code == 400 and codes(r) == [200]
        assert "access-control-allow-origin" not in r.headers


WEBCHAT = "/inbound/customer/v1/web-chat/{}"


async def test_visitor_posts_idempotently_and_closes_its_conversation(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, shared_server: Server
) -> None:
    """What the component does with its token, from a page of an allowed origin: retries a
    send with one Idempotency-Key, closes its conversation after sessionTTL."""
    hub = await make_hub(client, tenant)
    webchat_id = await _webchat(client, tenant, hub["hubId"])
    await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"], integration_type="Bot")
    page = {"Origin": ORIGIN}
    async with httpx.AsyncClient(base_url=shared_server.base_url) as http:
        r = await http.get(TOKEN.format(webchat_id), headers=page)
        assert r.status_code == 200, r.text
        visitor = {"Authorization": f"Bearer {r.json()['access_token']}", **page}
        establish = {"integrationId": webchat_id, "binding": "user-7", "channelType": "WebChat"}
        r = await http.post("/api/v1/conversations/establish", json=establish, headers=visitor)
        assert r.status_code == 200, r.text
        cid = r.json()["conversationId"]
        url = WEBCHAT.format(cid)

        r = await http.options(
            url,
            headers={
                **page,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert r.status_code == 204 and r.headers["access-control-allow-origin"] == ORIGIN
        allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "idempotency-key"} <= allowed

        # The same send twice (a retry after a lost answer): stored once, replayed.
        key = str(uuid.uuid4())
        message = {"type": "message", "message": {"type": "text", "text": "Is it in stock?"}}
        sent = {**visitor, "Idempotency-Key": key}
        first = await http.post(url, json=message, headers=sent)
        assert first.status_code == 200, first.text
        assert "idempotent-replayed" not in first.headers
        again = await http.post(url, json=message, headers=sent)
        assert again.status_code == 200 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert _names_origin(again, ORIGIN)  # so the component can read the header
        # The same key on another body is refused in the error model, readable by the page.
        other = {"type": "message", "message": {"type": "text", "text": "Other"}}
        r = await http.post(url, json=other, headers=sent)
        assert r.status_code == 400 and codes(r) == [113] and _names_origin(r, ORIGIN)
        r = await http.get(
            f"/api/v1/interactions/activities/{cid}", params={"type": "Customer"}, headers=visitor
        )
        mine = [a for a in r.json() if a["type"] == "message"]
        assert [a["eventId"] for a in mine] == [first.json()["eventId"]]

        # Another visitor of the same integration shares the token's client id; the request
        # hash covers the path, so the same key on its own conversation is not a replay.
        r = await http.get(TOKEN.format(webchat_id), headers=page)
        second = {"Authorization": f"Bearer {r.json()['access_token']}", **page}
        establish["binding"] = "user-8"
        r = await http.post("/api/v1/conversations/establish", json=establish, headers=second)
        other_cid = r.json()["conversationId"]
        r = await http.post(
            WEBCHAT.format(other_cid), json=message, headers={**second, "Idempotency-Key": key}
        )
        assert r.status_code == 400 and codes(r) == [113], r.text
        assert "idempotent-replayed" not in r.headers and str(cid) not in r.text

        # After sessionTTL the component closes the conversation; the binding opens a new one.
        r = await http.post(f"/api/v1/conversations/{cid}/close", headers=visitor)
        assert r.status_code == 200 and r.json()["status"] == "closed", r.text
        assert _names_origin(r, ORIGIN)
        establish["binding"] = "user-7"
        r = await http.post("/api/v1/conversations/establish", json=establish, headers=visitor)
        assert r.status_code == 200 and r.json()["isNew"] is True
        assert r.json()["conversationId"] != cid


DEMO = "/webchat/demo"


def _csp(r: httpx.Response) -> dict[str, list[str]]:
    directives = (d.strip().split() for d in r.headers["content-security-policy"].split(";"))
    return {d[0]: d[1:] for d in directives if d}


async def test_demo_page_embeds_the_component_under_a_strict_csp(shared_server: Server) -> None:
    iid = uuid.uuid4()
    async with httpx.AsyncClient(base_url=shared_server.base_url) as http:
        r = await http.get(DEMO, params={"integrationId": str(iid).upper()})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-store"
        page = r.text
        assert "<hubster-webchat></hubster-webchat>" in page
        assert '<script src="/webchat/hubster-webchat.js"></script>' in page
        assert "unihub WebChat demo" in page and "allowedOrigins" in page
        # The id, normalized, JSON-encoded in the one inline script, which carries the nonce.
        csp = _csp(r)
        (nonce,) = [s[len("'nonce-") : -1] for s in csp["script-src"] if s.startswith("'nonce-")]
        inline = f'<script nonce="{nonce}">window.HUBSTER_CONFIG = {{"integrationId":"{iid}"}};'
        assert inline in page and page.count("<script") == 2
        host = shared_server.base_url.removeprefix("http://")
        assert csp == {
            "default-src": ["'none'"],
            "script-src": ["'self'", f"'nonce-{nonce}'"],
            "connect-src": ["'self'", f"ws://{host}", f"wss://{host}"],
            "style-src": ["'none'"],
            "img-src": ["'self'", "data:", "https:"],
            "media-src": ["https:", "'self'"],
            "frame-src": [
                "https://www.youtube.com",
                "https://www.youtube-nocookie.com",
                "https://player.vimeo.com",
            ],
            "base-uri": ["'none'"],
            "form-action": ["'none'"],
        }
        # A fresh nonce per answer.
        again = await http.get(DEMO, params={"integrationId": str(iid)})
        assert _csp(again)["script-src"] != csp["script-src"]

        # The id is a GUID or the answer is an error in the error model, never a page.
        for params, code in (
            ({"integrationId": "not-a-guid"}, 203),
            ({"integrationId": "</script><script>alert(1)</script>"}, 203),
            ({"integrationId": ""}, 200),
            ({}, 200),
        ):
            r = await http.get(DEMO, params=params)
            assert r.status_code == 400 and codes(r) == [code], params
            assert r.headers["content-type"].startswith("application/json")
            assert "(code: ENG000" in r.json()["errors"][0]["description"]
            assert "HUBSTER_CONFIG" not in r.text  # JSON, never the page

        spec = (await http.get("/openapi.json")).json()
        assert "text/html" in spec["paths"][DEMO]["get"]["responses"]["200"]["content"]


async def test_token_for_a_page_of_this_server_without_an_origin(
    client: httpx.AsyncClient, tenant: TenantCreds, shared_server: Server
) -> None:
    """Browsers leave Origin off a same-origin GET (the demo page asking for its token) and
    send `Sec-Fetch-Site: same-origin` instead: the page's origin is then this server's."""
    hub = await make_hub(client, tenant)
    allowed = await _webchat(client, tenant, hub["hubId"])
    elsewhere = await _webchat(client, tenant, hub["hubId"], allowedOrigins=["shop.example.com"])
    same = {"Sec-Fetch-Site": "same-origin"}
    async with httpx.AsyncClient(base_url=shared_server.base_url) as http:
        r = await http.get(TOKEN.format(allowed), headers=same)
        assert r.status_code == 200 and r.json()["token_type"] == "WebBearer", r.text
        r = await http.get(CONFIG.format(allowed), headers=same)
        assert r.status_code == 200 and r.json()["integrationId"] == allowed
        r = await http.get(TOKEN.format(elsewhere), headers=same)
        assert r.status_code == 403 and codes(r) == [101]
        # Only a same-origin request stands for the server's own page.
        for site in ("cross-site", "same-site", "none"):
            r = await http.get(TOKEN.format(allowed), headers={"Sec-Fetch-Site": site})
            assert r.status_code == 400 and codes(r) == [200], site
