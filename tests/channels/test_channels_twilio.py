from __future__ import annotations

import pytest
from tests.fakes.twilio import FakeTwilio

from unihub.channels.errors import ProviderRejected, ProviderUnavailable
from unihub.channels.twilio.adapter import TwilioCapabilities, fetch_incoming_number
from unihub.core.config import Settings

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token-s3cr3t"
NUMBER = "PN0123456789abcdef0123456789abcdef"


def settings(url: str) -> Settings:
    return Settings(twilio_api_url=url, provider_timeout_s=0.5)


@pytest.fixture
def twilio(fake_twilio: FakeTwilio) -> FakeTwilio:
    fake_twilio.add_account(ACCOUNT, TOKEN)
    fake_twilio.add_number(ACCOUNT, NUMBER, "+15017122661", mms=False)
    return fake_twilio


async def test_fetches_number_with_basic_auth(twilio: FakeTwilio) -> None:
    number = await fetch_incoming_number(settings(twilio.base_url), ACCOUNT, TOKEN, NUMBER)
    assert number.phone_number == "+15017122661"
    assert number.capabilities == TwilioCapabilities(sms=True, mms=False, voice=True)
    [request] = twilio.requests
    assert request.method == "GET"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{NUMBER}.json"
    assert request.basic_auth == (ACCOUNT, TOKEN)
    assert request.headers["user-agent"].startswith("unihub/")


async def test_wrong_token_is_rejected_without_leaking_it(twilio: FakeTwilio) -> None:
    wrong = "wrong-token-very-secret"
    with pytest.raises(ProviderRejected) as info:
        await fetch_incoming_number(settings(twilio.base_url), ACCOUNT, wrong, NUMBER)
    assert str(info.value) == "Twilio rejected the credentials: Authenticate (20003)."
    assert info.value.provider == "Twilio"
    assert wrong not in str(info.value)


async def test_unknown_number_is_rejected(twilio: FakeTwilio) -> None:
    with pytest.raises(ProviderRejected) as info:
        await fetch_incoming_number(settings(twilio.base_url), ACCOUNT, TOKEN, "PN999")
    message = str(info.value)
    assert message.startswith("Twilio rejected the credentials: The requested resource")
    assert "(20404)" in message
    assert TOKEN not in message


async def test_malformed_sid_never_reaches_twilio(twilio: FakeTwilio) -> None:
    with pytest.raises(ProviderRejected, match="phone number SID is malformed"):
        await fetch_incoming_number(settings(twilio.base_url), ACCOUNT, TOKEN, "../../x")
    assert twilio.requests == []


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("error500", "answered HTTP 500"),
        ("slow", "no answer within 0.5 s"),
        ("garbage", "not JSON"),
    ],
)
async def test_provider_failures_are_unavailable(
    twilio: FakeTwilio, mode: str, reason: str
) -> None:
    twilio.mode = mode  # type: ignore[assignment]
    with pytest.raises(ProviderUnavailable) as info:
        await fetch_incoming_number(settings(twilio.base_url), ACCOUNT, TOKEN, NUMBER)
    assert str(info.value).startswith("Twilio is unavailable: ")
    assert reason in str(info.value)
    assert TOKEN not in str(info.value)


async def test_refused_connection_is_unavailable(closed_port_url: str) -> None:
    with pytest.raises(ProviderUnavailable, match="Twilio is unavailable: could not connect"):
        await fetch_incoming_number(settings(closed_port_url), ACCOUNT, TOKEN, NUMBER)
