"""The scenarios: one entry each. `{name}` in path/body is filled from the run's fixtures;
`{u}` in a body becomes a per-request unique value (see lua/request.lua)."""

from __future__ import annotations

from dataclasses import dataclass

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    method: str
    path: str
    token: str | None = "portal_token"  # the fixture holding the bearer token, if any
    body: str | None = None
    content_type: str = JSON
    unique: bool = False
    # Skip (with this note) when the route is not in the app yet.
    requires_route: str | None = None
    # Latency targets are measured at a moderate concurrency: with 32 connections a closed
    # loop measures queueing (connections / throughput), not how long one page takes.
    connections: int | None = None


CEILING = Scenario("ceiling", "bare ASGI (ceiling)", "GET", "/", token=None)

SCENARIOS = [
    Scenario(
        "token",
        "token issuance",
        "POST",
        "/connect/token",
        token=None,
        body="grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}",
        content_type=FORM,
    ),
    Scenario("get_hub", "GET hub", "GET", "/api/v1/hubs/{hub_id}"),
    Scenario(
        "post_hub",
        "POST hub",
        "POST",
        "/api/v1/hubs",
        body='{"name":"bench-{u}","description":"created under load"}',
        unique=True,
    ),
    Scenario(
        "put_hub",
        "PUT hub",
        "PUT",
        "/api/v1/hubs/{hub_id}",
        body='{"description":"updated under load","statusId":2000}',
    ),
    Scenario(
        "list_first",
        "list page 0 (100k hubs)",
        "GET",
        "/api/v1/hubs?pageNumber=0&pageSize=50",
        token="list_token",
        connections=4,
    ),
    Scenario(
        "list_middle",
        "list page 1000 (100k hubs)",
        "GET",
        "/api/v1/hubs?pageNumber=1000&pageSize=50",
        token="list_token",
        connections=4,
    ),
    Scenario(
        "list_deep",
        "list last page (100k hubs)",
        "GET",
        "/api/v1/hubs?pageNumber=1999&pageSize=50",
        token="list_token",
        connections=4,
    ),
    Scenario(
        "integration_create",
        "integration create (fake Twilio)",
        "POST",
        "/api/v1/integrations/hubs/{integration_hub_id}",
        body=(
            '{"channelId":"TwilioSMS","name":"sms-{u}","statusId":3000,'
            '"configuration":{"accountSid":"{twilio_account}","authToken":"{twilio_token}",'
            '"numberSid":"PN{u}"}}'
        ),
        unique=True,
        requires_route="/api/v1/integrations/hubs/{hubId}",
    ),
]
