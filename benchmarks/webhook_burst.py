"""Webhook acknowledgement under a burst: the real server against a bare aiohttp handler.

Usage: python benchmarks/webhook_burst.py [--deliveries 1000] [--senders 50] [--rounds 5]

Each round starts two servers in turn, each in its own process on loopback: the real one
(`python -m bot`'s `main()`: settings, JSON logging, signature check, parsing, de-duplication,
the worker pool) with a dispatch that only counts, and a bare aiohttp app whose handler reads
the body and answers 202. Both get the same burst of signed `issue_comment` deliveries (a
real payload built by the GitHub double) from 50 concurrent senders in this process. Prints
the acknowledgement latency p50/p99 of each and their ratio, the CPU time each server spent
per delivery of the measured burst (read from /proc on Linux), and checks the target
(docs/design.md C2): real p99 within 1.5x of bare, and every delivery received by the dispatch.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid

import aiohttp

SECRET = "benchmark-secret"
TARGET_RATIO = 1.5


# -- the two servers (run in a child process) -------------------------------------------


def serve(kind: str) -> int:
    received = 0

    async def record(event: object) -> None:
        nonlocal received
        received += 1

    if kind == "real":
        from bot.__main__ import main

        status = main(dispatch=record)
    else:
        from aiohttp import web

        async def bare(request: web.Request) -> web.Response:
            nonlocal received
            await request.read()
            received += 1
            return web.Response(status=202)

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok", "queue_depth": 0, "in_flight": 0})

        app = web.Application()
        app.router.add_post("/webhook", bare)
        app.router.add_get("/healthz", health)
        web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), print=None)
        status = 0
    print(f"received {received}", flush=True)
    return status


# -- the load (this process) --------------------------------------------------------------


def sample_delivery() -> bytes:
    """A real `issue_comment` payload, as the double builds it for a KEP pull request."""
    from bot import demo
    from bot.sandbox.payloads import encode, issue_comment_event
    from bot.sandbox.testing import app_credentials

    double = demo.seed(app_credentials())
    files: dict[str, str | None] = {f"{demo.KEP_DIR}/kep.yaml": demo.NEW_KEP}
    number = double.open_pull_request(demo.REPO, "kep", files, "KEP", author="alice")
    made = double.add_comment(demo.REPO, number, "Looks good to me.\n\n/kep approve", "carol")
    return encode(issue_comment_event(double, demo.REPO, made.id, "created")[1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(kind: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_TOKEN": "ghp_benchmark",
    }
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return child, f"http://127.0.0.1:{port}"


async def wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(300):
        try:
            async with session.get(f"{url}/healthz") as reply:
                if reply.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit(f"the server at {url} did not start")


async def burst(
    session: aiohttp.ClientSession, url: str, body: bytes, count: int, senders: int
) -> tuple[list[float], list[int]]:
    from bot.webhook import signature_for

    signature = signature_for(SECRET.encode(), body)
    pending = iter(range(count))
    latencies: list[float] = []
    statuses: list[int] = []

    async def sender() -> None:
        for _ in pending:
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "issue_comment",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-GitHub-Hook-ID": "1",
                "X-Hub-Signature-256": signature,
            }
            started = time.perf_counter()
            async with session.post(f"{url}/webhook", data=body, headers=headers) as reply:
                await reply.read()
            latencies.append(time.perf_counter() - started)
            statuses.append(reply.status)

    await asyncio.gather(*(sender() for _ in range(senders)))
    return latencies, statuses


async def drained(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(600):
        async with session.get(f"{url}/healthz") as reply:
            health = await reply.json()
        if health["queue_depth"] == 0 and health["in_flight"] == 0:
            return
        await asyncio.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(kind: str, body: bytes, count: int, senders: int) -> dict[str, float]:
    child, url = start(kind)
    try:
        connector = aiohttp.TCPConnector(limit=senders)
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_ready(session, url)
            await burst(session, url, body, 200, senders)  # warm-up, not measured
            cpu_before = cpu_seconds(child.pid)
            latencies, statuses = await burst(session, url, body, count, senders)
            await drained(session, url)
            cpu = cpu_seconds(child.pid) - cpu_before
    finally:
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=60)
    received = int(out.split()[-1]) - 200
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "cpu_ms": cpu / count * 1000,
        "accepted": float(statuses.count(202)),
        "received": float(received),
    }


async def run(count: int, senders: int, rounds: int) -> bool:
    body = sample_delivery()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"burst: {count} deliveries of {len(body):,} bytes from {senders} senders, {rounds} rounds"
    )
    results: dict[str, list[dict[str, float]]] = {"bare": [], "real": []}
    for index in range(rounds):
        order = ("bare", "real") if index % 2 == 0 else ("real", "bare")
        for kind in order:
            results[kind].append(await measure(kind, body, count, senders))
    summary = {
        kind: {key: statistics.median(r[key] for r in runs) for key in ("p50", "p99", "cpu_ms")}
        for kind, runs in results.items()
    }
    lost = sum(int(r["accepted"] - r["received"]) for r in results["real"])
    refused = sum(count - int(r["accepted"]) for r in results["real"])
    for kind in ("bare", "real"):
        figures = summary[kind]
        print(
            f"{kind:5} p50 {figures['p50']:6.2f} ms   p99 {figures['p99']:6.2f} ms"
            f"   server CPU {figures['cpu_ms']:.3f} ms per delivery  (median of rounds)"
        )
    for kind in ("bare", "real"):
        rounds = ", ".join(f"{r['p99']:.1f}" for r in results[kind])
        print(f"{kind:5} p99 of each round: {rounds} ms")
    ratio50 = summary["real"]["p50"] / summary["bare"]["p50"]
    ratio99 = summary["real"]["p99"] / summary["bare"]["p99"]
    print(f"ratio real/bare: p50 {ratio50:.2f}x, p99 {ratio99:.2f}x")
    print(f"real server: {refused} deliveries not accepted, {lost} accepted but not dispatched")
    ok = ratio99 <= TARGET_RATIO and lost == 0 and refused == 0
    print(f"target: p99 within {TARGET_RATIO:g}x of bare, none lost: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", choices=("real", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    return 0 if asyncio.run(run(args.deliveries, args.senders, args.rounds)) else 1


if __name__ == "__main__":
    sys.exit(main())
