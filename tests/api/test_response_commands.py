"""Response commands: CRUD per hub; every response element validated as an activity."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import new_hub
from tests.conftest import TenantCreds, codes
from unihub.commands import service
from unihub.core.context import AppContext

BASE = "/api/v1/commands/responses"
CONTACT = {
    "type": "contact",
    "imageUrl": "https://image.png",
    "title": "Eva Green",
    "properties": [
        {"key": "Title", "value": "Mighty Health"},
        {"key": "Address", "value": "108 Kirkbride Crescent, Maple, ON", "type": "address;work"},
        {"key": "Cell", "value": "+1 (714) 873-6202", "type": "phone;cell"},
        {"key": "Email", "value": "eva@mightyhealth.com", "type": "email"},
    ],
    "channels": [
        {
            "type": "Webchat",
            "metadata": [
                {"key": "caption-show", "value": "true"},
                {"key": "caption-color", "value": "white"},
            ],
        }
    ],
}
DOC_EXAMPLE: dict[str, Any] = {
    "name": "contact-eva.green",
    "category": "contacts",
    "description": "Eva's Contact",
    "integrationTypeId": "customer",
    "type": "message",
    "responses": [{"type": "text", "text": "Below is my contact info"}, CONTACT],
}
EVENT_EXAMPLE: dict[str, Any] = {
    "name": "Command-5",
    "category": "Command-5",
    "description": "Command-5",
    "integrationTypeId": "agent",
    "type": "event",
    "responses": [{"type": "payload", "payloadType": "type1", "payload": {"payload": "Hello"}}],
}
EVERY_MESSAGE: list[dict[str, Any]] = [
    {"type": "text", "text": "hi", "actions": [{"type": "reply", "title": "Y", "payload": "y"}]},
    {"type": "image", "url": "https://a.io/i.png", "title": "pic"},
    {"type": "video", "url": "https://a.io/v.mp4", "mimeType": "video/mp4"},
    {"type": "audio", "url": "https://a.io/a.mp3"},
    {"type": "attachment", "label": "doc", "mimeType": "application/pdf", "url": "https://a.io/d"},
    {"type": "location", "latitude": 43.6, "longitude": -79.4},
    CONTACT,
    {
        "type": "card",
        "title": "Card",
        "actions": [{"type": "link", "title": "Go", "url": "https://a.io"}],
    },
    {"type": "carousel", "items": [{"title": "one"}, {"title": "two"}]},
    {"type": "list", "items": [{"title": "one"}]},
    {"type": "youtube", "url": "youtube.com/embed/1234"},
    {"type": "vimeo", "url": "player.vimeo.com/video/12345678"},
]
EVERY_EVENT: list[dict[str, Any]] = [
    {"type": "payload", "payloadType": "t", "payload": {}},
    {"type": "seen"},
    {"type": "typing_on"},
    {"type": "typing_off"},
]


async def create(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{BASE}/{hub_id}", json={**DOC_EXAMPLE, **body}, headers=t.portal)


async def test_crud_round_trip_of_the_reference_examples(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await create(client, tenant, hub_id)
    assert r.status_code == 200, r.text
    cmd = r.json()
    assert cmd == {"commandId": cmd["commandId"], "hubId": hub_id, **DOC_EXAMPLE}
    url = f"{BASE}/{cmd['commandId']}"
    assert (await client.get(url, headers=tenant.portal)).json() == cmd

    # The reference's update example: only category and description change.
    r = await client.put(
        url,
        json={"category": "Office contacts", "description": "Eva's Office Contact"},
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {**cmd, "category": "Office contacts", "description": "Eva's Office Contact"}

    event = await client.post(f"{BASE}/{hub_id}", json=EVENT_EXAMPLE, headers=tenant.portal)
    assert event.status_code == 200, event.text
    listed = (await client.get(f"{BASE}/hub/{hub_id}", headers=tenant.portal)).json()
    assert [c["name"] for c in listed] == ["contact-eva.green", "Command-5"]
    assert listed[1]["responses"] == EVENT_EXAMPLE["responses"]


async def test_every_message_and_event_type_is_accepted(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await create(client, tenant, hub_id, name="all", responses=EVERY_MESSAGE)
    assert r.status_code == 200, r.text
    assert [x["type"] for x in r.json()["responses"]] == [m["type"] for m in EVERY_MESSAGE]
    r = await create(client, tenant, hub_id, name="events", type="Event", responses=EVERY_EVENT)
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "event" and r.json()["responses"] == EVERY_EVENT


async def test_case_and_unknown_properties_are_normalised(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await client.post(
        f"{BASE}/{hub_id}",
        json={
            "Name": "n",
            "IntegrationTypeId": "AGENT",
            "TYPE": "Message",
            "Responses": [{"Type": "Text", "Text": "hi", "junk": 1, "items": None}],
        },
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["integrationTypeId"] == "agent" and body["type"] == "message"
    # Unknown properties and nulls are not stored.
    assert body["responses"] == [{"type": "text", "text": "hi"}]
    assert "category" not in body and "description" not in body


async def test_first_spelling_of_a_property_wins(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    # The elements are checked against the same `type` the command model keeps.
    hub_id = await new_hub(client, tenant)
    body = {**EVENT_EXAMPLE, "type": "event", "Type": "message", "responses": [{"type": "seen"}]}
    r = await client.post(f"{BASE}/{hub_id}", json=body, headers=tenant.portal)
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "event" and r.json()["responses"] == [{"type": "seen"}]
    body = {"TYPE": "message", "type": "event", "responses": [{"type": "seen"}]}
    r = await client.put(f"{BASE}/{r.json()['commandId']}", json=body, headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [206]


def _where(description: str) -> str:
    """The property an error description names ("Property 'x' ..." / "Value 'v' of 'x' ...")."""
    m = re.search(r"(?:^Property|of) '([^']*)'", description)
    assert m, description
    return m.group(1)


def _with(**changes: Any) -> dict[str, Any]:
    return {**DOC_EXAMPLE, **changes}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {(301, "name"), (301, "integrationTypeId"), (301, "type"), (301, "responses")}),
        (_with(integrationTypeId="bot"), {(206, "integrationTypeId")}),
        (_with(integrationTypeId=1), {(206, "integrationTypeId")}),
        (_with(type="action"), {(206, "type")}),
        (_with(responses=[]), {(306, "responses")}),
        (_with(responses={"type": "text"}), {(302, "responses")}),
        (_with(responses=None), {(302, "responses")}),
        (_with(responses=[{"type": "text", "text": "x"}] * 51), {(207, "responses")}),
        (_with(name=""), {(301, "name")}),
        (_with(category="x" * 129), {(207, "category")}),
        (_with(description="x" * 1025), {(207, "description")}),
        (
            _with(responses=[{"type": "text", "text": "ok"}, {"type": "card", "title": 5}]),
            {(302, "responses[1].title")},
        ),
        (_with(responses=[{"type": "contact"}]), {(301, "responses[0].title")}),
        (_with(responses=[{"text": "no type"}]), {(301, "responses[0].type")}),
        (_with(responses=[{"type": "sticker"}]), {(206, "responses[0].type")}),
        (_with(responses=["text"]), {(302, "responses[0]")}),
        (_with(responses=[{"type": "text"}]), {(301, "responses[0].text")}),
        (_with(responses=[{"type": "image", "url": "logo.png"}]), {(202, "responses[0].url")}),
        (_with(responses=[{"type": "video"}]), {(301, "responses[0].url")}),
        (_with(responses=[{"type": "audio", "url": 3}]), {(302, "responses[0].url")}),
        (
            # label and mimeType may be left out (the .NET client does); the link may not.
            _with(responses=[{"type": "attachment", "label": "doc"}]),
            {(301, "responses[0].url")},
        ),
        (_with(responses=[{"type": "location"}]), {(308, "responses[0]")}),
        (
            _with(responses=[{"type": "location", "latitude": 91, "longitude": 0}]),
            {(207, "responses[0].latitude")},
        ),
        (_with(responses=[{"type": "carousel", "items": []}]), {(306, "responses[0].items")}),
        (
            _with(responses=[{"type": "list", "items": [{"url": "https://a.io/v"}]}]),
            {(301, "responses[0].items[0].urlType")},
        ),
        (_with(responses=[{"type": "youtube"}]), {(301, "responses[0].url")}),
        (_with(responses=[{"type": "vimeo", "url": ""}]), {(202, "responses[0].url")}),
        (
            _with(responses=[{"type": "text", "actions": [{"type": "link", "title": "t"}]}]),
            {(301, "responses[0].actions[0].url")},
        ),
        (
            _with(responses=[{"type": "text", "actions": [{"type": "call", "title": "t"}]}]),
            {(206, "responses[0].actions[0].type")},
        ),
        # Events: the element schemas follow the command's type.
        (_with(type="event"), {(206, "responses[0].type"), (206, "responses[1].type")}),
        (
            _with(type="event", responses=[{"type": "payload"}]),
            {(301, "responses[0].payloadType"), (301, "responses[0].payload")},
        ),
        (
            _with(
                type="event", responses=[{"type": "payload", "payloadType": "t", "payload": "str"}]
            ),
            {(302, "responses[0].payload")},
        ),
        (_with(type="message", responses=[{"type": "seen"}]), {(206, "responses[0].type")}),
        # Problems of the command and of its elements are reported together.
        (
            _with(name=None, responses=[{"type": "card", "title": 1}]),
            {(302, "name"), (302, "responses[0].title")},
        ),
    ],
)
async def test_create_bad_input(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    body: dict[str, Any],
    expected: set[tuple[int, str]],
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await client.post(f"{BASE}/{hub_id}", json=body, headers=tenant.portal)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    codes(r)
    got = {(e["code"], _where(e["description"])) for e in errors}
    assert got == expected, errors
    assert (await client.get(f"{BASE}/hub/{hub_id}", headers=tenant.portal)).json() == []


async def test_error_description_points_at_the_element(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await create(
        client,
        tenant,
        hub_id,
        responses=[{"type": "text", "text": "a"}, {"type": "card", "title": 7}],
    )
    assert r.json()["errors"] == [
        {
            "code": 302,
            "description": "Property 'responses[1].title' has an invalid type: expected string."
            " (code: PRT000302)",
        }
    ]


@pytest.mark.parametrize("content", [b"", b"null", b"[1]", b"{bad"])
async def test_body_not_an_object(
    client: httpx.AsyncClient, tenant: TenantCreds, content: bytes
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await client.post(
        f"{BASE}/{hub_id}",
        content=content,
        headers={**tenant.portal, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and codes(r) == [300]


async def test_update_rules(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    hub_id = await new_hub(client, tenant)
    cmd = (await create(client, tenant, hub_id)).json()
    url = f"{BASE}/{cmd['commandId']}"

    # A new type must fit the stored responses...
    r = await client.put(url, json={"type": "event"}, headers=tenant.portal)
    assert r.status_code == 400
    assert {_where(e["description"]) for e in r.json()["errors"]} == {
        "responses[0].type",
        "responses[1].type",
    }
    # ...or come with responses that fit it.
    r = await client.put(
        url, json={"type": "event", "responses": EVERY_EVENT}, headers=tenant.portal
    )
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "event" and r.json()["responses"] == EVERY_EVENT
    # New responses are checked against the stored type.
    r = await client.put(
        url, json={"responses": [{"type": "text", "text": "x"}]}, headers=tenant.portal
    )
    assert r.status_code == 400 and codes(r) == [206]
    r = await client.put(url, json={"responses": [{"type": "seen"}]}, headers=tenant.portal)
    assert r.status_code == 200 and r.json()["responses"] == [{"type": "seen"}]

    for body, expected in (
        ({"name": None}, [302]),
        ({"type": None}, [302]),
        ({"integrationTypeId": None}, [302]),
        ({"responses": None}, [302]),
        ({"responses": []}, [306]),
        ({"integrationTypeId": "system"}, [206]),
    ):
        r = await client.put(url, json=body, headers=tenant.portal)
        assert r.status_code == 400, body
        assert codes(r) == expected, (body, r.text)

    # null clears category and description; they are then omitted.
    r = await client.put(
        url,
        json={"category": None, "description": None, "integrationTypeId": "Agent"},
        headers=tenant.portal,
    )
    assert r.status_code == 200
    body = r.json()
    assert "category" not in body and "description" not in body
    assert body["integrationTypeId"] == "agent"

    r = await client.put(f"{BASE}/{uuid.uuid4()}", content=b"x", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [105]
    r = await client.put(f"{BASE}/nope", content=b"x", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [203]


async def test_update_is_judged_again_when_its_command_changed_meanwhile(
    client: httpx.AsyncClient, tenant: TenantCreds, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_id = await new_hub(client, tenant)
    url = f"{BASE}/{(await create(client, tenant, hub_id)).json()['commandId']}"
    read = service.require
    changed = False

    async def then_changed(*args: Any) -> Any:
        nonlocal changed
        command = await read(*args)
        if not changed:  # once, between the first read and its write
            changed = True
            # Another request (its own task): the command becomes an event command.
            r = await asyncio.create_task(
                client.put(url, json=EVENT_EXAMPLE, headers=tenant.portal)
            )
            assert r.status_code == 200, r.text
        return command

    monkeypatch.setattr(service, "require", then_changed)
    # Messages fit the command as first read, not the event command it became.
    r = await client.put(
        url, json={"responses": [{"type": "text", "text": "x"}]}, headers=tenant.portal
    )
    assert r.status_code == 400 and codes(r) == [206]
    stored = (await client.get(url, headers=tenant.portal)).json()
    assert stored["type"] == "event" and stored["responses"] == EVENT_EXAMPLE["responses"]


async def test_engine_lookups(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    await create(client, tenant, hub_id, name="Contact-Eva")
    await client.post(f"{BASE}/{hub_id}", json=EVENT_EXAMPLE, headers=tenant.portal)
    async with ctx.db.read() as s:
        found = await service.find_response_command(s, uuid.UUID(hub_id), "contact-eva")
        missing = await service.find_response_command(s, uuid.UUID(hub_id), "nobody")
        every = await service.list_response_commands(s, uuid.UUID(hub_id))
    assert found is not None and found.name == "Contact-Eva"
    assert found.responses == DOC_EXAMPLE["responses"]
    assert missing is None
    assert [c.name for c in every] == ["Contact-Eva", "Command-5"]
