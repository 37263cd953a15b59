"""`GET /webchat/demo?integrationId=`: a page served by unihub that embeds the component
exactly as a host site does (the element, `window.HUBSTER_CONFIG`, the script), under a
strict Content-Security-Policy: scripts from this server only (the inline configuration by a
nonce fresh per answer), connections to this server only (websockets named explicitly), no
styles but the component's constructable stylesheet, no base or form targets.

The integration id is only parsed (a GUID, normalized), never looked up: the component tells
an unknown or paused integration apart itself, from the config endpoint's answer.
"""

from __future__ import annotations

import html
import re
import secrets
import uuid

import orjson

from unihub.webchat import assets

PATH = "/webchat/demo"
# A Host header worth naming in the policy: a name or an address, with an optional port.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
# Video hosts the component may embed for youtube/vimeo activities.
_FRAMES = "https://www.youtube.com https://www.youtube-nocookie.com https://player.vimeo.com"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def policy(nonce: str, host: str | None) -> str:
    """The page's CSP. `'self'` does not cover websockets in every browser, so this server's
    ws:// and wss:// origins are named (both: a TLS proxy may sit in front)."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"connect-src 'self'{sockets}",
            "style-src 'none'",
            "img-src 'self' data: https:",
            "media-src https: 'self'",
            f"frame-src {_FRAMES}",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def script_json(value: object) -> str:
    """JSON that stays inside a <script> element whatever it holds (no `</script>`, no
    `<!--`, no line separators that end a JS string)."""
    text = orjson.dumps(value).decode()
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def page(integration_id: uuid.UUID, nonce: str, host_name: str | None) -> str:
    config = script_json({"integrationId": str(integration_id)})
    where = f" (<code>{html.escape(host_name)}</code>)" if host_name else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>unihub WebChat demo</title>
</head>
<body>
<h1>unihub WebChat demo</h1>
<p>This is unihub's demo page for the WebChat integration
<code>{html.escape(str(integration_id))}</code>: it embeds the <code>&lt;hubster-webchat&gt;</code>
component as a host site does. The integration's <code>allowedOrigins</code> must include
this server's host{where}.</p>
<hubster-webchat></hubster-webchat>
<script nonce="{nonce}">window.HUBSTER_CONFIG = {config};</script>
<script src="/webchat/{assets.SCRIPT}"></script>
</body>
</html>
"""
