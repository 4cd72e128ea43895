"""The one way to GitHub (docs/design.md, "Shape"): `GitHub`, one per installation context.

Handlers, the pipeline page and reconcile get a `GitHub` through their context
(`ctx.github`) and never see a URL, a header or a gidgethub client: its methods say what
they do and build every URL themselves (with `bot.github.urls`, so a name no repository can
have raises `UnsafeUrl` before any request). The work itself stays in the functions of
`bot.github.*`, which the gateway calls.

Errors: a refused request raises gidgethub's `BadRequest` (its `status_code` says which);
handlers may catch it, as gidgethub bots do. An unsafe name raises `UnsafeUrl`.

Every cache on the way to GitHub is listed, with its limit in bytes, in one place:
`bot/github/caches.py`. The gateway keeps two of them itself: `memory` (what the link
handlers learnt, per installation client) and `memo` (per delivery: what the handlers of
one delivery would otherwise read twice; one gateway per delivery's context, so it goes
with the delivery).
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar, cast

from gidgethub.abc import GitHubAPI

from bot.engine.config import Config, RoleRule
from bot.engine.roles import Grant
from bot.github import (
    comments,
    feedback,
    labels,
    milestones,
    pull_request,
    repo_comments,
    repo_config,
    roles,
    tracking,
    trees,
)
from bot.github import numbers as reservations
from bot.github import repo as repos
from bot.github.check_run import CHECK_NAME, CheckOutput
from bot.github.client import GitHubClient, KepbotAPI
from bot.github.comments import Thread
from bot.github.labels import LabelSpec, Managed
from bot.github.numbers import Mark, Reserved, TreeReader
from bot.github.people import Directory
from bot.github.per_client import kept
from bot.github.pull_request import ChangeTrees, PullFiles
from bot.github.repo import (
    WRITE_ATTEMPTS,
    CommitResult,
    Expected,
    FileVersion,
    Listing,
    Plan,
    UpdateResult,
)
from bot.github.repo_config import ConfigCache, ConfigResult
from bot.github.roles import Metadata
from bot.github.shapes import (
    Comment,
    GitRef,
    Issue,
    Pull,
    PullCommit,
    Reaction,
    Repository,
    SearchPage,
)
from bot.github.tracking import Row
from bot.github.trees import ARCHIVE_MEMORY, BlobCache, Moment, Span
from bot.github.urls import Part, Path, Query, api_url, repo_url

__all__ = [
    "Client",
    "EventMemo",
    "GitHub",
    "app_installations",
    "for_installation",
    "installation_of",
]

T = TypeVar("T")

Client = GitHubAPI  # what the gateway wraps; only bot.github names it

PAGE = {"per_page": 100}


class EventMemo:
    """Values computed once per delivery (a failure is not remembered)."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        if key in self._values:
            return cast(T, self._values[key])
        value = await compute()
        self._values[key] = value
        return value

    def peek(self, key: Hashable) -> Any:
        return self._values.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        self._values[key] = value

    def take(self, key: Hashable) -> Any:
        """The value kept for `key` (None: none), forgotten: the next `get` computes it."""
        return self._values.pop(key, None)


class GitHub:
    """One installation's GitHub, as handlers, the page and reconcile use it."""

    def __init__(self, client: GitHubAPI) -> None:
        self._client = client
        # One gateway per delivery's context (one per reconcile pass, one per page build):
        # what the delivery's handlers would otherwise read twice (bot/handlers/memory.py).
        self.memo = EventMemo()

    @property
    def client(self) -> GitHubAPI:
        """The gidgethub client, for the functions of `bot.github` only."""
        return self._client

    @property
    def installation_id(self) -> int | None:
        """The installation this client acts for (None: a personal token)."""
        found = getattr(self._client, "installation_id", None)
        return int(found) if found is not None else None

    def rate_limit_left(self) -> int | None:
        """Requests left in the rate-limit window, as of the last reply (None: unknown)."""
        limit = getattr(self._client, "rate_limit", None)
        return None if limit is None else int(limit.remaining)

    def memory(self, make: Callable[[], T]) -> T:
        """The one `make()` kept for this installation's client, made on first use."""
        return kept(self._client, make)

    def _kepbot(self) -> KepbotAPI:
        """The client as the bot builds it (the page's reads need its downloads)."""
        if not isinstance(self._client, KepbotAPI):
            raise TypeError("the pipeline page needs the bot's GitHub client")
        return self._client

    def tree_reader(self) -> TreeReader:
        """A reader of this installation's trees (`bot.github.numbers.TreeReader`)."""
        return TreeReader(self._client)

    # Reads.

    async def repository(self, repo: str) -> Repository:
        found: Repository = await self._client.getitem(repo_url(repo))
        return found

    async def pull(self, repo: str, number: int) -> Pull:
        found: Pull = await self._client.getitem(repo_url(repo, "pulls", number))
        return found

    async def issue(self, repo: str, number: int) -> Issue:
        found: Issue = await self._client.getitem(repo_url(repo, "issues", number))
        return found

    async def pull_commits(self, repo: str, number: int) -> list[PullCommit]:
        """The commits of pull request `repo#number` (its first hundred: one page)."""
        url = repo_url(repo, "pulls", number, "commits", query=PAGE)
        return [commit async for commit in self._client.getiter(url)]

    async def comments(self, repo: str, number: int) -> list[Comment]:
        """Every comment of issue or pull request `repo#number`, oldest first."""
        url = repo_url(repo, "issues", number, "comments", query=PAGE)
        return [comment async for comment in self._client.getiter(url)]

    async def reactions(
        self, repo: str, *, comment_id: int | None = None, number: int | None = None
    ) -> list[Reaction]:
        """The reactions to issue comment `comment_id`, or else to issue `number`."""
        where: tuple[Part, ...] = (
            ("issues", "comments", comment_id) if comment_id else ("issues", int(number or 0))
        )
        url = repo_url(repo, *where, "reactions", query=PAGE)
        return [reaction async for reaction in self._client.getiter(url)]

    async def contents(self, repo: str, path: str, ref: str) -> Any:
        """The file or folder `path` of `repo` at `ref` (a 404 `BadRequest`: none)."""
        return await self._client.getitem(
            repo_url(repo, "contents", Path(path), query={"ref": ref})
        )

    async def branch_ref(self, repo: str, branch: str) -> GitRef:
        """The git ref of `branch` (its `object.sha` is the branch head)."""
        url = repo_url(repo, "git", "ref", "heads", Path(branch))
        found: GitRef = await self._client.getitem(url)
        return found

    async def open_pulls(self, repo: str, query: Query) -> list[Pull]:
        """The pull requests of `repo` `query` asks for (its state, order), every page."""
        url = repo_url(repo, "pulls", query=query)
        return [pull async for pull in self._client.getiter(url)]

    async def installation_repositories(self) -> AsyncIterator[Repository]:
        """The repositories this installation may see, a page at a time as iterated."""
        url = api_url("installation", "repositories", query=PAGE)
        async for repo in self._client.getiter(url, iterable_key="repositories"):
            yield repo

    async def search_issues(self, query: Query) -> SearchPage:
        """One page of GitHub's issue search (its own, small rate limit: 30 a minute).

        The client's `rate_limit` goes on showing the core budget (5,000 an hour), which
        reconcile's reserve is kept in: a search answer tells only of the search budget."""
        core = getattr(self._client, "rate_limit", None)
        found: SearchPage = await self._client.getitem(api_url("search", "issues", query=query))
        self._client.rate_limit = core
        return found

    # Writes.

    async def comment(self, repo: str, number: int, body: str) -> Comment:
        """Post `body` as a new comment on issue or pull request `repo#number`."""
        url = repo_url(repo, "issues", number, "comments")
        made: Comment = await self._client.post(url, data={"body": body})
        return made

    async def delete_comment(self, repo: str, comment_id: int) -> None:
        await self._client.delete(repo_url(repo, "issues", "comments", comment_id))

    # The work of bot.github's modules, for this installation.

    async def thread(self, repo: str, number: int, count: int | None = None) -> Thread:
        """The comments of `repo#number`, oldest first (`bot.github.comments.read_thread`)."""
        return await comments.read_thread(self._client, repo, number, count)

    async def find_comment(
        self, repo: str, number: int, marker: str, bot_login: str, thread: Thread | None = None
    ) -> Comment | None:
        """`bot.github.comments.find_comment`."""
        return await comments.find_comment(self._client, repo, number, marker, bot_login, thread)

    async def upsert_comment(
        self,
        repo: str,
        number: int,
        marker: str,
        body: str,
        bot_login: str,
        thread: Thread | None = None,
    ) -> tuple[int, bool, bool]:
        """`bot.github.comments.upsert_comment`."""
        return await comments.upsert_comment(
            self._client, repo, number, marker, body, bot_login, thread
        )

    async def post_once(
        self,
        repo: str,
        number: int,
        marker: str,
        body: str,
        bot_login: str,
        thread: Thread | None = None,
    ) -> bool:
        """`bot.github.comments.post_once`."""
        return await comments.post_once(self._client, repo, number, marker, body, bot_login, thread)

    async def claim(
        self,
        repo: str,
        *,
        comment_id: int | None = None,
        number: int | None = None,
        content: str = "eyes",
    ) -> bool:
        """`bot.github.comments.claim`."""
        return await comments.claim(
            self._client, repo, comment_id=comment_id, number=number, content=content
        )

    async def react(
        self, repo: str, *, comment_id: int | None = None, number: int | None = None, content: str
    ) -> None:
        """`bot.github.comments.react`."""
        await comments.react(
            self._client, repo, comment_id=comment_id, number=number, content=content
        )

    async def bot_reacted(self, repo: str, comment_id: int, bot_login: str, content: str) -> bool:
        """`bot.github.comments.bot_reacted`."""
        return await comments.bot_reacted(self._client, repo, comment_id, bot_login, content)

    async def publish_status(
        self, repo: str, head_sha: str, output: CheckOutput, *, name: str = CHECK_NAME
    ) -> None:
        """`bot.github.feedback.publish_status`."""
        await feedback.publish_status(self._client, repo, head_sha, output, name=name)

    async def publish_check(
        self,
        repo: str,
        head_sha: str,
        output: CheckOutput,
        *,
        name: str = CHECK_NAME,
        rerun: bool = False,
    ) -> int:
        """`bot.github.feedback.publish_check`."""
        return await feedback.publish_check(
            self._client, repo, head_sha, output, name=name, rerun=rerun
        )

    def made_head(self, repo: str, sha: str) -> None:
        """`bot.github.feedback.made_head`."""
        feedback.made_head(self._client, repo, sha)

    async def sync_labels(
        self,
        repo: str,
        number: int,
        desired: Mapping[str, LabelSpec],
        managed_prefixes: Managed | Iterable[str],
        current: Iterable[str] | None = None,
    ) -> tuple[list[str], list[str]]:
        """`bot.github.labels.sync_labels`."""
        return await labels.sync_labels(
            self._client, repo, number, desired, managed_prefixes, current
        )

    async def ensure_milestone(self, repo: str, title: str) -> int:
        """`bot.github.milestones.ensure_milestone`."""
        return await milestones.ensure_milestone(self._client, repo, title)

    async def set_issue_milestone(self, repo: str, number: int, milestone: int | None) -> Issue:
        """Put issue or pull request `repo#number` in milestone `milestone` (None: none)."""
        return await milestones.set_issue_fields(self._client, repo, number, milestone=milestone)

    async def reservations(self, repo: str) -> Reserved:
        """The numbers reserved in `repo`, by holder (`bot.github.numbers.list_reservations`)."""
        return await reservations.list_reservations(self._client, repo)

    async def reserve(self, repo: str, holder: str, start: int, count: int) -> list[int]:
        """`bot.github.numbers.reserve`."""
        return await reservations.reserve(self._client, repo, holder, start, count)

    async def release(self, repo: str, numbers: Iterable[int]) -> None:
        """`bot.github.numbers.release`."""
        await reservations.release(self._client, repo, numbers)

    async def mark_history(
        self, repo: str, old: Mark | None, new: Mark, *, force: bool = False
    ) -> bool:
        """`bot.github.numbers.mark_history`."""
        return await reservations.mark_history(self._client, repo, old, new, force=force)

    async def create_branch(self, repo: str, branch: str, sha: str) -> bool:
        """`bot.github.numbers.create_branch`."""
        return await reservations.create_branch(self._client, repo, branch, sha)

    async def open_followup(
        self, repo: str, branch: str, base: str, title: str, body: str
    ) -> Pull | None:
        """`bot.github.numbers.open_followup`."""
        return await reservations.open_followup(self._client, repo, branch, base, title, body)

    async def files(self, repo: str, number: int, at: tuple[str, str] | None = None) -> PullFiles:
        """The files pull request `repo#number` changes (`bot.github.pull_request.pull_files`)."""
        return await pull_request.pull_files(self._client, repo, number, at)

    async def changed_paths(self, repo: str, number: int) -> list[str]:
        """`bot.github.pull_request.changed_paths`."""
        return await pull_request.changed_paths(self._client, repo, number)

    async def change_trees(self, repo: str, pull: Pull, config: Config) -> ChangeTrees:
        """`bot.github.pull_request.change_trees`."""
        return await pull_request.change_trees(self._client, repo, pull, config)

    async def file(self, repo: str, path: str, ref: str) -> FileVersion | None:
        """File `path` of `repo` at `ref`; None: none (`bot.github.repo.read_file`)."""
        return await repos.read_file(self._client, repo, path, ref)

    async def blob(self, repo: str, sha: str) -> bytes:
        """The bytes of blob `sha` (`bot.github.repo.read_blob`)."""
        return await repos.read_blob(self._client, repo, sha)

    async def tree(self, repo: str, ref: str) -> Listing:
        """Every file at `ref` with its blob sha (`bot.github.repo.list_tree`)."""
        return await repos.list_tree(self._client, repo, ref)

    async def paths(self, repo: str, ref: str) -> list[str]:
        """Every file path at `ref` (`bot.github.repo.list_paths`)."""
        return await repos.list_paths(self._client, repo, ref)

    async def update_file(
        self,
        repo: str,
        branch: str,
        path: str,
        edit: Callable[[str], str | None],
        message: str,
        *,
        attempts: int = WRITE_ATTEMPTS,
        known: FileVersion | None = None,
    ) -> UpdateResult:
        """`bot.github.repo.update_file`."""
        return await repos.update_file(
            self._client, repo, branch, path, edit, message, attempts=attempts, known=known
        )

    async def commit(
        self,
        repo: str,
        branch: str,
        plan: Plan,
        message: str,
        *,
        attempts: int = WRITE_ATTEMPTS,
        expected: Expected | None = None,
    ) -> CommitResult:
        """Commit `plan` on `branch`, as one commit (`bot.github.repo.commit_files`)."""
        return await repos.commit_files(
            self._client, repo, branch, plan, message, attempts=attempts, expected=expected
        )

    async def comments_page(
        self, repo: str, *, page: int, since: str | None, newest_first: bool
    ) -> list[Comment]:
        """`bot.github.repo_comments.comments_page`."""
        return await repo_comments.comments_page(
            self._client, repo, page=page, since=since, newest_first=newest_first
        )

    async def find_issue(self, repo: str, number: int) -> Issue | None:
        """Issue or PR `repo#number`; None: none (`bot.github.repo_comments.read_issue`)."""
        return await repo_comments.read_issue(self._client, repo, number)

    async def config(
        self, repo_full_name: str, default_branch: str, *, cache: ConfigCache | None = None
    ) -> ConfigResult:
        """The repository's configuration (`bot.github.repo_config.load_repo_config`)."""
        return await repo_config.load_repo_config(
            self._client, repo_full_name, default_branch, cache=cache
        )

    async def tracking_rows(
        self, repo: str, number: int, bot_login: str, thread: Thread | None = None
    ) -> list[Row]:
        """The rows of the tracking comment on `repo#number` (`bot.github.tracking.read_rows`)."""
        return await tracking.read_rows(self._client, repo, number, bot_login, thread)

    async def set_rows(
        self,
        repo: str,
        number: int,
        bot_login: str,
        *,
        pull: tuple[str, int],
        rows: Sequence[Row],
        heading: str | None,
    ) -> list[Row]:
        """`bot.github.tracking.set_rows`."""
        return await tracking.set_rows(
            self._client, repo, number, bot_login, pull=pull, rows=rows, heading=heading
        )

    async def branch_head(self, repo: str, branch: str) -> str:
        """`bot.github.trees.branch_head`."""
        return await trees.branch_head(self._kepbot(), repo, branch)

    async def commit_tree(self, repo: str, commit: str) -> trees.Listing:
        """The recursive tree of `commit`, in one request (`bot.github.trees.read_tree`)."""
        return await trees.read_tree(self._kepbot(), repo, commit)

    async def blobs(
        self, repo: str, shas: Iterable[str], cache: BlobCache, *, at_once: int = 8
    ) -> dict[str, bytes]:
        """The contents of blobs `shas`, by sha (`bot.github.trees.read_blobs`)."""
        return await trees.read_blobs(self._kepbot(), repo, shas, cache, at_once=at_once)

    async def archive(
        self,
        repo: str,
        commit: str,
        wanted: Mapping[str, str],
        *,
        limit: int,
        in_memory: int = ARCHIVE_MEMORY,
        file_limit: int = 1 << 20,
    ) -> dict[str, bytes]:
        """The files `wanted` of `commit`, from its archive (`bot.github.trees.read_archive`)."""
        return await trees.read_archive(
            self._kepbot(),
            repo,
            commit,
            wanted,
            limit=limit,
            in_memory=in_memory,
            file_limit=file_limit,
        )

    async def compare(self, repo: str, base: str, head: str) -> Span:
        """`bot.github.trees.compare`."""
        return await trees.compare(self._kepbot(), repo, base, head)

    async def path_history(self, repo: str, path: str, head: str, *, per_page: int) -> list[Moment]:
        """`bot.github.trees.path_history`."""
        return await trees.path_history(self._kepbot(), repo, path, head, per_page=per_page)

    async def path_commits(self, repo: str, path: str, head: str, *, page: int) -> list[str]:
        """`bot.github.trees.path_commits`."""
        return await trees.path_commits(self._kepbot(), repo, path, head, page=page)

    async def holds(
        self,
        directory: Directory,
        *,
        repo: str,
        default_branch: str,
        login: str,
        role: str,
        rule: RoleRule | None,
        metadata: Metadata,
        path: str | None,
        mention: bool = False,
    ) -> Grant:
        """`bot.github.roles.holds`."""
        return await roles.holds(
            directory,
            self._client,
            repo=repo,
            default_branch=default_branch,
            login=login,
            role=role,
            rule=rule,
            metadata=metadata,
            path=path,
            mention=mention,
        )

    async def who_can(
        self,
        directory: Directory,
        *,
        repo: str,
        default_branch: str,
        role: str,
        rule: RoleRule | None,
        metadata: Metadata,
        path: str | None,
        mention: bool = False,
    ) -> str:
        """`bot.github.roles.who_can`."""
        return await roles.who_can(
            directory,
            self._client,
            repo=repo,
            default_branch=default_branch,
            role=role,
            rule=rule,
            metadata=metadata,
            path=path,
            mention=mention,
        )


async def for_installation(client: GitHubClient, installation: int) -> GitHub:
    """The gateway to `installation` (0: the personal token's), on the client the bot keeps
    for it (so its caches are shared by every delivery of the installation)."""
    return GitHub(await client.for_installation(installation))


async def installation_of(client: GitHubClient, repo: str, jwt: str) -> int:
    """The id of the app's installation on `repo` (a 404 `BadRequest`: not installed)."""
    found = await client.app_api.getitem(repo_url(repo, "installation"), jwt=jwt)
    return int(found["id"])


async def app_installations(client: GitHubClient, jwt: str) -> list[int]:
    """The ids of every installation of the app."""
    url = api_url("app", "installations")
    return [int(i["id"]) async for i in client.app_api.getiter(url, jwt=jwt)]
