"""What a visitor can do with what an agent (or a bot) sent, in a real Chromium: postback
buttons styled by their Webchat `type`, quick replies, link actions, the carousel's
previous/next buttons and keyboard scrolling, list buttons, the enlarged image; the customer
activities the agent's (or bot's) webhook receives for each press; and the events an agent
sends (typing_on/typing_off, seen, payload)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.receiver import wait_for
from tests.webchat.scene import Scene, shadow
from tests.webchat.test_messages import (
    CAPTION,
    Chat,
    add_bot,
    carousel,
    catalog,
    img,
    open_chat,
    style,
    webchat_meta,
)

expect = pytest.importorskip(
    "playwright.async_api", reason="Playwright for Python is not installed: pip install -e '.[dev]'"
).expect


def typed(kind: str) -> list[dict[str, Any]]:
    return webchat_meta(type=kind)


# The reference's third text example (activity_text_ex_03.png).
OPTIONS = {
    "type": "text",
    "text": "Select one of the following options",
    "actions": [
        {"type": "postback", "title": "Yes", "payload": "Yes", "channels": typed("primary")},
        {"type": "postback", "title": "Maybe", "payload": "Maybe", "channels": typed("danger")},
        {"type": "reply", "title": "No", "payload": "No", "channels": typed("success")},
        {
            "type": "link",
            "title": "hubster",
            "url": "https://hubster.io",
            "channels": typed("info"),
        },
    ],
}


def pressed(activity: dict[str, Any]) -> dict[str, Any]:
    """The customer message as the webhook got it: type, text and actions."""
    message = activity["message"]
    return {"type": message["type"], "text": message["text"], "actions": message.get("actions")}


async def test_postback_buttons_are_styled_by_type_and_send_title_and_payload(
    scene: Scene,
) -> None:
    chat = await open_chat(scene)
    await chat.agent(OPTIONS)
    row = chat.rows().first
    yes = row.get_by_role("button", name="Yes")
    maybe = row.get_by_role("button", name="Maybe")
    await expect(yes).to_be_visible(timeout=10000)
    await expect(yes).to_have_class("btn postback primary")
    await expect(maybe).to_have_class("btn postback danger")
    assert await style(yes, "backgroundColor") != await style(maybe, "backgroundColor")
    await expect(row.get_by_role("link", name="hubster")).to_have_class("btn link info")
    await scene.shot(chat.page, "buttons")

    await maybe.click()
    await expect(chat.rows("customer").get_by_text("Maybe", exact=True)).to_be_visible()
    got = await scene.agent_got(1, "the postback at the agent")
    assert pressed(got[0]) == {
        "type": "text",
        "text": "Maybe",
        "actions": [{"type": "postback", "title": "Maybe", "payload": "Maybe"}],
    }
    assert got[0]["sender"]["integrationId"] == scene.webchat_id
    # One customer bubble: the title, no button in it; the agent's buttons stay usable.
    await expect(chat.rows("customer")).to_have_count(1)
    await expect(chat.rows("customer").get_by_role("button")).to_have_count(0)
    await yes.click()
    got = await scene.agent_got(2, "the second postback at the agent")
    assert pressed(got[1])["actions"] == [{"type": "postback", "title": "Yes", "payload": "Yes"}]
    await expect(chat.rows("customer")).to_have_count(2)
    assert scene.errors == []


async def test_a_payload_differing_from_the_title_is_sent_as_the_payload(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(
        {
            "type": "text",
            "text": "Which size?",
            "actions": [
                {"type": "postback", "title": "Large (42)", "payload": "size:L"},
                {
                    "type": "postback",
                    "title": "Small (38)",
                    "payload": "size:S",
                    "channels": typed("warning"),
                },
            ],
        }
    )
    small = chat.log.get_by_role("button", name="Small (38)")
    await expect(small).to_have_class("btn postback warning", timeout=10000)
    # Without a Webchat type the button is a primary one.
    await expect(chat.log.get_by_role("button", name="Large (42)")).to_have_class(
        "btn postback primary"
    )
    await small.click()
    got = await scene.agent_got(1)
    assert pressed(got[0]) == {
        "type": "text",
        "text": "Small (38)",
        "actions": [{"type": "postback", "title": "Small (38)", "payload": "size:S"}],
    }


async def test_quick_replies_disappear_once_one_is_chosen(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(
        {
            "type": "text",
            "text": "How was your delivery?",
            "actions": [
                {
                    "type": "reply",
                    "title": "Great",
                    "payload": "rating:5",
                    "channels": typed("success"),
                },
                {
                    "type": "reply",
                    "title": "Late",
                    "payload": "rating:2",
                    "channels": typed("warning"),
                },
                {
                    "type": "reply",
                    "title": "Damaged",
                    "payload": "rating:1",
                    "channels": typed("danger"),
                },
            ],
        }
    )
    quick = chat.dialog.get_by_role("group", name="Quick replies")
    await expect(quick).to_be_visible(timeout=10000)
    await expect(quick.get_by_role("button")).to_have_count(3)
    great, late = (
        quick.get_by_role("button", name="Great"),
        quick.get_by_role("button", name="Late"),
    )
    await expect(great).to_have_class("btn quick success")
    assert await style(great, "color") != await style(late, "color")
    # Not part of the agent's bubble: under it, on the visitor's side.
    bubble = await chat.rows().first.locator(".bubble").bounding_box()
    group = await quick.bounding_box()
    assert group["y"] >= bubble["y"] + bubble["height"] - 1
    await scene.shot(chat.page, "quick-replies")

    await late.click()
    await expect(quick).to_have_count(0)
    await expect(chat.rows("customer").get_by_text("Late", exact=True)).to_be_visible()
    got = await scene.agent_got(1, "the quick reply at the agent")
    assert pressed(got[0]) == {
        "type": "text",
        "text": "Late",
        "actions": [{"type": "reply", "title": "Late", "payload": "rating:2"}],
    }
    # Read back from history (a reload), the chosen set does not come back.
    await chat.page.reload()
    await expect(chat.log.get_by_text("How was your delivery?")).to_be_visible(timeout=10000)
    await expect(chat.rows("customer").get_by_text("Late", exact=True)).to_be_visible()
    await expect(chat.dialog.get_by_role("group", name="Quick replies")).to_have_count(0)


async def test_quick_replies_also_go_when_the_visitor_types_instead(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(
        {
            "type": "text",
            "text": "Track my order?",
            "actions": [{"type": "reply", "title": "Yes please", "payload": "track"}],
        }
    )
    quick = chat.dialog.get_by_role("group", name="Quick replies")
    await expect(quick).to_be_visible(timeout=10000)
    box = chat.dialog.get_by_role("textbox")
    await box.fill("Actually, I want to return it")
    await box.press("Enter")
    await expect(quick).to_have_count(0)
    got = await scene.agent_got(1)
    assert got[0]["message"]["text"] == "Actually, I want to return it"
    assert not got[0]["message"].get("actions")


async def test_on_before_activity_send_false_stops_postbacks_and_quick_replies(
    scene: Scene,
) -> None:
    # The host refuses anything with actions (a press), lets typed text through.
    chat = await open_chat(
        scene,
        "onBeforeActivitySend(a) { (window.asked = window.asked || []).push(a);"
        " return !(a.message && a.message.actions); }",
    )
    await chat.agent(OPTIONS)
    quick = chat.dialog.get_by_role("group", name="Quick replies")
    await expect(quick).to_be_visible(timeout=10000)
    await chat.log.get_by_role("button", name="Yes").click()
    await quick.get_by_role("button", name="No").click()
    await chat.page.wait_for_timeout(500)
    await expect(quick).to_be_visible()  # a refused quick reply keeps the choices
    box = chat.dialog.get_by_role("textbox")
    await box.fill("typed")
    await box.press("Enter")
    await scene.agent_got(1)
    await chat.page.wait_for_timeout(1500)  # a refused press would have arrived by now
    got = [d.activity for d in scene.receiver.at(scene.agent_name)]
    assert [a["message"]["text"] for a in got] == ["typed"]
    asked = await chat.page.evaluate("window.asked.map(a => a.message.text)")
    assert asked == ["Yes", "No", "typed"]
    await expect(chat.rows("customer")).to_have_count(1)  # neither press was shown as sent


async def test_link_action_opens_a_new_tab_and_leaves_the_page(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(OPTIONS)
    link = chat.log.get_by_role("link", name="hubster")
    await expect(link).to_have_attribute("href", "https://hubster.io/", timeout=10000)
    await expect(link).to_have_attribute("target", "_blank")
    rel = (await link.get_attribute("rel") or "").split()
    assert "noopener" in rel
    before = chat.page.url
    async with chat.page.context.expect_page() as opened:
        await link.click()
    tab = await opened.value
    assert tab is not chat.page
    await tab.wait_for_load_state("domcontentloaded")
    assert chat.page.url == before  # the shop page did not navigate
    assert "https://hubster.io/" in scene.outside  # the new tab asked for it (refused here)
    await expect(chat.dialog).to_be_visible()
    # Opening a link sends nothing to the agent.
    await chat.page.wait_for_timeout(1000)
    assert scene.receiver.at(scene.agent_name) == []


async def test_carousel_previous_next_and_arrow_keys_scroll_it(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(carousel(scene))
    region = chat.log.get_by_role("region", name="Carousel")
    track = region.get_by_label("Carousel items")
    prev = region.get_by_role("button", name="Previous")
    nxt = region.get_by_role("button", name="Next")
    await expect(nxt).to_be_visible(timeout=10000)
    await expect(prev).to_be_hidden()

    async def scrolled_to(predicate: str) -> float:
        """Once the (smooth) scrolling stopped where `predicate` holds: scrollLeft."""
        handle = await track.element_handle()
        await chat.page.wait_for_function(
            "([t, last]) => { const v = t.scrollLeft, same = last.v === v; last.v = v;"
            f" return same && ({predicate}); }}",
            arg=[handle, {}],
            polling=100,
        )
        value: float = await track.evaluate("t => t.scrollLeft")
        return value

    await nxt.click()
    first = await scrolled_to("t.scrollLeft > 100")
    await expect(prev).to_be_visible()
    await scene.shot(chat.page, "carousel-next")
    await nxt.click()
    end = await scrolled_to(f"t.scrollLeft > {first + 10}")
    await expect(nxt).to_be_hidden()  # at the end
    await prev.click()
    await scrolled_to(f"t.scrollLeft < {end - 10}")

    # Keyboard: the track takes focus and the arrows scroll it.
    await track.focus()
    await expect(track).to_be_focused()
    await track.press("ArrowLeft")
    await scrolled_to("t.scrollLeft < 2")
    await expect(prev).to_be_hidden()
    await track.press("ArrowRight")
    await scrolled_to("t.scrollLeft > 100")
    await track.press("ArrowRight")
    await scrolled_to(f"t.scrollLeft > {first + 10}")
    assert scene.errors == []


async def test_carousel_select_sends_a_reply_and_more_info_opens_a_tab(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(carousel(scene))
    panther = chat.log.get_by_role("group", name="3 of 3")
    await expect(panther).to_have_count(1, timeout=10000)
    more = panther.get_by_role("link", name="More Info")
    await expect(more).to_have_attribute("target", "_blank")
    assert "noopener" in (await more.get_attribute("rel") or "").split()
    await panther.get_by_role("button", name="Select").click()
    await expect(chat.rows("customer").get_by_text("Select", exact=True)).to_be_visible()
    got = await scene.agent_got(1, "the carousel reply at the agent")
    assert pressed(got[0]) == {
        "type": "text",
        "text": "Select",
        "actions": [{"type": "reply", "title": "Select", "payload": "Black Panther"}],
    }
    before = chat.page.url
    async with chat.page.context.expect_page() as opened:
        await (
            chat.log.get_by_role("group", name="1 of 3")
            .get_by_role("link", name="More Info")
            .click()
        )
    assert (await opened.value) is not chat.page
    assert chat.page.url == before


async def test_a_bot_sends_a_list_and_gets_the_presses(scene: Scene) -> None:
    bot = await add_bot(scene)  # the bot controls the conversation: presses go to it
    chat = await open_chat(scene)
    await chat.agent(catalog(scene), sender=bot.id)
    items = chat.log.get_by_role("listitem")
    await expect(items).to_have_count(2, timeout=10000)
    await expect(chat.rows("bot")).to_have_count(1)

    await items.nth(1).get_by_role("button", name="Select").click()
    await expect(chat.rows("customer").get_by_text("Select", exact=True)).to_be_visible()
    await chat.rows("bot").get_by_role("button", name="See more options").click()
    await expect(chat.rows("customer")).to_have_count(2)
    # The agent is not in control: the bot's webhook gets them.
    name = f"bot-{scene.agent_name}"
    await wait_for(lambda: len(scene.receiver.at(name)) >= 2, what="both presses at the bot")
    got = [d.activity for d in scene.receiver.at(name)]
    assert [pressed(a) for a in got] == [
        {
            "type": "text",
            "text": "Select",
            "actions": [{"type": "reply", "title": "Select", "payload": "Red Baron"}],
        },
        {
            "type": "text",
            "text": "See more options",
            "actions": [
                {"type": "postback", "title": "See more options", "payload": "More Options"}
            ],
        },
    ]
    # The global link opens a tab, like every link.
    before = chat.page.url
    async with chat.page.context.expect_page() as opened:
        await chat.rows("bot").get_by_role("link", name="Check our catalog").click()
    assert (await opened.value) is not chat.page and chat.page.url == before


async def test_image_enlarges_in_a_dialog_that_close_and_escape_dismiss(scene: Scene) -> None:
    chat = await open_chat(scene)
    await chat.agent(
        {
            "type": "image",
            "url": img(scene, "green-dragon.svg"),
            "alt": "Green Dragon, side view",
            "title": "Green Dragon",
            "channels": CAPTION,
        }
    )
    thumb = chat.log.get_by_role("button", name="Enlarge image: Green Dragon, side view")
    await expect(thumb).to_be_visible(timeout=10000)
    small = await thumb.bounding_box()

    await thumb.click()
    big = chat.page.get_by_role("dialog", name="Green Dragon, side view")
    await expect(big).to_be_visible()
    picture = big.get_by_role("img", name="Green Dragon, side view")
    await expect(picture).to_have_attribute("src", img(scene, "green-dragon.svg"))
    large = await picture.bounding_box()
    assert large["width"] > small["width"]  # enlarged
    close = big.get_by_role("button", name="Close image")
    await expect(close).to_be_focused()
    await scene.shot(chat.page, "image-enlarged")
    await close.click()
    await expect(big).to_have_count(0)
    await expect(thumb).to_be_focused()  # focus returns to the picture

    await thumb.press("Enter")
    await expect(big).to_be_visible()
    await chat.page.keyboard.press("Escape")
    await expect(big).to_have_count(0)
    await expect(chat.dialog).to_be_visible()  # Escape closed the picture, not the chat
    assert scene.errors == []


async def test_a_chat_with_every_button_kind(scene: Scene) -> None:
    """A screenshot of the buttons as the reference pictures them, and each kind's look."""
    chat: Chat = await open_chat(scene)
    kinds = ["primary", "info", "secondary", "success", "warning", "danger"]
    await chat.agent(
        {
            "type": "text",
            "text": "Postback buttons",
            "actions": [
                {"type": "postback", "title": k, "payload": k, "channels": typed(k)} for k in kinds
            ],
        }
    )
    await chat.agent(
        {
            "type": "text",
            "text": "Link buttons",
            "actions": [
                {
                    "type": "link",
                    "title": k,
                    "url": f"https://shop.example/{k}",
                    "channels": typed(k),
                }
                for k in kinds
            ],
        }
    )
    await expect(chat.rows()).to_have_count(2, timeout=10000)
    backgrounds = {
        await style(chat.rows().nth(0).get_by_role("button", name=k), "backgroundColor")
        for k in kinds
    }
    assert len(backgrounds) == len(kinds)
    colours = {await style(chat.rows().nth(1).get_by_role("link", name=k), "color") for k in kinds}
    assert len(colours) == len(kinds)
    await scene.shot(chat.page, "button-kinds")


# --- events ----------------------------------------------------------------------------------


async def test_typing_indicator_on_off_and_off_by_itself_after_30_seconds(scene: Scene) -> None:
    page = await scene.new_page()
    await page.clock.install()  # timers keep running, and the test can jump ahead
    await page.goto(scene.embed())
    await page.get_by_role("button", name="Open chat").click()
    key = f"hubster-webchat:{scene.webchat_id.lower()}"
    await page.wait_for_function(
        "k => { const v = localStorage.getItem(k); return v && JSON.parse(v).conversationId; }",
        arg=key,
    )
    chat = Chat(scene, page, await scene.visitor_conversation(page))
    typing = chat.log.get_by_role("status", name="Typing")

    await chat.event({"type": "typing_on"})
    await expect(typing).to_be_visible(timeout=10000)
    await scene.shot(page, "typing")
    await chat.event({"type": "typing_off"})
    await expect(typing).to_have_count(0, timeout=10000)

    await chat.event({"type": "typing_on"})
    await expect(typing).to_be_visible(timeout=10000)
    await page.clock.fast_forward(20000)
    await expect(typing).to_be_visible()  # not yet
    await page.clock.fast_forward(11000)
    await expect(typing).to_have_count(0)  # 31 s without typing_off

    # A message from the agent ends the typing too.
    await chat.event({"type": "typing_on"})
    await expect(typing).to_be_visible(timeout=10000)
    await chat.agent({"type": "text", "text": "Your order ships tomorrow."})
    await expect(chat.log.get_by_text("Your order ships tomorrow.")).to_be_visible(timeout=10000)
    await expect(typing).to_have_count(0)
    assert scene.errors == []


async def test_seen_shows_under_the_visitors_last_message(scene: Scene) -> None:
    chat = await open_chat(scene)
    box = chat.dialog.get_by_role("textbox")
    for text in ("Is my order shipped?", "Order 1042"):
        await box.fill(text)
        await box.press("Enter")
    await scene.agent_got(2, "both messages at the agent")
    mine = chat.rows("customer")
    await expect(mine).to_have_count(2)
    await expect(chat.log.get_by_text("Sending…")).to_have_count(0)
    await chat.event({"type": "seen"})
    seen = chat.log.get_by_text("Seen", exact=True)
    await expect(seen).to_have_count(1, timeout=10000)
    await expect(mine.nth(1).get_by_text("Seen", exact=True)).to_be_visible()
    await expect(mine.nth(0).get_by_text("Seen", exact=True)).to_have_count(0)
    await scene.shot(chat.page, "seen")

    # A later message, seen again: "Seen" moves under it.
    await box.fill("Thanks!")
    await box.press("Enter")
    await scene.agent_got(3, "the third message at the agent")
    await expect(chat.log.get_by_text("Sending…")).to_have_count(0)
    await chat.event({"type": "seen"})
    await expect(mine.nth(2).get_by_text("Seen", exact=True)).to_be_visible(timeout=10000)
    await expect(seen).to_have_count(1)


async def test_payload_events_are_not_shown_but_reach_on_received_activity(scene: Scene) -> None:
    chat = await open_chat(
        scene, "onReceivedActivity(a) { (window.got = window.got || []).push(a) }"
    )
    payload = {"data1": "value1", "data2": "value2", "data3": "value3"}
    await chat.event({"type": "payload", "payloadType": "my.payload.01", "payload": payload})
    await chat.agent({"type": "text", "text": "After the payload"})
    await expect(chat.log.get_by_text("After the payload")).to_be_visible(timeout=10000)
    got = await chat.page.evaluate("window.got || []")
    events = [a for a in got if a.get("type") == "event"]
    assert [e["event"]["payloadType"] for e in events] == ["my.payload.01"], got
    assert events[0]["event"]["payload"] == payload
    assert any(a.get("message", {}).get("text") == "After the payload" for a in got)
    # The log holds the text only: the payload drew nothing before it.
    assert await shadow(chat.page, "root.querySelector('[role=log]').children.length") == 1
    await expect(chat.log.get_by_text("value1")).to_have_count(0)
