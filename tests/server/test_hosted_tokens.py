"""Installation tokens shared by the workers through Redis (bot/hosted/tokens.py), on a real
redis-server and the GitHub double: worker processes and tasks asking at once mint one token
between them; Redis holds it encrypted, for its installation only; a lock written by someone
else delays a refresh by the lock's time only; a Redis that is down leaves each process
minting its own.

Run as a program (`python tests/server/test_hosted_tokens.py REDIS_URL API_URL APP_ID
INSTALLATION CLIENTS`, the App's private key in `TEST_PRIVATE_KEY`), this module is one worker
process of such a fleet: it builds CLIENTS credentials sharing tokens through Redis, says it
is ready, waits for the test's go, asks each for the installation's token at once, and prints
the tokens it got as a JSON list.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from redis.asyncio import Redis

from bot.github.auth import AppAuth
from bot.github.client import GitHubClient
from bot.hosted.tokens import RedisTokenShare, encryption_key, lock_key, token_key
from bot.sandbox.testing import new_double

if TYPE_CHECKING:
    from redis_process import RedisServer

    from bot.sandbox import GitHubDouble
    from bot.sandbox.testing import AppCredentials, Sandbox

ROOT = Path(__file__).resolve().parents[2]
READY = "test:tokens:ready"
GO = "test:tokens:go"
TIMEOUT = 60  # seconds any step of a test may take before it fails
PROCESSES = 3
CLIENTS = 8  # credentials per process, each asking at once


def fleet_client(
    session: aiohttp.ClientSession, api_url: str, redis: Redis, app_id: int | str, private_key: str
) -> GitHubClient:
    """One worker's client, sharing installation tokens through `redis`."""
    share = RedisTokenShare(redis, encryption_key(private_key))
    auth = AppAuth(app_id, private_key, shared=share)
    return GitHubClient(session, auth, api_url=api_url)


async def token(client: GitHubClient, installation: int) -> str:
    return await client.credentials.token_for(client.app_api, installation)


async def run_worker(
    redis_url: str, api_url: str, app_id: str, installation: int, clients: int
) -> list[str]:
    """The program: one worker process of the fleet (see the module's docstring)."""
    private_key = os.environ["TEST_PRIVATE_KEY"]
    async with Redis.from_url(redis_url) as redis, aiohttp.ClientSession() as session:
        fleet = [fleet_client(session, api_url, redis, app_id, private_key) for _ in range(clients)]
        await redis.rpush(READY, os.getpid())
        if await redis.blpop([GO], timeout=TIMEOUT) is None:
            raise SystemExit("no go from the test")
        return list(await asyncio.gather(*(token(client, installation) for client in fleet)))


@pytest.fixture
def double(credentials: AppCredentials) -> GitHubDouble:
    return new_double(credentials)


def client_of(sandbox: Sandbox, redis: Redis) -> GitHubClient:
    """A worker's client in the test's own process."""
    creds = sandbox.credentials
    return fleet_client(sandbox.session, sandbox.base_url, redis, creds.app_id, creds.private_key)


def mints(double: GitHubDouble) -> int:
    return sum(1 for r in double.requests if r.method == "POST" and "/access_tokens" in r.path)


async def start_worker(
    redis_server: RedisServer, sandbox: Sandbox, installation: int
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "TEST_PRIVATE_KEY": sandbox.credentials.private_key,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        redis_server.url,
        sandbox.base_url,
        str(sandbox.credentials.app_id),
        str(installation),
        str(CLIENTS),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def tokens_printed(process: asyncio.subprocess.Process) -> list[str]:
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode == 0, err.decode(errors="replace")
    printed: list[str] = json.loads(out)
    return printed


async def test_worker_processes_and_tasks_asking_at_once_mint_one_token(
    redis_server: RedisServer, sandbox: Sandbox, double: GitHubDouble, installation: int
) -> None:
    async with Redis.from_url(redis_server.url) as redis:
        workers = [
            await start_worker(redis_server, sandbox, installation) for _ in range(PROCESSES)
        ]
        for _ in workers:  # every process built its credentials and waits for the go
            assert await redis.blpop([READY], timeout=TIMEOUT) is not None
        here = [client_of(sandbox, redis) for _ in range(CLIENTS)]
        await redis.rpush(GO, *["go"] * PROCESSES)
        asked_here = asyncio.gather(*(token(client, installation) for client in here))
        got_there = await asyncio.gather(*(tokens_printed(worker) for worker in workers))
        got = [*await asked_here, *(t for tokens in got_there for t in tokens)]
    assert len(got) == (PROCESSES + 1) * CLIENTS
    assert len(set(got)) == 1
    assert mints(double) == 1


async def test_redis_holds_the_token_encrypted_and_for_its_installation_only(
    redis_server: RedisServer,
    sandbox: Sandbox,
    double: GitHubDouble,
    installation: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = double.add_installation("acme")
    async with Redis.from_url(redis_server.url) as redis:
        minted = await token(client_of(sandbox, redis), installation)
        held = await redis.get(token_key(installation))
        assert held is not None and minted.encode() not in held and b"ghs_" not in held
        assert 3_500_000 < await redis.pttl(token_key(installation)) <= 3_600_000
        share = RedisTokenShare(redis, encryption_key(sandbox.credentials.private_key))
        shared = await share.read(installation)
        assert shared is not None and shared.value == minted
        assert shared.expires_at == pytest.approx(double.state.tokens[minted].expires_at, abs=1)
        assert shared.refresh_at == shared.expires_at - 300
        await redis.set(token_key(other), held)  # moved under another installation's key
        assert await share.read(other) is None
        assert await RedisTokenShare(redis, os.urandom(32)).read(installation) is None
        assert await token(client_of(sandbox, redis), other) != minted  # one of its own
        assert mints(double) == 2
    refused = {r.args for r in caplog.records if "does not decrypt" in r.getMessage()}
    assert refused == {(other,), (installation,)}


async def test_a_refresh_lock_written_into_redis_delays_a_token_by_the_locks_time_only(
    redis_server: RedisServer, sandbox: Sandbox, double: GitHubDouble, installation: int
) -> None:
    creds = sandbox.credentials
    async with Redis.from_url(redis_server.url) as redis:
        await redis.set(lock_key(installation), "someone else's, with no expiry")
        share = RedisTokenShare(redis, encryption_key(creds.private_key))
        auth = AppAuth(creds.app_id, creds.private_key, shared=share, shared_lock_seconds=0.3)
        client = GitHubClient(sandbox.session, auth, api_url=sandbox.base_url)
        loop = asyncio.get_running_loop()
        started = loop.time()
        minted = await token(client, installation)
        assert 0.3 <= loop.time() - started < TIMEOUT
        assert await redis.get(lock_key(installation)) == b"someone else's, with no expiry"
        shared = await share.read(installation)
        assert shared is not None and shared.value == minted
    assert mints(double) == 1


async def test_with_redis_down_each_process_still_gets_a_token(
    redis_server: RedisServer,
    sandbox: Sandbox,
    double: GitHubDouble,
    installation: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Redis.from_url(redis_server.url) as redis:
        await redis.ping()
        await redis_server.kill()
        fleet = [client_of(sandbox, redis) for _ in range(3)]
        got = await asyncio.gather(*(token(client, installation) for client in fleet))
        again = await asyncio.gather(*(token(client, installation) for client in fleet))
    assert len(set(got)) == 3 and again == got  # each its own, cached
    assert mints(double) == 3
    warned = [r for r in caplog.records if r.name == "bot.hosted.tokens"]
    assert [r.levelno for r in warned] == [logging.WARNING] * 3  # once per process


def test_the_encryption_key_is_the_same_however_the_private_key_is_written(
    credentials: AppCredentials,
) -> None:
    private_key = serialization.load_pem_private_key(credentials.private_key.encode(), None)
    traditional = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert encryption_key(traditional) == encryption_key(credentials.private_key)
    assert len(encryption_key(traditional)) == 32


if __name__ == "__main__":
    redis_url, api_url, app_id, installation, clients = sys.argv[1:]
    tokens = asyncio.run(run_worker(redis_url, api_url, app_id, int(installation), int(clients)))
    print(json.dumps(tokens))
