"""Twilio's webhook signature (`X-Twilio-Signature`), without the 51 MB `twilio` SDK.

The algorithm is public (https://www.twilio.com/docs/usage/webhooks/webhooks-security): the
base64 HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio requested
followed by every POST parameter's name and value, sorted by name. Like the SDK's
`RequestValidator.validate`, a signature is accepted over the URL with or without its
default port, since Twilio is not consistent about including it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import ParseResult, urlparse


def compute_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    data = url + "".join(name + params[name] for name in sorted(params))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _without_port(uri: ParseResult) -> str:
    if not uri.port:
        return uri.geturl()
    return uri._replace(netloc=uri.netloc.split(":")[0]).geturl()


def _with_port(uri: ParseResult) -> str:
    if uri.port:
        return uri.geturl()
    port = 443 if uri.scheme == "https" else 80
    return uri._replace(netloc=f"{uri.netloc}:{port}").geturl()


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether `signature` signs `url` and the form `params` with `auth_token`."""
    if not auth_token or not signature:
        return False
    try:
        uri = urlparse(url)
        candidates = {_without_port(uri), _with_port(uri)}
    except ValueError:  # an unparseable port
        return False
    given = signature.encode()
    return any(
        hmac.compare_digest(compute_signature(auth_token, u, params).encode(), given)
        for u in candidates
    )
