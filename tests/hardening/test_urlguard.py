"""Webhook URL guard: loopback, link-local, private ranges and names resolving to them."""

from __future__ import annotations

import socket

import pytest

from unihub.core.urlguard import check_webhook_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata, link-local
        "http://[fe80::1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_targets_are_refused(url: str):
    reason = await check_webhook_url(url, allow_private=False)
    assert reason is not None and "public" in reason


async def test_name_resolving_to_a_private_address_is_refused():
    host = socket.gethostname()  # /etc/hosts maps it to a loopback or private address
    assert await check_webhook_url(f"http://{host}/hook", allow_private=False) is not None


async def test_public_literal_is_accepted_and_flag_allows_private():
    assert await check_webhook_url("https://8.8.8.8/hook", allow_private=False) is None
    assert await check_webhook_url("http://127.0.0.1:9/hook", allow_private=True) is None
