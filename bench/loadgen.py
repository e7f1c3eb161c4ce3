"""Fallback load generator when wrk is missing: asyncio, raw sockets, keep-alive.

One process, N persistent HTTP/1.1 connections, each sending a GET and reading
the whole response before the next one (closed loop, like wrk). Prints one JSON
object: requests, duration_s, rps, p50_ms, p99_ms, errors, non_2xx.

Run with the generated project's python (uvloop) it kept up with one uvicorn
worker here (~36k req/s against bare Starlette, its own core fully busy); wrk
does the same with CPU to spare, so wrk stays the default.

    python loadgen.py --host 127.0.0.1 --port 8000 --path /health/live \
        --connections 32 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import time


async def _connection(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    latencies: list[float],
    counters: dict[str, int],
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        counters["errors"] += 1
        return
    clock = time.perf_counter
    try:
        while clock() < deadline:
            started = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                    break
            else:
                raise ValueError("response without Content-Length")
            if length:
                await reader.readexactly(length)
            latencies.append(clock() - started)
            status = int(head[9:12])
            if not 200 <= status < 400:
                counters["non_2xx"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        counters["errors"] += 1
    finally:
        writer.close()


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(
        len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1)
    )
    return sorted_values[index]


async def _main(args: argparse.Namespace) -> dict[str, float | int]:
    extra = "".join(f"{header}\r\n" for header in args.header)
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
        f"Accept: */*\r\n{extra}\r\n"
    ).encode()
    latencies: list[float] = []
    counters = {"errors": 0, "non_2xx": 0}
    started = time.perf_counter()
    deadline = started + args.duration
    await asyncio.gather(
        *(
            _connection(args.host, args.port, request, deadline, latencies, counters)
            for _ in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "duration_s": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 3),
        **counters,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--header", action="append", default=[], help="'Name: value', repeatable"
    )
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("loopback only")
    try:  # the generated project's venv has uvloop; a bare python3 may not
        runner = importlib.import_module("uvloop").run
    except ImportError:
        runner = asyncio.run
    print(json.dumps(runner(_main(args))))


if __name__ == "__main__":
    main()
