"""A fleet spends the requests of one process (docs/design.md, "Hosted mode"): a worker
that takes a pull request over from another reads through the caches the other filled, in
Redis (bot/hosted/shared_cache.py), with the token the other minted (bot/hosted/tokens.py)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis_process import RedisServer

from bot import demo
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import running

from .processes import Process
from .test_hosted import (
    app_env,
    app_fleet,
    deliver_event,
    get_json,
    until,
    web_process,
    worker,
)
from .test_sigkill import world


@dataclass(frozen=True)
class Takeover:
    """What the second worker asked GitHub for the second delivery of a pull request."""

    requests: list[RecordedRequest]

    def mints(self) -> int:
        return sum(r.path.endswith("/access_tokens") for r in self.requests)

    def answered(self, status: int) -> int:
        return sum(r.method == "GET" and r.status == status for r in self.requests)

    def config_reads(self) -> int:
        return sum(r.path.endswith("/kepbot.yml") for r in self.requests)

    def blobs(self) -> int:
        return sum("/git/blobs/" in r.path for r in self.requests)


async def queue_empty(web: Process) -> bool:
    return bool((await get_json(web, "/healthz"))["queue_depth"] == 0)


async def take_over(redis_server: RedisServer, processes: list[Process], shared: str) -> Takeover:
    """One worker handles a pull request's `opened` and stops; a second worker, started
    after, handles the same event delivered again (the same reads: the check runs again)."""
    credentials, double, number = world()
    async with Redis.from_url(redis_server.url) as client:
        await client.flushall()
    async with running(double) as api_url:
        app = app_env(credentials, api_url)
        processes.append(front := await web_process(redis_server, app))

        for _ in range(2):
            alone = await worker(
                redis_server, recording=False, credentials=app, KEPBOT_SHARED_CACHES=shared
            )
            processes.append(alone)
            since = len(double.requests)
            event = pull_request_event(double, demo.REPO, number, "opened")
            assert await deliver_event(front, double, event) == 202
            await until(lambda: queue_empty(front))
            assert await alone.stop() == 0
        await front.stop()
    return Takeover(double.requests[since:])


async def test_a_worker_taking_a_pull_request_over_reads_through_what_another_read(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    apart = await take_over(redis_server, processes, shared="false")
    together = await take_over(redis_server, processes, shared="true")
    assert (apart.mints(), together.mints()) == (0, 0)  # the fleet's token either way
    assert apart.blobs() == 2 and together.blobs() == 0  # each blob read once for the fleet
    assert apart.config_reads() == 1 and together.config_reads() == 0
    assert apart.answered(304) == 0  # its own ETags only: every GET answered in full
    # With the fleet's ETags, all the first worker read is asked for conditionally: 304
    # unless it changed (the check runs of the new head, the labels the first one set) or
    # is not conditional (the App's own endpoint).
    assert together.answered(200) + together.answered(304) == apart.answered(200) - 2
    assert together.answered(304) == 6
    full = {r.path.rsplit("/", 1)[-1] for r in together.requests if r.status == 200}
    assert full == {"app", "check-runs", "labels"}


async def test_the_web_process_page_reads_github_with_the_fleets_token_and_caches(
    redis_server: RedisServer, processes: list[Process]
) -> None:
    credentials, double, number = world()
    async with running(double) as api_url:
        front, _ = await app_fleet(redis_server, processes, app_env(credentials, api_url), 1)
        event = pull_request_event(double, demo.REPO, number, "opened")
        assert await deliver_event(front, double, event) == 202
        await until(lambda: queue_empty(front))
        assert Takeover(double.requests).mints() == 1  # the worker's
        since = len(double.requests)
        assert isinstance(await get_json(front, f"/pipeline/{demo.REPO}.json"), dict)
        shown = Takeover(double.requests[since:])
    assert shown.mints() == 0  # the page took the worker's token
    assert shown.config_reads() == 0  # and the configuration the worker read
