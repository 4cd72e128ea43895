"""Hostile input (docs/design.md I5-I8): forged and replayed deliveries, payloads built to hurt the
parser, YAML bombs and odd file names in a PR, config edits, bots and authors acting on their
own proposals, and user text the bot echoes back. Over real HTTP to the real server; through
the harness (real server, real Bot, the double) where GitHub's state matters.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox.errors import ApiError
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event, sign
from bot.sandbox.testing import app_credentials

from .support import (
    BOT,
    BRANCH,
    GOOD_KEP,
    KEP,
    KEP_DIR,
    OWNER,
    README,
    README_PATH,
    REPO,
    SECRET,
    WAIT,
    bot_comments,
    bot_commits,
    comment,
    live_markup,
    open_pr,
    reactions_by_bot,
    recording_server,
    seed,
    signed,
    text_at,
)

QUICK = 5.0  # seconds: a refusal is meant to take milliseconds; this only catches a hang
PAYLOAD = json.dumps(
    {
        "action": "created",
        "issue": {"number": 1, "pull_request": {}},
        "comment": {"id": 1, "body": "/kep approve", "user": {"login": "carol"}},
        "repository": {"full_name": REPO},
        "installation": {"id": 1},
        "sender": {"login": "carol", "type": "User"},
    }
).encode()

# `open()` calls anywhere in this process whose path names a file a traversal would aim at.
_OPENED_SENSITIVE: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and args and isinstance(args[0], str | bytes):
        name = args[0].decode(errors="replace") if isinstance(args[0], bytes) else args[0]
        if "passwd" in name or "shadow" in name:
            _OPENED_SENSITIVE.append(name)


sys.addaudithook(_audit)


@pytest.fixture
async def box() -> AsyncIterator[Harness]:
    credentials = app_credentials()
    async with harness(seed(credentials), credentials) as running:
        yield running


async def check_of(box: Harness, number: int, branch: str = BRANCH) -> Any:
    """Deliver `opened` for the PR and return its check run once published."""
    assert await box.deliver(pull_request_event(box.double, REPO, number, "opened")) == 202
    run = await box.check_run(REPO, box.double.branch_sha(REPO, branch) or "", count=1)
    await box.idle(WAIT)
    return run


# -- signatures and replays -------------------------------------------------------------


def _forged() -> dict[str, dict[str, str]]:
    good = sign(SECRET, PAYLOAD)
    other = sign(SECRET, PAYLOAD + b" ")
    return {
        "wrong secret": {"X-Hub-Signature-256": sign("guessed-secret", PAYLOAD)},
        "truncated": {"X-Hub-Signature-256": good[:40]},
        "another body's": {"X-Hub-Signature-256": other},
        "empty": {"X-Hub-Signature-256": "sha256="},
        "sha1 only": {"X-Hub-Signature": "sha1=" + "0" * 40},
        "no prefix": {"X-Hub-Signature-256": good.removeprefix("sha256=")},
        "missing": {},
    }


@pytest.mark.parametrize("forgery", list(_forged()))
async def test_forged_signatures_are_refused_before_parsing(forgery: str) -> None:
    async with recording_server() as server:
        headers = signed(PAYLOAD)
        del headers["X-Hub-Signature-256"]
        headers.update(_forged()[forgery])
        status, text, _ = await server.post(PAYLOAD, headers)
        assert status == 401 and json.loads(text)["error"] == "signature"
        # Not parsed: a body that is not even JSON gets the same answer, not a 400.
        status, _, _ = await server.post(b"{not json", headers)
        assert status == 401
        assert server.events == []
        assert await server.healthy()


async def test_a_replayed_delivery_id_is_dropped() -> None:
    async with recording_server() as server:
        headers = signed(PAYLOAD, delivery="replayed-once")
        first, _, _ = await server.post(PAYLOAD, headers)
        again, text, _ = await server.post(PAYLOAD, headers)
        assert (first, again) == (202, 200) and json.loads(text)["duplicate"] is True
        await server.idle()
        assert len(server.events) == 1


async def test_the_same_comment_replayed_under_new_ids_acts_once(box: Harness) -> None:
    """An attacker (or GitHub) replaying a signed delivery with fresh ids: GitHub's state,
    not the delivery id, decides that the command already ran."""
    number = open_pr(box.double)
    made = box.double.add_comment(REPO, number, "/kep approve", "carol")
    event = issue_comment_event(box.double, REPO, made.id, "created")
    statuses = await asyncio.gather(*(box.deliver(event, delivery_id=f"r{i}") for i in range(6)))
    assert set(statuses) == {202}
    await box.idle(WAIT)
    assert "status: implementable" in text_at(box.double)
    assert len(bot_commits(box.double, "→ implementable")) == 1
    assert reactions_by_bot(box.double, made.id).count("eyes") == 1


# -- payloads built to hurt -------------------------------------------------------------


async def test_oversize_bodies_are_refused_early() -> None:
    async with recording_server(kepbot_max_body_bytes=64 * 1024) as server:
        big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until the cap
            for start in range(0, len(big), 64 * 1024):
                yield big[start : start + 64 * 1024]

        status, _, seconds = await server.post(big, signed(big))
        assert status == 413 and seconds < QUICK
        async with server.session.post(
            f"{server.url}/webhook", data=chunks(), headers=signed(big)
        ) as reply:
            assert reply.status == 413
        assert server.events == []
        assert await server.healthy()
        small = json.dumps({"action": "created", "zen": "ok"}).encode()
        assert (await server.post(small, signed(small)))[0] == 202, "still serving"


NESTED = {
    "arrays": b"[" * 100_000 + b"]" * 100_000,
    "objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "inside a payload": b'{"action": "created", "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
}


@pytest.mark.parametrize("shape", list(NESTED))
async def test_deeply_nested_json_without_the_secret_is_refused(shape: str) -> None:
    async with recording_server() as server:
        body = NESTED[shape]
        headers = signed(body)
        headers["X-Hub-Signature-256"] = sign("not-the-secret", body)
        status, _, seconds = await server.post(body, headers)
        assert status == 401 and seconds < QUICK
        assert await server.healthy()


@pytest.mark.parametrize("shape", list(NESTED))
async def test_deeply_nested_signed_json_is_a_400(shape: str) -> None:
    """docs/design.md S1: 400 for a malformed delivery. Python's JSON decoder gives up on deep
    nesting with RecursionError, which must be answered as malformed, not as a 500."""
    async with recording_server() as server:
        body = NESTED[shape]
        status, _, seconds = await server.post(body, signed(body))
        assert seconds < QUICK
        assert await server.healthy()
        assert server.events == []
        assert status == 400, f"answered {status}"


# -- what a pull request can contain ---------------------------------------------------


def _billion_laughs() -> str:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"lol{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _proposal(slug: str, kep: str, readme: str = README) -> dict[str, str | None]:
    folder = KEP_DIR.replace("pod-restart-budget", slug)
    return {f"{folder}/kep.yaml": kep, f"{folder}/README.md": readme}


async def test_yaml_bombs_and_huge_documents_get_clear_findings(box: Harness) -> None:
    megabytes = 5 * 1024 * 1024
    huge_yaml = GOOD_KEP + "notes: |\n" + ("  " + "x" * 98 + "\n") * (megabytes // 101)
    files = {
        **_proposal("laughs", GOOD_KEP + _billion_laughs()),
        **_proposal("bomb-only", _billion_laughs()),
        **_proposal("huge", huge_yaml),
        **_proposal("deep", GOOD_KEP + "x: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        **_proposal("huge-readme", GOOD_KEP, README + ("Words. " * 16 + "\n") * (megabytes // 113)),
    }
    number = open_pr(box.double, files)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.monotonic()
    run = await check_of(box, number)
    assert time.monotonic() - started < 30.0
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown < 300, f"peak memory grew {grown:.0f} MB"
    assert run.conclusion == "failure"
    notes = {(note["path"].split("/")[2], note["message"]) for note in run.annotations}
    said = {folder: [m for f, m in notes if f == folder] for folder, _ in notes}
    assert any("anchors and aliases" in m for m in said["NNNN-laughs"])
    assert any("anchors and aliases" in m for m in said["NNNN-bomb-only"])
    assert any("larger than" in m for m in said["NNNN-huge"])
    deep = [note for note in run.annotations if "/NNNN-deep/" in note["path"]]
    # Refused on the nested line, whichever YAML layer stopped it first.
    where = [(n["path"].rsplit("/", 1)[1], n["start_line"], n["annotation_level"]) for n in deep]
    assert where == [("kep.yaml", GOOD_KEP.count("\n") + 1, "failure")]
    assert "NNNN-huge-readme" in run.output["summary"], "the huge README's proposal is checked"
    assert await box.deliver(pull_request_event(box.double, REPO, number, "edited")) == 202
    await box.idle()  # still up, and the unchanged check is not written again
    assert len(box.double.check_runs(REPO, box.double.branch_sha(REPO, BRANCH) or "")) == 1


ODD_NAMES = {
    "..NNNN-dots..": "dots around the name (a `..` component itself git refuses)",
    "NNNN-%2e%2e%2f%2e%2e%2fetc": "a URL-encoded traversal",
    "NNNN-q?ref=main#frag": "query and fragment characters",
    "NNNN-back\\slash and space": "backslash and spaces",
    "NNNN-ünïcødé-🚀-\u202etxt": "unicode, an emoji and a bidi override",
    "NNNN-new\nline": "a newline",
    "NNNN-" + "l" * 240: "a 245-character folder name",
}


async def test_path_traversal_and_odd_file_names(box: Harness) -> None:
    """GitHub refuses `..` in a tree; what it allows (and metadata naming paths outside the
    repo) is read through the repository's API only: nothing else is requested or opened."""
    with pytest.raises(ApiError):
        box.double.push(REPO, "evil", {"../../etc/passwd": "root:x:0:0\n"}, "traversal", "alice")
    traversal = (
        GOOD_KEP.replace("owning-sig: sig-node", "owning-sig: ../../../../etc")
        .replace('"/keps/sig-node/753-sidecar-containers"', '"../../../../etc/passwd"')
        .replace("kep-number: NNNN", "kep-number: ../../etc/shadow")
    )
    files: dict[str, str | None] = {}
    for folder in ODD_NAMES:
        files[f"keps/sig-node/{folder}/kep.yaml"] = traversal
    number = open_pr(box.double, files)
    start = len(box.double.requests)
    run = await check_of(box, number)
    assert run.conclusion == "failure"
    for folder in ODD_NAMES:
        if "\n" not in folder:
            assert folder in run.output["summary"], f"{ODD_NAMES[folder]}: checked and named"
    made = box.double.requests[start:]
    # The installation's own repositories, and the App's and the installation's endpoints.
    outside = [
        r.path
        for r in made
        if not r.path.startswith((f"/repos/{OWNER}/", "/app", "/installation/"))
    ]
    assert outside == [], "requests outside what the installation covers"
    assert not [r.path for r in made if "/etc/" in r.path and "/contents/" not in r.path]
    assert _OPENED_SENSITIVE == [], "a local file named by the PR was opened"
    messages = " ".join(note["message"] for note in run.annotations)
    assert "../../../../etc/passwd" in messages, "the bad reference is reported"


async def test_file_names_echoed_in_comments_carry_no_mention_or_html(box: Harness) -> None:
    """A PR's folder name is the author's text too: a backtick in it must not end the code
    span the bot puts it in, or the status comment pings people and carries raw HTML."""
    folder = "NNNN-a`@carol <img src=x onerror=alert(1)>`b"
    number = open_pr(box.double, {f"keps/sig-node/{folder}/kep.yaml": GOOD_KEP})
    await check_of(box, number)
    await comment(box, number, "/kep approve", "carol")
    comments = bot_comments(box.double, number)
    assert comments, "the bot commented"
    for item in comments:
        assert live_markup(item.body) == [], item.body


@pytest.mark.parametrize("folder", ["NNNN-two words", "NNNN-café"])
async def test_a_refusal_about_an_odd_named_proposal_is_posted(box: Harness, folder: str) -> None:
    """A refusal reply is keyed by the proposal's path; a path with characters outside the
    marker alphabet (a space, a letter with an accent) must still get its one reply."""
    number = open_pr(box.double, {f"keps/sig-node/{folder}/kep.yaml": GOOD_KEP})
    await check_of(box, number)
    made = await comment(box, number, "/kep approve", "bob")
    await comment(box, number, "/kep approve", "bob")  # a second refusal: still one reply each
    refusals = [c.body for c in bot_comments(box.double, number) if "Not applied" in c.body]
    assert len(refusals) == 2, "one reply per refused command"
    assert "-1" in reactions_by_bot(box.double, made)
    assert all(live_markup(body) == [] for body in refusals)


async def test_a_broken_config_in_the_pr_is_not_used(box: Harness) -> None:
    """docs/design.md I5 with a PR whose `.github/kepbot.yml` is broken YAML (a bomb, even): the
    PR is still checked, and commands still judged, by the default branch's configuration."""
    broken = "extends: kep\nroles: [approver: {users: [mallory]\n" + _billion_laughs()
    files: dict[str, str | None] = {
        KEP: GOOD_KEP,
        README_PATH: README,
        ".github/kepbot.yml": broken,
    }
    number = open_pr(box.double, files)
    run = await check_of(box, number)
    assert run.conclusion == "action_required", run.output
    assert "kepbot.yml" not in json.dumps(run.output)
    await comment(box, number, "/kep approve", "mallory")
    assert "status: provisional" in text_at(box.double)
    await comment(box, number, "/kep approve", "carol")
    assert "status: implementable" in text_at(box.double)


# -- who may speak ----------------------------------------------------------------------


async def test_commands_from_bots_are_ignored(box: Harness) -> None:
    """A bot account, even one holding the approver role, cannot run commands."""
    box.double.state.user("helper[bot]", "Bot")
    box.double.add_team_member(OWNER, "sig-node-leads", "helper[bot]")
    number = open_pr(box.double)
    await check_of(box, number)
    before = len(bot_comments(box.double, number))
    made = await comment(box, number, "/kep approve\n/kep help", "helper[bot]")
    assert "status: provisional" in text_at(box.double)
    assert reactions_by_bot(box.double, made) == []
    assert len(bot_comments(box.double, number)) == before, "no reply to a bot"


async def test_an_author_cannot_approve_their_own_proposal(box: Harness) -> None:
    """Self-approval is off in the kep preset: an approver who wrote the PR is refused,
    whether the command is in the PR's body or in a comment."""
    box.double.add_team_member(OWNER, "sig-node-leads", "alice")
    number = open_pr(box.double, body="Ready.\n/kep approve")
    await check_of(box, number)
    await comment(box, number, "/kep approve", "alice")
    assert "status: provisional" in text_at(box.double)
    assert bot_commits(box.double, "→") == []
    refusals = [c.body for c in bot_comments(box.double, number) if "self-approval" in c.body]
    assert len(refusals) == 2, "one reply for the body's command, one for the comment's"


HOSTILE_TEXT = [
    "/kep @everyone <script>alert(1)</script>",
    "/kep aprove @kubernetes-demo/sig-node-leads [click](javascript:alert(1)) <img src=x> #1",
    "/kep <!-- kepbot:status --> `@carol` ``@carol``",
    "/kep approv\u202e@carol ![x](https://evil.example/x.png) | --- |",
    "/kep replace @carol <b>x</b>",
    "/kep withdraw @carol\n/kep <details open><summary>@dave</summary>",
]


async def test_user_text_echoed_by_the_bot_is_inert(box: Harness) -> None:
    """Replies quote the command and name the verb; neither may mention anyone, carry HTML
    or form a link, whoever writes it (bob has no role; carol is an approver)."""
    number = open_pr(box.double)
    await check_of(box, number)
    for index, text in enumerate(HOSTILE_TEXT):
        await comment(box, number, text, "carol" if index in (0, 2) else "bob")
    replies = bot_comments(box.double, number)
    assert len(replies) >= len(HOSTILE_TEXT), "every command was answered"
    for item in replies:
        assert live_markup(item.body) == [], item.body
        assert "<script" not in item.body.lower()
        assert item.user == BOT
    quoted = " ".join(item.body for item in replies)
    assert "&lt;script&gt;" in quoted, "the text is shown, escaped"
    assert "status: provisional" in text_at(box.double)
