"""Every REST URL the bot requests from GitHub is built here, from parts that cannot steer it.

A URL is a fixed route (`"repos"`, `"pulls"`, `"labels"`...) with values in between that
may come from outside the bot: repository names from payloads, page paths and
configuration; file paths and refs from pull requests and configuration; logins, team
slugs and label names from comments, CODEOWNERS and configuration; numbers and ids from
payloads. Callers pass those values as they are and never escape them themselves:

- a repository (`owner/name`) must be a name GitHub allows (`valid_repo`), else
  `UnsafeUrl` is raised and no request is made;
- every other string is ONE path segment, percent-escaped whole (`/`, `?`, `#`, `%`,
  `{`, spaces and the rest), and never empty, `.` or `..`, which a URL library would
  resolve away (yarl and `urljoin` both turn `/a/%2E%2E/b` into `/b`);
- a value that spans segments (a file path, a ref such as `heads/feature/x`) is given as
  `Path(value)`: its slashes stay, each segment is escaped by the same rule, and an empty,
  `.` or `..` segment is refused (git allows none of them in a path or a ref);
- a number is a non-negative `int` (a `bool` is refused);
- query values are percent-escaped the same way.

Links the pipeline page puts in its HTML (a proposal's file, an issue, a profile) are
built here too, by `web_url` and `profile_url`, on the web root of the GitHub the bot
talks to: by the same rules, so a name from outside can neither leave its segment nor
point the link at another host or page.

GitHub's rules for names (github.com's sign-up and repository forms): an account (user or
organization) login is letters, digits and hyphens, at most 39 characters, not starting
with a hyphen; Enterprise Managed Users add `_` and the enterprise's short code. New
logins may not hold `--` nor end with `-`, older ones may, and neither can steer a URL, so
both are accepted. A repository name is letters, digits, `-`, `_` and `.`, at most 100
characters, and neither `.` nor `..`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

__all__ = [
    "Part",
    "Path",
    "Query",
    "UnsafeUrl",
    "api_url",
    "profile_url",
    "repo_url",
    "split_repo",
    "valid_owner",
    "valid_repo",
    "valid_repo_name",
    "web_root",
    "web_url",
]

OWNER_MAX, REPO_MAX = 39, 100
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(?:_[A-Za-z0-9]+)?")
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]+")
_DOTS = ("", ".", "..")


class UnsafeUrl(ValueError):
    """A value from outside cannot be part of a GitHub URL; no request was made."""


@dataclass(frozen=True)
class Path:
    """A value that spans path segments (a file path, a ref): its slashes are kept."""

    value: str


Part = str | int | Path
Query = Mapping[str, str | int]


def valid_owner(owner: str) -> bool:
    """Whether `owner` is a login GitHub allows for a user or an organization."""
    return len(owner) <= OWNER_MAX and _OWNER.fullmatch(owner) is not None


def valid_repo_name(name: str) -> bool:
    """Whether `name` is a repository name GitHub allows (without its owner)."""
    return len(name) <= REPO_MAX and name not in _DOTS and _REPO_NAME.fullmatch(name) is not None


def valid_repo(full_name: str) -> bool:
    """Whether `full_name` is `owner/name` with both parts as GitHub allows them."""
    owner, slash, name = full_name.partition("/")
    return bool(slash) and valid_owner(owner) and valid_repo_name(name)


def split_repo(full_name: str) -> tuple[str, str]:
    """(owner, name) of a valid `owner/name`; `UnsafeUrl` for anything else."""
    if not valid_repo(full_name):
        raise UnsafeUrl(f"not a GitHub repository name: {full_name[:200]!r}")
    owner, _, name = full_name.partition("/")
    return owner, name


def _segment(value: str) -> str:
    if value in _DOTS:
        raise UnsafeUrl(f"an empty, '.' or '..' path segment: {value!r}")
    return quote(value, safe="")


def _part(part: Part) -> str:
    if isinstance(part, bool):
        raise UnsafeUrl(f"not a number or a name: {part!r}")
    if isinstance(part, int):
        if part < 0:
            raise UnsafeUrl(f"a negative number: {part}")
        return str(part)
    if isinstance(part, Path):
        return "/".join(_segment(piece) for piece in part.value.strip("/").split("/"))
    return _segment(part)


def _query(query: Query) -> str:
    pairs = []
    for key, value in query.items():
        if isinstance(value, bool):
            raise UnsafeUrl(f"not a query value: {value!r}")
        pairs.append(f"{quote(key, safe='')}={quote(str(value), safe='')}")
    return "&".join(pairs)


def api_url(*parts: Part, query: Query | None = None) -> str:
    """`/part/part/...?key=value`, each part and value escaped (see the module's rules)."""
    url = "/" + "/".join(_part(part) for part in parts)
    if query:
        url += "?" + _query(query)
    return url


def repo_url(repo: str, *parts: Part, query: Query | None = None) -> str:
    """`/repos/{owner}/{name}/part/...`; `UnsafeUrl` when `repo` is not a valid name."""
    owner, name = split_repo(repo)
    return api_url("repos", owner, name, *parts, query=query)


def web_root(html_url: str, repo: str) -> str:
    """The web root (`https://github.com`) of a repository whose `html_url` GitHub gave:
    that address without `/{repo}`, else github.com's own."""
    html = html_url.rstrip("/")
    suffix = f"/{repo}"
    if html.lower().endswith(suffix.lower()) and html.startswith(("https://", "http://")):
        return html[: -len(suffix)]
    return "https://github.com"


def web_url(root: str, repo: str, *parts: Part, fragment: str | None = None) -> str | None:
    """`{root}/{owner}/{name}/part/...#fragment` for a link to GitHub's web pages, each
    part escaped as for `api_url`; None when `repo` or a part is not one GitHub allows."""
    if not valid_repo(repo):
        return None
    try:
        path = "/".join(_part(part) for part in (*repo.split("/"), *parts))
    except UnsafeUrl:
        return None
    url = f"{root.rstrip('/')}/{path}"
    return f"{url}#{quote(fragment, safe='')}" if fragment else url


def profile_url(root: str, login: str) -> str | None:
    """The profile of `login` (a leading `@` dropped); None when it is no GitHub login."""
    name = login.strip().removeprefix("@")
    return f"{root.rstrip('/')}/{name}" if valid_owner(name) else None
