"""Access-token signing (ES256) and verification.

The private key lives encrypted in the database, so every process signs with the same key and
publishes the same JWKS; verification needs only the public keys, which each process caches.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select

from unihub.core.database import Database
from unihub.core.security import SecretBox
from unihub.core.tokens import TOKEN_LIFETIME_S, InvalidTokenError, Principal
from unihub.identity.models import SigningKey

ALGORITHM = "ES256"
ISSUER = "unihub"


class KeyRing:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self._signing_kid = ""
        self._signing_key: ec.EllipticCurvePrivateKey | None = None
        self._public: dict[str, Any] = {}
        self._last_refresh = 0.0
        # Verified tokens: signature checks are the costliest part of an authenticated request.
        self._verified: dict[str, Principal] = {}

    async def load(self) -> None:
        """Load every key; create the first one when the database has none."""
        async with self._db.read() as s:
            rows = (await s.execute(select(SigningKey).order_by(SigningKey.created))).scalars()
            keys = list(rows)
        if not keys:
            private = ec.generate_private_key(ec.SECP256R1())
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            async with self._db.write() as s:
                s.add(
                    SigningKey(
                        kid=uuid.uuid4().hex,
                        algorithm=ALGORITHM,
                        private_key=self._box.encrypt_bytes(pem),
                    )
                )
            async with self._db.read() as s:
                keys = list(
                    (await s.execute(select(SigningKey).order_by(SigningKey.created))).scalars()
                )
        self._public = {}
        for key in keys:
            private_key = serialization.load_pem_private_key(
                self._box.decrypt_bytes(key.private_key), password=None
            )
            assert isinstance(private_key, ec.EllipticCurvePrivateKey)
            self._public[key.kid] = private_key.public_key()
        # The oldest key signs, so concurrent first starts converge on one key.
        first = keys[0]
        loaded = serialization.load_pem_private_key(
            self._box.decrypt_bytes(first.private_key), password=None
        )
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        self._signing_key = loaded
        self._signing_kid = first.kid
        self._last_refresh = time.monotonic()

    def sign(self, principal_claims: dict[str, Any], lifetime_s: int = TOKEN_LIFETIME_S) -> str:
        assert self._signing_key is not None, "KeyRing.load() not awaited"
        now = int(time.time())
        claims = {"iss": ISSUER, "iat": now, "nbf": now, "exp": now + lifetime_s}
        claims.update(principal_claims)
        return jwt.encode(
            claims, self._signing_key, algorithm=ALGORITHM, headers={"kid": self._signing_kid}
        )

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return cached
            self._verified.pop(token, None)
            raise InvalidTokenError("token expired")
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("malformed token") from exc
        if kid not in self._public and time.monotonic() - self._last_refresh > 1.0:
            await self.load()  # a key created by another process since we loaded
        public = self._public.get(kid)
        if public is None:
            raise InvalidTokenError("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                public,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "scope", "tenant_id", "sid"]},
            )
            principal = Principal(
                tenant_id=uuid.UUID(claims["tenant_id"]),
                client_id=str(claims["sub"]),
                scope=str(claims["scope"]),
                secret_id=int(claims["sid"]),
                expires_at=int(claims["exp"]),
                integration_id=(
                    uuid.UUID(claims["integration_id"]) if "integration_id" in claims else None
                ),
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidTokenError(str(exc)) from exc
        if len(self._verified) >= 100_000:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, public in self._public.items():
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
            jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
            keys.append(jwk)
        return {"keys": keys}
