"""The one place REST URLs are built (`bot.github.urls`): names validated, the rest escaped.

These check the rules on their own; tests/proof/test_boundaries.py checks them through the
server and the double (no request for a bad page path, a team slug that stays in its
segment).
"""

from __future__ import annotations

import pytest
from yarl import URL

from bot.github.urls import (
    Path,
    UnsafeUrl,
    api_url,
    profile_url,
    repo_url,
    valid_owner,
    valid_repo,
    web_root,
    web_url,
)


@pytest.mark.parametrize(
    "owner",
    ["a", "kubernetes", "kubernetes-sigs", "A1-b2", "o" * 39, "old--name", "old-", "mona_acme"],
)
def test_logins_github_allows(owner: str) -> None:
    assert valid_owner(owner)


@pytest.mark.parametrize(
    "owner",
    ["", "-lead", "o" * 40, "a_", "_a", "a__b", "a_b_c", "a.b", "a/b", "..", "ü", "a b", "a%2Fb"],
)
def test_logins_github_refuses(owner: str) -> None:
    assert not valid_owner(owner)


@pytest.mark.parametrize(
    "name", ["enhancements", ".github", "a.b", "a_b", "a-b", "...", ".x", "r" * 100, "-x"]
)
def test_repository_names_github_allows(name: str) -> None:
    assert valid_repo(f"kubernetes/{name}")


@pytest.mark.parametrize(
    "full_name",
    [
        "kubernetes",
        "kubernetes/",
        "kubernetes/.",
        "kubernetes/..",
        "kubernetes/a/b",
        "kubernetes/a?b",
        "kubernetes/a#b",
        "kubernetes/a b",
        "kubernetes/a%2Fb",
        "kubernetes/" + "r" * 101,
        "/enhancements",
        "-k/enhancements",
    ],
)
def test_repository_names_github_refuses_make_no_url(full_name: str) -> None:
    assert not valid_repo(full_name)
    with pytest.raises(UnsafeUrl):
        repo_url(full_name, "pulls", 1)


def test_each_value_is_one_escaped_segment() -> None:
    assert repo_url("o/r", "labels", "kep/linked") == "/repos/o/r/labels/kep%2Flinked"
    assert repo_url("o/r", "labels", "a?b#c d%e{f}") == "/repos/o/r/labels/a%3Fb%23c%20d%25e%7Bf%7D"
    assert api_url("orgs", "o", "teams", "../../app", "memberships", "bob") == (
        "/orgs/o/teams/..%2F..%2Fapp/memberships/bob"
    )


def test_paths_keep_their_slashes_and_refuse_dot_segments() -> None:
    assert repo_url("o/r", "contents", Path("/keps/a b/kep.yaml")) == (
        "/repos/o/r/contents/keps/a%20b/kep.yaml"
    )
    assert repo_url("o/r", "git", "ref", "heads", Path("feature/x")) == (
        "/repos/o/r/git/ref/heads/feature/x"
    )
    for bad in ("../x", "a/./b", "a//b", "a/..", ".", ""):
        with pytest.raises(UnsafeUrl):
            repo_url("o/r", "contents", Path(bad))
    for bad in (".", "..", ""):
        with pytest.raises(UnsafeUrl):
            repo_url("o/r", "labels", bad)


def test_numbers_are_non_negative_integers() -> None:
    assert repo_url("o/r", "issues", 0, "comments") == "/repos/o/r/issues/0/comments"
    for bad in (-1, True):
        with pytest.raises(UnsafeUrl):
            repo_url("o/r", "issues", bad)


def test_query_values_are_escaped() -> None:
    url = repo_url("o/r", "commits", query={"path": "a b&c=d/e", "sha": "x#y", "per_page": 30})
    assert url == "/repos/o/r/commits?path=a%20b%26c%3Dd%2Fe&sha=x%23y&per_page=30"
    assert dict(URL(url).query) == {"path": "a b&c=d/e", "sha": "x#y", "per_page": "30"}


@pytest.mark.parametrize("value", ["..", "%2E%2E", "a/../..", "a%2F..%2F..", "?x=1", "#x"])
def test_no_value_changes_where_a_url_library_sends_the_request(value: str) -> None:
    """yarl (under aiohttp) resolves dot segments, `%2E%2E` included: what reaches GitHub
    is the URL as built, or nothing."""
    try:
        url = repo_url("o/r", "labels", value)
    except UnsafeUrl:
        return
    sent = URL("https://api.github.com" + url)
    assert sent.path == f"/repos/o/r/labels/{value}" and sent.query_string == ""
    assert sent.raw_path.startswith("/repos/o/r/labels/") and sent.raw_path.count("/") == 5


def test_web_links_are_built_from_checked_names_and_escaped_parts() -> None:
    root = "https://github.com"
    assert web_url(root, "kubernetes/enhancements", "blob", Path("main"), Path("keps/a b/kep.yaml"),
                   fragment="L6") == (
        "https://github.com/kubernetes/enhancements/blob/main/keps/a%20b/kep.yaml#L6"
    )  # fmt: skip
    assert web_url(root, "o/r", "blob", Path("feature/x?y"), Path("a#b")) == (
        "https://github.com/o/r/blob/feature/x%3Fy/a%23b"
    )
    assert web_url(root, "o/r", "issues", 12) == "https://github.com/o/r/issues/12"
    for repo in ("o/r/../../evil", "evil.com/x", "o/..", "//evil.com/x", "o"):
        assert web_url(root, repo, "pull", 1) is None
    assert web_url(root, "o/r", "blob", Path("main"), Path("../../x")) is None
    assert web_url(root, "o/r", "issues", -1) is None


def test_profiles_only_for_logins_github_allows() -> None:
    root = "https://github.example.com/"
    assert profile_url(root, "@alice") == "https://github.example.com/alice"
    assert profile_url(root, " bob ") == "https://github.example.com/bob"
    for login in ("@x><img src=y>", "@a/b", "@", "@-lead", "evil.com", "@" + "o" * 40):
        assert profile_url(root, login) is None


def test_the_web_root_is_taken_from_githubs_html_url() -> None:
    assert web_root("https://github.com/o/r", "o/r") == "https://github.com"
    assert web_root("https://ghe.example.com/O/R/", "o/r") == "https://ghe.example.com"
    assert web_root("", "o/r") == "https://github.com"
    assert web_root("javascript:alert(1)//o/r", "o/r") == "https://github.com"
