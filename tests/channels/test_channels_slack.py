from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from tests.fakes.slack import FakeSlack, FakeWorkspace, channel

from unihub.channels.errors import ProviderRejected, ProviderUnavailable
from unihub.channels.slack.adapter import SlackInstall, authorize_url, exchange_code
from unihub.core.config import Settings

CODE = "1234.5678.slack-oauth-code"
BOT_TOKEN = "xoxb-1-2-botS3cr3t"
USER_TOKEN = "xoxp-1-2-userS3cr3t"


def settings(fake: FakeSlack | None = None, url: str | None = None) -> Settings:
    return Settings(
        slack_api_url=url or (fake.base_url if fake else "http://127.0.0.1:9"),
        slack_client_id="1111.2222",
        slack_client_secret="fake-slack-client-secret",
        provider_timeout_s=0.5,
    )


def workspace(**overrides: object) -> FakeWorkspace:
    values: dict[str, object] = {
        "team_id": "T0ACME",
        "team_name": "Acme",
        "bot_token": BOT_TOKEN,
        "bot_user_id": "U0BOT",
        "bot_name": "unihub",
        "app_id": "A0APP",
        "channels": [
            channel("C0RANDOM", "random"),
            channel("C0GENERAL", "general", is_general=True),
        ],
        "user_token": USER_TOKEN,
    }
    return FakeWorkspace(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.add_install(CODE, workspace())
    return fake_slack


def test_authorize_url_carries_client_scopes_and_state() -> None:
    url = authorize_url(settings(), "st4te")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://slack.com/oauth/v2/authorize"
    assert parse_qs(parts.query) == {
        "client_id": ["1111.2222"],
        "scope": [Settings().slack_scopes],
        "state": ["st4te"],
    }


async def test_exchange_code_builds_install(slack: FakeSlack) -> None:
    install = await exchange_code(settings(slack), CODE)
    assert install == SlackInstall(
        team_id="T0ACME",
        team_name="Acme",
        bot_token=BOT_TOKEN,
        app_id="A0APP",
        bot_user_id="U0BOT",
        bot_name="unihub",
        default_channel_id="C0GENERAL",
        default_channel_name="general",
        app_token=USER_TOKEN,
    )
    assert BOT_TOKEN not in repr(install) and USER_TOKEN not in repr(install)
    access, auth_test, listing = slack.requests
    assert (access.method, access.path) == ("POST", "/oauth.v2.access")
    assert access.form == {
        "code": CODE,
        "client_id": "1111.2222",
        "client_secret": "fake-slack-client-secret",
    }
    assert (auth_test.method, auth_test.path, auth_test.bearer) == ("POST", "/auth.test", BOT_TOKEN)
    assert (listing.method, listing.path, listing.bearer) == (
        "GET",
        "/conversations.list",
        BOT_TOKEN,
    )
    assert listing.query["types"] == "public_channel"
    assert listing.query["limit"] == "200"


async def test_without_general_first_channel_and_no_user_token(fake_slack: FakeSlack) -> None:
    fake_slack.add_install(
        CODE, workspace(channels=[channel("C1", "one"), channel("C2", "two")], user_token=None)
    )
    install = await exchange_code(settings(fake_slack), CODE)
    assert (install.default_channel_id, install.default_channel_name) == ("C1", "one")
    assert install.app_token is None


async def test_without_channels(fake_slack: FakeSlack) -> None:
    fake_slack.add_install(CODE, workspace(channels=[]))
    install = await exchange_code(settings(fake_slack), CODE)
    assert (install.default_channel_id, install.default_channel_name) == (None, None)


async def test_invalid_code_is_rejected(slack: FakeSlack) -> None:
    with pytest.raises(ProviderRejected) as info:
        await exchange_code(settings(slack), "not-the-code")
    assert str(info.value) == "Slack rejected the authorization code: invalid_code."
    assert "fake-slack-client-secret" not in str(info.value)


async def test_code_is_single_use(slack: FakeSlack) -> None:
    await exchange_code(settings(slack), CODE)
    with pytest.raises(ProviderRejected, match="invalid_code"):
        await exchange_code(settings(slack), CODE)


async def test_bad_client_secret_is_rejected(slack: FakeSlack) -> None:
    slack.client_secret = "another"
    with pytest.raises(ProviderRejected, match="bad_client_secret") as info:
        await exchange_code(settings(slack), CODE)
    assert "fake-slack-client-secret" not in str(info.value)
    assert CODE not in str(info.value)


async def test_revoked_bot_token_is_rejected(slack: FakeSlack) -> None:
    slack.tokens.clear()
    with pytest.raises(ProviderRejected) as info:
        await exchange_code(settings(slack), CODE)
    assert str(info.value) == "Slack rejected the bot token: invalid_auth."


@pytest.mark.parametrize(
    ("mode", "paths", "reason"),
    [
        ("error500", None, "answered HTTP 500"),
        ("slow", None, "no answer within 0.5 s"),
        ("garbage", None, "not JSON"),
        ("error500", {"/auth.test"}, "answered HTTP 500"),
        ("garbage", {"/conversations.list"}, "not JSON"),
    ],
)
async def test_provider_failures_are_unavailable(
    slack: FakeSlack, mode: str, paths: set[str] | None, reason: str
) -> None:
    slack.mode = mode  # type: ignore[assignment]
    slack.mode_paths = paths
    with pytest.raises(ProviderUnavailable) as info:
        await exchange_code(settings(slack), CODE)
    message = str(info.value)
    assert message.startswith("Slack is unavailable: ")
    assert reason in message
    for secret in (CODE, BOT_TOKEN, USER_TOKEN, "fake-slack-client-secret"):
        assert secret not in message


async def test_ratelimited_is_unavailable(slack: FakeSlack) -> None:
    slack.forced_errors["/conversations.list"] = "ratelimited"
    with pytest.raises(ProviderUnavailable, match=r"^Slack is unavailable: ratelimited\.$"):
        await exchange_code(settings(slack), CODE)


async def test_missing_scope_is_rejected(slack: FakeSlack) -> None:
    slack.forced_errors["/conversations.list"] = "missing_scope"
    with pytest.raises(ProviderRejected, match=r"^Slack rejected the bot token: missing_scope\.$"):
        await exchange_code(settings(slack), CODE)


async def test_refused_connection_is_unavailable(closed_port_url: str) -> None:
    with pytest.raises(ProviderUnavailable, match="Slack is unavailable: could not connect"):
        await exchange_code(settings(url=closed_port_url), CODE)
