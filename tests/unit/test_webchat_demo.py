"""The demo page's pieces that HTTP cannot reach with a GUID: JSON inside <script> and the
websocket origins named in its CSP."""

from __future__ import annotations

import orjson

from unihub.webchat import demo


def test_script_json_cannot_leave_its_script_element() -> None:
    value = {"x": "</script><script>alert(1)</script><!-- & \u2028\u2029"}
    text = demo.script_json(value)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text
    assert orjson.loads(text) == value  # still the same JSON (and a JS literal)


def test_policy_names_the_websocket_origins_of_a_sane_host_only() -> None:
    assert "connect-src 'self' ws://chat.example.com:8080 wss://chat.example.com:8080;" in (
        demo.policy("n", "chat.example.com:8080")
    )
    assert "connect-src 'self' ws://[::1]:80 wss://[::1]:80;" in demo.policy("n", "[::1]:80")
    for bad in ("evil; script-src *", "a b", "", None):
        assert "connect-src 'self';" in demo.policy("n", bad), bad
