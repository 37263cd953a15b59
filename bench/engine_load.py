"""The engine bench's load generator, a process of its own (aiohttp on uvloop).

Reads one JSON job per line on stdin and answers one JSON line on stdout, so the bench can
read this process's CPU time around each phase. A job:

    {"base": "http://127.0.0.1:port", "headers": {...}, "targets": [[path, conversationId]],
     "mode": "saturate", "n": 2000, "concurrency": 32, "first": 0}
    {"mode": "rate", "rate": 100, "n": 1000, ...}

At most 512 connections: in rate mode, posts the server cannot take yet wait for one (their
latency counts from when they were due to leave). Activity `first + i` goes to target
`i % len(targets)`. The answer: {"sent": {"cid:eventId": monotonic time of the post},
"elapsed": s, "errors": n, "late_ms": p99 of how late posts left (rate mode: the generator's
own lag)}.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import aiohttp
import orjson


async def job(spec: dict[str, Any], session: aiohttp.ClientSession) -> dict[str, Any]:
    base = spec["base"]
    headers = {**spec["headers"], "Content-Type": "application/json"}
    targets = spec["targets"]
    first = int(spec.get("first", 0))
    n = int(spec["n"])
    sent: dict[str, float] = {}
    errors = 0
    late: list[float] = []

    async def post(i: int) -> None:
        nonlocal errors
        path, cid = targets[i % len(targets)]
        body = orjson.dumps({"type": "message", "message": {"type": "text", "text": f"m{i}"}})
        t0 = time.monotonic()
        try:
            async with session.post(base + path, data=body, headers=headers) as r:
                answer = await r.read()
                if r.status != 200:
                    errors += 1
                    return
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
            return
        sent[f"{cid}:{orjson.loads(answer)['eventId']}"] = t0

    start = time.monotonic()
    if spec["mode"] == "saturate":
        counter = iter(range(first, first + n))

        async def client() -> None:
            for i in counter:
                await post(i)

        await asyncio.gather(*(client() for _ in range(int(spec["concurrency"]))))
    else:
        rate = float(spec["rate"])
        tasks = []
        for k in range(n):
            due = start + k / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            late.append((time.monotonic() - due) * 1000)
            tasks.append(asyncio.create_task(post(first + k)))
        await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    late.sort()
    return {
        "sent": sent,
        "elapsed": elapsed,
        "errors": errors,
        "late_ms": late[int(len(late) * 0.99)] if late else 0.0,
    }


async def main() -> None:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512), timeout=aiohttp.ClientTimeout(total=120)
    )
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            result = await job(orjson.loads(line), session)
            sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
            sys.stdout.flush()
    finally:
        await session.close()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
