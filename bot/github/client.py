"""The GitHub client: per-installation gidgethub objects with kepbot's transport rules.

Owns every HTTP exchange with GitHub: the base URL (github.com or GitHub Enterprise Server's
`https://HOST/api/v3`), the pinned `X-GitHub-Api-Version`, the credential on each request
(a 401 invalidates the installation token and retries once with a new one), retries with
back-off and rate-limit waits (see `bot.github.retry`), a per-installation ETag cache so
repeated GETs are conditional, request metrics, and the bot's own login.

Caches can be shared between processes (hosted mode): with a `SharedCache`
(`bot.github.caches`), a conditional GET first takes the newest ETag any process was
answered for its URL, and an answer GitHub sends is kept for every process, so a fleet
spends the requests of one process.

A rate-limit wait can be shared between processes (hosted mode): with a `SharedWait`, a
client that GitHub tells to wait records until when, and every client reads that time
before each request to GitHub and waits until then. Without one (one process), each
client waits only on the answers it gets itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import IO, Any, Protocol

import aiohttp
import gidgethub.aiohttp
import orjson
from gidgethub import sansio
from gidgethub.abc import CACHE_TYPE

from bot import metrics
from bot.github import caches
from bot.github.auth import AppAuth, Credentials, TokenAuth, TokenShare
from bot.github.retry import RetryPolicy, is_retry_safe, rate_limit_delay, retry_delay
from bot.settings import Settings

__all__ = ["API_VERSION", "USER_AGENT", "GitHubClient", "KepbotAPI", "SharedWait", "Sleep"]

API_VERSION = "2022-11-28"
USER_AGENT = "kepbot"
DEFAULT_API_URL = "https://api.github.com"
Sleep = Callable[[float], Awaitable[None]]

log = logging.getLogger(__name__)


class SharedWait(Protocol):
    """The rate-limit wait of every process of an installation (hosted mode: in Redis).

    `key` is the client's rate-limit label: the installation id, `token` or `app`. Times
    are on the client's clock, in seconds since the epoch. Neither method raises: a store
    that cannot be read means no shared wait (the client still waits on its own answers).
    """

    async def resume_at(self, key: str) -> float | None:
        """Until when requests under `key` wait; ``None`` when none does."""
        ...

    async def hold_until(self, key: str, until: float) -> None:
        """Requests under `key` wait until `until`, or later if a later time is held."""
        ...


class _InstallationAuth:
    """The `Authorization` header of one installation, renewed through the credentials."""

    def __init__(self, client: GitHubClient, installation_id: int) -> None:
        self._client, self._installation_id = client, installation_id

    async def header(self) -> str:
        creds = self._client.credentials
        return f"token {await creds.token_for(self._client.app_api, self._installation_id)}"

    def refused(self, header: str) -> None:
        token = header.removeprefix("token ")
        self._client.credentials.invalidate(self._installation_id, token)


class KepbotAPI(gidgethub.aiohttp.GitHubAPI):
    """gidgethub's aiohttp client with the pinned API version, retries, and metrics.

    With an installation (`auth`), every request carries that installation's current token
    unless the caller passed its own credentials (`jwt=` / `oauth_token=`).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        requester: str,
        base_url: str,
        label: str,
        policy: RetryPolicy,
        sleep: Sleep,
        clock: Callable[[], float],
        auth: _InstallationAuth | None = None,
        installation_id: int | None = None,
        cache: CACHE_TYPE | None = None,
        api_version: str = API_VERSION,
        shared_wait: SharedWait | None = None,
        shared_cache: caches.SharedCache | None = None,
    ) -> None:
        super().__init__(session, requester, cache=cache, base_url=base_url)
        self.label = label  # the rate-limit metric's installation label (and shared wait key)
        self.installation_id = installation_id
        self.policy = policy
        self._sleep, self._clock, self._auth = sleep, clock, auth
        self._api_version = api_version
        self._shared_wait = shared_wait
        self.shared_cache = shared_cache

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def _wait_as_shared(self) -> None:
        """Wait out a rate limit another process (or client) was told of, if any."""
        if self._shared_wait is None:
            return
        until = await self._shared_wait.resume_at(self.label)
        if until is None:
            return
        wait = min(until - self._clock(), self.policy.max_rate_limit_wait)
        if wait > 0:
            log.info(
                "GitHub rate limit (%s): waiting %.1fs, the wait shared by every worker",
                self.label,
                wait,
            )
            await self.sleep(wait)

    async def _share(
        self, status: int, headers: Mapping[str, str], body: bytes, attempt: int
    ) -> None:
        """A rate-limit answer: every process of the installation waits as long."""
        if self._shared_wait is None or status not in (403, 429):
            return
        now = self._clock()
        wait = rate_limit_delay(headers, body, attempt=attempt, policy=self.policy, now=now)
        if wait is not None:
            await self._shared_wait.hold_until(self.label, now + wait)

    async def _make_request(  # type: ignore[override]
        self, method: str, url: str, url_vars: Any, data: Any, accept: str, **options: Any
    ) -> tuple[Any, str | None, int]:
        """gidgethub's request, its ETag cache entry shared with every process (if any)."""
        shared = self.shared_cache
        if shared is None or self._cache is None or method != "GET" or data != b"":
            return await super()._make_request(method, url, url_vars, data, accept, **options)
        full = sansio.format_url(url, url_vars, base_url=self.base_url)
        key = f"{self.label}:{accept}:{full}"
        held = await self._take_shared_etag(shared, key, full)
        reply = await super()._make_request(method, url, url_vars, data, accept, **options)
        kept = self._cache.get(full)
        if kept is not None and _etag_tag(kept) != held:
            await shared.put("etag", key, _etag_tag(kept), orjson.dumps(kept))
        return reply

    async def _take_shared_etag(self, shared: caches.SharedCache, key: str, url: str) -> str:
        """Put the shared ETag entry of `url` in this client's cache when it is newer than
        the one there; the tag this client then holds ("" for none)."""
        assert self._cache is not None
        local = self._cache.get(url)
        held = _etag_tag(local) if local is not None else ""
        entry = await shared.get("etag", key, known_tag=held)
        if entry is None or entry.value is None:
            return held
        try:
            etag, modified, data, more = orjson.loads(entry.value)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return held
        self._cache[url] = (etag, modified, data, more)
        return entry.tag

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        retry_safe = is_retry_safe(method)
        sent = dict(headers)
        sent["x-github-api-version"] = self._api_version
        auth = self._auth if "authorization" not in sent else None
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            await self._wait_as_shared()
            if auth is not None:
                sent["authorization"] = await auth.header()
            try:
                async with asyncio.timeout(self.policy.timeout):
                    status, reply_headers, data = await super()._request(method, url, sent, body)
            except (aiohttp.ClientError, TimeoutError) as error:
                metrics.github_request("error")
                if not retry_safe or attempt >= self.policy.attempts:
                    raise
                backoff = self.policy.backoff(attempt)
                log.warning("GitHub %s %s: %r; retrying in %.1fs", method, url, error, backoff)
                await self.sleep(backoff)
                continue
            self._record(status, reply_headers)
            if status == 401 and auth is not None and not renewed:
                renewed = True
                refused = sent["authorization"]
                auth.refused(refused)
                if await auth.header() != refused:
                    log.info("GitHub refused the installation token; retrying with a new one")
                    continue
            await self._share(status, reply_headers, data, attempt)
            delay = retry_delay(
                status,
                reply_headers,
                data,
                retry_safe=retry_safe,
                attempt=attempt,
                policy=self.policy,
                now=self._clock(),
            )
            if delay is None:
                return status, reply_headers, data
            log.warning("GitHub %s %s answered %s; retrying in %.1fs", method, url, status, delay)
            await self.sleep(delay)

    def _record(self, status: int, headers: Mapping[str, str]) -> None:
        metrics.github_request(status)
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            metrics.rate_limit(self.label, int(remaining))

    async def get_uncached(self, url: str) -> Any:
        """GET `url` outside the ETag cache (retries and errors as `getitem`), for what is
        addressed by its content (a tree or a blob by sha never changes: a conditional
        request would save nothing, and the cache would only keep its body)."""
        headers = sansio.create_headers(self.requester, accept=sansio.accept_format())
        full = sansio.format_url(url, {}, base_url=self.base_url)
        status, reply_headers, body = await self._request("GET", full, headers)
        data, self.rate_limit, _ = sansio.decipher_response(status, reply_headers, body)
        return data

    async def download(
        self, url: str, sink: IO[bytes], *, limit: int, timeout: float = 120.0
    ) -> int:
        """Write the body of a GET of `url`, once redirects are followed (a repository
        archive, from its download host), to `sink` as it arrives; at most `limit` bytes
        (`ValueError` past that); the bytes written. Outside the ETag cache, one attempt;
        errors raise as `getitem`'s."""
        headers = sansio.create_headers(self.requester, accept=sansio.accept_format())
        headers["x-github-api-version"] = self._api_version
        if self._auth is not None:
            headers["authorization"] = await self._auth.header()
        full = sansio.format_url(url, {}, base_url=self.base_url)
        size = 0
        async with asyncio.timeout(timeout), self._session.get(full, headers=headers) as reply:
            self._record(reply.status, reply.headers)
            if reply.status >= 300:
                sansio.decipher_response(reply.status, reply.headers, await reply.read())
            async for chunk in reply.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise ValueError(f"{url}: more than {limit} bytes")
                sink.write(chunk)
        return size


def _etag_tag(entry: Any) -> str:
    """What tells one ETag cache entry from another: its ETag, else its Last-Modified."""
    etag, modified = entry[0], entry[1]
    return str(etag or modified or "")


class GitHubClient:
    """Builds per-installation `KepbotAPI` objects sharing one aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        api_url: str = DEFAULT_API_URL,
        requester: str = USER_AGENT,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        api_version: str = API_VERSION,
        shared_wait: SharedWait | None = None,
        shared_cache: caches.SharedCache | None = None,
    ) -> None:
        self.credentials = credentials
        self._shared_wait = shared_wait
        self._shared_cache = shared_cache
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._requester = requester
        self._policy = policy or RetryPolicy()
        self._sleep, self._clock = sleep, clock
        self._api_version = api_version
        self._installations: dict[int, KepbotAPI] = {}
        self._login: str | None = None
        self._login_lock = asyncio.Lock()
        self.app_api = self._api("app" if isinstance(credentials, AppAuth) else "token")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], float] = time.time,
        token_share: TokenShare | None = None,
        **options: Any,
    ) -> GitHubClient:
        """The client the server runs with: App or token mode as the settings say; in App
        mode, installation tokens are shared through `token_share` when one is given."""
        credentials: Credentials
        if settings.github_token is not None:
            credentials = TokenAuth(settings.github_token.get_secret_value())
        else:
            assert settings.github_app_id is not None  # Settings validates App mode
            credentials = AppAuth(
                settings.github_app_id, settings.private_key(), clock=clock, shared=token_share
            )
        return cls(session, credentials, api_url=settings.github_api_url, clock=clock, **options)

    def _api(
        self, label: str, installation_id: int | None = None, cache: CACHE_TYPE | None = None
    ) -> KepbotAPI:
        auth = _InstallationAuth(self, installation_id) if installation_id is not None else None
        return KepbotAPI(
            self._session,
            requester=self._requester,
            base_url=self._api_url,
            label=label,
            policy=self._policy,
            sleep=self._sleep,
            clock=self._clock,
            auth=auth,
            installation_id=installation_id,
            cache=cache,
            api_version=self._api_version,
            shared_wait=self._shared_wait,
            shared_cache=self._shared_cache if installation_id is not None else None,
        )

    async def for_installation(self, installation_id: int) -> KepbotAPI:
        """The installation's client, its token ready (fetched once however many callers)."""
        await self.credentials.token_for(self.app_api, installation_id)
        api = self._installations.get(installation_id)
        if api is None:
            token_mode = isinstance(self.credentials, TokenAuth)
            label = "token" if token_mode else str(installation_id)
            cache = caches.etags()
            api = self._api(label, installation_id, cache)
            self._installations[installation_id] = api
        return api

    async def bot_login(self) -> str:
        """The bot's own login: `<slug>[bot]` for an App, the token's user otherwise."""
        async with self._login_lock:
            if self._login is None:
                creds = self.credentials
                if isinstance(creds, AppAuth):
                    app = await self.app_api.getitem("/app", jwt=creds.jwt())
                    self._login = f"{app['slug']}[bot]"
                else:
                    token = await creds.token_for(self.app_api, 0)
                    user = await self.app_api.getitem("/user", oauth_token=token)
                    self._login = str(user["login"])
            return self._login
