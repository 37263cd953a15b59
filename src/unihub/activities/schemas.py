"""Wire models for Hubster activities: the message and event payloads and their envelopes.

Reference: ``hubster-docs/4_activities.rst`` (payload shapes), ``engine/2_direct.rst`` (the
Direct inbound body) and ``2_webhooks.rst`` (what webhook receivers get).

Every model derives from :class:`unihub.core.schemas.ApiModel`, so keys are matched ignoring
case, unknown keys are dropped, values are validated strictly and ``to_wire()`` emits camelCase
without nulls.  The ``type`` tag of messages, events and actions is matched ignoring case too
(``"Text"`` is read as ``"text"``).

Error types a caller can see
----------------------------
Standard pydantic types: ``missing``, ``string_type``, ``int_type``, ``float_type``,
``bool_type``, ``list_type``, ``dict_type``, ``model_type``, ``literal_error``,
``string_too_short``, ``too_short``, ``greater_than_equal``, ``less_than_equal``,
``union_tag_invalid`` (unknown ``type``) and ``union_tag_not_found`` (no ``type``).
Custom types raised here:

* ``url_parsing``: a URL field holds something that is not a web link (see ``_check_url``).
* ``uuid_parsing``: an ``integrationId`` is not a GUID.
* ``location_required``: a location message has neither an address nor coordinates.
* ``message_or_event_required``: an activity body has neither ``message`` nor ``event``.
* ``message_and_event_exclusive``: an activity body has both.

Conditional requirements (``urlType`` once ``url`` is set, ``longitude`` next to
``latitude``, ``text`` when a text message carries no items nor actions, the node named by
an activity's ``type``) are reported as ``missing`` at the field concerned.

Error locations and the discriminator tag
-----------------------------------------
For a tagged union pydantic inserts the member's tag into ``loc``: validating
``MESSAGES_ADAPTER`` with a card lacking a proper ``title`` at index 1 yields
``(1, 'card', 'title')``; an action inside a text message yields
``(0, 'text', 'actions', 2, 'link', 'url')``.  The tag is not a property of the request, so
it must be left out when the location is shown to a client.  :func:`error_path` does that:
``error_path((1, 'card', 'title'), 'responses') == 'responses[1].title'``.  A component is a
tag when it is one of the known ``type`` values and sits where a union member starts: right
after a list index, right after the ``message``/``event`` fields of an activity, or first in
the loc when a single union (``MESSAGE_ADAPTER``/``EVENT_ADAPTER``) was validated.  Pass
``tagged_root=False`` for locs that come from validating a concrete model directly (e.g.
``TextMessage.model_validate``), whose first component is a field name.
"""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit
from uuid import UUID

import orjson
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from unihub.core.schemas import ApiModel
from unihub.core.validation import get_ignoring_case

__all__ = [
    "EVENTS_ADAPTER",
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "MESSAGES_ADAPTER",
    "MESSAGE_ADAPTER",
    "MESSAGE_TYPES",
    "Action",
    "Activity",
    "AttachmentMessage",
    "AudioMessage",
    "CardItem",
    "CardMessage",
    "CarouselMessage",
    "Channel",
    "ChannelMetadata",
    "ChannelType",
    "ContactMessage",
    "ContactProperty",
    "ConversationProperties",
    "DirectInboundActivity",
    "DirectWebhookPayload",
    "Event",
    "ImageMessage",
    "IntegrationType",
    "LinkAction",
    "ListMessage",
    "LocationMessage",
    "MediaType",
    "Message",
    "PayloadEvent",
    "PostbackAction",
    "Recipient",
    "ReplyAction",
    "SeenEvent",
    "Sender",
    "Source",
    "SystemWebhookPayload",
    "TextItem",
    "TextMessage",
    "TypingOffEvent",
    "TypingOnEvent",
    "VideoMessage",
    "VimeoMessage",
    "YoutubeMessage",
    "error_path",
]


# --------------------------------------------------------------------------- helpers


def _raise_missing(model: str, field: str, data: Any) -> None:
    """Report a conditionally required field as a plain ``missing`` error at ``field``."""
    detail: InitErrorDetails = {"type": "missing", "loc": (field,), "input": data}
    raise ValidationError.from_exception_data(model, [detail])


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _dotted_host(host: str) -> bool:
    labels = host.split(".")
    return (
        len(labels) >= 2
        and all(_HOST_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    ) or _is_ipv4(host)


def _is_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)


def _check_url(value: str) -> str:
    """Accept an absolute http(s) URL, or a scheme-less ``host.tld/path`` link.

    The reference's own examples write some links without a scheme
    (``player.vimeo.com/video/12345678``, ``youtube.com/embed/1234``), so those are accepted
    when they start with a dotted host name followed by a path; the value is kept as sent.
    Anything else (relative paths, bare file names, other schemes, blanks, ``https//host``)
    is a ``url_parsing`` error.
    """
    bad = PydanticCustomError("url_parsing", "Input should be an absolute http or https URL")
    if not value or value != value.strip() or any(c.isspace() for c in value):
        raise bad
    has_scheme = "://" in value
    try:
        parts = urlsplit(value if has_scheme else "https://" + value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise bad from None
    host = parts.hostname or ""
    if has_scheme:
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise bad
    elif value.startswith("/") or not parts.path.startswith("/") or not _dotted_host(host):
        # A scheme-less link needs "host/path": a bare "logo.png" is a file name, not a host.
        raise bad
    return value


def _check_guid(value: str) -> str:
    try:
        UUID(value)
    except ValueError:
        raise PydanticCustomError("uuid_parsing", "Input should be a valid GUID") from None
    return value


Url = Annotated[str, AfterValidator(_check_url)]
"""A link: validated as a string, kept exactly as sent."""

Guid = Annotated[str, AfterValidator(_check_guid)]
"""A GUID kept in its textual form."""

NonEmptyStr = Annotated[str, Field(min_length=1)]


def _lower_tag(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _normalise_tag(data: Any) -> Any:
    """Expose the ``type`` key under its canonical spelling, lower-cased, for discrimination.

    As in :class:`ApiModel`, when several spellings of ``type`` are sent the first one wins.
    """
    if not isinstance(data, dict):
        return data
    out: dict[Any, Any] = {}
    seen = False
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == "type":
            if not seen:
                out["type"] = _lower_tag(value)
                seen = True
            continue
        out[key] = value
    return out


def _canonical(choices: tuple[str, ...]) -> BeforeValidator:
    """Map a value onto one of ``choices`` ignoring case; unknown values pass through."""
    table = {c.lower(): c for c in choices}

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return table.get(value.lower(), value)
        return value

    return BeforeValidator(fix)


class _Tagged(ApiModel):
    """Base of every model carrying a ``type`` tag; the tag is matched ignoring case."""

    # A field validator on a discriminator field is not allowed, hence the model-level hook.
    @model_validator(mode="before")
    @classmethod
    def _tag_lower(cls, data: Any) -> Any:
        return _normalise_tag(data)


# --------------------------------------------------------------------------- shared parts


class ChannelMetadata(ApiModel):
    """One key/value setting that tunes rendering on a given channel."""

    key: str
    value: str


class Channel(ApiModel):
    """Settings that only apply when the message is rendered on the channel named by ``type``.

    ``type`` is free text: the reference writes ``Webchat`` here but ``WebChat`` in its channel
    type table, so the name is kept as sent rather than checked against a list.
    """

    type: str
    metadata: list[ChannelMetadata] | None = None


class ContactProperty(ApiModel):
    """A key/value detail of a contact; ``type`` (e.g. ``phone;cell``) hints at a vCard field."""

    key: str
    value: str
    type: str | None = None


MediaType = Literal["image", "youtube", "vimeo", "video", "audio"]
"""What a card's ``url`` points at."""

_MEDIA_TYPES: tuple[str, ...] = ("image", "youtube", "vimeo", "video", "audio")


# --------------------------------------------------------------------------- actions


class PostbackAction(_Tagged):
    """A button whose ``payload`` is posted back to the conversation when pressed."""

    type: Literal["postback"]
    title: str
    payload: str
    channels: list[Channel] | None = None


class ReplyAction(_Tagged):
    """A quick reply: pressing it answers with ``payload``."""

    type: Literal["reply"]
    title: str
    payload: str
    channels: list[Channel] | None = None


class LinkAction(_Tagged):
    """A button that opens ``url``."""

    type: Literal["link"]
    title: str
    url: Url
    channels: list[Channel] | None = None


Action = Annotated[
    Annotated[PostbackAction | ReplyAction | LinkAction, Discriminator("type")],
    BeforeValidator(_normalise_tag),
]
"""Any button, told apart by ``type``: ``postback``, ``reply`` or ``link``."""


# --------------------------------------------------------------------------- messages


class YoutubeMessage(_Tagged):
    """A YouTube video, referenced by its page or embed link."""

    type: Literal["youtube"]
    url: Url


class VimeoMessage(_Tagged):
    """A Vimeo video, referenced by its page or player link."""

    type: Literal["vimeo"]
    url: Url


class VideoMessage(_Tagged):
    """A video file (mp4, mov) with an optional caption and MIME type."""

    type: Literal["video"]
    url: Url
    label: str | None = None
    mime_type: str | None = None


class AudioMessage(_Tagged):
    """An audio file (mp3, mp4, wav) with an optional caption and MIME type."""

    type: Literal["audio"]
    url: Url
    label: str | None = None
    mime_type: str | None = None


class ImageMessage(_Tagged):
    """A picture, optionally clickable (``urlAnchor``) and captioned (``title``)."""

    type: Literal["image"]
    url: Url
    url_anchor: Url | None = None
    alt: str | None = None
    title: str | None = None
    channels: list[Channel] | None = None


class AttachmentMessage(_Tagged):
    """A downloadable file: the link is required; the .NET client may leave out its name and
    MIME type."""

    type: Literal["attachment"]
    label: NonEmptyStr | None = None
    mime_type: NonEmptyStr | None = None
    url: Url


class LocationMessage(_Tagged):
    """A place given by address, by coordinates, or both (coordinates then take precedence)."""

    type: Literal["location"]
    address: NonEmptyStr | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _where(self) -> Self:
        lat, lon = self.latitude, self.longitude
        if self.address is None and lat is None and lon is None:
            raise PydanticCustomError(
                "location_required",
                "A location needs an address and/or latitude and longitude",
            )
        if lat is not None and lon is None:
            _raise_missing(type(self).__name__, "longitude", self.model_dump(by_alias=True))
        if lon is not None and lat is None:
            _raise_missing(type(self).__name__, "latitude", self.model_dump(by_alias=True))
        return self


class ContactMessage(_Tagged):
    """A business card: a required ``title`` plus optional picture, subtitle and details."""

    type: Literal["contact"]
    image_url: Url | None = None
    title: NonEmptyStr
    subtitle: str | None = None
    properties: list[ContactProperty] | None = None
    channels: list[Channel] | None = None


class _CardBody(ApiModel):
    """Fields shared by a card message and the entries of carousels and lists."""

    url_type: MediaType | None = None
    url: Url | None = None
    # Not in the property table, but every card example of the reference uses it.
    image_url: Url | None = None
    fallback_image_url: Url | None = None
    title: str | None = None
    subtitle: str | None = None
    content: str | None = None
    actions: list[Action] | None = None
    channels: list[Channel] | None = None

    @field_validator("url_type", mode="before")
    @classmethod
    def _url_type_lower(cls, value: Any) -> Any:
        return _lower_tag(value)

    @model_validator(mode="after")
    def _url_needs_type(self) -> Self:
        if self.url is not None and self.url_type is None:
            _raise_missing(type(self).__name__, "urlType", self.model_dump(by_alias=True))
        return self


class CardMessage(_CardBody, _Tagged):
    """A card: optional media (``url`` + ``urlType``), title, subtitle, content and buttons."""

    type: Literal["card"]


class CardItem(_CardBody):
    """One entry of a carousel or list: a card without a ``type`` of its own.

    The reference lists media message types as allowed entries while its examples use card
    shaped entries; an entry sent as ``{"type": "image", "url": ...}`` is therefore read as a
    card whose ``urlType`` is that media type.  The entry's ``type`` is not kept.
    """

    # The .NET client's item model names its picture `mediaUrl`; receivers get it beside the
    # documented `url`/`urlType` (an image unless told otherwise).
    media_url: Url | None = None

    @model_validator(mode="before")
    @classmethod
    def _media_entry(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        tag = get_ignoring_case(data, "type")
        no_type = get_ignoring_case(data, "urlType") is None
        if no_type and isinstance(tag, str) and tag.lower() in _MEDIA_TYPES:
            data = {**data, "urlType": tag.lower()}
        media = get_ignoring_case(data, "mediaUrl")
        if media is not None and get_ignoring_case(data, "url") is None:
            data = {**data, "url": media}
            if get_ignoring_case(data, "urlType") is None:
                data["urlType"] = "image"
        return data


class CarouselMessage(_Tagged):
    """Cards shown side by side; at least one entry."""

    type: Literal["carousel"]
    items: list[CardItem] = Field(min_length=1)
    channels: list[Channel] | None = None


class ListMessage(_Tagged):
    """Cards shown one under the other, with optional buttons for the whole list."""

    type: Literal["list"]
    items: list[CardItem] = Field(min_length=1)
    actions: list[Action] | None = None
    channels: list[Channel] | None = None


TextItem = Annotated[
    Annotated[
        YoutubeMessage
        | VimeoMessage
        | VideoMessage
        | AudioMessage
        | ImageMessage
        | AttachmentMessage
        | LocationMessage
        | ContactMessage
        | CardMessage,
        Discriminator("type"),
    ],
    BeforeValidator(_normalise_tag),
]
"""A message that can ride along inside a text message's ``items``."""


class TextMessage(_Tagged):
    """Plain text, optionally with attached ``items`` and ``actions`` buttons.

    At least one of ``text``, ``items`` or ``actions`` must carry something; when none does,
    ``text`` is reported ``missing``.  A present ``text`` must not be empty.  Text starting
    with ``::`` is a command for the engine, not something this model interprets.
    """

    type: Literal["text"]
    text: NonEmptyStr | None = None
    items: list[TextItem] | None = None
    actions: list[Action] | None = None

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if self.text is None and not self.items and not self.actions:
            _raise_missing(type(self).__name__, "text", self.model_dump(by_alias=True))
        return self


Message = Annotated[
    Annotated[
        TextMessage
        | ImageMessage
        | VideoMessage
        | AudioMessage
        | AttachmentMessage
        | LocationMessage
        | ContactMessage
        | CardMessage
        | CarouselMessage
        | ListMessage
        | YoutubeMessage
        | VimeoMessage,
        Discriminator("type"),
    ],
    BeforeValidator(_normalise_tag),
]
"""Any activity message, told apart by its ``type``."""


# --------------------------------------------------------------------------- events


class PayloadEvent(_Tagged):
    """Application data: ``payloadType`` names the kind, ``payload`` is any JSON object."""

    type: Literal["payload"]
    payload_type: NonEmptyStr
    payload: dict[str, Any]


class SeenEvent(_Tagged):
    """The recipient has seen the conversation's messages."""

    type: Literal["seen"]


class TypingOnEvent(_Tagged):
    """Show the typing indicator."""

    type: Literal["typing_on"]


class TypingOffEvent(_Tagged):
    """Hide the typing indicator."""

    type: Literal["typing_off"]


Event = Annotated[
    Annotated[
        PayloadEvent | SeenEvent | TypingOnEvent | TypingOffEvent,
        Discriminator("type"),
    ],
    BeforeValidator(_normalise_tag),
]
"""Any activity event, told apart by its ``type``."""


MESSAGE_TYPES: frozenset[str] = frozenset(
    {
        "text",
        "image",
        "video",
        "audio",
        "attachment",
        "location",
        "contact",
        "card",
        "carousel",
        "list",
        "youtube",
        "vimeo",
    }
)
EVENT_TYPES: frozenset[str] = frozenset({"payload", "seen", "typing_on", "typing_off"})
_ACTION_TYPES: frozenset[str] = frozenset({"postback", "reply", "link"})
_TAGS = MESSAGE_TYPES | EVENT_TYPES | _ACTION_TYPES


# --------------------------------------------------------------------------- envelopes

# The .NET client's `Enums/IntegrationType.cs` and `Enums/ChannelType.cs`: names or numbers.
_INTEGRATION_TYPES = ("None", "Hubster", "Customer", "Agent", "Bot", "System")
_CHANNEL_NUMBERS = {
    0: "Hubster",
    1: "Direct",
    2: "Bot",
    3: "System",
    101: "Messenger",
    102: "TwilioSMS",
    103: "Line",
    104: "Telegram",
    105: "Kik",
    106: "WebChat",
    1001: "Slack",
}
_CHANNEL_TYPES = (
    "Hubster",
    "Direct",
    "Bot",
    "System",
    "Messenger",
    "TwilioSMS",
    "Line",
    "Telegram",
    "Kik",
    "WebChat",
    "Slack",
)

IntegrationType = Literal["None", "Hubster", "Customer", "Agent", "Bot", "System"]
ChannelType = Literal[
    "Hubster",
    "Direct",
    "Bot",
    "System",
    "Messenger",
    "TwilioSMS",
    "Line",
    "Telegram",
    "Kik",
    "WebChat",
    "Slack",
]


def _numbered(names: dict[int, str]) -> BeforeValidator:
    """Accept the number of a name from the reference's enum table (as an int or a string)."""

    def fix(value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            return names.get(value, value)
        return value

    return BeforeValidator(fix)


class Source(ApiModel):
    """One end of an activity (its sender or its recipient).

    On inbound requests only ``integrationId`` matters (and may be absent for the customer);
    the engine fills in the rest.  Type names are matched ignoring case and emitted in the
    reference's spelling.  ``tokenId`` is engine-internal.
    """

    integration_id: Guid | None = None
    integration_type: (
        Annotated[
            IntegrationType,
            _canonical(_INTEGRATION_TYPES),
            _numbered(dict(enumerate(_INTEGRATION_TYPES))),
        ]
        | None
    ) = None
    channel_type: (
        Annotated[ChannelType, _canonical(_CHANNEL_TYPES), _numbered(_CHANNEL_NUMBERS)] | None
    ) = None
    token_id: str | None = None


Sender = Source
Recipient = Source

_ActivityKind = Annotated[
    Literal["message", "event"],
    # The full activity sample of the reference says "message|action"; "action" is read as
    # "event", which is what every other page calls it.
    BeforeValidator(lambda v: "event" if _lower_tag(v) == "action" else _lower_tag(v)),
]


class _ActivityBody(ApiModel):
    """The parts common to inbound and delivered activities: one message or one event."""

    type: _ActivityKind
    external_id: str | None = None
    message: Message | None = None
    event: Event | None = None

    @model_validator(mode="after")
    def _one_node(self) -> Self:
        if self.message is None and self.event is None:
            raise PydanticCustomError(
                "message_or_event_required",
                "The activity needs a 'message' or an 'event'",
            )
        if self.message is not None and self.event is not None:
            raise PydanticCustomError(
                "message_and_event_exclusive",
                "The activity may carry a 'message' or an 'event', not both",
            )
        if getattr(self, self.type) is None:
            _raise_missing(type(self).__name__, self.type, self.model_dump(by_alias=True))
        return self


def _sender_action_event(node: Any) -> Any:
    """``senderAction: {"action": "typing_on"}`` (or a payload) as the event it stands for."""
    if not isinstance(node, dict):
        return node
    action = get_ignoring_case(node, "action")
    payload = get_ignoring_case(node, "payload")
    if isinstance(payload, str):
        with contextlib.suppress(orjson.JSONDecodeError):
            payload = orjson.loads(payload)  # the client's model holds it as a JSON string
    if get_ignoring_case(node, "payloadType") is not None or payload is not None:
        return {
            "type": "payload",
            "payloadType": get_ignoring_case(node, "payloadType"),
            "payload": payload,
        }
    return {"type": action}


class DirectInboundActivity(_ActivityBody):
    """Body of ``POST /inbound/{customer|business}/v1/direct/activity/{conversationId}``.

    ``sender.integrationId`` names the agent or bot speaking; without it the conversation's
    customer is the sender.
    """

    sender: Source | None = None

    # The .NET client never sets ``type``; it also sends typing and seen as ``senderAction``
    # (``{"action": "typing_on"}``) or, in its Aug-Nov 2020 versions, as
    # ``{"type": "action", "action": {"type": "typing_on"}}``. All of them become an event.
    # Defined on the subclass, so it runs before ``ApiModel`` drops the unknown nodes.
    @model_validator(mode="before")
    @classmethod
    def _client_forms(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        message = get_ignoring_case(data, "message")
        event = get_ignoring_case(data, "event")
        if event is None:
            action = get_ignoring_case(data, "action")
            sender_action = get_ignoring_case(data, "senderAction")
            if isinstance(action, dict):
                event = action
            elif sender_action is not None:
                event = _sender_action_event(sender_action)
        kind = get_ignoring_case(data, "type")
        if isinstance(kind, str) and kind.lower() in ("action", "sender_action"):
            kind = "event"
        if kind is None:
            # Neither or both nodes: any kind lets ``_one_node`` report 5003/5004 alone.
            kind = "event" if message is None and event is not None else "message"
        out = {
            k: v
            for k, v in data.items()
            if not (isinstance(k, str) and k.lower() in ("type", "message", "event"))
        }
        out["type"] = kind
        if message is not None:
            out["message"] = message
        if event is not None:
            out["event"] = event
        return out


class Activity(_ActivityBody):
    """An activity as the engine stores and delivers it, enriched with routing details."""

    event_trigger: str | None = None
    event_id: int | None = None
    is_echo: bool | None = None
    interaction_id: str | None = None
    flow_process: str | None = None
    sender: Source | None = None
    recipient: Source | None = None


class ConversationProperties(ApiModel):
    """Free-form customer profile and additional properties attached to a conversation."""

    profile: dict[str, Any] | None = None
    additional: dict[str, Any] | None = None


class _WebhookHeader(ApiModel):
    hub_id: Guid
    tenant_id: Guid
    integration_id: Guid
    conversation_id: Guid
    conversation_properties: ConversationProperties | None = None


class SystemWebhookPayload(_WebhookHeader):
    """What a System integration's webhook receives: one or more activities."""

    activities: list[Activity] = Field(min_length=1)


class DirectWebhookPayload(_WebhookHeader):
    """What a Direct integration's webhook (or websocket) receives: a single activity."""

    activity: Activity


# --------------------------------------------------------------------------- adapters

MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
MESSAGES_ADAPTER: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])

_UNION_FIELDS = frozenset({"message", "event"})


def error_path(loc: tuple[int | str, ...], root: str, *, tagged_root: bool = True) -> str:
    """Render a pydantic ``loc`` as a client-facing path, without union tag components.

    ``error_path((1, 'card', 'title'), 'responses')`` gives ``'responses[1].title'`` and
    ``error_path(('message', 'text', 'text'), 'root')`` gives ``'root.message.text'``.
    ``tagged_root`` says whether the loc's first component may be a tag, i.e. whether a
    single union was validated (see the module docstring).
    """
    path = root
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        if part in _TAGS:
            prev = loc[i - 1] if i > 0 else None
            at_member_start = (
                (i == 0 and tagged_root)
                or isinstance(prev, int)
                or (isinstance(prev, str) and prev in _UNION_FIELDS)
            )
            if at_member_start:
                continue
        path = f"{path}.{part}" if path else part
    return path
