"""The labels of a proposal pull request (docs/design.md B5): which ones, and keeping
the PR in line.

`desired_labels` (pure) computes the kind label, the status label and area labels from the
configuration and the PR's proposals. `sync_labels` makes the PR carry them: it creates
missing repository labels with their colours (once: labels it created or saw on a PR are
remembered for a while, in hosted mode by every worker of the fleet; one deleted since
comes back in GitHub's default colour when added to the PR, and gets its colour back),
adds what is missing in one request, and removes only the labels the bot manages
(`Managed`: the status prefix and the kind label) that are no longer wanted. Other
labels, area labels included (people and other bots set `sig/...` too), are never removed.
A second sync with the same inputs writes nothing.

Several proposals in one PR with different statuses get one status label per distinct
status: the exclusive rule is per status of a proposal, and hiding one of them would mislead.
Label names compare case-insensitively, as on GitHub.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cachetools
from gidgethub import BadRequest, InvalidField
from gidgethub.abc import GitHubAPI

from bot.engine.config import Config, LabelSpec
from bot.github import caches
from bot.github.per_client import kept
from bot.github.retry import patch, post
from bot.github.urls import repo_url

__all__ = ["LabelSpec", "Managed", "desired_labels", "managed_labels", "sync_labels"]

MAX_DESCRIPTION = 100  # GitHub's limit on a label description
GITHUB_DEFAULT_COLOR = "ededed"  # what GitHub gives a label created by adding it to an issue


@dataclass(frozen=True)
class Managed:
    """The labels the bot may remove: names starting with a prefix, or named exactly."""

    prefixes: tuple[str, ...] = ()
    names: frozenset[str] = frozenset()
    exempt: frozenset[str] = frozenset()  # never removed (e.g. the link label `kep/linked`)

    def covers(self, name: str) -> bool:
        key = name.lower()
        if key in {exempt.lower() for exempt in self.exempt}:
            return False
        if key in {managed.lower() for managed in self.names}:
            return True
        return any(key.startswith(prefix.lower()) for prefix in self.prefixes if prefix)


def managed_labels(config: Config) -> Managed:
    """What `sync_labels` may remove on a proposal PR: status labels and the kind label."""
    labels = config.labels
    return Managed(
        prefixes=(labels.status_prefix,),
        names=frozenset({labels.kind.name}),
        exempt=frozenset({labels.link.name}),
    )


def desired_labels(
    config: Config, proposals: Iterable[tuple[str, str | None]]
) -> dict[str, LabelSpec]:
    """The labels a PR with these (status, area) proposals carries; {} without proposals."""
    labels = config.labels
    wanted: dict[str, LabelSpec] = {}
    for status, area in proposals:
        if not wanted:
            wanted[labels.kind.name] = labels.kind
        if status:
            name = labels.status_prefix + status
            text = f"{config.kind} status: {status}"[:MAX_DESCRIPTION]
            wanted[name] = LabelSpec(name=name, color=labels.status_color, description=text)
        if area and labels.area_prefix:
            name = labels.area_prefix + area.removeprefix(labels.area_strip)
            wanted[name] = LabelSpec(name=name, color=labels.area_color, description="")
    return wanted


def _already_exists(error: BadRequest) -> bool:
    errors = getattr(error, "errors", None) if isinstance(error, InvalidField) else None
    return isinstance(errors, list) and any(
        isinstance(item, dict) and item.get("code") == "already_exists" for item in errors
    )


# Repository labels known to exist, per client (one per installation) and repository:
# creating a label the repository already has costs a request GitHub refuses (422).
def _known_table() -> cachetools.TTLCache[str, frozenset[str]]:
    return caches.ttl(caches.LABELS_BYTES, caches.LABELS_TTL)


def _known_labels(gh: GitHubAPI, repo: str) -> frozenset[str]:
    return kept(gh, _known_table).get(repo.lower(), frozenset())


def _remember_labels(gh: GitHubAPI, repo: str, names: set[str]) -> None:
    # A new set each time, so that the cache weighs what it holds.
    if not names <= _known_labels(gh, repo):
        caches.keep(kept(gh, _known_table), repo.lower(), _known_labels(gh, repo) | names)


def _looks(spec: LabelSpec) -> dict[str, str]:
    """A label's colour and description as GitHub takes them."""
    looks = {"color": spec.color.lower()}
    if spec.description:
        looks["description"] = spec.description[:MAX_DESCRIPTION]
    return looks


async def _known_to_fleet(gh: GitHubAPI, key: str) -> bool:
    """Whether another worker of the fleet (hosted mode) made sure of the label lately."""
    shared = caches.shared_cache(gh)
    entry = await shared.get("label", key) if shared is not None else None
    if entry is None:
        return False
    try:
        return 0 <= time.time() - float(entry.tag) < caches.LABELS_TTL
    except ValueError:
        return False


async def _create_repo_label(gh: GitHubAPI, repo: str, spec: LabelSpec) -> None:
    """Create the repository label; someone creating it meanwhile is fine (422)."""
    known = _known_labels(gh, repo)
    if spec.name.lower() in known:
        return
    key = f"{repo.lower()}:{spec.name.lower()}"
    if await _known_to_fleet(gh, key):
        _remember_labels(gh, repo, {spec.name.lower()})
        return
    body = {"name": spec.name, **_looks(spec)}
    try:
        await post(gh, repo_url(repo, "labels"), data=body, retry_safe=True)
    except BadRequest as error:
        if error.status_code != 422 or not _already_exists(error):
            raise
    _remember_labels(gh, repo, {spec.name.lower()})
    shared = caches.shared_cache(gh)
    if shared is not None:
        await shared.put("label", key, f"{time.time():.3f}", b"")


async def _add(gh: GitHubAPI, repo: str, issue: str, missing: list[LabelSpec]) -> None:
    await asyncio.gather(*(_create_repo_label(gh, repo, spec) for spec in missing))
    if missing:
        names = [spec.name for spec in missing]
        now = await post(gh, issue, data={"labels": names}, retry_safe=True)
        await _recolour(gh, repo, missing, now)


async def _recolour(gh: GitHubAPI, repo: str, added: list[LabelSpec], now: Any) -> None:
    """Give back their colour to labels GitHub created while adding them to the issue.

    A label the bot knew to exist (so did not create) may have been deleted by someone
    since: adding it to an issue then creates it in GitHub's default colour, which the
    answer shows. A colour someone chose on purpose is left alone.
    """
    shown = {str(label.get("name", "")).lower(): label for label in now if isinstance(label, dict)}
    for spec in added:
        label = shown.get(spec.name.lower())
        if label is None or str(label.get("color", "")).lower() != GITHUB_DEFAULT_COLOR:
            continue
        if spec.color.lower() == GITHUB_DEFAULT_COLOR:
            continue
        url = repo_url(repo, "labels", str(label["name"]))
        await patch(gh, url, data=_looks(spec), retry_safe=True)


async def _remove(gh: GitHubAPI, repo: str, number: int, name: str) -> None:
    try:
        await gh.delete(repo_url(repo, "issues", number, "labels", name))
    except BadRequest as error:
        if error.status_code != 404:
            raise


async def sync_labels(
    gh: GitHubAPI,
    repo: str,
    number: int,
    desired: Mapping[str, LabelSpec],
    managed_prefixes: Managed | Iterable[str],
    current: Iterable[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Make PR `number` carry `desired`; return the labels (added, removed).

    `managed_prefixes` is a `Managed` (see `managed_labels`) or plain name prefixes. A label
    to add is created in the repository first (POST per missing label, 422 tolerated), then
    all are added in one request; a managed label not desired is deleted (404 tolerated).
    `current`, the PR's labels as the caller just read them, saves listing them. Labels seen
    on the PR or created are remembered for a while, and not created again.
    """
    managed = (
        managed_prefixes
        if isinstance(managed_prefixes, Managed)
        else Managed(prefixes=tuple(managed_prefixes))
    )
    issue = repo_url(repo, "issues", number, "labels")
    if current is None:
        listing = repo_url(repo, "issues", number, "labels", query={"per_page": 100})
        current = [label["name"] async for label in gh.getiter(listing)]
    current = list(current)
    _remember_labels(gh, repo, {name.lower() for name in current})  # they exist
    present = {name.lower() for name in current}
    wanted = {name.lower() for name in desired}
    missing = [spec for name, spec in desired.items() if name.lower() not in present]
    stale = [name for name in current if managed.covers(name) and name.lower() not in wanted]
    removals = (_remove(gh, repo, number, name) for name in stale)
    await asyncio.gather(_add(gh, repo, issue, missing), *removals)
    removed = stale
    return [spec.name for spec in missing], removed
