"""Writing the bot's feedback to GitHub: check runs, one per head and name, updated in
place (docs/design.md B1), with annotations in batches of 50.

GitHub's list of a commit's check runs filtered by name says whether the run exists:
`publish_check` looks there and updates the run it finds (PATCH), creating one only when
there is none. The run's `external_id` holds digests of what the bot wrote into it, so a
result that has not changed makes no write (and brings no `check_run` event back), unless
a person asked for the check again. The look-up is skipped for a head this process has
just committed itself (`made_head`): nobody else can have a run on it yet, so a command
that commits costs no more than before (docs/design.md C1). One process never races
itself on a head and name (a lock per key); two instances that create the first run of
a head at the same moment can both succeed, since GitHub offers no create-if-absent, and
both then update the latest, which is the one GitHub shows.

GitHub appends the annotations of every update to those the run holds and cannot remove
one. A result with the same annotations, or more of them after the same first ones, stays
in the run; a result whose annotations differ from those of a run that holds some is
written as a new run, which GitHub shows in place of the old one (the latest of a name).

A bot running with a personal token cannot create check runs (GitHub reserves them for
Apps), so in token mode the result is a commit status with the same context name.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import weakref
from dataclasses import dataclass
from typing import Any

import aiohttp
import cachetools
from gidgethub import GitHubBroken
from gidgethub.abc import GitHubAPI

from bot.github import caches
from bot.github.check_run import ANNOTATIONS_PER_REQUEST, CHECK_NAME, CheckOutput
from bot.github.per_client import kept
from bot.github.retry import patch
from bot.github.urls import repo_url

__all__ = ["STATUS_STATE", "external_id", "made_head", "publish_check", "publish_status"]

CREATE_ATTEMPTS = 3  # a create that got no answer is looked for, then tried again
DIGEST = 16  # hex characters of each digest in a run's external_id
MARK = "kepbot:"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


STATUS_STATE = {"success": "success", "neutral": "success", "failure": "failure"}


async def publish_status(
    gh: GitHubAPI, repo: str, head_sha: str, output: CheckOutput, *, name: str = CHECK_NAME
) -> None:
    """The token-mode stand-in for a check run: a commit status (no annotations)."""
    state = STATUS_STATE.get(output.conclusion, "pending")
    description = f"{output.title} (run kepbot validate for details)"
    await gh.post(
        repo_url(repo, "statuses", head_sha),
        data={"state": state, "context": name, "description": description[:140]},
    )


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST]


def _digests(output: CheckOutput) -> tuple[str, str]:
    """Digests of the whole result and of its annotations (in the order they are sent)."""
    whole = [output.conclusion, output.title, output.summary, output.annotations, output.actions]
    return _digest(whole), _digest(output.annotations)


def external_id(output: CheckOutput) -> str:
    """What the bot writes into a run's `external_id`: `kepbot:<result>:<annotations>`."""
    whole, notes = _digests(output)
    return f"{MARK}{whole}:{notes}"


@dataclass(frozen=True)
class _Run:
    """A check run as GitHub lists it, with what the bot's `external_id` says it holds."""

    id: int
    whole: str  # "" when the run carries no digest of ours
    notes: str
    annotations: int

    @classmethod
    def of(cls, run: dict[str, Any]) -> _Run:
        mark = str(run.get("external_id") or "")
        whole, _, notes = mark.removeprefix(MARK).partition(":")
        if not mark.startswith(MARK):
            whole = notes = ""
        count = int((run.get("output") or {}).get("annotations_count") or 0)
        return cls(int(run["id"]), whole, notes, count)


class _Runs:
    """What one client (one installation) keeps for its check runs."""

    def __init__(self) -> None:
        self.fresh: cachetools.LRUCache[tuple[str, str], bool] = caches.lru(
            caches.FRESH_HEADS_BYTES
        )
        self._locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def lock(self, key: tuple[str, str, str]) -> asyncio.Lock:
        found = self._locks.get(key)
        if found is None:
            found = self._locks[key] = asyncio.Lock()
        return found


def _runs(gh: GitHubAPI) -> _Runs:
    return kept(gh, _Runs)


def made_head(gh: GitHubAPI, repo: str, sha: str) -> None:
    """`sha` is a commit this process has just made on a pull request's branch: no check run
    can be on it yet, so the first publish on it creates one without looking."""
    _runs(gh).fresh[(repo.lower(), sha)] = True


async def _find(gh: GitHubAPI, repo: str, head_sha: str, name: str) -> _Run | None:
    """The run GitHub shows for `name` on `head_sha` (the latest), if there is one."""
    query: dict[str, str | int] = {"check_name": name, "filter": "latest", "per_page": 100}
    listed = await gh.getitem(repo_url(repo, "commits", head_sha, "check-runs", query=query))
    runs = [r for r in listed.get("check_runs") or [] if r.get("name") == name]
    latest = max(runs, key=lambda r: int(r["id"]), default=None)
    return _Run.of(latest) if latest is not None else None


def _missing(run: _Run, output: CheckOutput) -> list[dict[str, Any]] | None:
    """The annotations to append to `run` for `output`; None when the run holds some that
    `output` does not have, so it cannot be brought up to date in place."""
    notes = _digests(output)[1]
    if run.annotations == 0:
        return output.annotations
    if run.notes == notes and run.annotations <= len(output.annotations):
        return output.annotations[run.annotations :]  # the rest of an unfinished write
    return None


async def publish_check(
    gh: GitHubAPI,
    repo: str,
    head_sha: str,
    output: CheckOutput,
    *,
    name: str = CHECK_NAME,
    rerun: bool = False,
) -> int:
    """Make the run `name` on `head_sha` show `output`; its id. Nothing is written when the
    run shows it already, unless `rerun` (a person asked for the check again)."""
    runs = _runs(gh)
    async with runs.lock((repo.lower(), head_sha, name)):
        fresh = runs.fresh.pop((repo.lower(), head_sha), None) is not None
        attempt = 0
        while True:
            attempt += 1
            found = None if fresh and attempt == 1 else await _find(gh, repo, head_sha, name)
            missing = _missing(found, output) if found is not None else None
            if found is not None and missing is not None:
                if rerun or missing or found.whole != _digests(output)[0]:
                    await _update(gh, repo, found.id, output, missing)
                return found.id
            try:
                return await _create(gh, repo, head_sha, output, name)
            except (GitHubBroken, aiohttp.ClientError, TimeoutError):
                if attempt >= CREATE_ATTEMPTS:
                    raise
                # It may have landed: look again before creating (never two for one head).
                policy = getattr(gh, "policy", None)
                await gh.sleep(policy.backoff(attempt) if policy is not None else 1.0)


def _output(output: CheckOutput, annotations: list[dict[str, Any]] | None) -> dict[str, Any]:
    texts: dict[str, Any] = {"title": output.title, "summary": output.summary}
    return texts if annotations is None else {**texts, "annotations": annotations}


def _batches(annotations: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    size = ANNOTATIONS_PER_REQUEST
    return [annotations[i : i + size] for i in range(0, len(annotations), size)]


async def _create(gh: GitHubAPI, repo: str, head_sha: str, output: CheckOutput, name: str) -> int:
    """One completed check run on `head_sha`; annotations beyond 50 follow in PATCHes."""
    batches = output.batches() or [[]]
    body: dict[str, Any] = {
        "name": name,
        "head_sha": head_sha,
        "external_id": external_id(output),
        "status": "completed",
        "conclusion": output.conclusion,
        "completed_at": _now(),
        "output": _output(output, batches[0]),
    }
    if output.actions:  # buttons (at most three); a click comes back as `requested_action`
        body["actions"] = output.actions
    # Not repeated blindly: a create whose answer was lost is looked for first.
    created = await gh.post(repo_url(repo, "check-runs"), data=body)
    run_id = int(created["id"])
    await _append(gh, repo, run_id, output, batches[1:])
    return run_id


async def _update(
    gh: GitHubAPI, repo: str, run_id: int, output: CheckOutput, missing: list[dict[str, Any]]
) -> None:
    """Bring run `run_id` to `output` in place, appending the `missing` annotations."""
    batches = _batches(missing)
    first = batches[0] if batches else None
    body: dict[str, Any] = {
        "external_id": external_id(output),
        "status": "completed",
        "conclusion": output.conclusion,
        "completed_at": _now(),
        "output": _output(output, first),
        "actions": output.actions,  # [] takes away buttons the run had
    }
    # Without annotations the update is the same however often it is sent; with them,
    # each repeat would append them again.
    await patch(gh, repo_url(repo, "check-runs", run_id), data=body, retry_safe=first is None)
    await _append(gh, repo, run_id, output, batches[1:])


async def _append(
    gh: GitHubAPI,
    repo: str,
    run_id: int,
    output: CheckOutput,
    batches: list[list[dict[str, Any]]],
) -> None:
    url = repo_url(repo, "check-runs", run_id)
    for batch in batches:
        await gh.patch(url, data={"output": _output(output, batch)})
