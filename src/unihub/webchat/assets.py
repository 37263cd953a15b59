"""The `<hubster-webchat>` component's script, served from the package (no CDN, nothing
fetched at run time): read and compressed once per process, with a strong ETag (a hash of
the bytes) so browsers revalidate cheaply, and gzip when the client accepts it."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

SCRIPT = "hubster-webchat.js"
# Unversioned URL: browsers may reuse it for a while, then revalidate with If-None-Match.
CACHE_CONTROL = "public, max-age=600, must-revalidate"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str  # quoted, strong
    media_type: str


@cache
def asset(name: str = SCRIPT) -> Asset:
    body = resources.files("unihub.webchat").joinpath("static", name).read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    # mtime=0: the same bytes give the same gzip output in every process.
    return Asset(body, gzip.compress(body, 9, mtime=0), etag, "text/javascript; charset=utf-8")


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*` or any listed tag (weak comparison, as for GET)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = (t.strip() for t in if_none_match.split(","))
    return any(t.removeprefix("W/") == etag for t in tags)


def accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "x-gzip", "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False
