"""A repository's comment stream (every issue and PR comment, by update) and single issues.

`comments_page` is one page of `GET /repos/{repo}/issues/comments` sorted by `updated_at`:
newest first to look back, or oldest first from `since` (updated at or after it) to read
on. It goes through the client's ETag cache: asking again from the same `since` when
nothing was written is a 304, which GitHub does not count.
"""

from __future__ import annotations

from typing import Any, cast

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.github.shapes import Comment, Issue
from bot.github.urls import repo_url

__all__ = ["PER_PAGE", "comments_page", "issue_number", "read_issue"]

PER_PAGE = 100


async def comments_page(
    gh: GitHubAPI, repo: str, *, page: int, since: str | None, newest_first: bool
) -> list[Comment]:
    """One page (`PER_PAGE` comments) of the repository's comments in order of update."""
    query: dict[str, str | int] = {
        "sort": "updated",
        "direction": "desc" if newest_first else "asc",
        "per_page": PER_PAGE,
    }
    if since is not None:
        query["since"] = since
    if page > 1:
        query["page"] = page
    items: Any = await gh.getitem(repo_url(repo, "issues", "comments", query=query))
    return [cast(Comment, item) for item in items if isinstance(item, dict)]


def issue_number(comment: Comment) -> int | None:
    """The number of the issue or PR a listed comment is on (from its `issue_url`)."""
    tail = str(comment.get("issue_url") or "").rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


async def read_issue(gh: GitHubAPI, repo: str, number: int) -> Issue | None:
    """Issue or PR `number` as the Issues API shows it; None when there is none."""
    try:
        issue: Any = await gh.getitem(repo_url(repo, "issues", number))
    except BadRequest as error:
        if error.status_code in (404, 410):
            return None
        raise
    return cast(Issue, issue) if isinstance(issue, dict) else None
