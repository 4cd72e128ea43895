"""The kepctl preset plays the demo of "Enhancing Kubernetes: A Journey Through the KEP
Process" (KubeCon North America 2018) through the real server and the GitHub double: the
dry-run KEP under sig-api-machinery/sig-wide/dry-run is initialised, proposed, accepted,
planned, approved and merged, with its metadata as the talk shows it at every step."""

import datetime
import re

from bot.engine.config import load_preset
from bot.engine.scaffold import scaffold
from bot.engine.tree import MemoryTree
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import ManualClock, app_credentials, new_double

OWNER, NAME = "kubernetes", "enhancements"
REPO = f"{OWNER}/{NAME}"
CREDENTIALS = app_credentials()
CONFIG = load_preset("kepctl")
KEP = "content/sig-api-machinery/sig-wide/dry-run"
METADATA = f"{KEP}/metadata.yaml"
# `kep init` on the eve of the talk.
INIT = datetime.datetime(2018, 12, 9, 1, 37, 52, 328024, tzinfo=datetime.UTC)

# The metadata as the talk shows it after INIT (its uuid is INIT's, fresh each time).
TALK_METADATA = """\
authors:
  - "@jbeda"
title: Dry Run
kep_number: null
reviewers: []
approvers: []
state: draft
superseded_by: []
last_updated: 2018-12-09T01:37:52.328024Z
created: 2018-12-09T01:37:52.328024Z
uuid: UUID
sections:
  - summary.md
  - motivation.md
  - README.md
owning_sig: sig-api-machinery
sig_wide: true
"""

# A KEP the SIG accepted before: it holds number 1 in its metadata alone (no reservation
# ref says so), so the dry-run KEP must get 2.
DEVICE_PLUGINS = "content/sig-node/sig-wide/device-plugins"
DEVICE_PLUGINS_METADATA = """\
authors:
  - "@vishh"
title: Device Plugins
kep_number: 1
approvers:
  - "@dchen1107"
state: implementable
last_updated: 2018-11-20T17:02:11.5Z
created: 2018-10-02T09:12:40.118Z
uuid: 0b6a4c3e-51f2-4f7e-9d4a-3c2e8b7f1a60
sections:
  - summary.md
  - motivation.md
  - guides/developer.md
  - guides/operator.md
  - guides/teacher.md
  - graduation_criteria.md
owning_sig: sig-node
sig_wide: true
"""


def existing_kep() -> dict[str, str]:
    files = {f"{DEVICE_PLUGINS}/metadata.yaml": DEVICE_PLUGINS_METADATA}
    for section in (
        "summary.md",
        "motivation.md",
        "guides/developer.md",
        "guides/operator.md",
        "guides/teacher.md",
        "graduation_criteria.md",
    ):
        files[f"{DEVICE_PLUGINS}/{section}"] = f"# {section}\n\nWritten.\n"
    return files


def seed(clock: ManualClock) -> GitHubDouble:
    double = new_double(CREDENTIALS, clock=clock)
    double.add_org(OWNER)
    double.add_repo(
        OWNER,
        NAME,
        {
            "README.md": "# Enhancements\n",
            ".github/kepbot.yml": "extends: kepctl\n",
            # A SIG approver is a code owner of the SIG's folder.
            ".github/CODEOWNERS": (
                f"/content/sig-api-machinery/ @{OWNER}/sig-api-machinery-leads\n"
                f"/content/sig-node/ @{OWNER}/sig-node-leads\n"
            ),
            **existing_kep(),
        },
    )
    double.add_team_member(OWNER, "sig-api-machinery-leads", "lavalamp")
    double.add_user("jbeda")
    double.add_installation(OWNER)
    return double


def text(box: Harness, path: str, ref: str = "dry-run") -> str:
    return (box.double.file_at(REPO, ref, path) or b"").decode()


def stamp(clock: ManualClock) -> str:
    return clock.utc().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def say(box: Harness, number: int, body: str, user: str) -> None:
    made = box.double.add_comment(REPO, number, body, user)
    await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))
    await box.idle()


def commits_on(box: Harness) -> int:
    return len(box.double.commits(REPO, "dry-run"))


async def test_the_talks_dry_run_kep_goes_from_init_to_merge() -> None:
    clock = ManualClock(INIT.timestamp())
    double = seed(clock)
    async with harness(
        double, CREDENTIALS, client_options={"clock": clock}, clock=clock.utc
    ) as box:
        # INIT: `kepbot new` writes the folder, the metadata and the templates.
        files = scaffold(
            CONFIG,
            MemoryTree(existing_kep()),
            title="Dry Run",
            area="sig-api-machinery",
            author="jbeda",
            today=INIT.date(),
            now=INIT,
        )
        found = re.search(r"^uuid: (\S+)$", files[METADATA], re.M)
        assert found is not None
        uuid = found.group(1)
        metadata = TALK_METADATA.replace("UUID", uuid)
        assert files[METADATA] == metadata
        assert sorted(files) == sorted(
            f"{KEP}/{name}"
            for name in (
                "metadata.yaml",
                "README.md",
                "summary.md",
                "motivation.md",
                "guides/.gitkeep",
                "assets/.gitkeep",
                "experience_reports/.gitkeep",
            )
        )

        # PROPOSE: the author populates the templates and opens the pull request; a new
        # draft needs nobody's decision, so the check passes.
        files[f"{KEP}/summary.md"] += "\nLet clients ask the API server to validate a request.\n"
        files[f"{KEP}/motivation.md"] += "\nClients cannot tell if a request would succeed.\n"
        clock.advance(3600)
        number = double.open_pull_request(REPO, "dry-run", dict(files), "KEP: Dry Run", "", "jbeda")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        proposed = await box.check_run(REPO, double.branch_sha(REPO, "dry-run") or "")
        assert proposed.conclusion == "success", proposed.output
        await box.idle()
        assert {"kind/kep", "kep/draft", "sig/api-machinery"} <= set(double.labels(REPO, number))

        # Planning a draft is refused: PLAN is for a provisional KEP.
        before = commits_on(box)
        await say(box, number, "/kep plan", "jbeda")
        assert commits_on(box) == before
        assert any("does not apply" in c.body for c in double.comments(REPO, number))

        # ACCEPT: a SIG approver; one commit moves the state, updates last_updated and
        # gives the number past every number the metadata holds.
        clock.advance(86400)
        await say(box, number, "/kep accept", "lavalamp")
        assert commits_on(box) == before + 1
        accepted = stamp(clock)
        metadata = (
            metadata.replace("state: draft", "state: provisional")
            .replace("last_updated: 2018-12-09T01:37:52.328024Z", f"last_updated: {accepted}")
            .replace("kep_number: null", "kep_number: 2")
        )
        assert text(box, METADATA) == metadata
        run = await box.check_run(REPO, double.branch_sha(REPO, "dry-run") or "")
        assert run.conclusion == "success", run.output

        # PLAN: the author; one commit adds the sections implementable requires, from the
        # templates, to the folder and to `sections`.
        clock.advance(3600)
        await say(box, number, "/kep plan", "jbeda")
        assert commits_on(box) == before + 2
        planned = stamp(clock)
        added = ["guides/developer.md", "guides/operator.md", "guides/teacher.md"]
        added.append("graduation_criteria.md")
        metadata = metadata.replace(f"last_updated: {accepted}", f"last_updated: {planned}")
        metadata = metadata.replace(
            "  - README.md\n", "  - README.md\n" + "".join(f"  - {name}\n" for name in added)
        )
        assert text(box, METADATA) == metadata
        ((head_sha, head),) = double.commits(REPO, "dry-run")[:1]
        changed = {
            path
            for path in {*double.paths_at(REPO, head_sha), *double.paths_at(REPO, head.parents[0])}
            if double.file_at(REPO, head_sha, path) != double.file_at(REPO, head.parents[0], path)
        }
        assert changed == {METADATA, *(f"{KEP}/{name}" for name in added)}
        for name in added:
            assert text(box, f"{KEP}/{name}") == CONFIG.template.sections[name]
        run = await box.check_run(REPO, head_sha)
        assert run.conclusion == "success", run.output  # provisional needs no guide yet

        # The author writes the guides and the graduation criteria.
        pushed = double.push(
            REPO,
            "dry-run",
            {f"{KEP}/{name}": CONFIG.template.sections[name] + "\nWritten.\n" for name in added},
            "Write the guides",
            "jbeda",
        )
        await box.deliver(pull_request_event(double, REPO, number, "synchronize", before=head_sha))
        run = await box.check_run(REPO, pushed)
        assert run.conclusion == "success", run.output
        await box.idle()

        # APPROVE: a SIG approver; implementable.
        clock.advance(86400)
        await say(box, number, "/kep approve", "lavalamp")
        approved = stamp(clock)
        metadata = metadata.replace("state: provisional", "state: implementable").replace(
            f"last_updated: {planned}", f"last_updated: {approved}"
        )
        assert text(box, METADATA) == metadata
        run = await box.check_run(REPO, double.branch_sha(REPO, "dry-run") or "")
        assert run.conclusion == "success", run.output
        assert "kep/implementable" in double.labels(REPO, number)

        # MERGE: the number was given at acceptance, so the merge gives none.
        merged = double.merge(REPO, number)
        await box.deliver(pull_request_event(double, REPO, number, "closed"))
        await box.idle()
        assert text(box, METADATA, "main") == metadata
        assert double.commits(REPO, "main")[0][0] == merged
