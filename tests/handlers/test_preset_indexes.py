"""Every process index (docs/design.md B7), per preset, through the real server and the double.

Of the five processes only KEP-1 as first written keeps an index in the repository ("There
should be basic CI to ensure that an `index.md` remains up to date", under `keps/`): the
`kep-2017` preset configures `keps/index.md`. kubernetes/enhancements keeps no list of KEPs,
Gateway API's and Agentic Networking's sites list proposals from their files, and kplane's
README lists none; those presets configure no index.

Each test merges a new proposal pull request and checks the bot's commit on the default
branch: the index it writes is what `kepbot index` writes for the same tree.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot import cli
from bot.engine.config import PRESET_NAMES, load_config, load_preset
from bot.engine.index import HEADER, index_for
from bot.engine.proposal import load_all
from bot.engine.tree import LocalTree, MemoryTree
from bot.engine.validate import validate_tree
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import app_credentials, new_double

OWNER, NAME = "acme", "proposals"
REPO = f"{OWNER}/{NAME}"
INDEX = "keps/index.md"
CREDENTIALS = app_credentials()
MERGE_MESSAGE = "Assign proposal numbers and refresh the index after #"


def sections(*names: str) -> str:
    return "".join(f"## {name}\n\nText.\n\n" for name in names)


def kep_2017(number: str, title: str, status: str, sig: str = "sig-cli") -> str:
    """A proposal as KEP-1's template writes one."""
    return (
        f'---\nkep-number: {number}\ntitle: {title}\nauthors:\n  - "@alice"\n'
        f"owning-sig: {sig}\nstatus: {status}\ncreation-date: 2026-11-01\n"
        f"last-updated: 2026-11-01\n---\n\n# {title}\n\n"
        + sections(
            "Summary", "Motivation", "Proposal", "Graduation Criteria", "Implementation History"
        )
    )


# Two proposals already merged (one numbered, one still a draft), and the new one.
EXISTING = {
    "keps/sig-architecture/0001-kep-process.md": kep_2017(
        "1", "Kubernetes Enhancement Proposal Process", "Approved", "sig-architecture"
    ),
    "keps/sig-node/draft-20261015-sidecars.md": kep_2017(
        "draft-20261015", "Sidecar containers", "Draft", "sig-node"
    ),
}
NEW = "keps/sig-cli/draft-20261101-budget.md"
NEW_TEXT = kep_2017("draft-20261101", "Pod restart budget", "Draft")


def seed(config: str, files: dict[str, str]) -> GitHubDouble:
    double = new_double(CREDENTIALS)
    double.add_org(OWNER)
    double.add_repo(
        OWNER,
        NAME,
        {"README.md": "proposals\n", ".github/kepbot.yml": config, **files},
    )
    double.add_team_member(OWNER, "leads", "carol")
    double.add_installation(OWNER)
    return double


def files_at(double: GitHubDouble, ref: str = "main") -> dict[str, str]:
    objects = double.state.objects
    sha = double.branch_sha(REPO, ref)
    assert sha is not None
    flat = objects.flatten(objects.commits[sha].tree)
    return {path: objects.blobs[blob].decode() for path, (_, blob) in flat.items()}


def kepbot_index(files: dict[str, str], tmp_path: Path) -> str:
    """What `kepbot index` writes for `files` checked out (without the index)."""
    for path, text in files.items():
        if path != INDEX:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text, encoding="utf-8")
    assert cli.main(["index", str(tmp_path)]) == 0
    return (tmp_path / INDEX).read_text(encoding="utf-8")


async def merge_and_index(box: Harness, number: int) -> dict[str, str]:
    """Merge PR `number`, deliver it, and return the default branch after the bot's commit."""
    double = box.double
    merged = double.merge(REPO, number)
    await box.deliver(pull_request_event(double, REPO, number, "closed"))
    head = await box.until(
        lambda: next((sha for sha, c in double.commits(REPO, "main")[:1] if sha != merged), None)
    )
    await box.idle()
    commit = double.state.objects.commits[head]
    assert commit.message.startswith(f"{MERGE_MESSAGE}{number}")
    assert commit.parents == (merged,)
    return files_at(double)


async def say(box: Harness, number: int, body: str, user: str) -> None:
    made = box.double.add_comment(REPO, number, body, user)
    await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))
    await box.idle()


# -- which presets keep an index -------------------------------------------------------------


def test_only_the_process_that_keeps_an_index_configures_one() -> None:
    indexes = {name: load_preset(name).index for name in PRESET_NAMES}
    assert {name: index.path for name, index in indexes.items()} == {
        "kep": None,
        "kep-2017": INDEX,
        "gep": None,
        "agentic": None,
        "kpep": None,
        "kepctl": None,
    }
    assert indexes["kep-2017"].check  # KEP-1: "basic CI to ensure ... up to date"


def test_the_kep_2017_index_is_no_proposal_and_validate_fails_when_it_is_stale() -> None:
    config = load_preset("kep-2017")
    files = {**EXISTING, NEW: NEW_TEXT}
    text = index_for(config, MemoryTree(files))
    assert [p.path for p in load_all(config, MemoryTree({**files, INDEX: text}))] == sorted(files)
    assert validate_tree(config, MemoryTree({**files, INDEX: text})).findings == []
    stale = {**files, INDEX: index_for(config, MemoryTree(EXISTING))}
    (finding,) = validate_tree(config, MemoryTree(stale)).findings
    assert (finding.rule, finding.severity, finding.path) == ("index.stale", "error", INDEX)


# -- kep-2017 end to end ---------------------------------------------------------------------


async def test_a_merged_draft_gets_its_row_in_the_index_kepbot_index_writes(
    tmp_path: Path,
) -> None:
    async with harness(seed("extends: kep-2017\n", EXISTING), CREDENTIALS) as box:
        double = box.double
        number = double.open_pull_request(REPO, "p", {NEW: NEW_TEXT}, "Budget", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        opened = await box.check_run(REPO, double.branch_sha(REPO, "p") or "")
        assert opened.conclusion == "success", opened.output  # a new Draft merges freely
        await box.idle()
        files = await merge_and_index(box, number)
    written = files[INDEX]
    assert written.startswith(HEADER)
    assert "[Pod restart budget](sig-cli/draft-20261101-budget.md)" in written
    assert "## Draft (2)" in written and "## Approved (1)" in written
    assert written == kepbot_index(files, tmp_path)


async def test_an_editor_approves_numbers_and_the_merge_indexes_the_number(
    tmp_path: Path,
) -> None:
    config = "extends: kep-2017\nroles:\n  editor:\n    users: [eddie]\n"
    async with harness(seed(config, EXISTING), CREDENTIALS) as box:
        double = box.double
        number = double.open_pull_request(REPO, "p", {NEW: NEW_TEXT}, "Budget", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        await say(box, number, "/kep approve", "mallory")
        assert double.file_at(REPO, "p", NEW) is not None, "someone else changes nothing"
        await say(box, number, "/kep approve", "eddie")
        numbered = "keps/sig-cli/0002-budget.md"
        approved = (double.file_at(REPO, "p", numbered) or b"").decode()
        assert "kep-number: 2\n" in approved and "status: Approved\n" in approved
        assert double.file_at(REPO, "p", NEW) is None
        # The approve's one commit on the branch (`numbering.when: accept`) refreshes the index.
        (_, commit), *_ = double.commits(REPO, "p")
        assert commit.message.startswith(f"KEP: {NEW} → Approved")
        assert INDEX in files_at(double, "p")
        merged = double.merge(REPO, number)
        await box.deliver(pull_request_event(double, REPO, number, "closed"))
        await box.idle()
        assert double.commits(REPO, "main")[0][0] == merged  # the index is current already
        files = files_at(double)
    written = files[INDEX]
    assert "| 2 | [Pod restart budget](sig-cli/0002-budget.md) | sig-cli | @alice |" in written
    assert "## Approved (2)" in written
    assert written == kepbot_index(files, tmp_path)


async def test_a_kep_2017_approve_is_one_commit_with_the_status_and_the_number() -> None:
    config = "extends: kep-2017\nroles:\n  editor:\n    users: [eddie]\n"
    async with harness(seed(config, EXISTING), CREDENTIALS) as box:
        double = box.double
        number = double.open_pull_request(REPO, "p", {NEW: NEW_TEXT}, "Budget", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        before = files_at(double, "p")
        head = double.branch_sha(REPO, "p")

        await say(box, number, "/kep approve", "eddie")
        (sha, commit), (parent, _), *_ = double.commits(REPO, "p")
        assert parent == head, "one verb, one commit"
        assert commit.message.startswith(f"KEP: {NEW} → Approved\n")
        after = files_at(double, "p")
        numbered = after["keps/sig-cli/0002-budget.md"]
        assert NEW not in after and "keps/sig-cli/0002-budget.md" not in before
        assert "status: Approved\n" in numbered and "kep-number: 2\n" in numbered
        assert "status: Draft\n" in before[NEW] and "kep-number: draft-20261101\n" in before[NEW]
        run = await box.check_run(REPO, sha)
        assert run.conclusion == "success", run.output


async def test_an_undo_after_the_numbering_approve_leaves_one_proposal() -> None:
    config = "extends: kep-2017\nroles:\n  editor:\n    users: [eddie]\n"
    async with harness(seed(config, EXISTING), CREDENTIALS) as box:
        double = box.double
        number = double.open_pull_request(REPO, "p", {NEW: NEW_TEXT}, "Budget", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        await say(box, number, "/kep approve\n/kep undo", "eddie")
        after = files_at(double, "p")
        assert NEW not in after, "the draft is not put back beside its numbered file"
        assert "status: Approved\n" in after["keps/sig-cli/0002-budget.md"]
        replies = [c.body for c in double.comments(REPO, number) if "Not reverted" in c.body]
        assert len(replies) == 1 and "its number and renamed it" in replies[0]


# -- kep-2017 with real proposals (--shared) -------------------------------------------------

STATUSES = {
    "provisional": "Draft",
    "implementable": "Approved",
    "implemented": "Final",
    "deferred": "Deferred",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "replaced": "Replaced",
}
KEYS = ("title", "authors", "owning-sig", "reviewers", "approvers", "creation-date")


def as_kep_2017(kep_yaml: Path, number: str, status: str | None = None) -> str:
    """A real KEP's metadata as KEP-1 as first written has it, in front matter."""
    data = yaml.safe_load(kep_yaml.read_text(encoding="utf-8"))
    kept = {"kep-number": number, **{k: data[k] for k in KEYS if data.get(k)}}
    kept["status"] = status or STATUSES[str(data["status"])]
    title = str(data["title"])
    front = yaml.safe_dump(kept, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n# {title}\n\n" + sections("Summary", "Motivation")


async def test_real_keps_and_a_real_new_draft_are_indexed_as_kepbot_index_does(
    corpus_root: Path, tmp_path: Path
) -> None:
    count = 12  # real KEPs already merged, in path order; the next one is the new draft
    keps = sorted((corpus_root / "kubernetes-enhancements" / "keps").glob("sig-*/*/kep.yaml"))
    real = [p for p in keps if p.parent.name.split("-", 1)[0].isdigit()]
    chosen, new = real[:count], real[count]
    existing: dict[str, str] = {}
    for path in chosen:
        kep_number, slug = path.parent.name.split("-", 1)
        sig = path.parent.parent.name
        existing[f"keps/{sig}/{int(kep_number):04d}-{slug}.md"] = as_kep_2017(path, kep_number)
    slug, sig = new.parent.name.split("-", 1)[1], new.parent.parent.name
    draft = f"keps/{sig}/draft-20261101-{slug}.md"
    draft_text = as_kep_2017(new, "draft-20261101", "Draft")
    async with harness(seed("extends: kep-2017\n", existing), CREDENTIALS) as box:
        double = box.double
        number = double.open_pull_request(REPO, "p", {draft: draft_text}, "New", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        files = await merge_and_index(box, number)
    written = files[INDEX]
    config = load_config("extends: kep-2017\n")
    assert len(load_all(config, MemoryTree(files))) == count + 1
    assert f"{count + 1} proposals." in written
    title = yaml.safe_load(new.read_text(encoding="utf-8"))["title"]
    assert f"[{title}]({draft.removeprefix('keps/')})" in written
    assert written == kepbot_index(files, tmp_path)
    assert written == index_for(config, LocalTree(tmp_path))


async def test_the_editor_a_merged_draft_names_may_approve_it() -> None:
    """KEP-1's editor gives the number: one named in the draft's `editor` field on the
    default branch (no configured editors) may approve it; others may not."""
    path = "keps/sig-node/draft-20261015-sidecars.md"
    draft = EXISTING[path].replace(
        "owning-sig: sig-node\n", 'owning-sig: sig-node\neditor: "@eddie"\n'
    )
    async with harness(seed("extends: kep-2017\n", {**EXISTING, path: draft}), CREDENTIALS) as box:
        double = box.double
        edited = draft.replace("## Summary\n\nText.", "## Summary\n\nSidecars, explained.")
        number = double.open_pull_request(REPO, "p", {path: edited}, "Sidecars", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        await say(box, number, "/kep approve", "mallory")
        assert double.file_at(REPO, "p", path) is not None, "mallory is no editor"
        await say(box, number, "/kep approve", "eddie")
        numbered = (double.file_at(REPO, "p", "keps/sig-node/0002-sidecars.md") or b"").decode()
    assert "kep-number: 2\n" in numbered and "status: Approved\n" in numbered
