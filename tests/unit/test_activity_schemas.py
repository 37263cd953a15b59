"""Behaviour of the activity wire models (unihub.activities.schemas)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from unihub.activities.schemas import (
    EVENT_ADAPTER,
    EVENTS_ADAPTER,
    MESSAGE_ADAPTER,
    MESSAGES_ADAPTER,
    Activity,
    CardMessage,
    CarouselMessage,
    ContactMessage,
    DirectInboundActivity,
    DirectWebhookPayload,
    LocationMessage,
    PayloadEvent,
    SeenEvent,
    Source,
    SystemWebhookPayload,
    TextMessage,
    TypingOffEvent,
    TypingOnEvent,
    error_path,
)

# The JSON examples of hubster-docs/4_activities.rst, in page order.  The first card example
# lacks a comma after "content" in the page; it is given here as valid JSON.
MESSAGE_EXAMPLES: list[str] = [
    # 4_activities.rst line 290
    """{
    "type": "text",
    "text": "Hello there, how can I help you?"
}""",
    # 4_activities.rst line 299
    """{
    "type": "text",
    "text": "Here's my contact info",
    "items": [
        {
            "type": "contact",
            "imageUrl": "https://site.com/eva.png",
            "title": "Eva Green",
            "subtitle": "Mighty Health",
            "properties": [
                {
                    "key": "Title",
                    "value": "Health Advisor/Coach"
                },
                {
                    "key": "Address",
                    "value": "123 Main Street, Maple, ON",
                    "type": "address;work"
                },
                {
                    "key": "Cell",
                    "value": "(416) 555-0001",
                    "type": "phone;cell"
                },
                {
                    "key": "Email",
                    "value": "eva@mightyhealth.com",
                    "type": "email"
                }
            ],
            "channels": [
                {
                    "type": "Webchat",
                    "metadata": [
                        {
                            "key": "caption-show",
                            "value": "true"
                        },
                        {
                            "key": "caption-color",
                            "value": "white"
                        }
                    ]
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 352
    """{
    "type": "text",
    "text": "Select one of the following options",
    "actions": [
        {
            "type": "postback",
            "title": "Yes",
            "payload": "Yes",
            "channels": [
                {
                    "type": "Webchat",
                    "metadata": [
                        {
                            "key": "type",
                            "value": "primary"
                        }
                    ]
                }
            ]
        },
        {
            "type": "postback",
            "title": "Maybe",
            "payload": "Maybe",
            "channels": [
                {
                    "type": "Webchat",
                    "metadata": [
                        {
                            "key": "type",
                            "value": "danger"
                        }
                    ]
                }
            ]
        },
        {
            "type": "reply",
            "title": "No",
            "payload": "No",
            "channels": [
                {
                    "type": "Webchat",
                    "metadata": [
                        {
                            "key": "type",
                            "value": "success"
                        }
                    ]
                }
            ]
        },
        {
            "type": "link",
            "title": "hubster",
            "url": "https://hubster.io",
            "channels": [
                {
                    "type": "Webchat",
                    "metadata": [
                        {
                            "key": "type",
                            "value": "info"
                        }
                    ]
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 461
    """{
    "type": "youtube",
    "url": "https://youtube.com/watch?v=x1245b"
}""",
    # 4_activities.rst line 502
    """{
    "type": "vimeo",
    "url": "player.vimeo.com/video/12345678"
}""",
    # 4_activities.rst line 552
    """{
    "type": "video",
    "url": "http://site.com/myvideo.mp4"
}""",
    # 4_activities.rst line 601
    """{
    "type": "audio",
    "url": "http://site.com/myaudio.mp3"
}""",
    # 4_activities.rst line 653
    """{
    "type": "image",
    "url": "http://site.com/myimage.png",
    "alt": "Some alternate text",
    "title": "Eva Green",
    "channels": [
        {
            "type": "Webchat",
            "metadata": [
                {
                    "key": "caption-show",
                    "value": "true"
                },
                {
                    "key": "caption-color",
                    "value": "white"
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 712
    """{
    "type": "attachment",
    "label": "Year end report",
    "mimeType": "pdf",
    "url": "http://site.com/myfile.pdf"
}""",
    # 4_activities.rst line 759
    """{
    "type": "location",
    "address": "2640 Matheson, Mississauga, ON",
    "latitude": 43.8425254,
    "longitude": -79.5240196
}""",
    # 4_activities.rst line 834
    """{
    "type": "contact",
    "imageUrl": "https://site.com/eva.png",
    "title": "Eva Green",
    "subtitle": "Mighty Health",
    "properties": [
        {
            "key": "Title",
            "value": "Health Advisor/Coach"
        },
        {
            "key": "Address",
            "value": "123 Main Street, Maple, ON",
            "type": "address;work"
        },
        {
            "key": "Cell",
            "value": "(416) 555-0001",
            "type": "phone;cell"
        },
        {
            "key": "Email",
            "value": "eva@mightyhealth.com",
            "type": "email"
        }
    ],
    "channels": [
        {
            "type": "Webchat",
            "metadata": [
                {
                    "key": "caption-show",
                    "value": "true"
                },
                {
                    "key": "caption-color",
                    "value": "white"
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 944
    """{
    "type": "card",
    "urlType": "image",
    "imageUrl": "https://site.com/car.png",
    "title": "Victorious",
    "subtitle": "European style",
    "content": "Lorem Ipsum is simply...",
    "channels": [
        {
            "type": "Webchat",
            "metadata": [
                {
                    "key": "caption-show",
                    "value": "true"
                },
                {
                    "key": "caption-color",
                    "value": "white"
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 972
    """{
    "type": "card",
    "urlType": "youtube",
    "imageUrl": "https://youtube.com/embed/abc",
    "title": "Cosmic Journeys",
    "subtitle": "Space Odyssey",
    "content": "Lorem Ipsum is simply..."
}""",
    # 4_activities.rst line 1023
    """{
    "type": "carousel",
    "items": [
        {
            "title": "Victorious",
            "content": "Lorem Ipsum is...",
            "urlType": "image",
            "url": "http://site.com/image1.png",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Victorious"
                },
                {
                    "type": "link",
                    "title": "More Info",
                    "url": "https://hubster.io"
                }
            ]
        },
        {
            "title": "Green Dragon",
            "content": "Lorem Ipsum is...",
            "urlType": "image",
            "url": "http://site.com/image2.png",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Green Dragon"
                },
                {
                    "type": "link",
                    "title": "More Info",
                    "url": "https://hubster.io"
                }
            ]
        },
        {
            "title": "Panther",
            "content": "Lorem Ipsum is...",
            "urlType": "image",
            "url": "http://site.com/image3.png",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Black Panther"
                },
                {
                    "type": "link",
                    "title": "More Info",
                    "url": "https://hubster.io"
                }
            ]
        }
    ],
    "channels": [
        {
            "type": "Webchat",
            "metadata": [
                {
                    "key": "caption-show",
                    "value": "true"
                },
                {
                    "key": "caption-color",
                    "value": "white"
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 1103
    """{
    "type": "carousel",
    "items": [
        {
            "title": "Cosmic Journeys",
            "content": "Lorem Ipsum is...",
            "urlType": "youtube",
            "url": "youtube.com/embed/1234",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Cosmic Journeys"
                },
                {
                    "type": "link",
                    "title": "Watch",
                    "url": "youtube.com/embed/1234"
                }
            ]
        },
        {
            "title": "Space",
            "content": "Lorem Ipsum is...",
            "urlType": "vimeo",
            "url": "player.vimeo.com/video/1234",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Space"
                },
                {
                    "type": "link",
                    "title": "Watch",
                    "url": "player.vimeo.com/video/1234"
                }
            ]
        },
        {
            "title": "Elephants",
            "content": "Lorem Ipsum is...",
            "urlType": "video",
            "url": "http://site.com/v1.mp4",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Elephants"
                },
                {
                    "type": "link",
                    "title": "Watch",
                    "url": "https//site.com/v1.mp4"
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 1222
    """{
    "type": "list",
    "items": [
        {
            "title": "Alien",
            "content": "Lorem Ipsum is...",
            "urlType": "image",
            "url": "http://site.com/image1.png",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Alien"
                },
                {
                    "type": "link",
                    "title": "More Info",
                    "url": "https://hubster.io"
                }
            ]
        },
        {
            "title": "Red Baron",
            "content": "Lorem Ipsum is...",
            "urlType": "image",
            "url": "http://site.com/image2.png",
            "actions": [
                {
                    "type": "reply",
                    "title": "Select",
                    "payload": "Red Baron"
                },
                {
                    "type": "link",
                    "title": "More Info",
                    "url": "https://hubster.io"
                }
            ]
        }
    ],
    "actions": [
        {
            "type": "postback",
            "title": "See more options",
            "payload": "More Options"
        },
        {
            "type": "link",
            "title": "Check our catalog",
            "url": "https://hubster.io"
        }
    ],
    "channels": [
        {
            "type": "Webchat",
            "metadata": [
                {
                    "key": "caption-show",
                    "value": "true"
                },
                {
                    "key": "caption-color",
                    "value": "white"
                }
            ]
        }
    ]
}""",
    # 4_activities.rst line 1317
    """{
    "type": "text",
    "text": "::resp -n contact.eva.green"
}""",
    # 4_activities.rst line 1324
    """{
    "type": "text",
    "text": "::trans -force -n shopify"
}""",
]

EVENT_EXAMPLES: list[str] = [
    # 4_activities.rst line 1391
    """{
    "type": "payload",
    "payloadType": "my.payload.01",
    "payload": {
        "data1": "value1",
        "data2": "value2",
        "data3": "value3"
    }
}""",
]

# The page's second carousel example writes one link as "https//site.com/v1.mp4"; that typo is
# rejected (see test_doc_carousel_typo_is_rejected) and repaired for the round trip.
_DOC_TYPO = '"https//site.com/v1.mp4"'


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, tuple[Any, ...]]]:
    return [(e["type"], tuple(e["loc"])) for e in exc.value.errors()]


def _one_error(adapter_or_model: Any, data: Any, *, root: str = "responses") -> tuple[str, str]:
    """Validate, expect exactly one error, return (type, client path)."""
    validate = getattr(adapter_or_model, "validate_python", None) or adapter_or_model.model_validate
    with pytest.raises(ValidationError) as exc:
        validate(data)
    errors = exc.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["type"], error_path(tuple(errors[0]["loc"]), root)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "raw", MESSAGE_EXAMPLES, ids=[json.loads(r)["type"] for r in MESSAGE_EXAMPLES]
)
def test_doc_message_examples_round_trip(raw: str) -> None:
    data = json.loads(raw.replace(_DOC_TYPO, '"https://site.com/v1.mp4"'))
    message = MESSAGE_ADAPTER.validate_python(copy.deepcopy(data))
    assert message.type == data["type"]
    assert message.to_wire() == _drop_nulls(data)
    # The same through JSON parsing and through the list adapter.
    assert MESSAGE_ADAPTER.validate_json(json.dumps(data)).to_wire() == _drop_nulls(data)
    [again] = MESSAGES_ADAPTER.validate_python([data])
    assert again.to_wire() == _drop_nulls(data)


@pytest.mark.parametrize("raw", EVENT_EXAMPLES)
def test_doc_event_examples_round_trip(raw: str) -> None:
    data = json.loads(raw)
    event = EVENT_ADAPTER.validate_python(copy.deepcopy(data))
    assert isinstance(event, PayloadEvent)
    assert event.to_wire() == data
    [again] = EVENTS_ADAPTER.validate_json(json.dumps([data]))
    assert again.to_wire() == data


@pytest.mark.parametrize(
    ("tag", "model"),
    [("seen", SeenEvent), ("typing_on", TypingOnEvent), ("typing_off", TypingOffEvent)],
)
def test_simple_events(tag: str, model: type) -> None:
    event = EVENT_ADAPTER.validate_python({"type": tag})
    assert isinstance(event, model)
    assert event.to_wire() == {"type": tag}


def test_doc_activity_example_round_trips_once_reduced_to_one_node() -> None:
    # The page shows "message|action" and both nodes together for illustration only.
    activity = {
        "type": "message",
        "eventTrigger": "message:customer",
        "eventId": 1603933721542,
        "externalId": "my-external-id",
        "isEcho": False,
        "interactionId": "00000000-0000-0000-0000-000000000005",
        "flowProcess": "Default",
        "sender": {
            "integrationId": "00000000-0000-0000-0000-000000000001",
            "integrationType": "Customer",
            "channelType": "Direct",
            "tokenId": "t+8qymYD1jp7wDSHG+3eUA==",
        },
        "recipient": {
            "integrationId": "00000000-0000-0000-0000-000000000006",
            "integrationType": "Agent",
            "channelType": "Direct",
            "tokenId": "971480cb-938c-4dfd-be4e-01756c833490.00000000-0000-0000-0000-000000000003",
        },
        "message": {"type": "text", "text": "Hi there!"},
    }
    assert Activity.model_validate(activity).to_wire() == activity

    event_activity = {
        **{k: v for k, v in activity.items() if k not in ("message", "interactionId")},
        "type": "event",
        "event": {
            "type": "payload",
            "payloadType": "hubster.transfer",
            "payload": {
                "url": "http://localhost:4200",
                "label": "Click here to be transferred",
                "mount": 1000,
                "force": False,
            },
        },
    }
    assert Activity.model_validate(event_activity).to_wire() == event_activity


def test_activity_type_action_is_read_as_event() -> None:
    activity = Activity.model_validate({"type": "Action", "event": {"type": "seen"}})
    assert activity.to_wire() == {"type": "event", "event": {"type": "seen"}}


def test_webhook_payloads_round_trip() -> None:
    header = {
        "hubId": "00000000-0000-0000-0000-000000000001",
        "tenantId": "00000000-0000-0000-0000-000000000002",
        "integrationId": "00000000-0000-0000-0000-000000000003",
        "conversationId": "00000000-0000-0000-0000-000000000004",
        "conversationProperties": {
            "profile": {"device": "Direct", "full name": "Some customer name"},
            "additional": {"prop1": "value1"},
        },
    }
    activity = {
        "type": "message",
        "eventTrigger": "message:customer",
        "eventId": 1603933721542,
        "isEcho": False,
        "sender": {"integrationId": "00000000-0000-0000-0000-000000000001"},
        "message": {"type": "text", "text": "Hi there!"},
    }
    system = {**header, "activities": [activity]}
    direct = {**header, "activity": activity}
    assert SystemWebhookPayload.model_validate(system).to_wire() == system
    assert DirectWebhookPayload.model_validate(direct).to_wire() == direct


def test_source_types_are_canonicalised() -> None:
    source = Source.model_validate(
        {
            "INTEGRATIONID": "00000000-0000-0000-0000-000000000001",
            "integrationType": "agent",
            "channelType": "webchat",
        }
    )
    assert source.to_wire() == {
        "integrationId": "00000000-0000-0000-0000-000000000001",
        "integrationType": "Agent",
        "channelType": "WebChat",
    }


def test_source_rejects_bad_guid_and_unknown_type() -> None:
    assert _one_error(Source, {"integrationId": "nope"}, root="sender") == (
        "uuid_parsing",
        "sender.integrationId",
    )
    assert _one_error(Source, {"integrationType": "Robot"}, root="sender") == (
        "literal_error",
        "sender.integrationType",
    )


# --------------------------------------------------------------------------- Direct inbound


def test_direct_inbound_example_bodies() -> None:
    message_body = {
        "externalId": "some-external-id",
        "type": "message",
        "sender": {"integrationId": "00000000-0000-0000-0000-000000000001"},
        "message": {"type": "text", "text": "Hi there!"},
    }
    event_body = {
        "externalId": "some-external-id",
        "type": "event",
        "sender": {"integrationId": "00000000-0000-0000-0000-000000000001"},
        "event": {
            "type": "payload",
            "payloadType": "my.payload.01",
            "payload": {"data1": "value1", "data2": "value2", "data3": "value3"},
        },
    }
    assert DirectInboundActivity.model_validate(message_body).to_wire() == message_body
    assert DirectInboundActivity.model_validate(event_body).to_wire() == event_body
    # The customer may leave the sender out entirely; keys and tags in any case.
    body = DirectInboundActivity.model_validate(
        {"Type": "Message", "MESSAGE": {"TYPE": "Text", "Text": "hi"}}
    )
    assert body.to_wire() == {"type": "message", "message": {"type": "text", "text": "hi"}}


def test_direct_inbound_needs_exactly_one_node() -> None:
    both = {
        "type": "message",
        "message": {"type": "text", "text": "Hi"},
        "event": {"type": "seen"},
    }
    assert _one_error(DirectInboundActivity, both, root="root") == (
        "message_and_event_exclusive",
        "root",
    )
    assert _one_error(DirectInboundActivity, {"type": "message"}, root="root") == (
        "message_or_event_required",
        "root",
    )
    # The node named by `type` must be the one present.
    assert _one_error(
        DirectInboundActivity, {"type": "message", "event": {"type": "seen"}}, root="root"
    ) == ("missing", "root.message")
    # Without `type` (the .NET client never sets it) the node present decides.
    inferred = DirectInboundActivity.model_validate({"message": {"type": "text", "text": "x"}})
    assert inferred.type == "message"
    assert DirectInboundActivity.model_validate({"event": {"type": "seen"}}).type == "event"
    assert _one_error(
        DirectInboundActivity,
        {"type": "chat", "message": {"type": "text", "text": "x"}},
        root="root",
    ) == ("literal_error", "root.type")


def test_direct_inbound_nested_error_path_drops_tag() -> None:
    body = {"type": "message", "message": {"type": "text", "text": ""}}
    with pytest.raises(ValidationError) as exc:
        DirectInboundActivity.model_validate(body)
    assert _errors(exc) == [("string_too_short", ("message", "text", "text"))]
    assert error_path(("message", "text", "text"), "root") == "root.message.text"


# --------------------------------------------------------------------------- missing fields

_MINIMAL: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": "hello"},
    "image": {"type": "image", "url": "https://site.com/a.png"},
    "video": {"type": "video", "url": "https://site.com/a.mp4"},
    "audio": {"type": "audio", "url": "https://site.com/a.mp3"},
    "attachment": {
        "type": "attachment",
        "label": "Report",
        "mimeType": "pdf",
        "url": "https://site.com/a.pdf",
    },
    "location": {"type": "location", "address": "1 Main St"},
    "contact": {"type": "contact", "title": "Eva Green"},
    "card": {"type": "card", "title": "Plain card"},
    "carousel": {"type": "carousel", "items": [{"title": "One"}]},
    "list": {"type": "list", "items": [{"title": "One"}]},
    "youtube": {"type": "youtube", "url": "https://youtube.com/embed/x1245b"},
    "vimeo": {"type": "vimeo", "url": "https://player.vimeo.com/video/1"},
}

_REQUIRED: list[tuple[str, str]] = [
    ("text", "text"),
    ("image", "url"),
    ("video", "url"),
    ("audio", "url"),
    ("attachment", "url"),
    ("contact", "title"),
    ("carousel", "items"),
    ("list", "items"),
    ("youtube", "url"),
    ("vimeo", "url"),
]


def test_minimal_messages_are_accepted() -> None:
    assert set(_MINIMAL) == {
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
    messages = MESSAGES_ADAPTER.validate_python(list(_MINIMAL.values()))
    assert [m.to_wire() for m in messages] == list(_MINIMAL.values())


@pytest.mark.parametrize(("tag", "field"), _REQUIRED, ids=[f"{t}.{f}" for t, f in _REQUIRED])
def test_missing_required_field(tag: str, field: str) -> None:
    broken = {k: v for k, v in _MINIMAL[tag].items() if k != field}
    data = [{"type": "text", "text": "first"}, broken]
    assert _one_error(MESSAGES_ADAPTER, data) == ("missing", f"responses[1].{field}")
    with pytest.raises(ValidationError) as exc:
        MESSAGES_ADAPTER.validate_python(data)
    assert _errors(exc) == [("missing", (1, tag, field))]


def test_payload_event_required_fields() -> None:
    assert _one_error(EVENTS_ADAPTER, [{"type": "payload", "payload": {}}]) == (
        "missing",
        "responses[0].payloadType",
    )
    assert _one_error(EVENTS_ADAPTER, [{"type": "payload", "payloadType": "x"}]) == (
        "missing",
        "responses[0].payload",
    )


def test_card_url_requires_url_type() -> None:
    card = {"type": "card", "url": "https://site.com/a.png", "title": "t"}
    assert _one_error(MESSAGE_ADAPTER, card) == ("missing", "responses.urlType")
    item = {"type": "carousel", "items": [{"title": "a"}, {"url": "https://site.com/a.png"}]}
    assert _one_error(MESSAGES_ADAPTER, [item]) == ("missing", "responses[0].items[1].urlType")


def test_carousel_entry_given_as_media_message_becomes_card_entry() -> None:
    carousel = CarouselMessage.model_validate(
        {"type": "carousel", "items": [{"type": "Image", "url": "https://site.com/a.png"}]}
    )
    assert carousel.to_wire() == {
        "type": "carousel",
        "items": [{"urlType": "image", "url": "https://site.com/a.png"}],
    }


# --------------------------------------------------------------------------- wrong JSON types


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "text", "text": 5}, ("string_type", "responses.text")),
        ({"type": "text", "items": {}}, ("list_type", "responses.items")),
        ({"type": "text", "items": ["x"]}, ("model_attributes_type", "responses.items[0]")),
        (
            {"type": "contact", "title": "a", "properties": [{"key": "k", "value": 1}]},
            ("string_type", "responses.properties[0].value"),
        ),
        (
            {"type": "location", "latitude": "43.8", "longitude": 1},
            ("float_type", "responses.latitude"),
        ),
        (
            {"type": "location", "latitude": True, "longitude": 1},
            ("float_type", "responses.latitude"),
        ),
        (
            {"type": "location", "latitude": 91, "longitude": 1},
            ("less_than_equal", "responses.latitude"),
        ),
        (
            {"type": "location", "latitude": 1, "longitude": -181},
            ("greater_than_equal", "responses.longitude"),
        ),
        (
            {"type": "card", "urlType": "gif", "url": "https://a.io/x"},
            ("literal_error", "responses.urlType"),
        ),
        (
            {
                "type": "image",
                "url": "https://a.io/x",
                "channels": [{"type": "Webchat", "metadata": "x"}],
            },
            ("list_type", "responses.channels[0].metadata"),
        ),
    ],
)
def test_wrong_types(data: dict[str, Any], expected: tuple[str, str]) -> None:
    assert _one_error(MESSAGE_ADAPTER, data) == expected


def test_wrong_container_types() -> None:
    assert _one_error(MESSAGES_ADAPTER, {"type": "text"}) == ("list_type", "responses")
    assert _one_error(MESSAGES_ADAPTER, ["text"]) == ("model_attributes_type", "responses[0]")
    assert _one_error(EVENT_ADAPTER, {"type": "payload", "payloadType": "x", "payload": []}) == (
        "dict_type",
        "responses.payload",
    )
    assert _one_error(
        Activity, {"type": "event", "event": {"type": "seen"}, "isEcho": "no"}, root="root"
    ) == ("bool_type", "root.isEcho")
    assert _one_error(
        Activity, {"type": "event", "event": {"type": "seen"}, "eventId": "1"}, root="root"
    ) == ("int_type", "root.eventId")
    assert _one_error(DirectInboundActivity, {"type": "message", "message": "hi"}, root="root") == (
        "model_attributes_type",
        "root.message",
    )


def test_coordinates_accept_int_and_float() -> None:
    location = LocationMessage.model_validate(
        {"type": "location", "latitude": 43, "longitude": -79.5240196}
    )
    assert location.latitude == 43.0
    assert location.longitude == -79.5240196


# --------------------------------------------------------------------------- tags


def test_unknown_and_absent_type_tag() -> None:
    data = [{"type": "text", "text": "ok"}, {"type": "sticker", "url": "https://a.io/s"}]
    assert _one_error(MESSAGES_ADAPTER, data) == ("union_tag_invalid", "responses[1]")
    assert _one_error(MESSAGES_ADAPTER, [{"text": "no tag"}]) == (
        "union_tag_not_found",
        "responses[0]",
    )
    # An event tag is not a message.
    assert _one_error(MESSAGE_ADAPTER, {"type": "seen"}) == ("union_tag_invalid", "responses")
    # Items of a text message only admit the attachable kinds.
    text = {"type": "text", "items": [{"type": "carousel", "items": [{"title": "a"}]}]}
    assert _one_error(MESSAGE_ADAPTER, text) == ("union_tag_invalid", "responses.items[0]")
    # Actions have their own tags.
    listing = {"type": "list", "items": [{"title": "a"}], "actions": [{"type": "call"}]}
    assert _one_error(MESSAGE_ADAPTER, listing) == ("union_tag_invalid", "responses.actions[0]")


def test_type_tags_and_keys_ignore_case() -> None:
    message = MESSAGE_ADAPTER.validate_python(
        {
            "Type": "TEXT",
            "Text": "hi",
            "ACTIONS": [{"TYPE": "Link", "title": "t", "URL": "https://hubster.io"}],
        }
    )
    assert isinstance(message, TextMessage)
    assert message.to_wire() == {
        "type": "text",
        "text": "hi",
        "actions": [{"type": "link", "title": "t", "url": "https://hubster.io"}],
    }
    assert CardMessage.model_validate({"type": "Card", "urlType": "YouTube"}).url_type == "youtube"
    assert EVENT_ADAPTER.validate_python({"type": "Typing_On"}).type == "typing_on"


# --------------------------------------------------------------------------- content rules


def test_text_must_not_be_empty() -> None:
    assert _one_error(MESSAGES_ADAPTER, [{"type": "text", "text": ""}]) == (
        "string_too_short",
        "responses[0].text",
    )


def test_text_needs_text_items_or_actions() -> None:
    assert _one_error(MESSAGE_ADAPTER, {"type": "text", "items": [], "actions": []}) == (
        "missing",
        "responses.text",
    )
    only_items = {"type": "text", "items": [{"type": "youtube", "url": "https://youtu.be/x"}]}
    assert MESSAGE_ADAPTER.validate_python(only_items).to_wire() == only_items
    only_actions = {"type": "text", "actions": [{"type": "reply", "title": "a", "payload": "a"}]}
    assert MESSAGE_ADAPTER.validate_python(only_actions).to_wire() == only_actions


def test_collections_need_one_element() -> None:
    assert _one_error(MESSAGE_ADAPTER, {"type": "carousel", "items": []}) == (
        "too_short",
        "responses.items",
    )
    assert _one_error(MESSAGES_ADAPTER, [{"type": "list", "items": []}]) == (
        "too_short",
        "responses[0].items",
    )


def test_empty_mandatory_strings() -> None:
    assert _one_error(ContactMessage, {"type": "contact", "title": ""}, root="m") == (
        "string_too_short",
        "m.title",
    )
    assert _one_error(EVENT_ADAPTER, {"type": "payload", "payloadType": "", "payload": {}}) == (
        "string_too_short",
        "responses.payloadType",
    )


def test_location_without_address_nor_coordinates() -> None:
    data = [{"type": "text", "text": "here"}, {"type": "location"}]
    assert _one_error(MESSAGES_ADAPTER, data) == ("location_required", "responses[1]")
    assert _one_error(MESSAGE_ADAPTER, {"type": "location", "address": None}) == (
        "location_required",
        "responses",
    )


def test_location_coordinates_come_in_pairs() -> None:
    assert _one_error(MESSAGE_ADAPTER, {"type": "location", "latitude": 43.8}) == (
        "missing",
        "responses.longitude",
    )
    assert _one_error(
        MESSAGE_ADAPTER, {"type": "location", "address": "1 Main St", "longitude": 1.5}
    ) == ("missing", "responses.latitude")
    for ok in (
        {"type": "location", "address": "1 Main St"},
        {"type": "location", "latitude": 0, "longitude": 0},
    ):
        assert MESSAGE_ADAPTER.validate_python(ok).to_wire() == ok


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "ftp://site.com/a.png",
        "javascript:alert(1)",
        "/relative/a.png",
        "a.png",
        "site.com",
        "images/a.png",
        "https//site.com/v1.mp4",
        "http://",
        "https://site.com/a b.png",
        " https://site.com/a.png",
        "",
        "https://site.com:99999/a.png",
    ],
)
def test_bad_url(url: str) -> None:
    data = [{"type": "image", "url": url}]
    assert _one_error(MESSAGES_ADAPTER, data) == ("url_parsing", "responses[0].url")


@pytest.mark.parametrize(
    "url",
    [
        "https://site.com/a.png",
        "HTTP://site.com/a.png",
        "http://localhost:4200/a.png",
        "http://10.0.0.1/a.png",
        "player.vimeo.com/video/12345678",
        "youtube.com/embed/1234",
    ],
)
def test_good_url(url: str) -> None:
    assert MESSAGE_ADAPTER.validate_python({"type": "image", "url": url}).to_wire() == {
        "type": "image",
        "url": url,
    }


def test_url_checks_apply_to_every_link_field() -> None:
    contact = {"type": "contact", "title": "x", "imageUrl": "nope"}
    assert _one_error(MESSAGE_ADAPTER, contact) == ("url_parsing", "responses.imageUrl")
    card = {"type": "card", "fallbackImageUrl": "nope"}
    assert _one_error(MESSAGE_ADAPTER, card) == ("url_parsing", "responses.fallbackImageUrl")
    image = {"type": "image", "url": "https://a.io/x.png", "urlAnchor": "nope"}
    assert _one_error(MESSAGE_ADAPTER, image) == ("url_parsing", "responses.urlAnchor")
    assert _one_error(MESSAGE_ADAPTER, {"type": "image", "url": 3}) == (
        "string_type",
        "responses.url",
    )


def test_doc_carousel_typo_is_rejected() -> None:
    [raw] = [r for r in MESSAGE_EXAMPLES if _DOC_TYPO in r]
    assert _one_error(MESSAGES_ADAPTER, [json.loads(raw)]) == (
        "url_parsing",
        "responses[0].items[2].actions[1].url",
    )


# --------------------------------------------------------------------------- error_path


@pytest.mark.parametrize(
    ("loc", "root", "expected"),
    [
        ((1, "card", "title"), "responses", "responses[1].title"),
        ((1,), "responses", "responses[1]"),
        ((), "responses", "responses"),
        (("text", "text"), "root", "root.text"),
        (("location",), "root", "root"),
        ((0, "text", "actions", 2, "link", "url"), "responses", "responses[0].actions[2].url"),
        (
            (0, "text", "items", 1, "contact", "properties", 0, "key"),
            "r",
            "r[0].items[1].properties[0].key",
        ),
        ((0, "carousel", "items", 2, "title"), "responses", "responses[0].items[2].title"),
        (("message", "text", "items", 0, "image", "url"), "root", "root.message.items[0].url"),
        (("event", "payload", "payloadType"), "root", "root.event.payloadType"),
        (("sender", "integrationId"), "root", "root.sender.integrationId"),
        ((1, "list", "items"), "", "[1].items"),
        (("title",), "", "title"),
    ],
)
def test_error_path(loc: tuple[int | str, ...], root: str, expected: str) -> None:
    assert error_path(loc, root) == expected


def test_error_path_for_a_concrete_model() -> None:
    # Validating TextMessage itself: the first component is a field, not a tag.
    with pytest.raises(ValidationError) as exc:
        TextMessage.model_validate({"type": "text", "text": ""})
    [(kind, loc)] = _errors(exc)
    assert (kind, loc) == ("string_too_short", ("text",))
    assert error_path(loc, "message", tagged_root=False) == "message.text"
    assert error_path(loc, "message") == "message"


def test_error_paths_for_every_reported_error() -> None:
    data = [
        {"type": "text", "text": ""},
        {"type": "card", "title": 1},
        {"type": "location"},
        {"type": "list", "items": [{"title": "a", "actions": [{"type": "link", "title": "x"}]}]},
    ]
    with pytest.raises(ValidationError) as exc:
        MESSAGES_ADAPTER.validate_python(data)
    got = {(e["type"], error_path(tuple(e["loc"]), "responses")) for e in exc.value.errors()}
    assert got == {
        ("string_too_short", "responses[0].text"),
        ("string_type", "responses[1].title"),
        ("location_required", "responses[2]"),
        ("missing", "responses[3].items[0].actions[0].url"),
    }
