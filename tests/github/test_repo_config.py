"""Where the configuration comes from (the default branch, the owner's .github repository,
the preset), how a wrong one is reported, and that a pull request cannot change it."""

from __future__ import annotations

import logging

import pytest

from bot.engine.config import CONFIG_PATH
from bot.github.client import KepbotAPI
from bot.github.repo_config import ConfigCache, load_repo_config
from bot.sandbox import GitHubDouble
from bot.sandbox.testing import ManualClock

from .conftest import requests

BAD_CONFIG = "# our process\nextends: kep\ncommand: kep\nnumbering:\n  source: sometimes\n"


async def test_config_from_the_repository_default_branch(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "main", {CONFIG_PATH: "extends: gep\ncommand: gep\n"})
    result = await load_repo_config(gh, repo, "main")
    assert result.ok and result.source == "repo" and result.repository == repo
    assert result.config is not None and result.config.preset == "gep"
    assert result.config.command == "gep"


async def test_config_from_the_owners_github_repository(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    shared = double.add_repo(
        "octo", ".github", {CONFIG_PATH: "extends: kpep\n"}, default_branch="trunk"
    )
    result = await load_repo_config(gh, repo, "main")
    assert result.source == "owner" and result.repository == shared
    assert result.config is not None and result.config.preset == "kpep"
    assert requests(double, "GET", f"/repos/{shared}/contents/")[-1].query == {"ref": "trunk"}


async def test_config_falls_back_to_the_kep_preset(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_repo("octo", ".github", {"profile/README.md": "hello\n"})
    result = await load_repo_config(gh, repo, "main")
    assert result.source == "preset" and result.repository is None
    assert result.config is not None and result.config.preset == "kep"
    assert result.error is None


async def test_invalid_config_is_an_error_with_its_line_not_an_exception(
    gh: KepbotAPI, double: GitHubDouble, repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    double.push(repo, "main", {CONFIG_PATH: BAD_CONFIG})
    with caplog.at_level(logging.WARNING, logger="bot.github.repo_config"):
        result = await load_repo_config(gh, repo, "main")
    assert not result.ok and result.config is None and result.source == "repo"
    assert result.error is not None
    assert result.error.path == CONFIG_PATH
    assert [line for line, _ in result.error.problems] == [5]
    assert "numbering.source" in result.error.problems[0][1]
    assert f"{CONFIG_PATH}:5: numbering.source" in caplog.text


async def test_invalid_owner_config_is_an_error_not_a_silent_preset(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_repo("octo", ".github", {CONFIG_PATH: "extends: [\n"})
    result = await load_repo_config(gh, repo, "main")
    assert result.source == "owner" and result.config is None
    assert result.error is not None and "not valid YAML" in result.error.render()


async def test_a_pull_request_cannot_change_the_config(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "main", {CONFIG_PATH: "extends: kep\ncommand: kep\n"})
    double.open_pull_request(
        repo, "grab-power", {CONFIG_PATH: "extends: gep\ncommand: mine\n"}, "Tweak config"
    )
    result = await load_repo_config(gh, repo, "main")
    assert result.config is not None and result.config.command == "kep"
    reads = requests(double, "GET", f"/contents/{CONFIG_PATH}")
    assert [r.query for r in reads] == [{"ref": "main"}]


async def test_config_is_cached_then_revalidated_with_304s(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    ttl_clock = ManualClock(start=0.0)
    cache = ConfigCache(ttl=60, clock=ttl_clock)
    double.push(repo, "main", {CONFIG_PATH: "extends: gep\n"})
    first = await load_repo_config(gh, repo, "main", cache=cache)
    count = len(double.requests)
    assert await load_repo_config(gh, repo, "main", cache=cache) is first
    assert len(double.requests) == count  # within the TTL: no request at all
    identity = f"installation:{gh.installation_id}"
    remaining = double.rate_limit_remaining(identity)
    ttl_clock.advance(61)
    again = await load_repo_config(gh, repo, "main", cache=cache)
    assert again.config == first.config
    assert [r.status for r in double.requests[count:]] == [304]
    assert double.rate_limit_remaining(identity) == remaining
    double.push(repo, "main", {CONFIG_PATH: "extends: kpep\n"})
    ttl_clock.advance(61)
    changed = await load_repo_config(gh, repo, "main", cache=cache)
    assert changed.config is not None and changed.config.preset == "kpep"
