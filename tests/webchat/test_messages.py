"""Every message type of the reference's 4_activities.rst as an agent (or a bot) sends it to a
visitor of <hubster-webchat>, in a real Chromium: what the visitor sees, found by role and
accessible name. Interactions (buttons, quick replies, links, carousel, lightbox) and the
events (typing, seen, payload) are in test_actions.py. Pictures are SVGs the host site's
origin answers (a Playwright route on 127.0.0.1), so nothing leaves the machine and the
screenshots look like the reference's."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.engine.factories import MadeIntegration, make_integration
from tests.webchat.scene import XSS, Scene, shadow

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect

Page = Any
Locator = Any

# --- pictures: hand-drawn SVGs served from the host site's origin ------------------------------


def _car(body: str, sky: str) -> str:
    return f"""<svg xmlns="http://www.w3.org/2000/svg"
 width="540" height="300" viewBox="0 0 540 300">
<defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{sky}"/>
<stop offset="1" stop-color="#1b1d24"/></linearGradient>
<linearGradient id="b" x1="0" y1="0" x2="0" y2="1">
<stop offset="0" stop-color="#fff" stop-opacity=".35"/>
<stop offset=".5" stop-color="{body}" stop-opacity="1"/></linearGradient></defs>
<rect width="540" height="300" fill="url(#s)"/>
<rect y="225" width="540" height="75" fill="#2a2c33"/>
<path d="M60 215 Q70 170 150 160 L220 118 Q270 100 340 112 L410 158 Q480 168 488 205
 L488 222 L60 222 Z"
 fill="{body}"/>
<path d="M60 215 Q70 170 150 160 L220 118 Q270 100 340 112 L410 158 Q480 168 488 205
 L488 222 L60 222 Z"
 fill="url(#b)"/>
<path d="M232 128 Q270 114 332 122 L380 158 L205 160 Z" fill="#20252e" opacity=".85"/>
<circle cx="150" cy="222" r="34" fill="#111"/><circle cx="150" cy="222" r="16" fill="#9aa0a8"/>
<circle cx="400" cy="222" r="34" fill="#111"/><circle cx="400" cy="222" r="16" fill="#9aa0a8"/>
<rect x="452" y="180" width="30" height="9" rx="4" fill="#ffe9a8"/></svg>"""


def _portrait() -> str:
    return """<svg xmlns="http://www.w3.org/2000/svg"
 width="540" height="300" viewBox="0 0 540 300">
<defs><radialGradient id="g" cx=".5" cy=".35" r=".8"><stop offset="0" stop-color="#6f8f6a"/>
<stop offset="1" stop-color="#203022"/></radialGradient></defs>
<rect width="540" height="300" fill="url(#g)"/>
<path d="M170 300 Q180 215 270 205 Q360 215 370 300 Z" fill="#2b2f3a"/>
<path d="M205 150 Q200 60 270 55 Q345 60 338 150 Q350 230 300 240 L240 240 Q190 230 205 150 Z"
 fill="#4a2a1c"/>
<ellipse cx="270" cy="145" rx="52" ry="64" fill="#f0c8a8"/>
<ellipse cx="250" cy="138" rx="8" ry="5" fill="#3b5a78"/>
<ellipse cx="290" cy="138" rx="8" ry="5" fill="#3b5a78"/>
<path d="M255 178 Q270 186 285 178" stroke="#b0303a" stroke-width="6" fill="none"
 stroke-linecap="round"/>
<path d="M218 120 Q240 70 300 80 Q330 95 326 128 Q300 96 255 100 Z" fill="#4a2a1c"/></svg>"""


def _landscape(label: str = "") -> str:
    text = (
        f'<text x="270" y="60" font-family="sans-serif" font-size="30" fill="#fff" '
        f'text-anchor="middle">{label}</text>'
        if label
        else ""
    )
    return f"""<svg xmlns="http://www.w3.org/2000/svg"
 width="540" height="300" viewBox="0 0 540 300">
<defs><linearGradient id="k" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#ff9a62"/>
<stop offset="1" stop-color="#ffd7a0"/></linearGradient></defs>
<rect width="540" height="300" fill="url(#k)"/><circle cx="400" cy="110" r="42" fill="#fff4c2"/>
<path d="M0 230 L120 120 L200 190 L300 90 L420 200 L540 140 L540 300 L0 300 Z" fill="#5b4a7a"/>
<path d="M0 260 L160 190 L300 250 L430 200 L540 240 L540 300 L0 300 Z" fill="#33294a"/>
{text}</svg>"""


PICTURES = {
    "green-dragon.svg": _car("#7a8f1e", "#4f5563"),
    "victorious.svg": _car("#2f63c8", "#7d8ea8"),
    "panther.svg": _car("#2b2b2f", "#8b8f99"),
    "alien.svg": _car("#c9c9cf", "#3a4a6a"),
    "red-baron.svg": _car("#b3202a", "#a0a7b3"),
    "eva.svg": _portrait(),
    "sunset.svg": _landscape(),
    "space.svg": _landscape("Space Odyssey"),
}


async def serve_pictures(scene: Scene, page: Page) -> None:
    """`{site}/img/<name>` answers PICTURES[name] as image/svg+xml (404 otherwise)."""

    async def answer(route: Any) -> None:
        name = route.request.url.rsplit("/", 1)[-1].split("?")[0]
        if name in PICTURES:
            await route.fulfill(status=200, content_type="image/svg+xml", body=PICTURES[name])
        else:
            await route.fulfill(status=404, content_type="text/plain", body="no such picture")

    await page.route(f"{scene.site.base_url}/img/**", answer)


PLAYER = """<!DOCTYPE html><html><meta charset="utf-8">
<body style="margin:0;height:100vh;display:grid;place-items:center;
background:linear-gradient(160deg,#1d2b4f,#0b0f1a);font:600 15px sans-serif;color:#fff">
<div style="position:absolute;top:10px;left:12px">{title}</div>
<div style="width:68px;height:48px;border-radius:12px;background:{colour};display:grid;
place-items:center"><div style="border-left:20px solid #fff;border-top:12px solid transparent;
border-bottom:12px solid transparent;margin-left:6px"></div></div></body></html>"""


async def serve_players(page: Page) -> list[str]:
    """Stand-ins for the YouTube and Vimeo players (their sites are out of reach): a dark
    frame with a play button, so screenshots show a player; the URLs the frames asked for."""
    asked: list[str] = []

    async def answer(route: Any) -> None:
        url = route.request.url
        asked.append(url)
        youtube = "youtube" in url
        html = PLAYER.format(
            title=("YouTube" if youtube else "Vimeo") + " · " + url.rsplit("/", 1)[-1],
            colour="#f00" if youtube else "#1ab7ea",
        )
        await route.fulfill(status=200, content_type="text/html", body=html)

    await page.route("https://www.youtube.com/embed/**", answer)
    await page.route("https://player.vimeo.com/video/**", answer)
    return asked


def img(scene: Scene, name: str) -> str:
    return f"{scene.site.base_url}/img/{quote(name)}"


def webchat_meta(**pairs: str) -> list[dict[str, Any]]:
    """`channels` with Webchat metadata (`caption_show="true"` → key `caption-show`)."""
    return [
        {
            "type": "Webchat",
            "metadata": [{"key": k.replace("_", "-"), "value": v} for k, v in pairs.items()],
        }
    ]


CAPTION = webchat_meta(caption_show="true", caption_color="white")

# --- a visitor with the chat open ------------------------------------------------------------


class Chat:
    """A visitor's page with the chat open on an established conversation."""

    def __init__(self, scene: Scene, page: Page, cid: str) -> None:
        self.scene = scene
        self.page = page
        self.cid = cid
        self.dialog = page.get_by_role("dialog", name="Chat")
        self.log = self.dialog.get_by_role("log")
        self.players: list[str] = []  # the embedded players' URLs the page loaded

    async def agent(self, message: dict[str, Any], sender: str | None = None) -> None:
        await self.scene.agent_sends(self.cid, message, sender=sender)

    async def event(self, event: dict[str, Any], sender: str | None = None) -> None:
        await self.scene.agent_sends(self.cid, event=event, sender=sender)

    def rows(self, who: str = "agent") -> Locator:
        """The message rows of one side (`customer`, `agent`, `bot`): CSS, they have no role."""
        return self.log.locator(f".msg.{who}")

    def last(self, who: str = "agent") -> Locator:
        return self.rows(who).last

    async def clean(self) -> None:
        """Nothing ran and nothing was made of markup or javascript: URLs."""
        assert self.scene.alerts == [] and self.scene.errors == []
        assert await shadow(self.page, "root.querySelectorAll('img[src=\"x\"]').length") == 0
        assert await shadow(self.page, "root.querySelectorAll('[onerror]').length") == 0
        assert (
            await shadow(self.page, "root.querySelectorAll('[href^=\"javascript\" i]').length") == 0
        )
        assert (
            await shadow(self.page, "root.querySelectorAll('[src^=\"javascript\" i]').length") == 0
        )


async def open_chat(scene: Scene, extra: str = "", context: Any = None, **page_kw: Any) -> Chat:
    page = await scene.new_page(context)
    await serve_pictures(scene, page)
    players = await serve_players(page)
    await page.goto(scene.embed(extra, **page_kw))
    await page.get_by_role("button", name="Open chat").click()
    key = f"hubster-webchat:{scene.webchat_id.lower()}"
    await page.wait_for_function(
        "k => { const v = localStorage.getItem(k); return v && JSON.parse(v).conversationId; }",
        arg=key,
    )
    chat = Chat(scene, page, await scene.visitor_conversation(page))
    chat.players = players
    await expect(chat.dialog).to_be_visible()
    return chat


async def add_bot(scene: Scene) -> MadeIntegration:
    """A Bot integration of the hub (webhook to the receiver). Added before the visitor's
    conversation starts, the bot controls it: it may speak; an agent posting takes over."""
    bot = await make_integration(
        scene.ctx.db,
        scene.ctx.box,
        scene.tenant.tenant_id,
        scene.hub_id,
        integration_type="Bot",
        webhook_url=scene.receiver.url(f"bot-{scene.agent_name}"),
    )
    scene.receiver.trust(bot.public_key, bot.private_key)
    return bot


async def style(locator: Locator, prop: str) -> str:
    value: str = await locator.evaluate(f"e => getComputedStyle(e).{prop}")
    return value


# --- text ------------------------------------------------------------------------------------


async def test_text_keeps_line_breaks_and_links_http_https_www_only(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent({"type": "text", "text": "One line"})
    await chat.agent({"type": "text", "text": "First line\nSecond line"})
    text = (
        "Our shop: https://shop.example/cart?id=7, the blog http://blog.example and "
        "www.example.org. Not a link: javascript:alert(1)"
    )
    await chat.agent({"type": "text", "text": text})
    await expect(chat.rows()).to_have_count(3, timeout=10000)

    one = chat.rows().nth(0).locator(".text")
    two = chat.rows().nth(1).locator(".text")
    assert await two.inner_text() == "First line\nSecond line"
    h1 = (await one.bounding_box())["height"]
    h2 = (await two.bounding_box())["height"]
    assert h2 > 1.7 * h1, (h1, h2)  # two lines are drawn as two lines

    third = chat.rows().nth(2)
    await expect(third.get_by_text(text)).to_be_visible()  # the whole text, in order
    links = third.get_by_role("link")
    await expect(links).to_have_count(3)
    for name, href in [
        ("https://shop.example/cart?id=7", "https://shop.example/cart?id=7"),
        ("http://blog.example", "http://blog.example/"),
        ("www.example.org", "https://www.example.org/"),
    ]:
        link = third.get_by_role("link", name=name, exact=True)
        await expect(link).to_have_attribute("href", href)
        await expect(link).to_have_attribute("target", "_blank")
        assert "noopener" in (await link.get_attribute("rel")).split()
    await chat.clean()
    await chat.scene.shot(chat.page, "text")


async def test_customer_agent_and_bot_bubbles_differ_and_each_shows_its_time(
    scene: Scene,
) -> None:
    bot = await add_bot(scene)  # before the conversation starts: the bot controls it
    chat = await open_chat(scene)
    await chat.agent({"type": "text", "text": "Hi, I am the shop's assistant."}, sender=bot.id)
    await expect(chat.rows("bot")).to_have_count(1, timeout=10000)
    box = chat.dialog.get_by_role("textbox")
    await box.fill("I would like to talk to a person")
    await box.press("Enter")
    await expect(chat.rows("customer").filter(has=chat.page.locator("time"))).to_have_count(1)
    await chat.agent({"type": "text", "text": "Hello, this is Sam. How can I help?"})
    await expect(chat.rows("agent")).to_have_count(1, timeout=10000)

    colours = {}
    for who in ("customer", "agent", "bot"):
        row = chat.rows(who)
        await expect(row).to_have_count(1)
        colours[who] = await style(row.locator(".bubble"), "backgroundColor")
        stamp = row.locator("time")
        await expect(stamp).to_have_count(1)
        await expect(stamp).to_have_text(re.compile(r"\d{1,2}:\d\d"))
        when = await stamp.get_attribute("datetime")
        assert when and when.endswith("Z") and when[:4].isdigit(), when
    assert len(set(colours.values())) == 3, colours
    # The visitor's message sits on the other side.
    customer = await chat.rows("customer").bounding_box()
    agent = await chat.rows("agent").bounding_box()
    assert customer["x"] > agent["x"]
    await scene.shot(chat.page, "bubbles")


# --- media -----------------------------------------------------------------------------------

YOUTUBE_FORMS = [
    ("https://youtube.com/embed/x1245b", "x1245b"),
    ("https://youtube.com/watch?v=x1245c", "x1245c"),
    ("https://m.youtube.com/watch?v=x1245d", "x1245d"),
    ("https://youtu.be/watch?v=x1245e", "x1245e"),
    ("https://youtu.be/x1245f", "x1245f"),
    ("youtube.com/embed/x1245g", "x1245g"),
    ("https://www.youtube.com/watch?v=x1245h&t=42", "x1245h"),
]
VIMEO_FORMS = [
    ("https://player.vimeo.com/video/12345678", "12345678"),
    ("https://vimeo.com/22345678", "22345678"),
    ("player.vimeo.com/video/32345678", "32345678"),
    ("vimeo.com/42345678", "42345678"),
]


async def test_youtube_and_vimeo_in_every_documented_form_become_embedded_players(
    scene: Scene,
) -> None:
    chat = await open_chat(scene)
    for url, _ in YOUTUBE_FORMS:
        await chat.agent({"type": "youtube", "url": url})
    for url, _ in VIMEO_FORMS:
        await chat.agent({"type": "vimeo", "url": url})
    frames = chat.log.locator("iframe")
    await expect(frames).to_have_count(len(YOUTUBE_FORMS) + len(VIMEO_FORMS), timeout=10000)
    want = [f"https://www.youtube.com/embed/{i}" for _, i in YOUTUBE_FORMS]
    want += [f"https://player.vimeo.com/video/{i}" for _, i in VIMEO_FORMS]
    assert [await f.get_attribute("src") for f in await frames.all()] == want
    for f in await frames.all():
        assert await f.get_attribute("title") in ("YouTube video", "Vimeo video")
        assert await f.get_attribute("allowfullscreen") is not None
    await expect(chat.log.locator("iframe").first).to_be_visible()
    await chat.clean()
    # The frames load those players (lazily: the ones scrolled to).
    await chat.rows().nth(0).scroll_into_view_if_needed()
    await expect(
        chat.page.frame_locator("hubster-webchat iframe >> nth=0").get_by_text("YouTube · x1245b")
    ).to_be_visible()
    await scene.shot(chat.page, "youtube")
    await chat.rows().last.scroll_into_view_if_needed()
    await expect(
        chat.page.frame_locator("hubster-webchat iframe >> nth=-1").get_by_text("Vimeo · 42345678")
    ).to_be_visible()
    await scene.shot(chat.page, "vimeo")
    assert chat.players and set(chat.players) <= set(want), chat.players
    assert scene.outside == [], scene.outside


async def test_video_and_audio_are_html5_players_with_their_source_and_label(
    scene: Scene,
) -> None:
    chat = await open_chat(scene)
    video_url = f"{scene.site.base_url}/media/elephants.mp4"
    audio_url = f"{scene.site.base_url}/media/podcast.mp3"
    await chat.agent({"type": "video", "url": video_url, "label": "Elephants at the river"})
    await chat.agent({"type": "video", "url": f"{scene.site.base_url}/media/trailer.mov"})
    await chat.agent({"type": "audio", "url": audio_url, "label": "Episode 12: Spring sale"})
    await chat.agent(
        {"type": "audio", "url": f"{scene.site.base_url}/media/hello.wav", "mimeType": "audio/wav"}
    )
    await expect(chat.rows()).to_have_count(4, timeout=10000)

    video = chat.log.locator("video").first
    await expect(video).to_have_attribute("controls", "")
    await expect(video.locator("source")).to_have_attribute("src", video_url)
    await expect(video.locator("source")).to_have_attribute("type", "video/mp4")
    await expect(chat.rows().nth(0).get_by_text("Elephants at the river")).to_be_visible()
    await expect(chat.log.locator("video").nth(1).locator("source")).to_have_attribute(
        "type", "video/quicktime"
    )
    audio = chat.log.locator("audio").first
    await expect(audio).to_have_attribute("controls", "")
    await expect(audio.locator("source")).to_have_attribute("src", audio_url)
    await expect(audio.locator("source")).to_have_attribute("type", "audio/mpeg")
    await expect(chat.rows().nth(2).get_by_text("Episode 12: Spring sale")).to_be_visible()
    await expect(chat.log.locator("audio").nth(1).locator("source")).to_have_attribute(
        "type", "audio/wav"
    )
    # Real players the visitor can use: the browser made its native controls for them.
    for player in (video, audio):
        assert await player.evaluate("e => e instanceof HTMLMediaElement && e.controls")
        box = await player.bounding_box()
        assert box and box["width"] > 150 and box["height"] > 20
    await chat.rows().nth(0).scroll_into_view_if_needed()
    await scene.shot(chat.page, "video")
    await chat.rows().nth(3).scroll_into_view_if_needed()
    await scene.shot(chat.page, "audio")


async def test_image_with_caption_and_an_image_with_an_anchor(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(
        {
            "type": "image",
            "url": img(scene, "eva.svg"),
            "alt": "Eva Green smiling",
            "title": "Eva Green",
            "channels": CAPTION,
        }
    )
    await chat.agent(
        {
            "type": "image",
            "url": img(scene, "sunset.svg"),
            "alt": "Our beach",
            "urlAnchor": "https://travel.example/beach",
        }
    )
    await chat.agent({"type": "image", "url": img(scene, "victorious.svg"), "title": "No caption"})
    await expect(chat.rows()).to_have_count(3, timeout=10000)

    first = chat.rows().nth(0)
    enlarge = first.get_by_role("button", name="Enlarge image: Eva Green smiling")
    await expect(enlarge).to_be_visible()
    picture = enlarge.get_by_role("img", name="Eva Green smiling")
    await expect(picture).to_have_attribute("src", img(scene, "eva.svg"))
    # It loaded (the host site's origin answered it): a real picture, not a broken icon.
    assert await picture.evaluate("i => i.decode().then(() => i.naturalWidth)") == 540
    caption = first.get_by_text("Eva Green", exact=True)
    await expect(caption).to_be_visible()
    assert await style(caption, "color") == "rgb(255, 255, 255)"
    cap_box, pic_box = await caption.bounding_box(), await picture.bounding_box()
    assert pic_box["y"] < cap_box["y"] < pic_box["y"] + pic_box["height"]  # over the picture

    anchored = chat.rows().nth(1).get_by_role("link", name="Open Our beach")
    await expect(anchored).to_have_attribute("href", "https://travel.example/beach")
    await expect(anchored).to_have_attribute("target", "_blank")
    assert "noopener" in (await anchored.get_attribute("rel")).split()
    await expect(chat.rows().nth(1).get_by_role("button")).to_have_count(0)
    # Without caption-show the title is not drawn over the picture.
    await expect(chat.rows().nth(2).get_by_text("No caption")).to_have_count(0)
    await chat.clean()
    await chat.rows().nth(0).scroll_into_view_if_needed()
    await scene.shot(chat.page, "image")


async def test_attachment_is_a_download_link_with_its_label(scene: Scene) -> None:
    chat = await open_chat(scene)
    url = "https://files.example/reports/2024.pdf"
    await chat.agent(
        {"type": "attachment", "label": "Year end report", "mimeType": "pdf", "url": url}
    )
    link = chat.log.get_by_role("link", name="Year end report")
    await expect(link).to_be_visible(timeout=10000)
    await expect(link).to_have_attribute("href", url)
    await expect(link).to_have_attribute("download", "")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_contain_text("pdf")
    await chat.clean()
    await scene.shot(chat.page, "attachment")


async def test_location_shows_the_address_and_a_map_link_and_fetches_no_tiles(
    scene: Scene,
) -> None:
    chat = await open_chat(scene)
    await chat.agent(
        {
            "type": "location",
            "address": "2640 Matheson, Mississauga, ON",
            "latitude": 43.8425254,
            "longitude": -79.5240196,
        }
    )
    await chat.agent({"type": "location", "address": "123 Main Street, Maple, ON"})
    await expect(chat.rows()).to_have_count(2, timeout=10000)
    first = chat.rows().nth(0)
    await expect(first.get_by_text("2640 Matheson, Mississauga, ON")).to_be_visible()
    link = first.get_by_role("link", name="Open map")
    href = await link.get_attribute("href")
    assert href and href.startswith("https://www.openstreetmap.org/"), href
    assert "43.8425254" in href and "-79.5240196" in href  # coordinates are preferred
    await expect(link).to_have_attribute("target", "_blank")
    assert "noopener" in (await link.get_attribute("rel")).split()
    second = chat.rows().nth(1).get_by_role("link", name="Open map")
    assert "query=123%20Main%20Street" in (await second.get_attribute("href") or "")
    await chat.page.wait_for_timeout(500)  # give a would-be map time to ask for tiles
    assert scene.outside == [], scene.outside  # no tile, no map script, nothing
    assert await shadow(chat.page, "root.querySelectorAll('iframe, canvas').length") == 0
    await chat.clean()
    await scene.shot(chat.page, "location")


def contact(scene: Scene, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "contact",
        "imageUrl": img(scene, "eva.svg"),
        "title": "Eva Green",
        "subtitle": "Mighty Health",
        "properties": [
            {"key": "Title", "value": "Health Advisor/Coach"},
            {"key": "Address", "value": "123 Main Street, Maple, ON", "type": "address;work"},
            {"key": "Cell", "value": "(416) 555-0001", "type": "phone;cell"},
            {"key": "Email", "value": "eva@mightyhealth.com", "type": "email"},
        ],
        "channels": CAPTION,
    }
    body.update(over)
    return body


async def test_contact_is_the_reference_card(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent({"type": "text", "text": "Here's my contact info", "items": [contact(scene)]})
    row = chat.rows().first
    await expect(row).to_be_visible(timeout=10000)
    await expect(row.get_by_text("Here's my contact info")).to_be_visible()
    picture = row.get_by_role("img", name="Eva Green")
    await expect(picture).to_have_attribute("src", img(scene, "eva.svg"))
    caption = row.get_by_text("Eva Green", exact=True)
    assert await style(caption, "color") == "rgb(255, 255, 255)"
    cap_box, pic_box = await caption.bounding_box(), await picture.bounding_box()
    assert pic_box["y"] < cap_box["y"] < pic_box["y"] + pic_box["height"]
    await expect(row.get_by_text("Mighty Health")).to_be_visible()
    for line in (
        "Title: Health Advisor/Coach",
        "Address: 123 Main Street, Maple, ON",
        "Cell: (416) 555-0001",
        "Email: eva@mightyhealth.com",
    ):
        await expect(row.locator(".prop").filter(has_text=line)).to_have_count(1)
    await expect(row.get_by_role("link", name="(416) 555-0001")).to_have_attribute(
        "href", "tel:4165550001"
    )
    await expect(row.get_by_role("link", name="eva@mightyhealth.com")).to_have_attribute(
        "href", "mailto:eva@mightyhealth.com"
    )
    await chat.clean()
    await scene.shot(chat.page, "contact")

    # Without caption-show the title is a heading under the picture.
    await chat.agent(contact(scene, channels=[], title="Mighty Health front desk"))
    await expect(
        chat.rows().nth(1).get_by_role("heading", name="Mighty Health front desk")
    ).to_be_visible(timeout=10000)


async def test_card_image_card_youtube_card_and_fallback_image(scene: Scene) -> None:
    chat = await open_chat(scene)
    content = "A compact car with a big heart: 5 seats, 600 km range, and a warranty for 8 years."
    await chat.agent(
        {
            "type": "card",
            "urlType": "image",
            "imageUrl": img(scene, "victorious.svg"),
            "title": "Victorious",
            "subtitle": "European style",
            "content": content,
            "channels": CAPTION,
        }
    )
    await chat.agent(
        {
            "type": "card",
            "urlType": "youtube",
            "imageUrl": "https://youtube.com/embed/abc",
            "title": "Cosmic Journeys",
            "subtitle": "Space Odyssey",
            "content": "Lorem Ipsum is simply dummy text of the printing industry.",
        }
    )
    await chat.agent(
        {
            "type": "card",
            "urlType": "image",
            "url": img(scene, "missing.svg"),
            "fallbackImageUrl": img(scene, "space.svg"),
            "title": "Fallback",
        }
    )
    await expect(chat.rows()).to_have_count(3, timeout=10000)

    image_card = chat.rows().nth(0)
    picture = image_card.get_by_role("img", name="Victorious")
    await expect(picture).to_have_attribute("src", img(scene, "victorious.svg"))
    caption = image_card.get_by_text("Victorious", exact=True)
    cap_box, pic_box = await caption.bounding_box(), await picture.bounding_box()
    assert pic_box["y"] < cap_box["y"] < pic_box["y"] + pic_box["height"]
    await expect(image_card.get_by_text("European style")).to_be_visible()
    await expect(image_card.get_by_text(content)).to_be_visible()

    video_card = chat.rows().nth(1)
    await expect(video_card.locator("iframe")).to_have_attribute(
        "src", "https://www.youtube.com/embed/abc"
    )
    await expect(video_card.get_by_role("heading", name="Cosmic Journeys")).to_be_visible()
    await expect(video_card.get_by_text("Space Odyssey")).to_be_visible()

    fallback = chat.rows().nth(2).get_by_role("img", name="Fallback")
    await expect(fallback).to_have_attribute("src", img(scene, "space.svg"))
    await chat.clean()
    await image_card.scroll_into_view_if_needed()
    await scene.shot(chat.page, "card")


def car_item(scene: Scene, title: str, picture: str, payload: str | None = None) -> dict[str, Any]:
    return {
        "title": title,
        "content": "Lorem Ipsum is simply dummy text of the printing and typesetting industry.",
        "urlType": "image",
        "url": img(scene, picture),
        "actions": [
            {"type": "reply", "title": "Select", "payload": payload or title},
            {"type": "link", "title": "More Info", "url": "https://hubster.io"},
        ],
    }


def carousel(scene: Scene) -> dict[str, Any]:
    return {
        "type": "carousel",
        "items": [
            car_item(scene, "Victorious", "victorious.svg"),
            car_item(scene, "Green Dragon", "green-dragon.svg"),
            car_item(scene, "Panther", "panther.svg", "Black Panther"),
        ],
        "channels": CAPTION,
    }


def catalog(scene: Scene) -> dict[str, Any]:
    return {
        "type": "list",
        "items": [
            car_item(scene, "Alien", "alien.svg"),
            car_item(scene, "Red Baron", "red-baron.svg"),
        ],
        "actions": [
            {"type": "postback", "title": "See more options", "payload": "More Options"},
            {"type": "link", "title": "Check our catalog", "url": "https://hubster.io/catalog"},
        ],
        "channels": CAPTION,
    }


async def test_carousel_lays_its_cards_out_side_by_side(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(carousel(scene))
    region = chat.log.get_by_role("region", name="Carousel")
    await expect(region).to_be_visible(timeout=10000)
    slides = region.get_by_role("group")
    await expect(slides).to_have_count(3)
    boxes = [await s.bounding_box() for s in await slides.all()]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]  # one row
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    track = region.get_by_label("Carousel items")
    overflow = await track.evaluate("t => t.scrollWidth - t.clientWidth")
    assert overflow > 100  # wider than the chat: it scrolls sideways
    for n, (title, picture) in enumerate(
        [
            ("Victorious", "victorious.svg"),
            ("Green Dragon", "green-dragon.svg"),
            ("Panther", "panther.svg"),
        ]
    ):
        slide = region.get_by_role("group", name=f"{n + 1} of 3")
        await expect(slide.get_by_role("img", name=title)).to_have_attribute(
            "src", img(scene, picture)
        )
        caption = slide.get_by_text(title, exact=True)
        assert await style(caption, "color") == "rgb(255, 255, 255)"
        await expect(slide.get_by_role("button", name="Select")).to_have_count(1)
        await expect(slide.get_by_role("link", name="More Info")).to_have_attribute(
            "href", "https://hubster.io/"
        )
    # At the start only "Next" is offered.
    await expect(region.get_by_role("button", name="Previous")).to_be_hidden()
    await expect(region.get_by_role("button", name="Next")).to_be_visible()
    await chat.clean()
    await scene.shot(chat.page, "carousel")


async def test_carousel_of_videos_youtube_vimeo_and_mp4(scene: Scene) -> None:
    chat = await open_chat(scene)

    def item(title: str, url_type: str, url: str) -> dict[str, Any]:
        return {
            "title": title,
            "content": "Lorem Ipsum is...",
            "urlType": url_type,
            "url": url,
            "actions": [
                {"type": "reply", "title": "Select", "payload": title},
                {"type": "link", "title": "Watch", "url": url},
            ],
        }

    await chat.agent(
        {
            "type": "carousel",
            "items": [
                item("Cosmic Journeys", "youtube", "youtube.com/embed/1234"),
                item("Space", "vimeo", "player.vimeo.com/video/1234"),
                item("Elephants", "video", f"{scene.site.base_url}/media/v1.mp4"),
            ],
        }
    )
    region = chat.log.get_by_role("region", name="Carousel")
    await expect(region.get_by_role("group")).to_have_count(3, timeout=10000)
    await expect(region.locator("iframe").nth(0)).to_have_attribute(
        "src", "https://www.youtube.com/embed/1234"
    )
    await expect(region.locator("iframe").nth(1)).to_have_attribute(
        "src", "https://player.vimeo.com/video/1234"
    )
    await expect(region.locator("video source")).to_have_attribute(
        "src", f"{scene.site.base_url}/media/v1.mp4"
    )
    await expect(region.get_by_role("heading", name="Space")).to_be_visible()
    await expect(region.get_by_role("link", name="Watch").nth(0)).to_have_attribute(
        "href", "https://youtube.com/embed/1234"
    )


async def test_list_shows_items_with_their_buttons_and_the_global_buttons(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(catalog(scene))
    items = chat.log.get_by_role("list").get_by_role("listitem")
    await expect(items).to_have_count(2, timeout=10000)
    for n, (title, picture) in enumerate([("Alien", "alien.svg"), ("Red Baron", "red-baron.svg")]):
        item = items.nth(n)
        await expect(item.get_by_role("img", name=title)).to_have_attribute(
            "src", img(scene, picture)
        )
        await expect(item.get_by_text(title, exact=True)).to_be_visible()
        await expect(item.get_by_text("Lorem Ipsum is simply dummy text")).to_be_visible()
        await expect(item.get_by_role("button", name="Select")).to_be_visible()
        await expect(item.get_by_role("link", name="More Info")).to_be_visible()
    # Stacked, one under the other (not a carousel).
    a, b = await items.nth(0).bounding_box(), await items.nth(1).bounding_box()
    assert a["x"] == b["x"] and b["y"] >= a["y"] + a["height"]
    row = chat.rows().first
    more = row.get_by_role("button", name="See more options")
    catalog_link = row.get_by_role("link", name="Check our catalog")
    await expect(more).to_be_visible()
    await expect(catalog_link).to_have_attribute("href", "https://hubster.io/catalog")
    await expect(catalog_link).to_have_attribute("target", "_blank")
    # The global buttons come after the items, outside of them.
    await expect(items.get_by_role("button", name="See more options")).to_have_count(0)
    assert (await more.bounding_box())["y"] > b["y"] + b["height"] - 1
    await chat.clean()
    await chat.log.evaluate("log => { log.scrollTop = log.scrollHeight; }")
    await scene.shot(chat.page, "list")


# --- script injection ------------------------------------------------------------------------

JS_URL = "javascript:alert(1)"


async def test_markup_in_every_text_field_stays_text(scene: Scene) -> None:
    chat = await open_chat(scene)
    picture = img(scene, "sunset.svg")
    site = "https://shop.example/"
    messages: list[dict[str, Any]] = [
        {
            "type": "text",
            "text": f"text {XSS}",
            "actions": [
                {"type": "postback", "title": XSS, "payload": XSS},
                {"type": "link", "title": f"link {XSS}", "url": site},
                {"type": "reply", "title": f"reply {XSS}", "payload": XSS},
            ],
        },
        {
            "type": "card",
            "urlType": "image",
            "url": picture,
            "title": f"card {XSS}",
            "subtitle": f"sub {XSS}",
            "content": f"content {XSS}",
        },
        {
            "type": "card",
            "urlType": "image",
            "url": picture,
            "title": f"caption {XSS}",
            "channels": CAPTION,
        },
        contact(
            scene,
            title=f"contact {XSS}",
            subtitle=f"sub {XSS}",
            properties=[
                {"key": f"key {XSS}", "value": f"value {XSS}"},
                {"key": "Cell", "value": XSS, "type": "phone;cell"},
                {"key": "Email", "value": XSS, "type": "email"},
                {"key": "Address", "value": XSS, "type": "address;home"},
            ],
        ),
        {"type": "attachment", "label": f"label {XSS}", "mimeType": XSS, "url": site},
        {
            "type": "image",
            "url": picture,
            "alt": f"alt {XSS}",
            "title": f"title {XSS}",
            "channels": CAPTION,
        },
        {"type": "location", "address": f"address {XSS}"},
        {"type": "video", "url": f"{scene.site.base_url}/media/v.mp4", "label": f"video {XSS}"},
        {"type": "audio", "url": f"{scene.site.base_url}/media/a.mp3", "label": f"audio {XSS}"},
        {
            "type": "list",
            "items": [
                {
                    "title": f"item {XSS}",
                    "content": f"c {XSS}",
                    "urlType": "image",
                    "url": picture,
                    "actions": [{"type": "reply", "title": f"r {XSS}", "payload": "r"}],
                }
            ],
            "actions": [{"type": "postback", "title": f"list {XSS}", "payload": "p"}],
        },
        {
            "type": "carousel",
            "items": [{"title": f"slide {XSS}", "urlType": "image", "url": picture}],
            "channels": CAPTION,
        },
    ]
    for message in messages:
        await chat.agent(message)
    await expect(chat.rows()).to_have_count(len(messages), timeout=10000)

    # The markup is shown as the text it is, where the visitor reads it.
    for shown in (
        "text",
        "card",
        "sub",
        "content",
        "caption",
        "contact",
        "key",
        "value",
        "label",
        "title",
        "address",
        "video",
        "audio",
        "item",
        "c",
        "slide",
    ):
        await expect(chat.log.get_by_text(f"{shown} {XSS}").first).to_be_visible()
    for name in (XSS, f"list {XSS}", f"r {XSS}"):
        await expect(chat.log.get_by_role("button", name=name, exact=True)).to_be_visible()
    await expect(chat.log.get_by_role("link", name=f"link {XSS}")).to_be_visible()
    quick = chat.dialog.get_by_role("group", name="Quick replies")
    await expect(quick.get_by_role("button", name=f"reply {XSS}")).to_be_visible()
    await expect(chat.log.get_by_role("img", name=f"alt {XSS}")).to_have_count(1)
    # The phone link dials digits only; the address link searches for the text, encoded.
    await expect(chat.log.get_by_role("link", name=XSS, exact=True).first).to_have_attribute(
        "href", "tel:1"
    )
    await chat.clean()

    # The visitor presses the markup button: it goes out as text and comes back as text.
    await chat.log.get_by_role("button", name=XSS, exact=True).click()
    await expect(chat.rows("customer").get_by_text(XSS, exact=True)).to_be_visible()
    got = await scene.agent_got(1, "the postback at the agent")
    assert got[-1]["message"]["text"] == XSS
    await chat.page.wait_for_timeout(300)  # an onerror would have fired by now
    await chat.clean()
    await scene.shot(chat.page, "injection")


def with_javascript_urls(scene: Scene) -> list[dict[str, Any]]:
    """A message for every URL field, each carrying `javascript:alert(1)`."""
    picture = img(scene, "sunset.svg")
    return [
        {
            "type": "text",
            "text": "link action",
            "actions": [{"type": "link", "title": "js link action", "url": JS_URL}],
        },
        {"type": "image", "url": picture, "alt": "js anchor", "urlAnchor": JS_URL},
        {"type": "image", "url": JS_URL, "alt": "js picture"},
        {"type": "attachment", "label": "js attachment", "mimeType": "pdf", "url": JS_URL},
        {"type": "card", "urlType": "image", "url": JS_URL, "title": "js card"},
        {
            "type": "card",
            "urlType": "youtube",
            "url": JS_URL,
            "title": "js youtube card",
            "fallbackImageUrl": JS_URL,
        },
        {
            "type": "card",
            "urlType": "image",
            "imageUrl": img(scene, "missing.svg"),
            "fallbackImageUrl": JS_URL,
            "title": "js fallback",
        },
        contact(scene, imageUrl=JS_URL, title="js contact"),
        {"type": "youtube", "url": JS_URL},
        {"type": "vimeo", "url": JS_URL},
        {"type": "video", "url": JS_URL, "label": "js video"},
        {"type": "audio", "url": JS_URL, "label": "js audio"},
        {
            "type": "list",
            "items": [
                {
                    "title": "js item",
                    "urlType": "image",
                    "url": picture,
                    "actions": [{"type": "link", "title": "js item link", "url": JS_URL}],
                }
            ],
            "actions": [{"type": "link", "title": "js list link", "url": JS_URL}],
        },
    ]


async def test_javascript_urls_are_refused_by_the_hub_and_never_links_in_the_component(
    scene: Scene,
) -> None:
    assert scene.agent is not None
    chat_page = await scene.new_page()
    cid_probe = await open_chat(scene, context=chat_page.context)
    # The hub refuses every one of them (ENG000202) ...
    for message in with_javascript_urls(scene):
        r = await scene.client.post(
            f"/inbound/business/v1/direct/activity/{cid_probe.cid}",
            json={
                "type": "message",
                "sender": {"integrationId": scene.agent.id},
                "message": message,
            },
            headers=scene.tenant.engine,
        )
        assert r.status_code == 400 and "ENG000202" in r.text, (message, r.text)

    # ... and the component would not trust them either: the history as a hub that did
    # store them would answer it (the real answer, with them added).
    forged = [
        {
            "type": "message",
            "eventId": n + 1,
            "message": m,
            "sender": {"integrationId": scene.agent.id, "integrationType": "Agent"},
        }
        for n, m in enumerate(with_javascript_urls(scene))
    ]

    async def history(route: Any) -> None:
        response = await route.fetch()
        body = await response.json()
        await route.fulfill(response=response, json=forged + list(body or []))

    page = cid_probe.page
    await page.route(f"{scene.server.base_url}/api/v1/interactions/activities/**", history)
    await page.reload()
    chat = Chat(scene, page, cid_probe.cid)
    await expect(chat.dialog).to_be_visible()  # it was open: it opens again
    await expect(chat.rows()).to_have_count(len(forged), timeout=10000)
    await chat.clean()  # no href/src javascript: anywhere, nothing ran
    for name in ("js link action", "js item link", "js list link"):
        await expect(chat.log.get_by_text(name)).to_be_visible()  # a label, not a link
        await expect(chat.log.get_by_role("link", name=name)).to_have_count(0)
    await expect(chat.log.get_by_role("link", name="Open js anchor")).to_have_count(0)
    await expect(chat.log.get_by_role("button", name="Enlarge image: js anchor")).to_be_visible()
    await expect(chat.log.get_by_role("img", name="js picture")).to_have_count(0)
    await expect(chat.log.get_by_text("js attachment")).to_be_visible()
    await expect(chat.log.get_by_role("link", name=re.compile("js attachment"))).to_have_count(0)
    await expect(chat.log.locator("iframe, video, audio")).to_have_count(0)
    await expect(chat.log.get_by_role("heading", name="js contact")).to_be_visible()
    await expect(chat.log.get_by_role("img", name="js contact")).to_have_count(0)
    fallback = chat.log.get_by_role("img", name="js fallback")  # the broken picture stays
    await expect(fallback).to_have_attribute("src", img(scene, "missing.svg"))
    # Clicking what is left navigates nowhere and runs nothing.
    await chat.log.get_by_text("js link action").click()
    await chat.log.get_by_role("button", name="Enlarge image: js anchor").click()
    await chat.page.keyboard.press("Escape")
    await chat.page.wait_for_timeout(300)
    assert page.url.startswith(scene.site.base_url)
    await chat.clean()
