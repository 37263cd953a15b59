"""The URL Twilio signatures are checked against, and the signature helpers' edge cases."""

from __future__ import annotations

from starlette.requests import Request
from twilio.request_validator import RequestValidator

from tests.providers.helpers import facebook_signature, slack_headers
from unihub.channels.messenger.adapter import signature_valid as facebook_valid
from unihub.channels.slack.adapter import signature_valid as slack_valid
from unihub.channels.twilio.adapter import signature_valid as twilio_valid
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
    sig = RequestValidator("token").compute_signature(url, params)
    assert twilio_valid("token", url, params, sig)
    assert not twilio_valid("token", url.replace("https", "http"), params, sig)
    assert not twilio_valid("token", url, {**params, "Body": "changed"}, sig)
    assert not twilio_valid("", url, params, sig)


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
