"""Only literals and 'localhost' reach the real resolver; other names use `fake_dns`."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from unihub.core.urlguard import check_webhook_url


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",
        "https://93.184.216.34:8443/hook?x=1",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
async def test_public_literals_are_accepted(url: str) -> None:
    assert await check_webhook_url(url, allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1/hook",  # shorthand, resolved by getaddrinfo
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::]/hook",
        "http://[fe80::1]/hook",
        "http://[fe80::1%25eth0]/hook",
        "http://[fc00::1]/hook",
        "http://[ff0e::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[2002:7f00:1::]/hook",  # 6to4 wrapping 127.0.0.1
        "http://[64:ff9b::a00:1]/hook",  # NAT64 wrapping 10.0.0.1
        "http://localhost/hook",
        "http://LOCALHOST.:8080/hook",
        "http://api.localhost/hook",
    ],
)
async def test_private_targets_are_refused(url: str) -> None:
    error = await check_webhook_url(url, allow_private=False)
    assert error is not None
    assert "not a public internet address" in error


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://93.184.216.34/hook", "absolute http:// or https://"),
        ("/relative/hook", "absolute http:// or https://"),
        ("93.184.216.34/hook", "absolute http:// or https://"),
        ("http:///hook", "no host"),
        ("http://:80/hook", "no host"),
        ("http://93.184.216.34:99999/hook", "out of range"),
        ("http://exa\tmple.com/hook", "not a valid URL"),
        # httpx reads the host as 93.184.216.34, WHATWG parsers as 127.0.0.1
        ("http://127.0.0.1:8080\\@93.184.216.34/", "not a valid URL"),
        ("http://93.184.216.34\\.evil/", "not a valid URL"),
        ("http://user@127.0.0.1/hook", "user name or password"),
        ("https://user:pw@93.184.216.34/hook", "user name or password"),
        ("http://93.184.216.34/ho ok", "not a valid URL"),
    ],
)
async def test_malformed_urls_are_refused(url: str, expected: str) -> None:
    error = await check_webhook_url(url, allow_private=False)
    assert error is not None
    assert expected in error


@pytest.fixture
async def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Answer getaddrinfo from a dict so no test sends a DNS query."""
    table: dict[str, list[str]] = {}
    loop = asyncio.get_running_loop()

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize("allow_private", [False, True])
async def test_unresolvable_host_is_named(
    fake_dns: dict[str, list[str]], allow_private: bool
) -> None:
    error = await check_webhook_url("http://no-such-host.invalid/hook", allow_private)
    assert error == "the webhook host no-such-host.invalid cannot be resolved"


async def test_name_resolving_to_public_address_is_accepted(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["hooks.example.com"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert await check_webhook_url("https://hooks.example.com/in", False) is None


@pytest.mark.parametrize(
    "addresses", [["10.0.0.5"], ["93.184.216.34", "169.254.169.254"], ["::ffff:192.168.0.1"]]
)
async def test_name_resolving_to_any_private_address_is_refused(
    fake_dns: dict[str, list[str]], addresses: list[str]
) -> None:
    fake_dns["rebind.example.com"] = addresses
    error = await check_webhook_url("https://rebind.example.com/in", False)
    assert error is not None
    assert error.startswith("the webhook host rebind.example.com (")
    assert "is not a public internet address" in error


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook"]
)
async def test_allow_private_accepts_loopback(url: str) -> None:
    assert await check_webhook_url(url, allow_private=True) is None


async def test_allow_private_still_requires_http() -> None:
    assert await check_webhook_url("ftp://127.0.0.1/x", allow_private=True) is not None


@pytest.mark.parametrize("allow_private", [False, True])
async def test_parser_tricks_are_refused_even_with_private_allowed(allow_private: bool) -> None:
    error = await check_webhook_url("http://127.0.0.1:9\\@93.184.216.34/", allow_private)
    assert error is not None and "not a valid URL" in error
