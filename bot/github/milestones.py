"""Milestones: the one titled so (made when missing), and an issue's milestone set.

A milestone is found by its exact title among all of the repository's (open and closed:
GitHub takes a title once, whatever the state). One missing is created; another writer
creating it at the same moment makes GitHub answer 422 `already_exists`, and the list is
read again. The list is a conditional read (the client's ETag cache), so asking again
when nothing changed costs GitHub's free 304.
"""

from __future__ import annotations

from typing import Any

from gidgethub import BadRequest, InvalidField
from gidgethub.abc import GitHubAPI

from bot.github.retry import patch, post
from bot.github.shapes import Issue
from bot.github.urls import repo_url

__all__ = ["ensure_milestone", "find_milestone", "set_issue_fields"]

ALL: dict[str, str | int] = {"state": "all", "per_page": 100}


async def find_milestone(gh: GitHubAPI, repo: str, title: str) -> int | None:
    """The number of `repo`'s milestone titled `title` (None: none is)."""
    url = repo_url(repo, "milestones", query=ALL)
    async for milestone in gh.getiter(url):
        if milestone.get("title") == title:
            return int(milestone["number"])
    return None


def _already_exists(error: BadRequest) -> bool:
    errors = getattr(error, "errors", None) if isinstance(error, InvalidField) else None
    return isinstance(errors, list) and any(
        isinstance(item, dict) and item.get("code") == "already_exists" for item in errors
    )


async def ensure_milestone(gh: GitHubAPI, repo: str, title: str) -> int:
    """The number of `repo`'s milestone titled `title`, created when missing."""
    found = await find_milestone(gh, repo, title)
    if found is not None:
        return found
    try:
        made = await post(gh, repo_url(repo, "milestones"), data={"title": title})
    except BadRequest as error:
        if error.status_code != 422 or not _already_exists(error):
            raise
        again = await find_milestone(gh, repo, title)
        if again is None:
            raise
        return again
    return int(made["number"])


async def set_issue_fields(gh: GitHubAPI, repo: str, number: int, **fields: Any) -> Issue:
    """`PATCH issues/{number}` with `fields` (`milestone`: a number or None); the issue."""
    url = repo_url(repo, "issues", number)
    found: Issue = await patch(gh, url, data=fields, retry_safe=True)
    return found
