"""Telegram: attach a bot by its token (getMe), receive its updates (a webhook with a secret
token when `UNIHUB_PUBLIC_URL` is set, else long polling by `inbound.telegram_polling`),
and send replies through the Bot API.

Every call goes to `{UNIHUB_TELEGRAM_API_URL}/bot<token>/<method>`: the token is in the
path, so it is passed as a secret to every request helper (which never logs URLs) and
redacted from every error. Telegram answers `{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}` for failures; 429 carries how long to wait.
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import secrets as pysecrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from unihub.channels.base import Account, Inbound, InboundRequest, Outgoing, Setup
from unihub.channels.errors import (
    ProviderRejected,
    ProviderUnavailable,
    Rejected,
    SignatureInvalid,
    redact,
)
from unihub.channels.http import JsonObject, request_bytes, request_json, unexpected
from unihub.channels.media import MAX_MEDIA_BYTES, Media, media_url
from unihub.channels.render import Node, message_node, text_fallback, truncate
from unihub.channels.telegram import repository as repo
from unihub.channels.telegram.models import TelegramButton
from unihub.channels.telegram.schemas import TelegramConfig
from unihub.channels.types import ChannelId
from unihub.core.context import AppContext

PROVIDER = "Telegram"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
SECRET_HEADER = "x-telegram-bot-api-secret-token"
WEBHOOK = "webhook"
POLLING = "polling"
ALLOWED_UPDATES = ["message", "callback_query"]
_MEDIA_METHODS = {
    "image": ("sendPhoto", "photo"),
    "video": ("sendVideo", "video"),
    "audio": ("sendAudio", "audio"),
    "attachment": ("sendDocument", "document"),
}

_CAPTIONED = ("image", "video", "audio", "attachment")

log = logging.getLogger("unihub.channels.telegram")


def inbound_path(integration_id: uuid.UUID) -> str:
    return f"/inbound/telegram/v1/{integration_id}"


def polls(configuration: Mapping[str, Any]) -> bool:
    """Whether this integration receives by long polling (no public URL when created)."""
    return configuration.get("updates") == POLLING


def _reason(body: JsonObject, status: int) -> str:
    description = body.get("description")
    return description if isinstance(description, str) and description else f"HTTP {status}"


def _retry_after(body: JsonObject) -> float | None:
    params = body.get("parameters")
    value = params.get("retry_after") if isinstance(params, dict) else None
    return float(value) if isinstance(value, int | float) and value >= 0 else None


async def call(
    ctx: AppContext,
    token: str,
    method: str,
    payload: Mapping[str, Any] | None = None,
    *,
    what: str = "the request",
    timeout_s: float | None = None,
) -> Any:
    """One Bot API method; its `result`. Refusals are `ProviderRejected`, throttling and
    outages `ProviderUnavailable` (429 with Telegram's `retry_after`)."""
    secrets = [token]
    status, body = await request_json(
        PROVIDER,
        ctx.settings.telegram_api_url,
        timeout_s or ctx.settings.provider_timeout_s,
        "POST",
        f"/bot{token}/{method}",
        json=dict(payload or {}),
        secrets=secrets,
        interpret=frozenset({429}),
    )
    if status == 429:
        error = ProviderUnavailable(
            PROVIDER, f"it is throttling requests ({_reason(body, status)})", secrets=secrets
        )
        error.status_code = status
        error.retry_after_s = _retry_after(body)
        raise error
    if status < 400 and body.get("ok") is True and "result" in body:
        return body["result"]
    if status < 400:
        raise unexpected(PROVIDER, status, secrets)
    raise ProviderRejected(
        PROVIDER, _reason(body, status), what=what, secrets=secrets, status_code=status
    )


# --- inbound ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Update:
    """What one Telegram update asks of us: messages to accept, a button press to answer."""

    update_id: int | None
    messages: list[Inbound] = field(default_factory=list)
    callback_query_id: str | None = None


def _profile(sender: Any) -> dict[str, Any] | None:
    if not isinstance(sender, dict):
        return None
    first, last = sender.get("first_name"), sender.get("last_name")
    username = sender.get("username")
    profile: dict[str, Any] = {}
    if isinstance(first, str) and first:
        profile["first name"] = first
    if isinstance(last, str) and last:
        profile["last name"] = last
    if isinstance(username, str) and username:
        profile["user name"] = username
    full = " ".join(p for p in (profile.get("first name"), profile.get("last name")) if p)
    if full:
        profile["full name"] = full
    return {"profile": profile} if profile else None


def _file_id(value: Any) -> str | None:
    file_id = value.get("file_id") if isinstance(value, dict) else None
    return file_id if isinstance(file_id, str) and file_id else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class TelegramAdapter:
    channel = ChannelId.Telegram
    provider = PROVIDER
    config_model = TelegramConfig

    # --- attaching -----------------------------------------------------------------------

    async def verify(
        self, ctx: AppContext, config: Any, *, tenant_id: uuid.UUID, hub_id: uuid.UUID
    ) -> Setup:
        assert isinstance(config, TelegramConfig)
        me = await call(ctx, config.bot_token, "getMe", what="the bot token")
        bot_id = me.get("id") if isinstance(me, dict) else None
        username = me.get("username") if isinstance(me, dict) else None
        if not isinstance(bot_id, int) or isinstance(bot_id, bool) or not _text(username):
            raise unexpected(PROVIDER, 200, [config.bot_token])
        stored = {"botToken": config.bot_token}
        mode = POLLING
        if ctx.settings.public_url:
            mode = WEBHOOK
            stored["webhookSecret"] = pysecrets.token_urlsafe(32)
        return Setup(
            "Customer",
            {"botId": str(bot_id), "botUsername": username, "updates": mode},
            secrets=stored,
            inbound_id=str(bot_id),
            external_key=f"Telegram:{bot_id}",
        )

    async def attached(self, ctx: AppContext, account: Account) -> None:
        """Point the bot at us: our webhook, or none (getUpdates refuses while one is set)."""
        token = account.secrets.get("botToken", "")
        if polls(account.configuration) or not ctx.settings.public_url:
            await call(ctx, token, "deleteWebhook", what="the webhook removal")
            return
        url = ctx.settings.public_url.rstrip("/") + inbound_path(account.id)
        await call(
            ctx,
            token,
            "setWebhook",
            {
                "url": url,
                "secret_token": account.secrets.get("webhookSecret", ""),
                "allowed_updates": ALLOWED_UPDATES,
            },
            what="the webhook",
        )

    async def detached(self, ctx: AppContext, account: Account) -> None:
        """Deleted or paused: Telegram stops calling us (a poller simply stops polling)."""
        if not polls(account.configuration):
            token = account.secrets.get("botToken", "")
            await call(ctx, token, "deleteWebhook", what="the webhook removal")

    # --- inbound -------------------------------------------------------------------------

    def check_secret(self, request: InboundRequest, account: Account) -> None:
        expected = account.secrets.get("webhookSecret")
        given = request.headers.get(SECRET_HEADER)
        if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureInvalid(
                "The Telegram secret token (X-Telegram-Bot-Api-Secret-Token) of this request "
                "is missing or invalid."
            )

    async def receive(
        self, ctx: AppContext, request: InboundRequest, account: Account
    ) -> list[Inbound]:
        self.check_secret(request, account)
        return (await self.read_update(ctx, account, parse_update(request.body))).messages

    async def read_update(
        self, ctx: AppContext, account: Account, update: Mapping[str, Any]
    ) -> Update:
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return Update(None)
        receipt = str(update_id)
        message = update.get("message")
        if isinstance(message, dict):
            inbound = await self._message(ctx, account, message, receipt)
            return Update(update_id, [inbound] if inbound else [])
        query = update.get("callback_query")
        if isinstance(query, dict):
            return await self._callback(ctx, account, query, update_id)
        return Update(update_id)  # edits, channel posts, ...: nothing for the conversation

    async def _message(
        self, ctx: AppContext, account: Account, message: Mapping[str, Any], receipt: str
    ) -> Inbound | None:
        chat = message.get("chat")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        sender = message.get("from")
        if not isinstance(chat_id, int) or (isinstance(sender, dict) and sender.get("is_bot")):
            return None
        nodes = await self._nodes(ctx, account, message, str(chat_id))
        if not nodes:
            return None
        return Inbound(
            nodes,
            external_id=f"{chat_id}:{message.get('message_id')}",
            binding=str(chat_id),
            receipt=receipt,
            properties=_profile(sender),
        )

    async def _nodes(
        self, ctx: AppContext, account: Account, message: Mapping[str, Any], chat_id: str
    ) -> list[Node]:
        def link(file_id: str) -> str:
            return media_url(ctx, account.id, {"fileId": file_id})

        caption = _text(message.get("caption"))
        nodes: list[Node] = []
        text = _text(message.get("text"))
        if text is not None:
            pressed = await repo.reply_button(ctx.db, account.id, chat_id, text)
            node: Node = {"type": "text", "text": text}
            if pressed is not None:  # a reply keyboard button: its text is its title
                node["actions"] = [{"type": "reply", "title": text, "payload": pressed.payload}]
            nodes.append(node)
        photos = message.get("photo")
        if isinstance(photos, list) and photos:
            largest = max(
                (p for p in photos if _file_id(p)),
                key=lambda p: int(p.get("file_size") or 0) or int(p.get("width") or 0),
                default=None,
            )
            if largest is not None:
                image: Node = {"type": "image", "url": link(str(_file_id(largest)))}
                if caption:
                    image["title"] = caption
                nodes.append(image)
        for key, kind in (
            ("video", "video"),
            ("video_note", "video"),
            ("audio", "audio"),
            ("voice", "audio"),
            ("document", "attachment"),
        ):
            item = message.get(key)
            file_id = _file_id(item)
            if file_id is None or not isinstance(item, dict):
                continue
            media: Node = {"type": kind, "url": link(file_id)}
            label = caption or _text(item.get("file_name")) or _text(item.get("title"))
            if label:
                media["label"] = label
            if _text(item.get("mime_type")):
                media["mimeType"] = item["mime_type"]
            nodes.append(media)
        location = message.get("location")
        if isinstance(location, dict):
            lat, lon = location.get("latitude"), location.get("longitude")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                place: Node = {"type": "location", "latitude": lat, "longitude": lon}
                venue = message.get("venue")
                if isinstance(venue, dict):
                    where = [_text(venue.get("title")), _text(venue.get("address"))]
                    if any(where):
                        place["address"] = ", ".join(w for w in where if w)
                nodes.append(place)
        contact = message.get("contact")
        if isinstance(contact, dict) and _text(contact.get("phone_number")):
            names = [_text(contact.get("first_name")), _text(contact.get("last_name"))]
            card: Node = {
                "type": "contact",
                "title": " ".join(n for n in names if n) or contact["phone_number"],
                "properties": [{"key": "phone", "value": contact["phone_number"], "type": "phone"}],
            }
            nodes.append(card)
        sticker = message.get("sticker")
        if not nodes and isinstance(sticker, dict) and _text(sticker.get("emoji")):
            nodes.append({"type": "text", "text": sticker["emoji"]})
        if caption and not any(
            n["type"] in ("image", "video", "audio", "attachment") for n in nodes
        ):
            nodes.insert(0, {"type": "text", "text": caption})
        return nodes

    async def _callback(
        self, ctx: AppContext, account: Account, query: Mapping[str, Any], update_id: int
    ) -> Update:
        query_id = query.get("id") if isinstance(query.get("id"), str) else None
        message = query.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        data = query.get("data")
        button = None
        if isinstance(data, str) and data:
            button = await repo.button(ctx.db, account.id, data)
        if button is None or not isinstance(chat_id, int):
            return Update(update_id, callback_query_id=query_id)  # a stale or foreign button
        node: Node = {
            "type": "text",
            "text": button.title,
            "actions": [{"type": button.kind, "title": button.title, "payload": button.payload}],
        }
        inbound = Inbound(
            [node],
            external_id=f"callback:{query_id}" if query_id else None,
            binding=str(chat_id),
            receipt=str(update_id),
            properties=_profile(query.get("from")),
        )
        return Update(update_id, [inbound], query_id)

    async def answer_callback(self, ctx: AppContext, account: Account, query_id: str) -> None:
        """Stop the button's spinner; a failure only leaves it spinning a while."""
        try:
            await call(
                ctx,
                account.secrets.get("botToken", ""),
                "answerCallbackQuery",
                {"callback_query_id": query_id},
            )
        except (Rejected, ProviderUnavailable) as exc:
            log.warning("answerCallbackQuery for %s failed: %s", account.id, exc)

    async def get_updates(
        self, ctx: AppContext, account: Account, offset: int, wait_s: int
    ) -> list[dict[str, Any]]:
        """One long poll: updates from `offset` on (confirming those before it)."""
        result = await call(
            ctx,
            account.secrets.get("botToken", ""),
            "getUpdates",
            {"offset": offset, "timeout": wait_s, "allowed_updates": ALLOWED_UPDATES},
            what="the update request",
            timeout_s=wait_s + ctx.settings.provider_timeout_s,
        )
        if not isinstance(result, list):
            raise unexpected(PROVIDER, 200, [account.secrets.get("botToken", "")])
        return [u for u in result if isinstance(u, dict)]

    async def fetch_media(self, ctx: AppContext, account: Account, ref: Mapping[str, str]) -> Media:
        token = account.secrets.get("botToken", "")
        file = await call(
            ctx, token, "getFile", {"file_id": ref.get("fileId", "")}, what="the file"
        )
        path = file.get("file_path") if isinstance(file, dict) else None
        if not isinstance(path, str) or not path:
            raise Rejected("Telegram no longer has this file.")
        status, kind, body = await request_bytes(
            PROVIDER,
            ctx.settings.telegram_api_url,
            ctx.settings.provider_timeout_s,
            f"/file/bot{token}/{path}",
            limit=MAX_MEDIA_BYTES,
            secrets=[token],
        )
        if status >= 400:
            raise Rejected(f"Telegram refused the file (HTTP {status}).")
        if kind.split(";")[0].strip() in ("application/octet-stream", ""):
            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Media(kind, body)

    # --- outbound ------------------------------------------------------------------------

    async def send(self, ctx: AppContext, out: Outgoing) -> int | None:
        token = out.account.secrets.get("botToken", "")
        if not token:
            raise Rejected("the Telegram integration lacks its bot token")
        if not out.binding:
            raise Rejected("the conversation has no customer binding to send to")
        node = message_node(out.payload)
        if node is None:
            activity = out.payload.get("activity") or {}
            event = activity.get("event") if isinstance(activity, dict) else None
            if isinstance(event, dict) and event.get("type") == "typing_on":
                await self._send(ctx, token, "sendChatAction", {
                    "chat_id": out.binding, "action": "typing"})  # fmt: skip
                return 200
            return None
        renderer = _Renderer(out.account.id, out.binding)
        calls = renderer.render(node)
        if renderer.buttons:
            await repo.add_buttons(ctx.db, renderer.buttons)
        for method, params in calls:
            await self._send(ctx, token, method, params)
        return 200

    async def _send(self, ctx: AppContext, token: str, method: str, params: JsonObject) -> None:
        try:
            await call(ctx, token, method, params, what="the message")
        except ProviderRejected as exc:
            # "bot was blocked by the user", "chat not found": retrying cannot help.
            reason = redact(exc.reason, [token])
            raise Rejected(f"Telegram refused the message: {reason}", exc.status_code) from None


def parse_update(body: bytes) -> dict[str, Any]:
    try:
        update = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Rejected("The webhook body is not JSON.") from None
    if not isinstance(update, dict):
        raise Rejected("The webhook body is not a JSON object.")
    return update


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a line break or space when one is near."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", limit // 2, limit)
        if cut < 0:
            cut = text.rfind(" ", limit // 2, limit)
        if cut < 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n ") if cut < limit else text[cut:]
    if text:
        pieces.append(text)
    return pieces


class _Renderer:
    """One activity message as Bot API calls; the inline buttons it made, to be stored."""

    def __init__(self, integration_id: uuid.UUID, chat_id: str) -> None:
        self.integration_id = integration_id
        self.chat_id = chat_id
        self.buttons: list[TelegramButton] = []

    def _button(self, kind: str, title: str, payload: str, chat: bool = False) -> str:
        key = pysecrets.token_urlsafe(12)
        self.buttons.append(
            TelegramButton(
                key=key,
                integration_id=self.integration_id,
                chat_id=self.chat_id if chat else None,
                kind=kind,
                title=title,
                payload=payload,
            )
        )
        return key

    def _inline(self, actions: Any) -> JsonObject | None:
        rows: list[list[JsonObject]] = []
        for action in actions or []:
            if not isinstance(action, dict) or not _text(action.get("title")):
                continue
            title = str(action["title"])
            if action.get("type") == "link" and action.get("url"):
                rows.append([{"text": title, "url": str(action["url"])}])
            elif action.get("type") in ("postback", "reply"):
                key = self._button(str(action["type"]), title, str(action.get("payload") or ""))
                rows.append([{"text": title, "callback_data": key}])
        return {"inline_keyboard": rows} if rows else None

    def _markup(self, actions: Any) -> JsonObject | None:
        """Replies alone: a one-time keyboard (a press sends its title as text). With
        postbacks or links, every button is inline (a message has one keyboard)."""
        valid = [a for a in actions or [] if isinstance(a, dict) and _text(a.get("title"))]
        if valid and all(a.get("type") == "reply" for a in valid):
            for a in valid:
                self._button("reply", str(a["title"]), str(a.get("payload") or ""), chat=True)
            return {
                "keyboard": [[{"text": str(a["title"])}] for a in valid],
                "one_time_keyboard": True,
                "resize_keyboard": True,
            }
        return self._inline(valid)

    def _message(self, text: str, markup: JsonObject | None) -> list[tuple[str, JsonObject]]:
        pieces = split_text(text) or ["…"]
        calls: list[tuple[str, JsonObject]] = [
            ("sendMessage", {"chat_id": self.chat_id, "text": piece}) for piece in pieces
        ]
        if markup is not None:
            calls[-1][1]["reply_markup"] = markup
        return calls

    def render(self, node: Node) -> list[tuple[str, JsonObject]]:
        kind = node.get("type")
        if kind == "text":
            calls: list[tuple[str, JsonObject]] = []
            text = _text(node.get("text"))
            items = [i for i in node.get("items") or [] if isinstance(i, dict)]
            markup = self._markup(node.get("actions"))
            if text or markup is not None:
                calls += self._message(text or "…", markup if not items else None)
            for item in items:
                calls += self.render(item)
            if items and markup is not None:
                calls += self._message("…", markup)
            return calls
        if kind in _MEDIA_METHODS and node.get("url"):
            method, field_name = _MEDIA_METHODS[str(kind)]
            params: JsonObject = {"chat_id": self.chat_id, field_name: str(node["url"])}
            caption = node.get("title") or node.get("label") or node.get("alt")
            if caption:
                params["caption"] = truncate(str(caption), CAPTION_LIMIT)
            return [(method, params)]
        if kind == "location" and node.get("latitude") is not None:
            return [
                (
                    "sendLocation",
                    {
                        "chat_id": self.chat_id,
                        "latitude": node["latitude"],
                        "longitude": node["longitude"],
                    },
                )
            ]
        if kind == "contact":
            phone = _phone(node)
            if phone:
                return [
                    (
                        "sendContact",
                        {
                            "chat_id": self.chat_id,
                            "phone_number": phone,
                            "first_name": str(node.get("title") or phone),
                        },
                    )
                ]
        if kind == "card":
            return self._card(node, node.get("actions"))
        if kind in ("carousel", "list"):
            items = [i for i in node.get("items") or [] if isinstance(i, dict)]
            calls = []
            for n, item in enumerate(items):
                actions = list(item.get("actions") or [])
                if n == len(items) - 1:  # a list's own buttons ride on its last item
                    actions += list(node.get("actions") or [])
                calls += self._card(item, actions)
            return calls
        return self._message(text_fallback(node), None)

    def _card(self, card: Node, actions: Any) -> list[tuple[str, JsonObject]]:
        markup = self._inline(actions)
        lines = [str(card[k]) for k in ("title", "subtitle", "content") if card.get(k)]
        image = card.get("imageUrl") or card.get("mediaUrl")
        if not image and card.get("url") and card.get("urlType") in (None, "image"):
            image = card.get("url")
        if image:
            params: JsonObject = {"chat_id": self.chat_id, "photo": str(image)}
            if lines:
                params["caption"] = truncate("\n".join(lines), CAPTION_LIMIT)
            if markup is not None:
                params["reply_markup"] = markup
            return [("sendPhoto", params)]
        if card.get("url"):
            lines.append(str(card["url"]))
        return self._message("\n".join(lines) or "…", markup)


def _phone(node: Node) -> str | None:
    for prop in node.get("properties") or []:
        if not isinstance(prop, dict) or not _text(prop.get("value")):
            continue
        label = f"{prop.get('type') or ''} {prop.get('key') or ''}".lower()
        if "phone" in label or "mobile" in label or "tel" in label:
            return str(prop["value"])
    return None
