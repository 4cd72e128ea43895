"""One way to GitHub (docs/design.md, "Shape"): outside `bot/github` (and `bot/sandbox`, the
GitHub double), no module holds a gidgethub client, sends a request or builds a GitHub URL;
they go through the gateway (`bot/github/gateway.py`). gidgethub's router, `Event` and
exception types are fine anywhere.

What counts, read from each module's syntax tree:

- importing `gidgethub.abc`, `gidgethub.aiohttp`, `gidgethub.httpx` or `GitHubAPI`;
- calling a method named `getitem`, `getiter`, `getstatus`, `post`, `patch` or `delete` on
  anything (no object outside `bot/github` has a reason to have such methods);
- calling `put` on an object named like a client (`gh`, `api`, `app_api`, `client`,
  `github`), or with one of gidgethub's request keywords (`data`, `jwt`, `oauth_token`,
  `accept`, `content_type`, `extra_headers`): the event memo and the blob cache have a
  `put` of their own;
- calling `repo_url` or `api_url`, or importing either;
- reading an attribute `gh` or `app_api` (an installation's or the app's gidgethub client;
  `HandlerContext.gh` is there for the tests' own calls of `bot.github` functions);
- a string literal (or the start of an f-string) beginning with `/repos/`,
  `/installation` or `/app/`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
EXEMPT = (BOT / "github", BOT / "sandbox")

CLIENT_MODULES = {"gidgethub.abc", "gidgethub.aiohttp", "gidgethub.httpx"}
REQUESTS = {"getitem", "getiter", "getstatus", "post", "patch", "delete"}
CLIENT_NAMES = {"gh", "api", "app_api", "client", "github"}
REQUEST_KEYWORDS = {"data", "jwt", "oauth_token", "accept", "content_type", "extra_headers"}
URL_BUILDERS = {"repo_url", "api_url"}
URL_STARTS = ("/repos/", "/installation", "/app/")
CLIENT_ATTRIBUTES = {"gh", "app_api"}


def _modules() -> list[Path]:
    return sorted(
        path
        for path in BOT.rglob("*.py")
        if not any(path.is_relative_to(exempt) for exempt in EXEMPT)
    )


def _receiver_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _string_start(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _string_start(node.values[0])
    return None


def violations(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for each way around the gateway in one module's `source`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in CLIENT_MODULES:
                    yield node.lineno, f"imports {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            if node.module in CLIENT_MODULES:
                yield node.lineno, f"imports from {node.module}"
            elif node.module == "gidgethub" and names & {"abc", "aiohttp", "httpx"}:
                yield node.lineno, "imports a gidgethub client module"
            if "GitHubAPI" in names:
                yield node.lineno, "imports GitHubAPI"
            if names & URL_BUILDERS:
                yield node.lineno, f"imports {', '.join(sorted(names & URL_BUILDERS))}"
        elif isinstance(node, ast.Attribute) and node.attr == "GitHubAPI":
            yield node.lineno, "names GitHubAPI"
        elif isinstance(node, ast.Attribute) and node.attr in CLIENT_ATTRIBUTES:
            yield node.lineno, f"reads .{node.attr}"
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr in REQUESTS:
                    yield node.lineno, f"calls .{func.attr}()"
                elif func.attr == "put" and (
                    _receiver_name(func.value) in CLIENT_NAMES
                    or any(k.arg in REQUEST_KEYWORDS for k in node.keywords)
                ):
                    yield node.lineno, "calls a client's .put()"
                elif func.attr in URL_BUILDERS:
                    yield node.lineno, f"calls {func.attr}"
            elif isinstance(func, ast.Name) and func.id in URL_BUILDERS:
                yield node.lineno, f"calls {func.id}"
        else:
            start = _string_start(node)
            if start is not None and start.startswith(URL_STARTS):
                yield node.lineno, f"builds a GitHub URL ({start[:40]!r})"


def test_only_the_gateway_talks_to_github() -> None:
    found = [
        f"{path.relative_to(BOT.parent)}:{line}: {what}"
        for path in _modules()
        for line, what in violations(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "\n".join(["ways around bot/github/gateway.py:", *found])


def test_the_scan_sees_each_way_around() -> None:
    """Each rule, on a module that breaks it (and the look-alikes it must leave alone)."""
    source = "\n".join(
        [
            "from gidgethub.abc import GitHubAPI",  # 1
            "import gidgethub.aiohttp",  # 2
            "from bot.github.urls import repo_url",  # 3
            "await ctx.gh.getitem(url)",  # 4
            "await gh.getiter(url)",  # 5
            "await self.client.post(url, data={})",  # 6
            "await api.put(url)",  # 7
            "await thing.put(url, data={})",  # 8
            "repo_url(repo, 'pulls', 1)",  # 9
            "url = '/repos/o/r/pulls'",  # 10
            "url = f'/installation/repositories?page={page}'",  # 11
            "url = '/app/installations'",  # 12
            "memo.put(key, value)",  # 13: the event memo's put
            "from gidgethub import BadRequest, sansio, routing",  # 14: fine anywhere
            "path = '/pipeline/{owner}/{repo}'",  # 15: the bot's own route
            "await react(ctx.gh, repo, content='+1')",  # 16
            "jwt = bot.client.app_api",  # 17
            "await ctx.github.pull(repo, 1)",  # 18: the gateway
        ]
    )
    lines = sorted({line for line, _ in violations(source)})
    assert lines == [*range(1, 13), 16, 17]


def test_the_gateway_module_is_where_the_scan_stops() -> None:
    assert (BOT / "github" / "gateway.py").is_file()
    assert all(not path.is_relative_to(BOT / "github") for path in _modules())
