"""Hosted mode against one process: throughput, acknowledgement, requests, takeover.

Usage: python benchmarks/hosted.py [--pulls 64] [--lanes 4] [--burst 500] [--rounds 3]
                                   [--kills 3] [--parts abcd] [--fsync always|everysec]
                                   [--rate 0]

Real processes on loopback: a redis-server started by this script in a temporary directory
(as the tests run it: `appendonly yes`, `appendfsync always`, or `everysec` with
`--fsync everysec` to see what the disk costs), a web process
(`python -m bot` with `KEPBOT_REDIS_URL`) and `python -m bot worker` processes, or one
`python -m bot` without Redis. The GitHub double is served from this process and answers
every request after 50 ms, so that GitHub's latency, not the bot's CPU, bounds a delivery.

(a) Deliveries handled per second with 1, 2 and 4 worker processes (each running
    `--lanes` pull requests at once), on a mix over `--pulls` pull requests: each PR's
    `opened` (a full check), a comment without a command and `/kep status`; timed from the
    first delivery sent to the queue empty. Beside it, the CPU every process used (the
    double's included), in cores: where that nears the machine's cores, CPU is the bound.
(b) Acknowledgement p50/p99 of a burst of `--burst` signed comment deliveries from 50
    keep-alive connections, each sending its next as soon as it has its answer (or, with
    `--rate N`, each delivery when it is due at N a second, whatever the answers, as GitHub
    sends): the hosted web process (two workers running) against one process, alternating.
    The requests are built and this process's heap frozen before the clock starts, so that
    the generator spends little CPU and no collection pause of its own; beside the figures,
    the share of the burst the web process spent waiting for a core (/proc/<pid>/schedstat).
(c) GitHub requests per 1,000 deliveries of (a)'s mix, per configuration, and 4 workers
    with every cache in its own process (`KEPBOT_SHARED_CACHES=false`) against 4 sharing
    their caches in Redis (the default).
(d) Seconds from the SIGKILL of the worker running a job (a `/kep approve` held mid-job by
    a slow answer) to that job done by another worker (`KEPBOT_LEASE_SECONDS` default, 10 s).

Targets: (a) 4 workers at least 3x one; (b) hosted p99 within 1.5x of one process. (c) and
(d) are reported. Prints the machine and the figures; exits 1 when a target is not met.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from bot_processes import (
    SECRET,
    BotProcess,
    cpu_seconds,
    health,
    open_pull,
    ready,
    start_bot,
    waited_for_cpu_ms,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import demo
from bot.sandbox.double import GitHubDouble
from bot.sandbox.payloads import (
    Event,
    delivery_headers,
    encode,
    issue_comment_event,
    pull_request_event,
)
from bot.sandbox.testing import AppCredentials, app_credentials, running
from tests.redis_process import INSTALL_HINT, RedisServer, find_redis_server

REPO = demo.REPO
BOT = "kepbot[bot]"
LATENCY = 0.05  # seconds per answer of the double
SPEEDUP_TARGET = 3.0
ACK_TARGET = 1.5
APART = "4 workers, caches per process"
MOST_WORKERS = 4
QUIET = {"KEPBOT_RECONCILE_SECONDS": "0", "KEPBOT_QUEUE_BYTES": str(256 * 1024 * 1024)}


def charged(double: GitHubDouble) -> int:
    """Requests counted against the rate limits so far (a 304 is not), every caller."""
    return sum(bucket.used for bucket in double.limiter.buckets.values())


def mix(double: GitHubDouble, count: int) -> list[Event]:
    """Per PR, in order: opened, a comment without a command, `/kep status`; PRs interleaved."""
    per_pull: list[list[Event]] = []
    for index in range(count):
        number = open_pull(double, index)
        events = [pull_request_event(double, REPO, number, "opened")]
        for text, user in (("Looks good to me.", "carol"), ("/kep status", "alice")):
            made = double.add_comment(REPO, number, text, user)
            events.append(issue_comment_event(double, REPO, made.id, "created"))
        per_pull.append(events)
    return [events[step] for step in range(3) for events in per_pull]


async def post(
    session: aiohttp.ClientSession, bot: BotProcess, double: GitHubDouble, event: Event
) -> tuple[int, float]:
    """POST `event` signed; (status, seconds to the answer). Retried on 503."""
    name, payload = event
    body = encode(payload)
    headers = delivery_headers(double, name, body, SECRET, delivery_id=str(uuid.uuid4()))
    while True:
        started = time.perf_counter()
        async with session.post(f"{bot.url}/webhook", data=body, headers=headers) as reply:
            await reply.read()
            if reply.status != 503:
                return reply.status, time.perf_counter() - started
        await asyncio.sleep(0.2)


async def drained(
    session: aiohttp.ClientSession, web: BotProcess, hosted: bool, timeout: float = 300
) -> None:
    """Until nothing is queued or running (hosted: Redis's depth; else the process's)."""
    quiet = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await health(session, web)
        busy = (
            state is None
            or bool(state.get("queue_depth"))
            or (not hosted and bool(state.get("in_flight")))
        )
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return
        await asyncio.sleep(0.02)
    raise SystemExit("the bot did not finish its queue")


@dataclass
class Fleet:
    """A web process and its workers (hosted), or one process (workers == 0)."""

    web: BotProcess
    workers: list[BotProcess] = field(default_factory=list)

    @property
    def processes(self) -> list[BotProcess]:
        return [self.web, *self.workers]

    def stop(self) -> None:
        for process in self.processes:
            if process.child.poll() is None:
                process.child.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.child.wait(timeout=60)


async def start_fleet(
    session: aiohttp.ClientSession,
    api_url: str,
    credentials: AppCredentials,
    redis: RedisServer | None,
    workers: int,
    lanes: int,
    **extra: str,
) -> Fleet:
    env = {**QUIET, "KEPBOT_WORKERS": str(lanes), **extra}
    if redis is None:
        fleet = Fleet(start_bot(api_url, credentials, **env))
        await ready(session, fleet.web)
        return fleet
    env["KEPBOT_REDIS_URL"] = redis.url
    fleet = Fleet(start_bot(api_url, credentials, **env))
    fleet.workers = [start_bot(api_url, credentials, "worker", **env) for _ in range(workers)]
    await ready(session, fleet.web)
    await until_workers(session, fleet, workers)
    return fleet


async def until_workers(session: aiohttp.ClientSession, fleet: Fleet, count: int) -> None:
    for _ in range(600):
        state = await health(session, fleet.web)
        if state is not None and state.get("workers") == count:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"{count} workers did not report")


async def flush(redis: RedisServer) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis.url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


# -- (a) and (c) ---------------------------------------------------------------------------


async def throughput(
    redis: RedisServer | None, workers: int, pulls: int, lanes: int, **extra: str
) -> dict[str, float]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    double.inject("*", r".", None, times=None, latency=LATENCY)
    events = mix(double, pulls)
    # One PR per lane of the largest fleet, opened before the clock starts, whatever the
    # configuration (so that (c) compares the same deliveries): every process reads the
    # repository's configuration and its first files here (those requests count in (c)).
    warm_up = [
        pull_request_event(double, REPO, open_pull(double, pulls + index), "opened")
        for index in range(lanes * MOST_WORKERS)
    ]
    if redis is not None:
        await flush(redis)
    async with running(double) as api_url, aiohttp.ClientSession() as session:
        fleet = await start_fleet(session, api_url, credentials, redis, workers, lanes, **extra)
        try:
            started, charged_before = len(double.requests), charged(double)
            await asyncio.gather(*(post(session, fleet.web, double, event) for event in warm_up))
            await drained(session, fleet.web, hosted=redis is not None)
            cpu_before = sum(cpu_seconds(p.pid) for p in fleet.processes)
            own_before = time.process_time()
            redis_before = cpu_seconds(redis.proc.pid) if redis and redis.proc else 0.0
            clock = time.perf_counter()
            gate = asyncio.Semaphore(20)

            async def send(event: Event) -> None:
                async with gate:
                    status, _ = await post(session, fleet.web, double, event)
                    assert status == 202, status

            await asyncio.gather(*(send(event) for event in events))
            await drained(session, fleet.web, hosted=redis is not None)
            seconds = time.perf_counter() - clock
            cpu = sum(cpu_seconds(p.pid) for p in fleet.processes) - cpu_before
            cpu += time.process_time() - own_before
            if redis is not None and redis.proc is not None:
                cpu += cpu_seconds(redis.proc.pid) - redis_before
            requests = len(double.requests) - started
            spent = charged(double) - charged_before
        finally:
            fleet.stop()
    numbers = {payload["number"] for name, payload in events[:pulls]}
    checked = sum(
        1
        for number in numbers
        if any(c.user == BOT and "kepbot:status" in c.body for c in double.comments(REPO, number))
    )
    return {
        "per_second": len(events) / seconds,
        "seconds": seconds,
        "cores": cpu / seconds,
        "per_1000": requests / (len(events) + len(warm_up)) * 1000,
        "charged_per_1000": spent / (len(events) + len(warm_up)) * 1000,
        "checked": float(checked),
    }


# -- (b) -----------------------------------------------------------------------------------


def prepared(url: str, double: GitHubDouble, event: Event) -> bytes:
    """`event` as one signed HTTP/1.1 request to `url`'s webhook, every byte ready."""
    name, payload = event
    body = encode(payload)
    headers = delivery_headers(double, name, body, SECRET, delivery_id=str(uuid.uuid4()))
    host = url.removeprefix("http://")
    head = ["POST /webhook HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{key}: {value}" for key, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Sender:
    """One keep-alive connection sending prepared requests: a load generator that spends
    little CPU of its own (the requests are built before the clock starts, the answers
    are read to their length and not parsed), so that on a machine of few cores the time
    measured is the bot's, not the generator's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Sender:
        host, _, port = url.removeprefix("http://").partition(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def send(self, request: bytes) -> tuple[int, float]:
        """(status, seconds from the first byte sent to the last byte of the answer)."""
        started = time.perf_counter()
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self._reader.readexactly(length)
        return int(head[9:12]), time.perf_counter() - started

    def close(self) -> None:
        self._writer.close()


async def burst(
    redis: RedisServer | None, count: int, senders: int, lanes: int, rate: float = 0
) -> dict[str, float]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    double.inject("*", r".", None, times=None, latency=LATENCY)
    numbers = [open_pull(double, index) for index in range(20)]
    events = []
    for index in range(count):
        made = double.add_comment(REPO, numbers[index % 20], "Looks good to me.", "carol")
        events.append(issue_comment_event(double, REPO, made.id, "created"))
    if redis is not None:
        await flush(redis)
    async with running(double) as api_url, aiohttp.ClientSession() as session:
        fleet = await start_fleet(session, api_url, credentials, redis, 2, lanes)
        try:
            # warm-up: the first deliveries open connections and read the configuration
            for event in events[:20]:
                await post(session, fleet.web, double, event)
            await drained(session, fleet.web, hosted=redis is not None)
            pending = iter([prepared(fleet.web.url, double, event) for event in events[20:]])
            connections = [await Sender.open(fleet.web.url) for _ in range(senders)]
            latencies: list[float] = []
            statuses: list[int] = []

            async def back_to_back(connection: Sender) -> None:
                for request in pending:
                    status, seconds = await connection.send(request)
                    latencies.append(seconds)
                    statuses.append(status)

            free: asyncio.Queue[Sender] = asyncio.Queue()
            for connection in connections:
                free.put_nowait(connection)

            async def send_at(request: bytes, due: float) -> None:
                connection = await free.get()
                status, _ = await connection.send(request)
                free.put_nowait(connection)
                latencies.append(time.perf_counter() - due)  # from when it was due
                statuses.append(status)

            async def at_rate() -> None:
                """Each delivery sent when it is due, whatever the answers (as GitHub
                sends), its time counted from then."""
                start = time.perf_counter()
                sent = []
                for index, request in enumerate(pending):
                    due = start + index / rate
                    if (ahead := due - time.perf_counter()) > 0:
                        await asyncio.sleep(ahead)
                    sent.append(asyncio.create_task(send_at(request, due)))
                await asyncio.gather(*sent)

            gc.collect()
            gc.freeze()  # this process's own full collections stay out of the burst
            cpu_before = cpu_seconds(fleet.web.pid)
            waited_before = waited_for_cpu_ms(fleet.web.pid)
            redis_before = cpu_seconds(redis.proc.pid) if redis and redis.proc else 0.0
            clock = time.perf_counter()
            if rate:
                await at_rate()
            else:
                await asyncio.gather(*(back_to_back(connection) for connection in connections))
            seconds = time.perf_counter() - clock
            web_cpu = cpu_seconds(fleet.web.pid) - cpu_before
            waited = waited_for_cpu_ms(fleet.web.pid) - waited_before
            redis_cpu = (
                cpu_seconds(redis.proc.pid) if redis and redis.proc else 0.0
            ) - redis_before
            gc.unfreeze()
            for connection in connections:
                connection.close()
            await drained(session, fleet.web, hosted=redis is not None)
        finally:
            fleet.stop()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "not_202": float(sum(1 for s in statuses if s != 202)),
        "web_cpu_ms": web_cpu / len(latencies) * 1000,
        "redis_cpu_ms": redis_cpu / len(latencies) * 1000,
        "waited_share": waited / (seconds * 1000),
    }


# -- (d) -----------------------------------------------------------------------------------


async def holder_pid(redis: RedisServer, number: int) -> int | None:
    """The pid of the worker holding the PR's lane: its lease token starts with
    `host:pid:`."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis.url)
    try:
        token = await client.get(f"kepbot:lease:pr:{REPO}#{number}")
    finally:
        await client.aclose()
    return int(token.decode().split(":")[1]) if token else None


async def takeovers(redis: RedisServer, kills: int) -> list[float]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    await flush(redis)
    figures: list[float] = []
    async with running(double) as api_url, aiohttp.ClientSession() as session:
        fleet = await start_fleet(session, api_url, credentials, redis, 2, 8)
        try:
            for index in range(kills):
                number = open_pull(double, 1000 + index)
                await post(
                    session, fleet.web, double, pull_request_event(double, REPO, number, "opened")
                )
                await drained(session, fleet.web, hosted=True)
                # the first matching fault answers: the slow one before the latency
                double.clear_faults()
                slowed = double.inject("GET", rf"/pulls/{number}$", latency=30.0)
                double.inject("*", r".", None, times=None, latency=LATENCY)
                made = double.add_comment(REPO, number, "/kep approve", "carol")
                event = issue_comment_event(double, REPO, made.id, "created")
                await post(session, fleet.web, double, event)
                pid = None
                for _ in range(1000):
                    if slowed.hits >= 1:
                        pid = await holder_pid(redis, number)
                        if pid is not None:
                            break
                    await asyncio.sleep(0.02)
                [victim] = [w for w in fleet.workers if w.pid == pid]
                victim.child.send_signal(signal.SIGKILL)
                victim.child.wait()
                killed = time.perf_counter()
                double.clear_faults()
                double.inject("*", r".", None, times=None, latency=LATENCY)
                await drained(session, fleet.web, hosted=True, timeout=120)
                figures.append(time.perf_counter() - killed)
                double.clear_faults()
                approved = sum(
                    1
                    for _, c in double.commits(REPO, f"kep-{1000 + index}")
                    if c.author.name == BOT and "→ implementable" in c.message
                )
                assert approved == 1, f"the command was applied {approved} times"
                fleet.workers.remove(victim)
                env = {**QUIET, "KEPBOT_REDIS_URL": redis.url}
                fleet.workers.append(start_bot(api_url, credentials, "worker", **env))
                await until_workers(session, fleet, 2)
        finally:
            fleet.stop()
    return figures


# -- all of it -----------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> bool:
    executable = find_redis_server()
    if executable is None:
        raise SystemExit(INSTALL_HINT)
    ok = True
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"the double answers every request after {LATENCY * 1000:.0f} ms")
    with tempfile.TemporaryDirectory(prefix="kepbot-bench-redis-") as directory:
        redis = RedisServer(executable, Path(directory))
        await redis.start()
        if args.fsync != "always":
            from redis.asyncio import Redis

            client = Redis.from_url(redis.url)
            await client.config_set("appendfsync", args.fsync)
            await client.aclose()
        print(f"redis-server: appendonly yes, appendfsync {args.fsync}")
        try:
            if "a" in args.parts or "c" in args.parts:
                print(
                    f"\n(a)/(c) {args.pulls * 3} deliveries over {args.pulls} PRs, "
                    f"{args.lanes} lanes per process, {args.rounds} rounds"
                )
                results: dict[str, list[dict[str, float]]] = {}
                names = {"one process": 0, "1 worker": 1, "2 workers": 2, "4 workers": 4}
                for _ in range(args.rounds):
                    for name, workers in names.items():
                        server = None if workers == 0 else redis
                        figures = await throughput(server, workers, args.pulls, args.lanes)
                        results.setdefault(name, []).append(figures)
                    if "c" in args.parts:
                        alone = await throughput(
                            redis, 4, args.pulls, args.lanes, KEPBOT_SHARED_CACHES="false"
                        )
                        results.setdefault(APART, []).append(alone)
                for name, runs in results.items():
                    each = ", ".join(f"{r['per_second']:.1f}" for r in runs)
                    print(
                        f"{name:12} {statistics.median(r['per_second'] for r in runs):6.1f} "
                        f"deliveries/s (each: {each}); CPU "
                        f"{statistics.median(r['cores'] for r in runs):.2f} cores; "
                        f"{statistics.median(r['per_1000'] for r in runs):6.0f} requests "
                        f"per 1,000 deliveries "
                        f"({statistics.median(r['charged_per_1000'] for r in runs):.0f} "
                        f"charged); PRs checked "
                        f"{min(int(r['checked']) for r in runs)}/{args.pulls}"
                    )
                one = statistics.median(r["per_second"] for r in results["1 worker"])
                four = statistics.median(r["per_second"] for r in results["4 workers"])
                speedup = four / one
                met = speedup >= SPEEDUP_TARGET
                ok = ok and met
                print(
                    f"(a) 4 workers / 1 worker: {speedup:.2f}x; target >= {SPEEDUP_TARGET:g}x: "
                    f"{'met' if met else 'NOT met'}"
                )
                base = statistics.median(r["per_1000"] for r in results["one process"])
                paid = statistics.median(r["charged_per_1000"] for r in results["one process"])
                for name in ("1 worker", "2 workers", "4 workers", APART):
                    if name in results:
                        mine = statistics.median(r["per_1000"] for r in results[name])
                        cost = statistics.median(r["charged_per_1000"] for r in results[name])
                        print(
                            f"(c) {name}: {mine / base:.2f}x the requests of one process, "
                            f"{cost / paid:.2f}x the charged ones"
                        )
            if "b" in args.parts:
                pace = (
                    f"each when due at {args.rate:g} a second"
                    if args.rate
                    else "each sent as the one before it on its connection is answered"
                )
                print(
                    f"\n(b) burst of {args.burst} deliveries on 50 connections, {pace}, "
                    f"{args.rounds} rounds"
                )
                acks: dict[str, list[dict[str, float]]] = {"one process": [], "hosted": []}
                for index in range(args.rounds):
                    order = (
                        ("one process", "hosted") if index % 2 == 0 else ("hosted", "one process")
                    )
                    for kind in order:
                        server = redis if kind == "hosted" else None
                        acks[kind].append(
                            await burst(server, args.burst, 50, args.lanes, args.rate)
                        )
                for kind, runs in acks.items():
                    print(
                        f"{kind:12} p50 {statistics.median(r['p50'] for r in runs):6.1f} ms, "
                        f"p99 {statistics.median(r['p99'] for r in runs):6.1f} ms (each: "
                        + ", ".join(f"{r['p99']:.1f}" for r in runs)
                        + f"); CPU per delivery during the burst: web "
                        f"{statistics.median(r['web_cpu_ms'] for r in runs):.2f} ms, Redis "
                        f"{statistics.median(r['redis_cpu_ms'] for r in runs):.2f} ms; the web "
                        f"process waited for a core "
                        f"{statistics.median(r['waited_share'] for r in runs):.0%} of the burst; "
                        f"not 202: {sum(int(r['not_202']) for r in runs)}"
                    )
                ratio = statistics.median(r["p99"] for r in acks["hosted"]) / statistics.median(
                    r["p99"] for r in acks["one process"]
                )
                met = ratio <= ACK_TARGET
                ok = ok and met
                print(
                    f"(b) hosted p99 / one process p99: {ratio:.2f}x; target <= {ACK_TARGET:g}x: "
                    f"{'met' if met else 'NOT met'}"
                )
            if "d" in args.parts:
                print(f"\n(d) SIGKILL of the worker running a job, {args.kills} times")
                waits = await takeovers(redis, args.kills)
                print(
                    f"(d) kill to job done by another worker: median "
                    f"{statistics.median(waits):.1f} s (each: "
                    + ", ".join(f"{f:.1f}" for f in waits)
                    + ")"
                )
        finally:
            await redis.kill()
    print(f"\ntargets: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=64)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--parts", default="abcd")
    parser.add_argument("--fsync", choices=("always", "everysec"), default="always")
    args = parser.parse_args()
    return 0 if asyncio.run(run(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
