"""A hostile client for availability tests, run as its own process (``python -m tests.attacker``)
so the test process that measures latency does not share a GIL with the attack.

``python -m tests.attacker URL MODE CONCURRENCY`` keeps CONCURRENCY requests in flight until its
standard input closes, and prints ``answered N`` after every 50 answers, so a test can wait for
the attack to be under way instead of sleeping. Modes:

- ``basic``: Basic credentials with a made-up till code each time;
- ``token``: ``/v3/oauth/token/generate`` with a made-up client key each time.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import sys

import httpx2


def _request(mode: str) -> tuple[str, str, dict[str, str], dict[str, str] | None]:
    name = f"ghost-{secrets.token_hex(6)}"
    if mode == "basic":
        pair = base64.b64encode(f"{name}:{secrets.token_hex(16)}".encode()).decode()
        return "GET", "/admin/v1/programs", {"Authorization": f"Basic {pair}"}, None
    return "POST", "/v3/oauth/token/generate", {}, {"key": name, "secret": secrets.token_hex(16)}


async def _attack(url: str, mode: str, concurrency: int) -> None:
    answered = 0
    stop = asyncio.Event()
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=url, timeout=60.0, limits=limits) as client:

        async def one_worker() -> None:
            nonlocal answered
            while not stop.is_set():
                method, path, headers, body = _request(mode)
                try:
                    await client.request(method, path, headers=headers, json=body)
                except httpx2.HTTPError:
                    await asyncio.sleep(0.01)
                    continue
                answered += 1
                if answered % 50 == 0:
                    print(f"answered {answered}", flush=True)

        async def until_stdin_closes() -> None:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            stop.set()

        workers = [asyncio.create_task(one_worker()) for _ in range(concurrency)]
        await until_stdin_closes()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(_attack(sys.argv[1], sys.argv[2], int(sys.argv[3])))
