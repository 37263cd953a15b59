"""LINE: attach a Messaging API channel (its access token names the bot), receive customers'
events from LINE's signed webhooks, answer with the reply API while an event's reply token
is fresh and with the push API (idempotent through `X-Line-Retry-Key`) otherwise.

Customers' files stay on LINE's data API behind the access token, so agents get
`channels.media` links and `fetch_media` serves them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from unihub.channels.base import Account, Inbound, InboundRequest, Outgoing, Setup
from unihub.channels.errors import (
    ProviderRejected,
    ProviderUnavailable,
    Rejected,
    SignatureInvalid,
    Unavailable,
)
from unihub.channels.http import request_bytes, text_field, unexpected
from unihub.channels.line import repository as repo
from unihub.channels.line.schemas import LineConfig
from unihub.channels.media import MAX_MEDIA_BYTES, Media, media_url
from unihub.channels.render import Node, message_node, text_fallback, truncate
from unihub.channels.types import ChannelId
from unihub.core.context import AppContext
from unihub.core.http import provider_client
from unihub.core.timestamps import utcnow

PROVIDER = "LINE"
# LINE accepts a reply token once, within about a minute of the event; 50 s leaves margin
# for the send itself.
REPLY_WINDOW = timedelta(seconds=50)
TOKEN_KEEP = timedelta(hours=1)
MAX_PER_REQUEST = 5
TEXT_LIMIT = 5000
ALT_TEXT_LIMIT = 400
LABEL_LIMIT = 20
DATA_LIMIT = 300
QUICK_REPLY_LIMIT = 13
CAROUSEL_LIMIT = 12
# Postback `data` unihub wrote: "uh1" + JSON [kind, payload, title]; kind "p" postback, "r" reply.
DATA_PREFIX = "uh1"
# LINE's audio message needs a duration it shows before playing; unihub does not know it.
AUDIO_DURATION_MS = 60000
_FILE_TYPES = {"image": "image", "video": "video", "audio": "audio", "file": "attachment"}


# --- calls -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]


async def _call(
    ctx: AppContext,
    method: str,
    path: str,
    token: str,
    *,
    secrets: Sequence[str],
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """One Messaging API call: 2xx and 4xx answered (4xx bodies may be empty), 429 and
    5xx, timeouts and refused connections unavailable (429 with LINE's Retry-After)."""
    timeout_s = ctx.settings.provider_timeout_s
    sent = {"Authorization": f"Bearer {token}", **(headers or {})}
    try:
        async with asyncio.timeout(timeout_s):
            client = provider_client(ctx.settings.line_api_url, timeout_s)
            response = await client.request(method, path, json=json, headers=sent)
    except (TimeoutError, httpx.TimeoutException):
        raise ProviderUnavailable(PROVIDER, f"no answer within {timeout_s:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = f"could not connect ({type(exc).__name__})"
        raise ProviderUnavailable(PROVIDER, reason) from None
    status = response.status_code
    if status == 429:
        throttled = ProviderUnavailable(
            PROVIDER, "it is throttling requests (HTTP 429)", status_code=status
        )
        throttled.retry_after_s = _retry_after(response.headers.get("retry-after"))
        raise throttled
    if status >= 500 or status == 408 or not (200 <= status < 500):
        raise ProviderUnavailable(PROVIDER, f"it answered HTTP {status}", status_code=status)
    try:
        body = orjson.loads(response.content) if response.content.strip() else {}
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        if status < 300:  # a success LINE would answer in JSON: not LINE (a proxy page)
            raise unexpected(PROVIDER, status, secrets)
        body = {}  # a refusal without LINE's error body is still a refusal
    return Answer(status, body)


def _retry_after(header: str | None) -> float | None:
    """LINE's Retry-After in seconds, when it sends one (bounded: a wild value is ignored)."""
    try:
        seconds = float(header) if header else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 3600 else None


def _reason(answer: Answer) -> str:
    message = text_field(answer.body, "message") or f"HTTP {answer.status}"
    details = [
        f"{d.get('property')}: {d.get('message')}" if d.get("property") else str(d.get("message"))
        for d in answer.body.get("details") or []
        if isinstance(d, dict) and d.get("message")
    ]
    return f"{message} ({'; '.join(details)})" if details else message


def _rejected(answer: Answer, what: str, secrets: Sequence[str]) -> ProviderRejected:
    return ProviderRejected(
        PROVIDER, _reason(answer), what=what, secrets=secrets, status_code=answer.status
    )


def signature_valid(channel_secret: str, body: bytes, header: str | None) -> bool:
    """`x-line-signature`: base64 of the HMAC-SHA256 of the raw body keyed with the secret."""
    if not channel_secret or not header:
        return False
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.strip().encode("utf-8", "replace"))


# --- inbound ---------------------------------------------------------------------------------


def _event_time(event: Mapping[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp > 0:
        try:
            return datetime.fromtimestamp(stamp / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return utcnow()


def decode_data(data: str) -> Node:
    """A postback back into the action it was rendered from (or, for data unihub did not
    write, a postback carrying it): the title as text, the action with its payload."""
    kind, payload, title = "postback", data, data
    if data.startswith(DATA_PREFIX):
        try:
            parsed = orjson.loads(data[len(DATA_PREFIX) :])
        except orjson.JSONDecodeError:
            parsed = None
        if (
            isinstance(parsed, list)
            and len(parsed) == 3
            and parsed[0] in ("p", "r")
            and all(isinstance(v, str) for v in parsed[1:])
        ):
            kind = "reply" if parsed[0] == "r" else "postback"
            payload, title = parsed[1], parsed[2] or parsed[1]
    text = title.strip() or payload.strip() or "(postback)"
    return {
        "type": "text",
        "text": text,
        "actions": [{"type": kind, "title": title, "payload": payload}],
    }


def encode_data(kind: str, payload: str, title: str) -> str | None:
    """The postback `data` of an action; None when the payload alone is over LINE's limit."""
    for shown in (title, title[:40], ""):
        data = (
            DATA_PREFIX + orjson.dumps(["r" if kind == "reply" else "p", payload, shown]).decode()
        )
        if len(data) <= DATA_LIMIT:
            return data
    return None


def _message_node(
    ctx: AppContext, account: Account, message: Mapping[str, Any]
) -> dict[str, Any] | None:
    kind = message.get("type")
    if kind == "text":
        text = message.get("text")
        return {"type": "text", "text": text} if isinstance(text, str) and text.strip() else None
    if kind in _FILE_TYPES:
        provider = message.get("contentProvider")
        external = isinstance(provider, dict) and provider.get("type") == "external"
        url = provider.get("originalContentUrl") if isinstance(provider, dict) else None
        if external and isinstance(url, str) and url:
            link = url  # sent from another service: LINE holds no copy
        elif isinstance(message.get("id"), str) and message["id"]:
            link = media_url(ctx, account.id, {"m": message["id"]})
        else:
            return None
        node: dict[str, Any] = {"type": _FILE_TYPES[str(kind)], "url": link}
        if kind == "file" and isinstance(message.get("fileName"), str) and message["fileName"]:
            node["label"] = message["fileName"]
        return node
    if kind == "location":
        lat, lon = message.get("latitude"), message.get("longitude")
        loc: dict[str, Any] = {"type": "location"}
        address = message.get("address") or message.get("title")
        if isinstance(address, str) and address.strip():
            loc["address"] = address
        if (
            isinstance(lat, int | float)
            and isinstance(lon, int | float)
            and -90 <= lat <= 90
            and -180 <= lon <= 180
        ):
            loc["latitude"], loc["longitude"] = float(lat), float(lon)
        return loc if len(loc) > 1 else None
    if kind == "sticker":
        words = [w for w in message.get("keywords") or [] if isinstance(w, str)][:5]
        said = message.get("text")
        if isinstance(said, str) and said.strip():
            return {"type": "text", "text": said}
        return {"type": "text", "text": f"[sticker: {', '.join(words)}]" if words else "[sticker]"}
    return None


@dataclass(slots=True)
class _Parsed:
    messages: list[Inbound] = field(default_factory=list)
    tokens: list[tuple[str, str]] = field(default_factory=list)  # (userId, replyToken)
    follows: list[tuple[str, bool, datetime]] = field(default_factory=list)


def _parse(ctx: AppContext, account: Account, body: Mapping[str, Any]) -> _Parsed:
    parsed = _Parsed()
    for event in body.get("events") or []:
        if not isinstance(event, dict):
            continue
        source = event.get("source")
        # One-to-one chats only: a group's messages would need the group as the binding.
        if not isinstance(source, dict) or source.get("type") != "user":
            continue
        user = source.get("userId")
        if not isinstance(user, str) or not user:
            continue
        context = event.get("deliveryContext")
        redelivered = isinstance(context, dict) and context.get("isRedelivery") is True
        event_id = text_field(event, "webhookEventId")
        kind = event.get("type")
        node: dict[str, Any] | None = None
        external_id = event_id
        if kind == "message" and isinstance(event.get("message"), dict):
            node = _message_node(ctx, account, event["message"])
            external_id = text_field(event["message"], "id") or event_id
        elif kind == "postback" and isinstance(event.get("postback"), dict):
            data = event["postback"].get("data")
            node = decode_data(data) if isinstance(data, str) and data else None
        elif kind in ("follow", "unfollow"):
            following = kind == "follow"
            parsed.follows.append((user, following, _event_time(event)))
            # Recorded in the conversation too: a bot can greet a new follower, and agents
            # see that a customer blocked the bot (pushes to them will fail).
            follow_node = {
                "type": "payload",
                "payloadType": f"line.{kind}",
                "payload": {"following": following},
            }
            parsed.messages.append(
                Inbound(
                    [follow_node],
                    external_id=event_id,
                    binding=user,
                    receipt=event_id,
                    kind="event",
                )
            )
        reply_token = text_field(event, "replyToken")
        # A redelivered event's token is long expired; follow tokens are kept too.
        if reply_token and not redelivered and kind in ("message", "postback", "follow"):
            parsed.tokens.append((user, reply_token))
        if node is not None:
            parsed.messages.append(
                Inbound([node], external_id=external_id, binding=user, receipt=event_id)
            )
    return parsed


# --- outbound rendering ----------------------------------------------------------------------


def _label(title: Any) -> str:
    return truncate(str(title or "").strip() or "…", LABEL_LIMIT)


def _action(action: Any) -> dict[str, Any] | None:
    """A button's LINE action: links open, postbacks and replies come back as postbacks."""
    if not isinstance(action, dict):
        return None
    kind, title = action.get("type"), str(action.get("title") or "")
    if kind == "link" and action.get("url"):
        return {"type": "uri", "label": _label(title), "uri": str(action["url"])}
    if kind in ("postback", "reply"):
        payload = str(action.get("payload") or "")
        data = encode_data(str(kind), payload, title)
        if data is None:  # too long to come back: the customer says the title instead
            return {"type": "message", "label": _label(title), "text": truncate(title, 300)}
        shown = {"displayText": truncate(title, 300)} if title.strip() else {}
        return {"type": "postback", "label": _label(title), "data": data, **shown}
    return None


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": truncate(text, TEXT_LIMIT)}


def _flex(alt: str, contents: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "flex",
        "altText": truncate(alt.strip() or "Message", ALT_TEXT_LIMIT),
        "contents": contents,
    }


def _image_of(item: Mapping[str, Any]) -> str | None:
    if item.get("imageUrl"):
        return str(item["imageUrl"])
    if item.get("url") and item.get("urlType") in (None, "image"):
        return str(item["url"])
    return None


def _bubble(item: Mapping[str, Any], actions: Any = None) -> dict[str, Any]:
    """A card as a flex bubble: picture, title, subtitle, content, one button per action."""
    bubble: dict[str, Any] = {"type": "bubble"}
    image = _image_of(item)
    if image:
        bubble["hero"] = {"type": "image", "url": image, "size": "full", "aspectMode": "cover"}
    texts: list[dict[str, Any]] = []
    styles: list[tuple[str, dict[str, str]]] = [
        ("title", {"weight": "bold", "size": "lg"}),
        ("subtitle", {}),
        ("content", {"size": "sm"}),
    ]
    for key, style in styles:
        if item.get(key):
            texts.append(
                {"type": "text", "text": truncate(str(item[key]), 2000), "wrap": True, **style}
            )
    if item.get("url") and item.get("urlType") not in (None, "image"):
        texts.append({"type": "text", "text": str(item["url"]), "wrap": True, "size": "xs"})
    if texts:
        bubble["body"] = {"type": "box", "layout": "vertical", "contents": texts}
    buttons = [
        {"type": "button", "action": a}
        for a in (
            _action(x) for x in (actions if actions is not None else item.get("actions")) or []
        )
        if a is not None
    ]
    if buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "contents": buttons[:10]}
    if "body" not in bubble and "hero" not in bubble and "footer" not in bubble:
        bubble["body"] = {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "text", "text": "…"}],
        }
    return bubble


def _list_bubble(node: Node) -> dict[str, Any]:
    """A list: the entries one under the other in one bubble, the list's buttons below."""
    rows: list[dict[str, Any]] = []
    for n, item in enumerate(i for i in node.get("items") or [] if isinstance(i, dict)):
        if n:
            rows.append({"type": "separator", "margin": "md"})
        lines = [str(item[k]) for k in ("title", "subtitle", "content") if item.get(k)]
        row: dict[str, Any] = {
            "type": "box",
            "layout": "vertical",
            "margin": "md",
            "contents": [
                {
                    "type": "text",
                    "text": truncate(line, 2000),
                    "wrap": True,
                    **({"weight": "bold"} if i == 0 else {"size": "sm"}),
                }
                for i, line in enumerate(lines or ["…"])
            ],
        }
        first = next((a for a in (_action(x) for x in item.get("actions") or []) if a), None)
        if first is not None:
            row["action"] = first  # tapping the entry presses its first button
        rows.append(row)
    bubble: dict[str, Any] = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": rows},
    }
    buttons = [
        {"type": "button", "action": a} for a in map(_action, node.get("actions") or []) if a
    ]
    if buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "contents": buttons[:10]}
    return bubble


def _one(node: Node) -> list[dict[str, Any]]:
    """One activity message (not a text with items) as LINE messages."""
    kind = node.get("type")
    if kind == "image" and node.get("url"):
        url = str(node["url"])
        return [{"type": "image", "originalContentUrl": url, "previewImageUrl": url}]
    if kind == "video" and node.get("url"):
        # LINE requires a preview picture; an activity has none, so the video stands for it.
        url = str(node["url"])
        return [{"type": "video", "originalContentUrl": url, "previewImageUrl": url}]
    if kind == "audio" and node.get("url"):
        return [
            {"type": "audio", "originalContentUrl": str(node["url"]), "duration": AUDIO_DURATION_MS}
        ]
    if (
        kind == "location"
        and node.get("latitude") is not None
        and node.get("longitude") is not None
    ):
        address = str(node.get("address") or f"{node['latitude']},{node['longitude']}")
        return [
            {
                "type": "location",
                "title": truncate(address, 100),
                "address": truncate(address, 100),
                "latitude": node["latitude"],
                "longitude": node["longitude"],
            }
        ]
    if kind == "card":
        return [_flex(text_fallback(node), _bubble(node))]
    if kind == "carousel":
        items = [i for i in node.get("items") or [] if isinstance(i, dict)]
        out = []
        for start in range(0, len(items), CAROUSEL_LIMIT):
            chunk = items[start : start + CAROUSEL_LIMIT]
            alt = text_fallback({"type": "carousel", "items": chunk})
            out.append(_flex(alt, {"type": "carousel", "contents": [_bubble(i) for i in chunk]}))
        return out
    if kind == "list":
        return [_flex(text_fallback(node), _list_bubble(node))]
    text = text_fallback(node)  # files, contacts, YouTube, Vimeo: their text form
    return [_text(text)] if text else []


def render(node: Node) -> list[dict[str, Any]]:
    """An activity message as LINE messages, in order; reply actions become the quick
    replies of the last one (LINE shows only the last message's)."""
    if node.get("type") != "text":
        return _one(node)
    actions = [a for a in node.get("actions") or [] if isinstance(a, dict)]
    replies = [a for a in actions if a.get("type") == "reply"]
    buttons = [a for a in actions if a.get("type") != "reply"]
    messages: list[dict[str, Any]] = []
    text = str(node.get("text") or "")
    if buttons:
        card = {"content": text} if text else {}
        alt = text_fallback({"type": "text", "text": text, "actions": buttons})
        messages.append(_flex(alt, _bubble(card, buttons)))
    elif text:
        messages.append(_text(text))
    for item in node.get("items") or []:
        if isinstance(item, dict):
            messages.extend(_one(item))
    items = [{"type": "action", "action": a} for a in map(_action, replies) if a]
    if items:
        if not messages:
            messages.append(_text(" ".join(f"[{a.get('title')}]" for a in replies)))
        messages[-1]["quickReply"] = {"items": items[:QUICK_REPLY_LIMIT]}
    return messages


def batch_key(delivery_id: uuid.UUID | None, n: int) -> str:
    """The `X-Line-Retry-Key` of a row's n-th push: stable across the row's retries."""
    if delivery_id is None:
        return str(uuid.uuid4())
    return str(delivery_id if n == 0 else uuid.uuid5(delivery_id, f"line-push-{n}"))


# --- the adapter -----------------------------------------------------------------------------


class LineAdapter:
    channel = ChannelId.Line
    provider = PROVIDER
    config_model = LineConfig

    async def verify(
        self, ctx: AppContext, config: Any, *, tenant_id: uuid.UUID, hub_id: uuid.UUID
    ) -> Setup:
        assert isinstance(config, LineConfig)
        token = config.channel_access_token
        secrets = [token, config.channel_secret]
        answer = await _call(ctx, "GET", "/v2/bot/info", token, secrets=secrets)
        if answer.status >= 400:
            raise _rejected(answer, "the channel access token", secrets)
        user_id = text_field(answer.body, "userId")
        basic_id = text_field(answer.body, "basicId")
        name = text_field(answer.body, "displayName")
        if user_id is None or basic_id is None or name is None:
            raise unexpected(PROVIDER, answer.status, secrets)
        return Setup(
            "Customer",
            {"botUserId": user_id, "basicId": basic_id, "displayName": name},
            secrets={"channelAccessToken": token, "channelSecret": config.channel_secret},
            inbound_id=user_id,
            external_key=f"Line:{user_id}",
        )

    async def attached(self, ctx: AppContext, account: Account) -> None:
        """With `UNIHUB_PUBLIC_URL`, LINE is told the webhook URL (it names the new
        integration, so this runs once the row exists; a refusal removes the row)."""
        if not ctx.settings.public_url:
            return
        token = account.secrets.get("channelAccessToken", "")
        secrets = [token, account.secrets.get("channelSecret", "")]
        endpoint = f"{ctx.settings.public_url.rstrip('/')}/inbound/line/v1/{account.id}"
        put = await _call(
            ctx,
            "PUT",
            "/v2/bot/channel/webhook/endpoint",
            token,
            secrets=secrets,
            json={"endpoint": endpoint},
        )
        if put.status >= 400:
            raise _rejected(put, "the webhook endpoint", secrets)

    async def detached(self, ctx: AppContext, account: Account) -> None:
        """LINE has no call to unset an endpoint: a paused integration's webhooks are
        refused and a deleted one's are 404, until the business points the bot elsewhere."""

    async def receive(
        self, ctx: AppContext, request: InboundRequest, account: Account
    ) -> list[Inbound]:
        """The customer messages of one webhook; reply tokens and follow changes are stored
        here, after the signature check (nothing is stored for an unsigned request)."""
        secret = account.secrets.get("channelSecret", "")
        if not signature_valid(secret, request.body, request.headers.get("x-line-signature")):
            raise SignatureInvalid.of(PROVIDER)
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise Rejected("The webhook body is not JSON.") from None
        if not isinstance(body, dict):
            raise Rejected("The webhook body is not a JSON object.")
        parsed = _parse(ctx, account, body)
        if parsed.tokens or parsed.follows:
            now = utcnow()
            async with ctx.db.write() as s:
                await repo.purge_reply_tokens(s, account.id, now - TOKEN_KEEP)
                for user, token in parsed.tokens:
                    await repo.add_reply_token(s, account.id, user, token, now)
                for user, following, at in parsed.follows:
                    await repo.set_following(s, account.id, user, following, at)
        return parsed.messages

    async def fetch_media(self, ctx: AppContext, account: Account, ref: Mapping[str, str]) -> Media:
        token = account.secrets.get("channelAccessToken", "")
        message_id = ref.get("m", "")
        if not token or not message_id.isalnum():
            raise Rejected("the LINE file reference is not valid")
        status, kind, body = await request_bytes(
            PROVIDER,
            ctx.settings.line_data_api_url,
            ctx.settings.provider_timeout_s,
            f"/v2/bot/message/{message_id}/content",
            limit=MAX_MEDIA_BYTES,
            secrets=[token],
            headers={"Authorization": f"Bearer {token}"},
        )
        if status >= 400:
            raise Rejected(f"LINE no longer serves this file (HTTP {status})", status)
        return Media(kind, body)

    async def send(self, ctx: AppContext, out: Outgoing) -> int | None:
        node = message_node(out.payload)
        if node is None:
            return None  # typing and other events: LINE has no form for them
        token = out.account.secrets.get("channelAccessToken", "")
        if not token:
            raise Rejected("the LINE integration lacks its channel access token")
        if not out.binding:
            raise Rejected("the conversation has no customer binding to send to")
        messages = render(node)
        if not messages:
            return None
        secrets = [token, out.account.secrets.get("channelSecret", "")]
        batches = [
            messages[i : i + MAX_PER_REQUEST] for i in range(0, len(messages), MAX_PER_REQUEST)
        ]
        status = await self._first(ctx, out, token, secrets, batches[0])
        for n, batch in enumerate(batches[1:], start=1):
            status = await self._push(ctx, out, token, secrets, batch, n)
        return status

    async def _first(
        self,
        ctx: AppContext,
        out: Outgoing,
        token: str,
        secrets: list[str],
        batch: list[dict[str, Any]],
    ) -> int:
        """The first request: a reply when a fresh token is free (or this row's earlier
        attempt already replied), else a push."""
        assert out.binding is not None
        if out.delivery_id is not None:
            async with ctx.db.read() as s:
                if await repo.replied(s, out.delivery_id):
                    return 200
        async with ctx.db.write() as s:
            reply_token = await repo.claim_reply_token(
                s, out.account.id, out.binding, utcnow() - REPLY_WINDOW, out.delivery_id
            )
        if reply_token is None:
            return await self._push(ctx, out, token, secrets, batch, 0)
        try:
            answer = await _call(
                ctx,
                "POST",
                "/v2/bot/message/reply",
                token,
                secrets=secrets,
                json={"replyToken": reply_token, "messages": batch},
            )
        except Unavailable:
            await self._release(ctx, reply_token)
            raise
        if answer.status < 300:
            return answer.status
        await self._release(ctx, reply_token)
        if answer.status == 400:
            # Most often the token expired early on LINE's side: pushing still delivers, and
            # a message LINE refuses is refused by the push too.
            return await self._push(ctx, out, token, secrets, batch, 0)
        raise _rejected(answer, "the message", secrets)

    async def _release(self, ctx: AppContext, reply_token: str) -> None:
        async with ctx.db.write() as s:
            await repo.release_reply(s, reply_token)

    async def _push(
        self,
        ctx: AppContext,
        out: Outgoing,
        token: str,
        secrets: list[str],
        batch: list[dict[str, Any]],
        n: int,
    ) -> int:
        answer = await _call(
            ctx,
            "POST",
            "/v2/bot/message/push",
            token,
            secrets=secrets,
            json={"to": out.binding, "messages": batch},
            headers={"X-Line-Retry-Key": batch_key(out.delivery_id, n)},
        )
        if answer.status < 300:
            return answer.status
        if answer.status == 409:
            return 200  # this retry key was accepted before: already delivered
        raise _rejected(answer, "the message", secrets)
