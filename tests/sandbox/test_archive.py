"""Repository archives as GitHub serves them: a 302 from the API to the download host, a
gzipped tar of the commit under one top folder, a five-minute token for a private
repository, a 404 for an empty one, and no rate limit spent on the download."""

from __future__ import annotations

import gzip
import io
import tarfile

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.gitstore import object_sha
from bot.sandbox.testing import (
    SEED_FILES,
    SEED_KEP,
    AppCredentials,
    ManualClock,
    Sandbox,
    new_double,
)


async def _redirect(sandbox: Sandbox, token: str, path: str) -> str:
    headers = {"Authorization": f"token {token}"}
    url = f"{sandbox.base_url}{path}"
    async with sandbox.session.get(url, headers=headers, allow_redirects=False) as answer:
        assert answer.status == 302, await answer.text()
        return answer.headers["Location"]


async def _download(sandbox: Sandbox, location: str) -> tuple[int, bytes]:
    async with sandbox.session.get(location) as answer:
        return answer.status, await answer.read()


def _members(body: bytes) -> tuple[dict[str, bytes], str]:
    """The archive's files by path (top folder dropped), and the pax header's comment."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        for member in tar:
            if member.isreg():
                handle = tar.extractfile(member)
                assert handle is not None
                files[member.name] = handle.read()
        comment = tar.pax_headers.get("comment", "")
    return files, comment


async def test_a_tarball_redirects_to_the_commit_under_one_top_folder(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    token = await sandbox.installation_token(installation)
    head = double.branch_sha(repo, "main") or ""
    location = await _redirect(sandbox, token, f"/repos/{repo}/tarball/main")
    assert location.startswith(f"{sandbox.base_url}/_codeload/{repo}/legacy.tar.gz/{head}")
    assert "token=" not in location, "a public repository's address needs no token"
    status, body = await _download(sandbox, location)
    assert status == 200 and body[:2] == b"\x1f\x8b"  # gzip
    files, comment = _members(body)
    top = f"octo-enhancements-{head[:7]}/"
    assert comment == head
    assert files == {top + path: text.encode() for path, text in SEED_FILES.items()}
    default = await _redirect(sandbox, token, f"/repos/{repo}/tarball")
    assert default == location, "no ref: the default branch"
    _, again = await _download(sandbox, location)
    assert gzip.decompress(again) == gzip.decompress(body), "the same commit, the same archive"


async def test_the_download_costs_no_rate_limit(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    token = await sandbox.installation_token(installation)
    gh = sandbox.client(token)
    before = (await gh.getitem("/rate_limit"))["resources"]["core"]["remaining"]
    location = await _redirect(sandbox, token, f"/repos/{repo}/tarball/main")
    assert (await _download(sandbox, location))[0] == 200
    after = (await gh.getitem("/rate_limit"))["resources"]["core"]["remaining"]
    assert before - after == 1, "the API's redirect counts, the download does not"
    assert double.requests[-2].path.startswith("/_codeload/")


async def test_a_private_archive_needs_its_token_for_five_minutes(
    credentials: AppCredentials,
) -> None:
    clock = ManualClock()
    double = new_double(credentials, clock=clock)
    repo = double.add_repo("octo", "secret", {"a.md": "a\n"}, private=True)
    installation = double.add_installation("octo")
    async with testing.sandbox(double, credentials=credentials) as running:
        token = await running.installation_token(installation)
        location = await _redirect(running, token, f"/repos/{repo}/tarball/main")
        assert "?token=" in location
        bare = location.split("?", 1)[0]
        assert (await _download(running, bare))[0] == 404
        assert (await _download(running, location + "x"))[0] == 404
        clock.advance(299)
        status, body = await _download(running, location)
        assert status == 200 and list(_members(body)[0].values()) == [b"a\n"]
        clock.advance(2)
        assert (await _download(running, location))[0] == 404, "expired after five minutes"


async def test_an_empty_repository_redirects_to_a_404(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    empty = double.add_repo("octo", "empty", {})
    double.state.repo(empty).refs.clear()
    token = await sandbox.installation_token(installation)
    location = await _redirect(sandbox, token, f"/repos/{empty}/tarball")
    assert (await _download(sandbox, location))[0] == 404


async def test_files_in_the_archive_are_the_blobs_the_tree_names(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    double.push(repo, "main", {"bin/run.sh": "#!/bin/sh\n"}, "script")
    token = await sandbox.installation_token(installation)
    tree = await sandbox.client(token).getitem(f"/repos/{repo}/git/trees/main?recursive=1")
    shas = {entry["path"]: entry["sha"] for entry in tree["tree"] if entry["type"] == "blob"}
    location = await _redirect(sandbox, token, f"/repos/{repo}/tarball/main")
    files, _ = _members((await _download(sandbox, location))[1])
    found = {name.split("/", 1)[1]: object_sha("blob", data) for name, data in files.items()}
    assert found == shas
    assert found[SEED_KEP] == object_sha("blob", SEED_FILES[SEED_KEP].encode())
