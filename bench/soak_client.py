"""The soak's load: mixed reads and writes by several principals, for a while.

Run by `soak.py` with the generated project's python (it has httpx). Prints one
JSON object: per-minute request counts and latencies, status counts, the creates
answered 201, and the first unexpected answers.

    python soak_client.py --url http://127.0.0.1:8000 --seconds 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

USERS = "/api/v1/users"
PASSWORD = "soak-password-0123456"
# 409: a version another request changed first; 429: the limiter said no.
EXPECTED = {200, 201, 409, 429}


@dataclass
class Principal:
    headers: dict[str, str]
    # id -> the version this principal last saw
    items: dict[str, int] = field(default_factory=dict)


@dataclass
class Tally:
    started: float
    latencies: dict[int, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    created: int = 0
    unexpected: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self, method: str, path: str, response: httpx.Response, ms: float
    ) -> None:
        minute = int((time.monotonic() - self.started) // 60)
        self.latencies.setdefault(minute, []).append(ms)
        self.statuses[response.status_code] += 1
        if method == "POST" and response.status_code == 201:
            self.created += 1
        if response.status_code not in EXPECTED:
            self.unexpected.append(
                {
                    "method": method,
                    "path": path,
                    "status": response.status_code,
                    "body": response.text[:300],
                }
            )


async def sign_up(client: httpx.AsyncClient, n: int) -> Principal:
    account = {
        "email": f"soak-{n}-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
    }
    registered = await client.post("/api/v1/auth/register", json=account)
    registered.raise_for_status()
    login = await client.post("/api/v1/auth/login", json=account)
    login.raise_for_status()
    token = login.json()["data"]["access_token"]
    return Principal({"Authorization": f"Bearer {token}"})


async def call(
    client: httpx.AsyncClient,
    tally: Tally,
    principal: Principal,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    started = time.perf_counter()
    response = await client.request(method, path, json=body, headers=principal.headers)
    tally.record(method, path, response, (time.perf_counter() - started) * 1000)
    return response


async def create(client: httpx.AsyncClient, tally: Tally, principal: Principal) -> None:
    response = await call(
        client, tally, principal, "POST", USERS, {"name": f"soak {uuid.uuid4().hex}"}
    )
    if response.status_code == 201:
        data = response.json()["data"]
        principal.items[data["id"]] = data["version"]


async def update(client: httpx.AsyncClient, tally: Tally, principal: Principal) -> None:
    if not principal.items:
        await create(client, tally, principal)
        return
    item_id = random.choice(list(principal.items))
    path = f"{USERS}/{item_id}"
    body = {"version": principal.items[item_id], "description": uuid.uuid4().hex}
    response = await call(client, tally, principal, "PATCH", path, body)
    if response.status_code == 200:
        principal.items[item_id] = response.json()["data"]["version"]
    elif response.status_code == 409:
        # Someone changed it first: read the current version, as a client would.
        current = await call(client, tally, principal, "GET", path)
        if current.status_code == 200:
            principal.items[item_id] = current.json()["data"]["version"]


async def read(client: httpx.AsyncClient, tally: Tally, principal: Principal) -> None:
    if principal.items and random.random() < 0.5:
        item_id = random.choice(list(principal.items))
        await call(client, tally, principal, "GET", f"{USERS}/{item_id}")
    else:
        page = random.randint(1, 3)
        await call(client, tally, principal, "GET", f"{USERS}?page={page}&limit=20")


async def worker(
    client: httpx.AsyncClient,
    tally: Tally,
    principals: list[Principal],
    deadline: float,
) -> None:
    while time.monotonic() < deadline:
        principal = random.choice(principals)
        dice = random.random()
        try:
            if dice < 0.7:
                await read(client, tally, principal)
            elif dice < 0.9:
                await create(client, tally, principal)
            else:
                await update(client, tally, principal)
        except httpx.HTTPError as exc:
            seconds = round(time.monotonic() - tally.started, 1)
            tally.unexpected.append({"error": repr(exc), "at_s": seconds})


def summary(tally: Tally) -> dict[str, Any]:
    minutes = []
    for minute, values in sorted(tally.latencies.items()):
        values.sort()
        minutes.append(
            {
                "minute": minute + 1,
                "requests": len(values),
                "p50_ms": round(statistics.median(values), 2),
                "p99_ms": round(
                    values[min(len(values) - 1, int(len(values) * 0.99))], 2
                ),
            }
        )
    return {
        "minutes": minutes,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "created": tally.created,
        "unexpected_count": len(tally.unexpected),
        "unexpected": tally.unexpected[:10],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--principals", type=int, default=8)
    args = parser.parse_args()
    # Idle connections are dropped before uvicorn's keep-alive timeout (5 s) ends
    # them: otherwise a request sent as the server closes the connection is lost.
    limits = httpx.Limits(max_connections=args.connections, keepalive_expiry=2)
    async with httpx.AsyncClient(
        base_url=args.url, limits=limits, timeout=30
    ) as client:
        principals = [await sign_up(client, n) for n in range(args.principals)]
        tally = Tally(started=time.monotonic())
        deadline = tally.started + args.seconds
        await asyncio.gather(
            *(
                worker(client, tally, principals, deadline)
                for _ in range(args.connections)
            )
        )
    print(json.dumps(summary(tally)))


if __name__ == "__main__":
    asyncio.run(main())
