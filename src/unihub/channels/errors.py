"""Provider failures, split by who is at fault.

Callers turn `ProviderRejected` into a client error (fix your credentials) and
`ProviderUnavailable` into a retryable server error, so the split matters more than the text.
The text is still shown to users, hence it is a sentence and never carries a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Blank out secrets, also in their URL-encoded forms, since providers may echo them."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, REDACTED)
    return text


class ProviderError(Exception):
    """Base of every failure talking to a provider; `str()` is safe to show and log."""

    provider: str
    reason: str

    def __init__(self, provider: str, reason: str, *, secrets: Iterable[str] = ()) -> None:
        self.provider = provider
        self.reason = redact(reason, list(secrets)).strip().rstrip(".")
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        return f"{self.provider} failed: {self.reason}."

    def __str__(self) -> str:
        return self._sentence()


class ProviderRejected(ProviderError):
    """The provider answered and said no: the credentials or code must change to succeed."""

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        what: str = "the credentials",
        secrets: Iterable[str] = (),
    ) -> None:
        self.what = what
        super().__init__(provider, reason, secrets=secrets)

    def _sentence(self) -> str:
        return f"{self.provider} rejected {self.what}: {self.reason}."


class ProviderUnavailable(ProviderError):
    """No usable answer (refused, too slow, 5xx, garbage): retrying later may succeed."""

    def _sentence(self) -> str:
        return f"{self.provider} is unavailable: {self.reason}."
