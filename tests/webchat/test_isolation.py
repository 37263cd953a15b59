"""The component keeps to itself: an open Shadow DOM, no CSS leaking in or out, no globals
besides HUBSTER_CONFIG and the element, chatting under a strict Content-Security-Policy, and
a phone-sized viewport using the whole screen with a 16 px input (no zoom on focus)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.fakes.server import run_app_in_thread
from tests.webchat.scene import Scene, host_page, shadow

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect

AGGRESSIVE = """<style>
* { color: red !important; font-size: 40px !important; font-family: serif !important;
    line-height: 3 !important; letter-spacing: 4px !important; text-transform: uppercase !important;
    box-sizing: content-box !important; margin: 7px !important; }
button { display: none !important; }
div, header, footer { background: yellow !important; padding: 30px !important; }
textarea { border: 5px dashed green !important; }
</style>"""

# Host elements named like the component's own classes and tags.
LOOKALIKES = """<header class="hdr">A page header</header>
<div class="msg customer"><div class="bubble">A page div</div></div>
<button class="btn postback primary launcher" type="button">A page button</button>
<a class="btn link info" href="#top">A page link</a>
<textarea class="send">page text</textarea>
<footer>A page footer</footer>"""

PARTS = {
    "launcher": ".launcher",
    "header": "header",
    "title": "header h2",
    "close": ".close",
    "log": ".log",
    "bubble": ".msg .bubble",
    "meta": ".msg .meta",
    "textarea": "textarea",
    "send": ".send",
    "footer": "footer",
}
PROPS = (
    "color",
    "font-size",
    "font-family",
    "line-height",
    "letter-spacing",
    "text-transform",
    "display",
    "background-color",
    "padding-top",
    "margin-top",
    "border-top-style",
    "box-sizing",
)


async def component_styles(page: Any) -> Any:
    """The computed PROPS of the component's parts (a message is in the log)."""
    return await shadow(
        page,
        f"Object.fromEntries(Object.entries({PARTS!r}).map(([k, sel]) => {{"
        " const n = root.querySelector(sel); const s = getComputedStyle(n);"
        f" return [k, Object.fromEntries({list(PROPS)!r}.map(p => [p, s.getPropertyValue(p)]))];"
        " }))",
    )


HOST_STYLES = f"""() => Object.fromEntries(
  ['header.hdr', 'div.msg', 'div.bubble', 'button.btn', 'a.btn', 'textarea.send', 'footer']
    .map(sel => {{ const s = getComputedStyle(document.querySelector(sel));
      return [sel, Object.fromEntries(
        {list(PROPS)!r}.map(p => [p, s.getPropertyValue(p)]))]; }}))"""


async def open_with_a_message(page: Any) -> Any:
    launcher = page.get_by_role("button", name="Open chat")
    await launcher.click()
    dialog = page.get_by_role("dialog", name="Chat")
    await expect(dialog).to_be_visible()
    box = dialog.get_by_role("textbox")
    await box.fill("Styled by nobody else")
    await box.press("Enter")
    await expect(dialog.get_by_text("Styled by nobody else")).to_be_visible()
    return dialog


LAUNCHER_LOOK = """(() => { const n = root.querySelector('.launcher');
    const s = getComputedStyle(n); const r = n.getBoundingClientRect();
    return [s.color, s.fontSize, s.backgroundColor, s.display, r.width, r.height]; })()"""


async def test_open_shadow_root_and_no_css_leaks_either_way(scene: Scene) -> None:
    # One context per page: an opened chat would open again by itself on the next page.
    plain = await scene.new_page(url=scene.embed())
    await expect(plain.get_by_role("button", name="Open chat")).to_be_visible()
    launcher_look = await shadow(plain, LAUNCHER_LOOK)
    await open_with_a_message(plain)
    mode = await plain.locator("hubster-webchat").evaluate("e => e.shadowRoot && e.shadowRoot.mode")
    assert mode == "open"
    reference = await component_styles(plain)

    # Into the component: a host page's aggressive CSS changes none of its computed styles.
    hostile = await scene.new_page(url=scene.embed(head=AGGRESSIVE))
    await expect(hostile.get_by_role("heading", name="A shop")).to_have_css(
        "color", "rgb(255, 0, 0)"
    )
    await expect(hostile.get_by_role("button", name="Open chat")).to_be_visible()
    assert await shadow(hostile, LAUNCHER_LOOK) == launcher_look
    await open_with_a_message(hostile)
    assert await component_styles(hostile) == reference

    # Out of the component: host elements with its class and tag names look the same with and
    # without it on the page.
    without = await scene.new_page(
        None,
        scene.page_url(
            f"<!DOCTYPE html><html><head><title>x</title></head><body>{LOOKALIKES}</body></html>"
        ),
    )
    with_it = await scene.new_page(url=scene.embed(body=LOOKALIKES))
    await open_with_a_message(with_it)
    assert await with_it.evaluate(HOST_STYLES) == await without.evaluate(HOST_STYLES)
    # And the component's own style sheets are in its shadow root only.
    assert await with_it.evaluate("document.styleSheets.length") == 0
    assert await with_it.evaluate("document.adoptedStyleSheets.length") == 0
    assert scene.errors == []


async def test_no_globals_besides_the_config_and_the_element(scene: Scene) -> None:
    config = scene.config()
    html = f"""<!DOCTYPE html><html><head><title>blank</title></head><body>
<script>window.before = Object.keys(window);</script>
<hubster-webchat></hubster-webchat>
<script>window.HUBSTER_CONFIG = {config};</script>
<script src="{scene.server.base_url}/webchat/hubster-webchat.js"></script>
</body></html>"""
    page = await scene.new_page(url=scene.page_url(html))
    await open_with_a_message(page)
    added = await page.evaluate(
        "Object.keys(window).filter(k => !window.before.includes(k) && k !== 'before')"
    )
    assert added == ["HUBSTER_CONFIG"]
    assert await page.evaluate("typeof customElements.get('hubster-webchat')") == "function"
    # Nothing on the element's prototype chain leaks into window names either.
    assert await page.evaluate("'HubsterWebchat' in window") is False


def sha256_source(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("where", ["meta", "header"])
async def test_chats_under_a_strict_content_security_policy(
    scene: Scene, where: str, request: pytest.FixtureRequest
) -> None:
    """script-src and connect-src only unihub's origin (and the inline config's hash), no
    unsafe-inline or unsafe-eval, style-src 'none': a whole chat without one violation."""
    server = scene.server.base_url
    ws = server.replace("http://", "ws://")
    inline = f"window.HUBSTER_CONFIG = {scene.config()};"
    policy = (
        f"default-src 'none'; script-src {server} {sha256_source(inline)}; "
        f"connect-src {server} {ws}; img-src {server}; style-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-src 'none'"
    )
    assert "unsafe" not in policy
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    html = host_page(scene.server, scene.config(), head=meta if where == "meta" else "")
    if where == "meta":
        url = scene.page_url(html)
    else:
        # A site of its own answering with the header (a page fulfilled by a Playwright route
        # would not count as a local one, and Chromium would refuse its loopback requests).
        async def page_with_header(_: Any) -> HTMLResponse:
            return HTMLResponse(html, headers={"Content-Security-Policy": policy})

        base, stop = run_app_in_thread(Starlette(routes=[Route("/", page_with_header)]))
        request.addfinalizer(stop)
        url = base + "/"
    context = await scene.new_context()
    await context.add_init_script(
        "window.violations = [];"
        " document.addEventListener('securitypolicyviolation', e =>"
        " window.violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = await scene.new_page(context, url)
    # The policy is in force: an inline script without the hash does not run.
    assert await page.evaluate("window.HUBSTER_CONFIG !== undefined")
    blocked = await page.evaluate(
        "() => new Promise(done => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = true'; document.body.append(s);"
        " setTimeout(() => done(window.ran === undefined && window.violations.length), 100); })"
    )
    assert blocked == 1
    await page.evaluate("window.violations = []")

    dialog = await open_with_a_message(page)
    got = await scene.agent_got(1, "the visitor's message at the agent")
    assert got[0]["message"]["text"] == "Styled by nobody else"
    cid = await scene.visitor_conversation(page)
    await scene.agent_text(cid, "Hello under a strict policy")
    await expect(dialog.get_by_text("Hello under a strict policy")).to_be_visible(timeout=10000)
    # Styled (constructable stylesheets are not inline styles), not bare HTML.
    await expect(dialog.locator("header")).to_have_css("display", "flex")
    await expect(page.locator("hubster-webchat")).to_have_css("position", "fixed")
    assert await page.evaluate("window.violations") == []
    assert scene.errors == []


async def test_a_phone_uses_the_whole_screen_and_a_16px_input(scene: Scene) -> None:
    context = await scene.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    # The reference's mount style (bottom/right) positions the launcher, not the open window.
    mount = {"mount": {"style": {"bottom": "5rem", "right": ".9rem"}}}
    page = await scene.new_page(context, scene.embed(f"styles: {json.dumps(mount)}"))
    launcher = page.get_by_role("button", name="Open chat")
    box = await launcher.bounding_box()
    assert box is not None and box["width"] < 100  # closed: a button in the corner
    await launcher.tap()
    dialog = page.get_by_role("dialog", name="Chat")
    await expect(dialog).to_be_visible()
    assert await dialog.bounding_box() == {"x": 0, "y": 0, "width": 375, "height": 667}
    textbox = dialog.get_by_role("textbox")
    size = await textbox.evaluate("t => parseFloat(getComputedStyle(t).fontSize)")
    assert size >= 16  # iOS zooms into inputs under 16 px
    await textbox.tap()
    await textbox.fill("From my phone")
    await dialog.get_by_role("button", name="Send").tap()
    await expect(dialog.get_by_text("From my phone")).to_be_visible()
    got = await scene.agent_got(1, "the phone's message at the agent")
    assert got[0]["message"]["text"] == "From my phone"
    # The page was not zoomed or scrolled sideways.
    assert await page.evaluate("[visualViewport.scale, document.documentElement.scrollWidth]") == [
        1,
        375,
    ]
    await scene.shot(page, "mobile")
    await dialog.get_by_role("button", name="Close chat").tap()
    await expect(launcher).to_be_visible()
