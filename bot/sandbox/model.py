"""The double's state: accounts, the App and its installations, repositories and what lives in them.

Plain records plus one `State` container with the lookups every endpoint needs. Logins and
repository names are matched case-insensitively, as on GitHub.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.gitstore import ObjectStore

Json = dict[str, Any]

ROLE_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
DEFAULT_INSTALLATION_PERMISSIONS = {
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "write",
}


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Settings:
    """Knobs tests turn: token lifetime, rate limits, and how an exhausted limit answers."""

    token_lifetime: float = 3600.0
    rate_limit: int = 5000
    anonymous_rate_limit: int = 60
    search_rate_limit: int = 30
    exhausted_status: int = 403  # GitHub answers 403 or 429


@dataclass
class User:
    id: int
    login: str
    type: str = "User"  # User | Organization | Bot
    name: str | None = None
    email: str | None = None


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: str
    bot_user_id: int
    public_key: str | None
    created_at: str

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass
class Installation:
    id: int
    account: str
    repositories: list[str] | None  # None: every repository of the account
    permissions: dict[str, str]
    created_at: str


@dataclass
class Token:
    value: str
    login: str
    installation_id: int | None = None  # None for a personal token
    repositories: frozenset[str] | None = None
    permissions: dict[str, str] = field(default_factory=dict)
    expires_at: float | None = None


@dataclass
class Team:
    id: int
    org: str
    slug: str
    name: str
    members: dict[str, str] = field(default_factory=dict)  # login -> member | maintainer


@dataclass
class Protection:
    require_pull_request: bool = True
    required_checks: tuple[str, ...] = ()
    bypass: frozenset[str] = frozenset()
    allow_force_push: bool = False


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None = None
    default: bool = False


@dataclass
class Reaction:
    id: int
    user: str
    content: str
    created_at: str


@dataclass
class Comment:
    id: int
    repo: str
    number: int
    user: str
    body: str
    created_at: str
    updated_at: str
    reactions: list[Reaction] = field(default_factory=list)
    previous_body: str | None = None
    deleted: bool = False
    # Who made the last edit. GitHub's REST API does not show it (the comment's `user`
    # stays its author; only `updated_at` moves); an `edited` delivery names it as sender.
    edited_by: str | None = None


@dataclass
class Review:
    id: int
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    body: str
    commit_id: str
    submitted_at: str


@dataclass
class PullRequest:
    id: int
    head_repo: str
    head_ref: str
    base_ref: str
    head_sha: str
    maintainer_can_modify: bool = True
    draft: bool = False
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    mergeable_override: bool | None = None
    mergeable_forced: bool = False
    # (base sha, head sha) the diff was frozen at when the PR closed.
    frozen: tuple[str, str] | None = None
    reviews: list[Review] = field(default_factory=list)


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: str
    created_at: str
    updated_at: str
    state: str = "open"
    closed_at: str | None = None
    closed_by: str | None = None
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    pull: PullRequest | None = None
    locked: bool = False
    edited_by: str | None = None  # who last edited the title or body (the `edited` sender)
    milestone: int | None = None  # the number of the repository's milestone it is in


@dataclass
class Milestone:
    id: int
    number: int
    title: str
    creator: str
    created_at: str
    updated_at: str
    state: str = "open"
    description: str | None = None
    due_on: str | None = None
    closed_at: str | None = None


@dataclass
class CheckRun:
    id: int
    repo: str
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    suite_id: int
    external_id: str = ""
    details_url: str | None = None
    output: Json = field(default_factory=dict)  # title, summary, text
    annotations: list[Json] = field(default_factory=list)
    actions: list[Json] = field(default_factory=list)


@dataclass
class CommitStatus:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool
    default_branch: str
    created_at: str
    parent: str | None = None  # full name of the repository this one was forked from
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha
    labels: dict[str, Label] = field(default_factory=dict)  # lower-case name -> label
    issues: dict[int, Issue] = field(default_factory=dict)
    protections: dict[str, Protection] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> role
    statuses: list[CommitStatus] = field(default_factory=list)
    pushed_at: str | None = None
    milestones: dict[int, Milestone] = field(default_factory=dict)  # by number

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def branch(self, name: str) -> str | None:
        return self.refs.get(f"refs/heads/{name}")

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1


@dataclass(frozen=True)
class ArchiveGrant:
    """What the token of a private repository's archive address allows, until `expires`."""

    repo: str  # lower-cased full name
    sha: str
    expires: float  # the double's clock

    @property
    def key(self) -> tuple[str, str]:
        return self.repo, self.sha


class State:
    """Everything the double knows; endpoints and seeding helpers both work on it."""

    def __init__(
        self, app: App, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self.objects = ObjectStore()
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.teams: dict[tuple[str, str], Team] = {}
        self.org_members: dict[str, dict[str, str]] = {}  # org -> login -> admin | member
        self.comments: dict[int, Comment] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.archive_grants: dict[str, ArchiveGrant] = {}  # token -> grant
        self._ids: dict[str, Iterator[int]] = {}

    def next_id(self, kind: str) -> int:
        counter = self._ids.setdefault(kind, itertools.count(1))
        return next(counter)

    def now(self) -> str:
        return iso(self.clock())

    # -- accounts ------------------------------------------------------------------

    def find_user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    def user(self, login: str, kind: str = "User") -> User:
        """The account called `login`, created on first mention."""
        found = self.find_user(login)
        if found is None:
            found = User(id=self.next_id("user"), login=login, type=kind)
            self.users[login.lower()] = found
        return found

    def org_role(self, org: str, login: str) -> str | None:
        return self.org_members.get(org.lower(), {}).get(login.lower())

    # -- repositories ----------------------------------------------------------------

    def find_repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def repo(self, full_name: str) -> Repo:
        owner, _, name = full_name.partition("/")
        found = self.find_repo(owner, name)
        if found is None:
            raise KeyError(f"no repository {full_name}")
        return found

    def role(self, repo: Repo, login: str) -> str:
        """The user's effective role on the repository (admin … read, or none)."""
        if login.lower() == repo.owner.lower():
            return "admin"
        roles = [repo.collaborators.get(login.lower(), "none")]
        org_role = self.org_role(repo.owner, login)
        if org_role is not None:
            roles.append("admin" if org_role == "admin" else "read")
        if not repo.private:
            roles.append("read")
        return max(roles, key=ROLE_RANK.__getitem__)

    def installation_for(self, repo: Repo) -> Installation | None:
        for installation in self.installations.values():
            if repo.full_name in self.installed_repos(installation):
                return installation
        return None

    def installed_repos(self, installation: Installation) -> list[str]:
        if installation.repositories is not None:
            return [self.repo(name).full_name for name in installation.repositories]
        account = installation.account.lower()
        return [r.full_name for r in self.repos.values() if r.owner.lower() == account]
