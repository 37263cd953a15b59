"""Delivery and provider failures, split by who is at fault: the one hierarchy.

`Rejected`: the other side answered and said no (credentials, number, token, a paused or
missing receiver): retrying cannot help. `Unavailable`: no usable answer (refused, too slow,
5xx, throttled, garbage): retrying later may succeed. Integrations answer them 400/702 and
503/703; the delivery worker fails the row at once or retries it on the webhook schedule.
The provider subclasses phrase the text as a sentence naming the provider; the text is shown
to users and never carries a secret.
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


class DeliveryError(Exception):
    """`str()` is safe to show and log; `status_code` is the other side's HTTP status."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class Rejected(DeliveryError):
    """The other side said no: the input must change to succeed."""


class Unavailable(DeliveryError):
    """No usable answer: retrying later may succeed; `retry_after_s` is the provider's own
    wait (Telegram's `retry_after`), which the next attempt honours."""

    retry_after_s: float | None = None

    def __init__(
        self, message: str, status_code: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, status_code)
        self.retry_after_s = retry_after_s


class SignatureInvalid(Exception):
    """A provider webhook whose signature (or verify token) is missing or wrong; `str()` is
    the sentence the route answers with."""

    @classmethod
    def of(cls, provider: str) -> SignatureInvalid:
        return cls(f"The {provider} signature of this request is missing or invalid.")


class ProviderError(DeliveryError):
    """A failure talking to a named provider, phrased as a sentence."""

    provider: str
    reason: str

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        secrets: Iterable[str] = (),
        status_code: int | None = None,
    ) -> None:
        self.provider = provider
        self.reason = redact(reason, list(secrets)).strip().rstrip(".")
        super().__init__(self._sentence(), status_code)

    def _sentence(self) -> str:
        return f"{self.provider} failed: {self.reason}."

    def __str__(self) -> str:
        return self._sentence()


class ProviderRejected(ProviderError, Rejected):
    """The provider answered and said no: the credentials or code must change to succeed."""

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        what: str = "the credentials",
        secrets: Iterable[str] = (),
        status_code: int | None = None,
    ) -> None:
        self.what = what
        super().__init__(provider, reason, secrets=secrets, status_code=status_code)

    def _sentence(self) -> str:
        return f"{self.provider} rejected {self.what}: {self.reason}."


class ProviderUnavailable(ProviderError, Unavailable):
    """No usable answer (refused, too slow, 5xx, garbage): retrying later may succeed."""

    def _sentence(self) -> str:
        return f"{self.provider} is unavailable: {self.reason}."
