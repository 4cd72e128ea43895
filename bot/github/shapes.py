"""The GitHub objects the bot reads, as types: what the gateway (`bot.github.gateway`) returns.

Each shape lists exactly the fields some code of `bot` reads (a comment: those a thread
keeps), typed as GitHub's REST API and its webhook payloads give them (GitHub sends many
more; they are there at run time, unnamed here). A webhook payload carries the same
objects as the REST API, so a pull request from an event fits `Pull` as one the gateway
read does. A key GitHub leaves out of some answers (a listed pull request has no `merged`,
an issue that is no pull request no `pull_request`) is `NotRequired`; a value GitHub may
send as `null` admits `None`.

These are annotations only: nothing checks or converts GitHub's JSON at run time.
`login_of` and `is_bot` read an account that may be missing (a deleted one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NotRequired, TypedDict

__all__ = [
    "Comment",
    "CommitDetail",
    "GitRef",
    "Issue",
    "Label",
    "Milestone",
    "Permissions",
    "Pull",
    "PullCommit",
    "PullEnd",
    "PullHead",
    "Reaction",
    "Repository",
    "SearchPage",
    "Sha",
    "User",
    "is_bot",
    "login_of",
]


class User(TypedDict):
    """An account (a comment's `user`, a PR's); `type` is `User`, `Bot` or `Organization`."""

    login: str
    id: int
    type: str


class Permissions(TypedDict, total=False):
    """What the token may do in a repository (given only to a token acting for a person)."""

    push: bool


class Repository(TypedDict):
    """A repository, as `GET /repos/{repo}` and every webhook's `repository` give it."""

    full_name: str
    default_branch: str
    private: bool
    html_url: str
    # A webhook's push event gives it in epoch seconds, the REST API as a timestamp.
    pushed_at: NotRequired[str | int | None]
    permissions: NotRequired[Permissions]


class Label(TypedDict):
    name: str


class Milestone(TypedDict):
    title: str


class PullEnd(TypedDict):
    """A pull request's `base`: its branch and its repository."""

    ref: str
    repo: Repository


class PullHead(TypedDict):
    """A pull request's `head`: its branch, its commit and its repository (None when the
    fork the head came from was deleted)."""

    ref: str
    sha: str
    repo: Repository | None


class Pull(TypedDict):
    """A pull request, as `GET /pulls/{number}`, the list of pulls and events give it."""

    number: int
    state: str  # "open" or "closed"
    # In the answer for one pull request and in events, not in a listing of pulls.
    merged: NotRequired[bool | None]
    merged_at: NotRequired[str | None]
    title: str
    body: str | None
    user: User
    head: PullHead
    base: PullEnd
    labels: list[Label]
    created_at: str
    updated_at: str
    merge_commit_sha: str | None
    comments: NotRequired[int]  # not in a listing of pulls


class Issue(TypedDict):
    """An issue (or a pull request as the Issues API shows it), also a search result."""

    number: int
    title: str
    body: NotRequired[str | None]
    labels: list[Label]
    milestone: Milestone | None
    comments: int
    repository_url: str
    # Present when the issue is a pull request (only whether it is there is read).
    pull_request: NotRequired[Mapping[str, object]]


class Comment(TypedDict):
    """An issue or pull request comment; a thread as read keeps only these fields (and
    of its `user`, those of `User`: `bot.github.comments.COMMENT_FIELDS`)."""

    id: int
    body: NotRequired[str]
    user: User | None
    created_at: str
    updated_at: str
    html_url: str
    issue_url: str
    author_association: str


class Reaction(TypedDict):
    user: User | None
    content: str  # "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"
    created_at: str


class Sha(TypedDict):
    sha: str


class CommitDetail(TypedDict):
    """The git side of a listed commit (`commit` of `GET /pulls/{number}/commits`)."""

    message: str


class PullCommit(TypedDict):
    """A commit of a pull request, as `GET /pulls/{number}/commits` lists it."""

    sha: str
    commit: CommitDetail
    parents: list[Sha]


class GitRef(TypedDict):
    """A git ref (`GET /git/ref/heads/{branch}`): `object.sha` is the branch head."""

    object: Sha


class SearchPage(TypedDict):
    """One page of `GET /search/issues`."""

    items: list[Issue]


def login_of(user: User | None) -> str:
    """The login of `user` ("": none, as for the comment of a deleted account)."""
    return str(user.get("login", "")) if user else ""


def is_bot(user: User | None) -> bool:
    """Whether `user` is a bot account (False: none)."""
    return user is not None and user.get("type") == "Bot"
