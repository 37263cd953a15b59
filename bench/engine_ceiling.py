"""The engine ceiling: the smallest app doing the durable work of unihub's accept and deliver.

A raw ASGI app (no FastAPI, no Starlette), served by `bench.servers.start_engine_ceiling` with
the uvicorn options `unihub serve` uses. Per accepted activity it does what unihub must do at
least, and nothing else:

- verify the bearer token: an HMAC-SHA256-signed token, verified once and then cached by its
  string (as unihub caches verified tokens);
- parse the JSON body (orjson) and check it is an object with a `type`;
- one transaction: the conversation's next eventId, the activity row and one outbox row;
- answer `{"eventId": n}` only after the commit.

A background sender claims due outbox rows (leased, oldest first), signs each webhook body
with HMAC-SHA256 (base64, `x-hubster-signature`, as `unihub.delivery.webhooks.sign`), POSTs
it over one keep-alive aiohttp session, conversations concurrently and each conversation's
rows in order, and marks the outcomes of a batch in one transaction.

Storage: its own three tables, on SQLite in WAL mode with unihub's pragmas
(`ENGINE_CEILING_SQLITE_SYNCHRONOUS` NORMAL or FULL) or on PostgreSQL (asyncpg) with whatever
the server's durability settings are. Configuration by environment (set by the bench):

    ENGINE_CEILING_DATABASE   a SQLite file path, or a postgresql:// URL
    ENGINE_CEILING_TOKEN_KEY  the HMAC key of bearer tokens (`token()` makes one)
    ENGINE_CEILING_WEBHOOK    the receiver's URL
    ENGINE_CEILING_SIGNING_KEY the webhook signing key (32 hex characters, used as UTF-8)

Routes: `POST /conversations/{id}` creates a conversation (setup), `POST /activity/{id}`
accepts an activity, `GET /healthz`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import sqlite3
import time
import uuid
from collections import defaultdict
from typing import Any

import aiohttp
import orjson

BATCH = 256
LEASE_S = 30.0
POLL_S = 1.0
_JSON = [(b"content-type", b"application/json")]


def token(key: str, subject: str, ttl_s: float = 3600.0) -> str:
    """A bearer token the ceiling accepts: base64url(JSON claims) "." base64url(HMAC)."""
    claims = base64.urlsafe_b64encode(orjson.dumps({"sub": subject, "exp": time.time() + ttl_s}))
    mac = hmac.new(key.encode(), claims, hashlib.sha256).digest()
    return f"{claims.decode()}.{base64.urlsafe_b64encode(mac).decode()}"


def sign(body: bytes, private_key: str) -> str:
    digest = hmac.new(private_key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class Tokens:
    """Verify once, then a dict lookup (the expiry is still checked on every hit)."""

    def __init__(self, key: str) -> None:
        self.key = key.encode()
        self.cache: dict[bytes, float] = {}

    def valid(self, header: bytes | None) -> bool:
        if not header or not header.startswith(b"Bearer "):
            return False
        raw = header[7:]
        exp = self.cache.get(raw)
        if exp is None:
            claims, _, mac = raw.partition(b".")
            want = base64.urlsafe_b64encode(hmac.new(self.key, claims, hashlib.sha256).digest())
            if not hmac.compare_digest(want, mac):
                return False
            exp = float(orjson.loads(base64.urlsafe_b64decode(claims))["exp"])
            self.cache[raw] = exp
        return exp > time.time()


class SqliteStore:
    """One connection, used inline on the event loop (as unihub's inline writer is): every
    transaction below runs without an await inside it, so they cannot interleave."""

    def __init__(self, path: str, synchronous: str) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=WAL",
            f"synchronous={synchronous}",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS conversation (
                id TEXT PRIMARY KEY, next_event INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS activity (
                conversation_id TEXT NOT NULL REFERENCES conversation(id),
                event_id INTEGER NOT NULL, body BLOB NOT NULL, created REAL NOT NULL,
                PRIMARY KEY (conversation_id, event_id));
            CREATE TABLE IF NOT EXISTS outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                conversation_id TEXT NOT NULL, event_id INTEGER NOT NULL,
                state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
                lease_until REAL NOT NULL DEFAULT 0,
                FOREIGN KEY (conversation_id, event_id) REFERENCES activity);
            CREATE INDEX IF NOT EXISTS outbox_due ON outbox (lease_until, id) WHERE state = 0;
            """
        )

    async def create(self, cid: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO conversation (id) VALUES (?)", (cid,))

    async def accept(self, cid: str, body: bytes) -> int | None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "UPDATE conversation SET next_event = next_event + 1 WHERE id = ? "
                "RETURNING next_event",
                (cid,),
            ).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return None
            event_id = int(row[0])
            db.execute(
                "INSERT INTO activity (conversation_id, event_id, body, created) VALUES (?,?,?,?)",
                (cid, event_id, body, time.time()),
            )
            db.execute(
                "INSERT INTO outbox (conversation_id, event_id) VALUES (?, ?)", (cid, event_id)
            )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return event_id

    async def claim(self) -> list[tuple[int, str, int, bytes]]:
        now = time.time()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute(
                "UPDATE outbox SET lease_until = ? WHERE id IN (SELECT id FROM outbox "
                "WHERE state = 0 AND lease_until <= ? ORDER BY id LIMIT ?) "
                "RETURNING id, conversation_id, event_id",
                (now + LEASE_S, now, BATCH),
            ).fetchall()
            out = []
            for oid, cid, eid in sorted(rows):
                body = db.execute(
                    "SELECT body FROM activity WHERE conversation_id = ? AND event_id = ?",
                    (cid, eid),
                ).fetchone()[0]
                out.append((oid, cid, eid, body))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return out

    async def mark(self, delivered: list[int], retry: list[int]) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.executemany("UPDATE outbox SET state = 1 WHERE id = ?", [(i,) for i in delivered])
        db.executemany(
            "UPDATE outbox SET attempts = attempts + 1, lease_until = ? WHERE id = ?",
            [(time.time() + 2.0, i) for i in retry],
        )
        db.execute("COMMIT")

    async def close(self) -> None:
        self.db.close()


class PostgresStore:
    """asyncpg, a pool as large as unihub's; each accept is one statement (one round trip,
    its own transaction): the fewest waits a durable accept can have."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS conversation (
            id TEXT PRIMARY KEY, next_event BIGINT NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS activity (
            conversation_id TEXT NOT NULL REFERENCES conversation(id),
            event_id BIGINT NOT NULL, body BYTEA NOT NULL,
            created TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (conversation_id, event_id));
        CREATE TABLE IF NOT EXISTS outbox (
            id BIGSERIAL PRIMARY KEY,
            conversation_id TEXT NOT NULL, event_id BIGINT NOT NULL,
            state SMALLINT NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
            lease_until TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
            FOREIGN KEY (conversation_id, event_id) REFERENCES activity);
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (lease_until, id) WHERE state = 0;
    """
    ACCEPT = """
        WITH c AS (
            UPDATE conversation SET next_event = next_event + 1 WHERE id = $1
            RETURNING next_event),
        a AS (
            INSERT INTO activity (conversation_id, event_id, body)
            SELECT $1, next_event, $2 FROM c RETURNING event_id)
        INSERT INTO outbox (conversation_id, event_id) SELECT $1, event_id FROM a
        RETURNING event_id
    """
    CLAIM = """
        WITH c AS (
            UPDATE outbox SET lease_until = now() + make_interval(secs => $2)
            WHERE id IN (SELECT id FROM outbox WHERE state = 0 AND lease_until <= now()
                         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING id, conversation_id, event_id)
        SELECT c.id, c.conversation_id, c.event_id, a.body
        FROM c JOIN activity a USING (conversation_id, event_id) ORDER BY c.id
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.url, min_size=4, max_size=20)
        async with self.pool.acquire() as conn:
            await conn.execute(self.SCHEMA)

    async def create(self, cid: str) -> None:
        await self.pool.execute(
            "INSERT INTO conversation (id) VALUES ($1) ON CONFLICT DO NOTHING", cid
        )

    async def accept(self, cid: str, body: bytes) -> int | None:
        value = await self.pool.fetchval(self.ACCEPT, cid, body)
        return None if value is None else int(value)

    async def claim(self) -> list[tuple[int, str, int, bytes]]:
        rows = await self.pool.fetch(self.CLAIM, BATCH, LEASE_S)
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def mark(self, delivered: list[int], retry: list[int]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if delivered:
                await conn.execute("UPDATE outbox SET state = 1 WHERE id = ANY($1)", delivered)
            if retry:
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, "
                    "lease_until = now() + interval '2 seconds' WHERE id = ANY($1)",
                    retry,
                )

    async def close(self) -> None:
        await self.pool.close()


class Sender:
    def __init__(self, store: SqliteStore | PostgresStore, url: str, key: str) -> None:
        self.store = store
        self.url = url
        self.key = key
        self.public_key = hashlib.sha256(key.encode()).hexdigest()[:32]
        self.wake = asyncio.Event()
        # The rest of unihub's Direct webhook envelope (`unihub.conversations.wire`), so the
        # bodies signed and sent are about as large.
        ids = uuid.uuid4()
        self.header = {"hubId": str(ids), "tenantId": str(ids), "integrationId": str(ids)}
        self.header["conversationProperties"] = {}
        self.session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=60),
            timeout=aiohttp.ClientTimeout(total=10),
        )
        try:
            while True:
                rows = await self.store.claim()
                if not rows:
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), POLL_S)
                    continue
                chains: dict[str, list[tuple[int, str, int, bytes]]] = defaultdict(list)
                for row in rows:
                    chains[row[1]].append(row)
                results = await asyncio.gather(*(self._chain(c) for c in chains.values()))
                delivered = [i for ok, _ in results for i in ok]
                retry = [i for _, failed in results for i in failed]
                await self.store.mark(delivered, retry)
        finally:
            await self.session.close()

    async def _chain(self, rows: list[tuple[int, str, int, bytes]]) -> tuple[list[int], list[int]]:
        """One conversation's rows in order; after a failure the rest wait for the retry."""
        assert self.session is not None
        done: list[int] = []
        for n, (oid, cid, eid, stored) in enumerate(rows):
            activity = orjson.loads(stored)
            activity["eventId"] = eid
            body = orjson.dumps({**self.header, "conversationId": cid, "activity": activity})
            headers = {
                "Content-Type": "application/json",
                "x-conversation-id": cid,
                "x-hubster-public-key": self.public_key,
                "x-hubster-signature": sign(body, self.key),
                "x-hubster-delivery-id": str(oid),
            }
            try:
                async with self.session.post(self.url, data=body, headers=headers) as r:
                    await r.read()
                    ok = 200 <= r.status < 300
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if not ok:
                return done, [row[0] for row in rows[n:]]
            done.append(oid)
        return done, []


class App:
    def __init__(self) -> None:
        self.tokens = Tokens(os.environ["ENGINE_CEILING_TOKEN_KEY"])
        database = os.environ["ENGINE_CEILING_DATABASE"]
        self.store: SqliteStore | PostgresStore
        if database.startswith("postgresql"):
            self.store = PostgresStore(database.replace("postgresql+asyncpg://", "postgresql://"))
        else:
            synchronous = os.environ.get("ENGINE_CEILING_SQLITE_SYNCHRONOUS", "NORMAL").upper()
            self.store = SqliteStore(database, synchronous)
        self.sender = Sender(
            self.store,
            os.environ["ENGINE_CEILING_WEBHOOK"],
            os.environ["ENGINE_CEILING_SIGNING_KEY"],
        )
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        path: str = scope["path"]
        if scope["method"] == "GET" and path == "/healthz":
            await self.answer(send, 200, b'{"status":"ok"}')
            return
        if scope["method"] != "POST":
            await self.answer(send, 405, b'{"error":"method"}')
            return
        auth = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
                break
        if not self.tokens.valid(auth):
            await self.answer(send, 401, b'{"error":"unauthorized"}')
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if path.startswith("/activity/"):
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
                await self.answer(send, 400, b'{"error":"body"}')
                return
            event_id = await self.store.accept(path[10:], orjson.dumps(parsed))
            if event_id is None:
                await self.answer(send, 404, b'{"error":"conversation"}')
                return
            self.sender.wake.set()
            await self.answer(send, 200, b'{"eventId":%d}' % event_id)
        elif path.startswith("/conversations/"):
            await self.store.create(path[15:])
            await self.answer(send, 200, b"{}")
        else:
            await self.answer(send, 404, b'{"error":"route"}')

    @staticmethod
    async def answer(send: Any, status: int, body: bytes) -> None:
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if isinstance(self.store, PostgresStore):
                    await self.store.open()
                self.task = asyncio.create_task(self.sender.run())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.task is not None:
                    self.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self.task
                await self.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app() -> App:
    return App()
