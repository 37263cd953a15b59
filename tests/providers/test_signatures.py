"""The URL Twilio signatures are checked against, and the signature helpers' edge cases."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from tests.providers.helpers import facebook_signature, slack_headers
from unihub.channels.messenger.adapter import signature_valid as facebook_valid
from unihub.channels.slack.adapter import signature_valid as slack_valid
from unihub.channels.twilio.adapter import signature_valid as twilio_valid
from unihub.channels.twilio.signature import compute_signature
from unihub.inbound.endpoints import public_url


def _request(path: str, query: str = "") -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "server": ("10.0.0.5", 8080),
            "path": path,
            "query_string": query.encode(),
            "headers": [(b"host", b"10.0.0.5:8080"), (b"x-forwarded-host", b"evil.example")],
        }
    )


def test_public_url_replaces_scheme_and_host_but_keeps_path_and_query() -> None:
    req = _request("/inbound/twilio/v1/sms/abc", "x=1")
    assert public_url(req, None) == "http://10.0.0.5:8080/inbound/twilio/v1/sms/abc?x=1"
    assert (
        public_url(req, "https://hub.example.com/")
        == "https://hub.example.com/inbound/twilio/v1/sms/abc?x=1"
    )


def test_twilio_signature_is_bound_to_the_url() -> None:
    params = {"From": "+15550001111", "Body": "hi"}
    url = "https://hub.example.com/inbound/twilio/v1/sms/abc"
    sig = compute_signature("token", url, params)
    assert twilio_valid("token", url, params, sig)
    assert not twilio_valid("token", url.replace("https", "http"), params, sig)
    assert not twilio_valid("token", url, {**params, "Body": "changed"}, sig)
    assert not twilio_valid("", url, params, sig)


# Computed by the twilio SDK's RequestValidator (9.13); the first is Twilio's documented example.
TWILIO_VECTORS = [
    (
        "12345",
        "https://mycompany.com/myapp.php?foo=1&bar=2",
        {
            "CallSid": "CA1234567890ABCDE",
            "Caller": "+12349013030",
            "Digits": "1234",
            "From": "+12349013030",
            "To": "+18005551212",
        },
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
    ),
    (
        "token",
        "https://hub.example.com/inbound/twilio/v1/sms/abc",
        {"From": "+15550001111", "Body": "hi"},
        "MUqZt2bcS/BCXkoGY6lD76OS/1c=",
    ),
    (
        "t\u00f8ken",
        "http://10.0.0.5:8080/inbound/twilio/v1/sms/abc?x=1",
        {"Body": "h\u00e9llo \u2603", "From": "+1", "NumMedia": "0"},
        "W3REfgq0Udi/cYNyoinc8lUIahY=",
    ),
    (
        "token",
        "https://hub.example.com/inbound/twilio/v1/sms/abc",
        {},
        "02DVBVw5vGTX/xGO1RzF92Ec3Eo=",
    ),
]


@pytest.mark.parametrize(("token", "url", "params", "expected"), TWILIO_VECTORS)
def test_twilio_signature_vectors(
    token: str, url: str, params: dict[str, str], expected: str
) -> None:
    assert compute_signature(token, url, params) == expected
    assert twilio_valid(token, url, params, expected)
    assert not twilio_valid(token, url, params, expected[:-2] + "A=")
    assert not twilio_valid(token + "x", url, params, expected)


def test_twilio_signature_over_the_url_with_or_without_its_default_port() -> None:
    """As the SDK's validator: Twilio may sign the URL with the default port or without it."""
    params = {"From": "+15550001111", "Body": "hi"}
    url = "https://hub.example.com/inbound/twilio/v1/sms/abc"
    with_port = "https://hub.example.com:443/inbound/twilio/v1/sms/abc"
    # The SDK's signature of the URL with :443 added, for a request to the URL without it.
    assert twilio_valid("token", url, params, "l1lE42ZnLzMMQTkHkgD+X+JmZKw=")
    assert twilio_valid("token", with_port, params, "MUqZt2bcS/BCXkoGY6lD76OS/1c=")
    assert not twilio_valid("token", "https://hub.example.com:8443/x", params, "x")
    assert not twilio_valid("token", "https://hub.example.com:port/x", params, "x")


def test_facebook_and_slack_signatures() -> None:
    body = b'{"object":"page"}'
    assert facebook_valid("s", body, facebook_signature("s", body))
    assert not facebook_valid("s", body, None)
    assert not facebook_valid("s", body + b" ", facebook_signature("s", body))
    h = slack_headers(body, secret="k", ts=1_700_000_000)
    ts, sig = h["X-Slack-Request-Timestamp"], h["X-Slack-Signature"]
    assert slack_valid("k", body, ts, sig, now=1_700_000_100)
    assert not slack_valid("k", body, ts, sig, now=1_700_000_000 + 301)  # replayed later
    assert not slack_valid("", body, ts, sig, now=1_700_000_100)  # no secret configured
    assert not slack_valid("k", body, "not-a-number", sig, now=1_700_000_100)
