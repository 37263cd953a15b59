"""The WebChat component in Debian's Chromium: script load -> launcher visible, and rendering a
500-activity history, each beside a ceiling measured in the same run.

    python -m bench.webchat [--runs 7] [--history 500]

A real `unihub serve` (SQLite, scratch data dir) and a host site on another port. Each run uses
a fresh browser context (empty cache, empty localStorage):

- **launcher**: from the script's request start (Resource Timing) until the launcher button is
  visible. That covers downloading and running the script and the config request the component
  makes before it shows a launcher. Ceiling: a 300-byte script from the same host site that
  defines a custom element showing a button at once (the browser's own floor for "a script
  makes a button").
- **history**: a stored session (localStorage) on a conversation holding `--history` agent
  texts; from the script's request start until all of them are in the log (token, history
  request, render). Ceiling: a script that makes the same token and activities requests and
  appends one text node per activity.

Ratios are ceiling / component (1.0 = as fast as the floor). Figures: median, min-max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench import servers  # noqa: E402

CEILINGS = Path(__file__).resolve().parent / "webchat_ceiling"

CHROMIUM = os.environ.get("UNIHUB_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


class Site:
    """The host site: pages and the ceiling scripts, on another port than unihub."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                kind, body = site.files.get(self.path.split("?")[0], ("text/plain", b"missing"))
                self.send_response(200 if kind != "text/plain" else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, path: str, body: str, kind: str = "text/html") -> str:
        self.files[path] = (kind, body.encode())
        return self.url + path


def page(config: dict[str, Any], script: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>bench</title></head><body>
<hubster-webchat></hubster-webchat>
<script>window.HUBSTER_CONFIG = {json.dumps(config)};</script>
<script src="{script}"></script></body></html>"""


def setup(server: servers.Server, history: int) -> dict[str, str]:
    """A WebChat integration allowing 127.0.0.1, a Direct agent, and one conversation holding
    `history` agent texts; returns the ids."""
    creds = server.bootstrap_credentials()
    with httpx.Client(base_url=server.url, timeout=30) as http:

        def token(client: dict[str, str]) -> dict[str, str]:
            r = http.post(
                "/connect/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client["clientId"],
                    "client_secret": client["clientSecret"],
                },
            )
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        clients = creds["clients"]
        portal, engine = token(clients["portal"]), token(clients["engine"])
        hub = http.post(
            "/api/v1/hubs", json={"name": "bench", "description": "webchat"}, headers=portal
        ).json()["hubId"]

        def integration(body: dict[str, Any]) -> str:
            r = http.post(f"/api/v1/integrations/hubs/{hub}", json=body, headers=portal)
            r.raise_for_status()
            return str(r.json()["integrationId"])

        webchat = integration(
            {
                "channelId": "WebChat",
                "name": "web",
                "configuration": {"allowedOrigins": ["127.0.0.1"]},
            }
        )
        agent = integration(
            {"channelId": "Direct", "name": "agent", "configuration": {"integrationType": "Agent"}}
        )
        r = http.post(
            "/api/v1/conversations/establish",
            headers=engine,
            json={"integrationId": webchat, "binding": "bench", "channelType": "WebChat"},
        )
        r.raise_for_status()
        conversation = r.json()["conversationId"]
        for i in range(history):
            r = http.post(
                f"/inbound/business/v1/direct/activity/{conversation}",
                headers=engine,
                json={
                    "type": "message",
                    "sender": {"integrationId": agent},
                    "message": {
                        "type": "text",
                        "text": f"History line {i}: https://example.com/{i}",
                    },
                },
            )
            r.raise_for_status()
    return {"webchat": webchat, "conversation": conversation}


LAUNCHER_VISIBLE = """() => { const e = document.querySelector('hubster-webchat');
  const b = e && e.shadowRoot && e.shadowRoot.querySelector('.launcher');
  return b && !b.hidden && b.getBoundingClientRect().width >= 0 ? performance.now() : false; }"""

HISTORY_SHOWN = """(n) => { const e = document.querySelector('hubster-webchat');
  const r = e && e.shadowRoot;
  return r && r.querySelectorAll('.msg').length >= n ? performance.now() : false; }"""

SCRIPT_START = (
    """(src) => { const t = performance.getEntriesByName(src)[0]; return t ? t.startTime : 0; }"""
)


def measure(
    browser: Any, url: str, script: str, done: str, arg: Any, storage: str | None, key: str
) -> float:
    context = browser.new_context()
    if storage is not None:
        context.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(storage)});")
    page_ = context.new_page()
    page_.goto(url)
    finished = page_.wait_for_function(done, arg=arg, polling="raf", timeout=60000).json_value()
    started = page_.evaluate(SCRIPT_START, script)
    context.close()
    return float(finished) - float(started)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--history", type=int, default=500)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    load = os.getloadavg()
    server = servers.start_unihub(None)
    site = Site()
    try:
        ids = setup(server, args.history)
        script = f"{server.url}/webchat/hubster-webchat.js"
        config = {
            "integrationId": ids["webchat"],
            "engineEndpoint": server.url,
            "eventsEndpoint": server.url,
        }
        ceil_launcher = site.add(
            "/ceiling-launcher.js", (CEILINGS / "launcher.js").read_text(), "text/javascript"
        )
        ceil_history = site.add(
            "/ceiling-history.js", (CEILINGS / "history.js").read_text(), "text/javascript"
        )
        pages = {
            "component": site.add("/component.html", page(config, script)),
            "ceiling-launcher": site.add("/ceiling-launcher.html", page(config, ceil_launcher)),
            "ceiling-history": site.add("/ceiling-history.html", page(config, ceil_history)),
        }
        key = f"hubster-webchat:{ids['webchat'].lower()}"
        session = json.dumps(
            {
                "conversationId": ids["conversation"],
                "binding": "bench",
                "leid": 10**15,
                "lastActive": int(time.time() * 1000),
            }
        )
        # The activities the component and the ceiling both render (history + start messages).
        results: dict[str, list[float]] = {
            k: [] for k in ("launcher", "ceiling-launcher", "history", "ceiling-history")
        }
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(args.runs):  # interleaved, so drift hits both sides alike
                results["launcher"].append(
                    measure(browser, pages["component"], script, LAUNCHER_VISIBLE, None, None, key)
                )
                results["ceiling-launcher"].append(
                    measure(
                        browser,
                        pages["ceiling-launcher"],
                        ceil_launcher,
                        LAUNCHER_VISIBLE,
                        None,
                        None,
                        key,
                    )
                )
                results["history"].append(
                    measure(
                        browser,
                        pages["component"],
                        script,
                        HISTORY_SHOWN,
                        args.history,
                        session,
                        key,
                    )
                )
                results["ceiling-history"].append(
                    measure(
                        browser,
                        pages["ceiling-history"],
                        ceil_history,
                        HISTORY_SHOWN,
                        args.history,
                        session,
                        key,
                    )
                )
            browser.close()
    finally:
        server.stop()
        site.httpd.shutdown()
    size = subprocess.run(
        ["gzip", "-9c", str(ROOT / "src/unihub/webchat/static/hubster-webchat.js")],
        capture_output=True,
        check=True,
    ).stdout
    ratio = lambda a, b: statistics.median(results[b]) / statistics.median(results[a])  # noqa: E731
    print(
        f"## WebChat component (Chromium {browser_version()}, {args.runs} runs each, load avg "
        f"{load[0]:.2f} before / {os.getloadavg()[0]:.2f} after)\n"
    )
    print(f"Script: {len(size) / 1024:.1f} KB gzipped (budget 35 KB).\n")
    print("| measure | component | ceiling | ratio (ceiling / component) |")
    print("|---|---|---|---|")
    print(
        f"| script load -> launcher visible | {spread(results['launcher'])} | "
        f"{spread(results['ceiling-launcher'])} | {ratio('launcher', 'ceiling-launcher'):.2f} |"
    )
    print(
        f"| render a {args.history}-activity history | {spread(results['history'])} | "
        f"{spread(results['ceiling-history'])} | {ratio('history', 'ceiling-history'):.2f} |"
    )


def browser_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.split()[1] if out.stdout else "?"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


if __name__ == "__main__":
    main()
