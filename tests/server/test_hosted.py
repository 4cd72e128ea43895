"""Hosted mode (docs/design.md, "Hosted mode"): real web and worker processes on a real
redis-server. Deliveries are answered 202 once they are in Redis; each pull request's
jobs run in arrival order across all workers, others in parallel; a worker killed mid-job
leaves the job to another; a delivery sent to two web processes runs once; a Redis killed
and started again keeps every delivery it took."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web as aiohttp_web
from pydantic import ValidationError
from redis.asyncio import Redis
from redis_process import RedisServer

from bot import demo
from bot.app import create_app
from bot.hosted.connect import QUEUE
from bot.hosted.lanes import Store
from bot.metrics import Metrics
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import AppCredentials, running
from bot.settings import Settings

from .helpers import SECRET, Recorder, delivery_headers, make_settings, pull_request_payload
from .processes import ROOT, START_TIMEOUT, Process, child_env, deliver_event, start_process
from .test_sigkill import bot_commits, world

RECORDING_WORKER = str(ROOT / "tests" / "server" / "recording_worker.py")
# A worker killed mid-job: another finishes the job within this (lease, sweep, poll).
TAKEOVER_SECONDS = 30.0
STARTED = "delivery started"  # a worker's debug line as it starts a job
WAIT_SHARED = "every worker waits"  # a worker's line as it shares a rate-limit wait
CLOCK_GRAIN = 0.01  # seconds: the double's clock and the workers' are the same one


async def web(redis: RedisServer, **env: str) -> Process:
    return await start_process(
        ["-m", "bot"], KEPBOT_REDIS_URL=redis.url, KEPBOT_RECONCILE_SECONDS="0", **env
    )


async def worker(
    redis: RedisServer,
    *,
    recording: bool = True,
    gated: bool = False,
    credentials: dict[str, str] | None = None,
    **env: str,
) -> Process:
    """A worker process: the recording one (tests/server/recording_worker.py) or the real
    `python -m bot worker` with the Bot's dispatch."""
    args = [RECORDING_WORKER] if recording else ["-m", "bot", "worker"]
    variables = {
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "KEPBOT_REDIS_URL": redis.url,
        "KEPBOT_RECONCILE_SECONDS": "0",
        "TEST_GATED": "1" if gated else "0",
        **(credentials or {"GITHUB_TOKEN": "t"}),
        **env,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=child_env(**variables),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    process = Process(proc, 0)
    await process.wait_for(lambda line: line.get("message") == "worker ready")
    return process


async def deliver(process: Process, payload: dict[str, Any], delivery: str) -> int:
    body = json.dumps(payload).encode()
    headers = delivery_headers(body, event="pull_request", delivery=delivery)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{process.url}/webhook", data=body, headers=headers) as response,
    ):
        return response.status


async def get_json(process: Process, path: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(process.url + path) as response:
        assert response.status == 200
        return await response.json()


async def record(redis: RedisServer) -> list[str]:
    async with Redis.from_url(redis.url) as client:
        return [entry.decode() for entry in await client.lrange("test:log", 0, -1)]


async def go(redis: RedisServer, delivery: str) -> None:
    async with Redis.from_url(redis.url) as client:
        await client.rpush(f"test:go:{delivery}", "go")


async def until(probe: Callable[[], Any], seconds: float = START_TIMEOUT) -> None:
    """Wait for an observable condition (an async or plain probe), checking every 50 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def logged(redis: RedisServer, *entries: str) -> bool:
    return set(entries) <= set(await record(redis))


async def test_one_pull_requests_jobs_run_in_arrival_order_across_workers_others_in_parallel(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    for _ in range(3):  # one lane at a time each: parallel work is on different workers
        processes.append(await worker(redis_server, gated=True, KEPBOT_WORKERS="1"))
    for delivery, number in (("a1", 1), ("a2", 1), ("a3", 1), ("b1", 2)):
        assert await deliver(front, pull_request_payload(number), delivery) == 202

    await until(lambda: logged(redis_server, "start a1", "start b1"))  # two PRs at once
    assert "start a2" not in await record(redis_server)  # a1 holds its pull request
    await go(redis_server, "a1")
    await until(lambda: logged(redis_server, "start a2"))
    await go(redis_server, "a2")
    await until(lambda: logged(redis_server, "start a3"))
    await go(redis_server, "a3")
    await go(redis_server, "b1")
    await until(lambda: logged(redis_server, "end a3", "end b1"))

    log = await record(redis_server)
    assert [entry for entry in log if entry.endswith(("a1", "a2", "a3"))] == [
        "start a1",
        "end a1",
        "start a2",
        "end a2",
        "start a3",
        "end a3",
    ]
    assert log.index("start b1") < log.index("end a1")
    assert len(log) == 8  # each job ran once
    ran_on = [p for p in processes[1:] if any(line.get("delivery") for line in p.lines)]
    assert len(ran_on) >= 2  # the two pull requests ran on different workers


async def test_a_delivery_sent_to_two_web_processes_runs_once(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    first, second = await web(redis_server), await web(redis_server)
    processes += [first, second]
    processes.append(await worker(redis_server))
    statuses = [
        await deliver(first, pull_request_payload(7), "same"),
        await deliver(second, pull_request_payload(7), "same"),
    ]
    assert statuses == [202, 200]  # the second web process knows it as a repeat
    # A later delivery of the same pull request runs after anything queued before it.
    assert await deliver(second, pull_request_payload(7), "later") == 202
    await until(lambda: logged(redis_server, "end later"))
    assert await record(redis_server) == ["start same", "end same", "start later", "end later"]


async def test_a_redis_killed_and_restarted_with_aof_keeps_every_acknowledged_delivery(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    before = [f"d{i}" for i in range(20)]
    for index, delivery in enumerate(before):  # no worker yet: all of them wait in Redis
        assert await deliver(front, pull_request_payload(index % 4), delivery) == 202
    await redis_server.kill()  # SIGKILL: what survives is what the append-only file holds
    await redis_server.start()
    # The web process reconnects: a delivery after the restart is taken too.
    assert await deliver(front, pull_request_payload(1), "after") == 202
    processes.append(await worker(redis_server))
    everything = [*before, "after"]
    await until(lambda: logged(redis_server, *(f"end {d}" for d in everything)))
    log = await record(redis_server)
    assert sorted(entry.split()[1] for entry in log if entry.startswith("end")) == sorted(
        everything
    )
    assert len(log) == 2 * len(everything)  # and none ran twice


async def test_healthz_and_metrics_show_queue_depth_oldest_job_age_and_workers(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    assert await deliver(front, pull_request_payload(1), "q1") == 202
    assert await deliver(front, pull_request_payload(2), "q2") == 202
    health = await get_json(front, "/healthz")
    assert health["mode"] == "hosted"
    assert (health["queue_depth"], health["workers"]) == (2, 0)
    assert 0 <= health["oldest_job_age_seconds"] < START_TIMEOUT
    sent = len(json.dumps(pull_request_payload(1))) + len(json.dumps(pull_request_payload(2)))
    assert health["queued_bytes"] == sent
    assert health["shared_cache_bytes"] == {"etag": 0, "blob": 0, "config": 0, "label": 0}
    assert "in_flight" not in health  # the work is the workers', not this process's

    processes.append(await worker(redis_server, gated=True))

    async def one_worker_two_running() -> bool:
        health = await get_json(front, "/healthz")
        return bool(health["workers"] == 1 and await logged(redis_server, "start q1", "start q2"))

    await until(one_worker_two_running)
    async with aiohttp.ClientSession() as session, session.get(front.url + "/metrics") as response:
        text = await response.text()
    assert "kepbot_queue_depth 2.0" in text  # running jobs are not finished: still counted
    assert "kepbot_workers 1.0" in text
    assert "kepbot_queue_oldest_age_seconds" in text
    assert f"kepbot_redis_queued_bytes {float(sent)}" in text
    assert 'kepbot_shared_cache_bytes{space="blob"} 0.0' in text

    await go(redis_server, "q1")
    await go(redis_server, "q2")

    async def empty() -> bool:
        health = await get_json(front, "/healthz")
        figures = (health["queue_depth"], health["oldest_job_age_seconds"], health["queued_bytes"])
        return figures == (0, 0, 0)

    await until(empty)


def app_env(credentials: AppCredentials, api_url: str) -> dict[str, str]:
    """The environment that makes a process the App against the double at `api_url`."""
    return {
        "GITHUB_API_URL": api_url,
        "GITHUB_APP_ID": str(credentials.app_id),
        "GITHUB_PRIVATE_KEY": credentials.private_key,
    }


async def web_process(redis_server: RedisServer, app: dict[str, str]) -> Process:
    """A hosted-mode web process (`python -m bot` with KEPBOT_REDIS_URL) as the App."""
    return await start_process(["-m", "bot"], credentials=app, KEPBOT_REDIS_URL=redis_server.url)


async def app_fleet(
    redis_server: RedisServer,
    processes: list[Process],
    app: dict[str, str],
    workers: int,
    **env: str,
) -> tuple[Process, list[Process]]:
    """A web process and `workers` real worker processes (with `env`) as the App, each
    stopped after the test."""
    front = await web_process(redis_server, app)
    processes.append(front)
    fleet = [
        await worker(redis_server, recording=False, credentials=app, **env) for _ in range(workers)
    ]
    processes.extend(fleet)
    return front, fleet


async def test_a_worker_killed_mid_job_leaves_it_to_another_that_does_it_once(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    credentials, double, number = world()
    async with running(double) as api_url:
        app = app_env(credentials, api_url)
        front, fleet = await app_fleet(redis_server, processes, app, 2, KEPBOT_LOG_LEVEL="DEBUG")
        slowed = double.inject("GET", rf"/pulls/{number}$", latency=10.0)  # past the kill
        made = double.add_comment(demo.REPO, number, "/kep approve", "carol")
        event = issue_comment_event(double, demo.REPO, made.id, "created")
        assert await deliver_event(front, double, event) == 202

        def started() -> list[Process]:
            return [p for p in fleet if any(x.get("message") == STARTED for x in p.lines)]

        await until(lambda: slowed.hits == 1 and started())  # a worker is mid-job
        [first] = started()
        [second] = [p for p in fleet if p is not first]
        first.proc.send_signal(signal.SIGKILL)
        await first.proc.wait()
        double.clear_faults()
        assert bot_commits(double) == 0

        def approved() -> bool:
            reactions = double.reactions(demo.REPO, comment_id=made.id)
            return bot_commits(double) == 1 and "+1" in {r.content for r in reactions}

        await until(approved, TAKEOVER_SECONDS)
        await until(lambda: any(line.get("message") == "delivery handled" for line in second.lines))
        handled = [line for line in second.lines if line.get("message") == "delivery handled"]
        assert [line["tries"] for line in handled] == [2]  # the second try, on the second worker
        assert bot_commits(double) == 1
        reactions = [r.content for r in double.reactions(demo.REPO, comment_id=made.id)]
        assert reactions.count("+1") == 1
        assert (await get_json(front, "/healthz"))["queue_depth"] == 0


async def test_without_a_redis_url_the_server_is_one_process_and_workers_refuse_to_start(
    processes: list[Process],
) -> None:
    alone = await start_process(["-m", "bot"])
    processes.append(alone)
    health = await get_json(alone, "/healthz")
    assert "mode" not in health and "in_flight" in health  # today's pool, in this process
    assert await deliver(alone, pull_request_payload(1), "one") == 202
    for args in (["-m", "bot", "worker"], ["-m", "bot.cli", "worker"]):
        refused = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            env=child_env(GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_TOKEN="t"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(refused.communicate(), START_TIMEOUT)
        assert refused.returncode == 2
        assert "KEPBOT_REDIS_URL is not set" in stderr.decode()


def test_a_redis_url_must_name_redis_and_its_password_stays_out_of_reprs() -> None:
    with pytest.raises(ValidationError, match=r"redis://"):
        Settings(github_webhook_secret=SECRET, github_token="t", kepbot_redis_url="http://c:6379")
    blank = Settings(github_webhook_secret=SECRET, github_token="t", kepbot_redis_url=" ")
    assert not blank.hosted
    hosted = Settings(
        github_webhook_secret=SECRET, github_token="t", kepbot_redis_url="redis://:pw@cache:6379"
    )
    assert hosted.hosted and hosted.redis_url() == "redis://:pw@cache:6379"
    assert "pw" not in repr(hosted)


async def test_a_job_written_into_redis_without_the_webhook_secret_is_not_run(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    runner = await worker(redis_server)
    processes.append(runner)
    async with Redis.from_url(redis_server.url) as client:
        forger = Store(client, secret=b"not the webhook secret")
        lane = await forger.accept(
            event="pull_request",
            delivery="forged",
            hook="30",
            payload=json.dumps(pull_request_payload(3)).encode(),
            ordering_key="octo-org/enhancements#3",
        )
    assert lane is not None  # in the lane of pull request 3, with its ticket
    assert await deliver(front, pull_request_payload(3), "genuine") == 202  # queued after it
    await until(lambda: logged(redis_server, "end genuine"))
    assert await record(redis_server) == ["start genuine", "end genuine"]
    dropped = [line for line in runner.lines if str(line.get("message")).startswith("job dropped")]
    assert [line["delivery"] for line in dropped] == ["forged"]


async def test_sigterm_lets_a_workers_running_job_finish_and_leaves_the_rest_queued(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    first = await worker(redis_server, gated=True)
    processes.append(first)
    assert await deliver(front, pull_request_payload(5), "s1") == 202
    assert await deliver(front, pull_request_payload(5), "s2") == 202
    await until(lambda: logged(redis_server, "start s1"))
    first.proc.send_signal(signal.SIGTERM)
    await first.wait_for(lambda line: str(line.get("message")).startswith("draining"))
    await go(redis_server, "s1")
    assert await asyncio.wait_for(first.proc.wait(), START_TIMEOUT) == 0
    assert await record(redis_server) == ["start s1", "end s1"]  # s2 was not started
    assert (await get_json(front, "/healthz"))["queue_depth"] == 1

    await go(redis_server, "s2")
    processes.append(await worker(redis_server, gated=True))
    await until(lambda: logged(redis_server, "end s2"))
    assert await record(redis_server) == ["start s1", "end s1", "start s2", "end s2"]


async def test_a_queued_delivery_whose_ticket_was_lost_is_found_by_the_sweep(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    async with Redis.from_url(redis_server.url) as client:
        lane = await Store(client, secret=SECRET.encode()).accept(
            event="pull_request",
            delivery="orphan",
            hook="30",
            payload=json.dumps(pull_request_payload(9)).encode(),
            ordering_key="octo-org/enhancements#9",
        )
        await client.delete(QUEUE)  # its ticket lost (given up by arq, or expired)
    assert lane is not None
    processes.append(await worker(redis_server))
    await until(lambda: logged(redis_server, "end orphan"))
    assert await record(redis_server) == ["start orphan", "end orphan"]


async def test_the_fleet_runs_one_reconcile_pass_per_interval(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    credentials, double, _ = world()
    async with running(double) as api_url:
        app = app_env(credentials, api_url)
        fleet = [
            await worker(
                redis_server,
                recording=False,
                credentials=app,
                KEPBOT_RECONCILE_SECONDS="3600",
                KEPBOT_LOG_LEVEL="DEBUG",
            )
            for _ in range(2)
        ]
        processes.extend(fleet)

        def said(message: str) -> Callable[[], int]:
            return lambda: sum(
                str(line.get("message")).startswith(message) for p in fleet for line in p.lines
            )

        passes, left = said("reconcile pass:"), said("reconcile: this interval's pass")
        await until(lambda: passes() == 1 and left() == 1)  # each worker has had its turn
        assert (passes(), left()) == (1, 1)


async def test_a_payload_with_a_lone_surrogate_is_queued_and_run_as_sent(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    processes.append(await worker(redis_server))
    payload = pull_request_payload(4)
    payload["pull_request"]["title"] = "KEP \ud800"  # JSON lets it through; UTF-8 does not
    assert await deliver(front, payload, "surrogate") == 202
    await until(lambda: logged(redis_server, "end surrogate"))


async def test_a_json_body_is_stored_as_sent_and_a_form_encoded_payload_as_its_json() -> None:
    handed: list[tuple[dict[str, Any], bytes]] = []

    async def accept(
        event: str, delivery: str, hook: str, data: dict[str, Any], payload: bytes
    ) -> aiohttp_web.Response:
        handed.append((data, payload))
        return aiohttp_web.Response(status=202)

    app = create_app(make_settings(), Recorder(), metrics=Metrics(), accept=accept)
    runner = aiohttp_web.AppRunner(app)
    await runner.setup()
    site = aiohttp_web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sent = pull_request_payload(1)
    sent["pull_request"]["title"] = "KEP é"
    as_json = json.dumps(sent, indent=1, ensure_ascii=False).encode()  # kept byte for byte
    as_form = urllib.parse.urlencode({"payload": json.dumps(sent)}).encode()
    try:
        async with aiohttp.ClientSession() as session:
            for body, content_type in (
                (as_json, "application/json"),
                (as_form, "application/x-www-form-urlencoded"),
            ):
                headers = {**delivery_headers(body), "Content-Type": content_type}
                url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
                async with session.post(url, data=body, headers=headers) as response:
                    assert response.status == 202
    finally:
        await runner.cleanup()
    (json_data, json_payload), (form_data, form_payload) = handed
    assert json_data == form_data == sent
    assert json_payload == as_json
    assert form_payload == json.dumps(sent, separators=(",", ":")).encode()


async def test_a_web_process_answers_503_while_redis_is_down_and_202_once_it_is_back(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    await redis_server.kill()
    body = json.dumps(pull_request_payload(1)).encode()
    headers = delivery_headers(body, event="pull_request", delivery="while-down")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{front.url}/webhook", data=body, headers=headers) as response,
    ):
        assert response.status == 503  # not 202: nothing was stored
        assert response.headers["Retry-After"] == "30"
    health = await get_json(front, "/healthz")
    assert (health["status"], health["redis"]) == ("ok", "unreachable")  # alive all the same
    await redis_server.start()
    assert await deliver(front, pull_request_payload(1), "while-down") == 202  # redelivered


async def test_a_job_whose_worker_died_three_times_is_given_up_and_its_lane_goes_on(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    front = await web(redis_server)
    processes.append(front)
    async with Redis.from_url(redis_server.url) as client:
        store = Store(client, secret=SECRET.encode())
        lane = await store.accept(
            event="pull_request",
            delivery="poison",
            hook="30",
            payload=json.dumps(pull_request_payload(6)).encode(),
            ordering_key="octo-org/enhancements#6",
        )
        assert lane is not None
        for tries in (1, 2, 3):  # three workers read it and died before finishing it
            assert await store.take(lane, f"dead-{tries}")
            job = await store.next_job(lane, f"dead-{tries}")
            assert job is not None and (job.delivery, job.tries) == ("poison", tries)
            await client.delete(f"kepbot:lease:{lane}")  # its lease ran out
    assert await deliver(front, pull_request_payload(6), "next") == 202
    runner = await worker(redis_server)
    processes.append(runner)
    await until(lambda: logged(redis_server, "end next"))
    assert await record(redis_server) == ["start next", "end next"]
    given_up = [line for line in runner.lines if "given up" in str(line.get("message"))]
    assert [line["delivery"] for line in given_up] == ["poison"]


async def test_a_rate_limit_answer_to_one_worker_holds_the_other_workers_requests_until_then(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    credentials, double, first_pull = world()
    files: dict[str, str | None] = {f"{demo.KEP_DIR}/README.md": demo.NEW_README}
    second_pull = double.open_pull_request(demo.REPO, "docs", files, "Docs", author="alice")
    async with running(double) as api_url, Redis.from_url(redis_server.url) as client:
        app = app_env(credentials, api_url)
        # One lane each: while the first worker waits, the other takes the next delivery.
        front, fleet = await app_fleet(redis_server, processes, app, 2, KEPBOT_WORKERS="1")

        async def post(number: int) -> None:
            event = pull_request_event(double, demo.REPO, number, "opened")
            assert await deliver_event(front, double, event) == 202

        told = double.inject("*", r"^/repos/", 403, headers={"retry-after": "4"})
        await post(first_pull)

        def holding() -> list[Process]:
            return [p for p in fleet if any(WAIT_SHARED in str(x.get("message")) for x in p.lines)]

        await until(lambda: told.hits == 1 and holding())
        [first] = holding()
        [second] = [p for p in fleet if p is not first]
        [key] = await client.keys("kepbot:ratelimit:*")
        resume = float(await client.get(key))
        [refused] = [i for i, r in enumerate(double.requests) if r.status == 403]
        identity = double.requests[refused].identity
        assert key.decode() == f"kepbot:ratelimit:{identity.removeprefix('installation:')}"
        sent = time.time()
        await post(second_pull)
        assert sent + 2 < resume  # without the shared wait, its requests would come now

        async def done() -> bool:
            return bool((await get_json(front, "/healthz"))["queue_depth"] == 0)

        await until(done)
        after = [r for r in double.requests[refused + 1 :] if r.identity == identity]
        assert any(f"/pulls/{second_pull}" in r.path for r in after)  # the second one's
        assert min(r.time for r in after) >= resume - CLOCK_GRAIN
        assert double.requests[refused].time + 4 <= resume
        for process in fleet:
            handled = [x for x in process.lines if x.get("message") == "delivery handled"]
            assert len(handled) == 1  # one delivery each
        assert any(
            str(x.get("message", "")).startswith("GitHub rate limit")
            and "the wait shared by every worker" in str(x.get("message"))
            for x in second.lines
        )


async def test_a_web_process_answers_503_once_the_bytes_queued_in_redis_reach_their_bound(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    size = len(json.dumps(pull_request_payload(1)).encode())
    front = await web(redis_server, KEPBOT_REDIS_QUEUE_BYTES=str(2 * size))
    processes.append(front)  # and no worker: nothing leaves the queue
    assert await deliver(front, pull_request_payload(1), "b1") == 202
    assert await deliver(front, pull_request_payload(1), "b2") == 202
    body = json.dumps(pull_request_payload(1)).encode()
    headers = delivery_headers(body, event="pull_request", delivery="b3")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{front.url}/webhook", data=body, headers=headers) as response,
    ):
        assert response.status == 503
        assert response.headers["Retry-After"] == "30"
        refusal = await response.json()
    assert refusal["error"] == "overloaded"
    assert refusal["message"].startswith(f"the queue in Redis is full: {2 * size} bytes queued")
    async with aiohttp.ClientSession() as session, session.get(front.url + "/metrics") as response:
        text = await response.text()
    assert 'kepbot_deliveries_rejected_total{reason="overloaded"} 1.0' in text
    assert (await get_json(front, "/healthz"))["queue_depth"] == 2
