"""Through the server and the GitHub double: a GEP pull request that links another GEP one
way only fails its check on the GEP that lacks the back-link, which the bot reads although
the pull request does not touch it; the bot offers the back-link once (docs/design.md B3)."""

from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.model import CheckRun
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.testing import app_credentials, new_double

OWNER, NAME = "acme", "gateway"
REPO = f"{OWNER}/{NAME}"
CREDENTIALS = app_credentials()
HEAD = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n"


def metadata(number: int, name: str, relationships: str = "relationships: {}\n") -> str:
    return f"{HEAD}number: {number}\nname: {name}\nstatus: Standard\n{relationships}"


def seed() -> GitHubDouble:
    double = new_double(CREDENTIALS)
    double.add_org(OWNER)
    double.add_repo(
        OWNER,
        NAME,
        {
            ".github/kepbot.yml": "extends: gep\n",
            "geps/gep-100/metadata.yaml": metadata(100, "Child"),
            "geps/gep-200/metadata.yaml": metadata(200, "Parent"),
        },
    )
    double.add_installation(OWNER)
    return double


async def open_from_fork(box: Harness, files: dict[str, str | None], title: str) -> int:
    """A pull request from alice's fork, which the bot may not push to, opened and checked."""
    number = box.double.open_pull_request(
        REPO, "p", files, title, author="alice", fork_owner="alice", maintainer_can_modify=False
    )
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    await box.idle()
    return number


async def test_a_one_way_link_fails_the_check_on_the_gep_without_the_back_link() -> None:
    linked = metadata(100, "Child", "relationships:\n  extends:\n    - number: 200\n")
    async with harness(seed(), CREDENTIALS) as box:
        double = box.double
        # From a fork the bot cannot push to: the back-link is offered, not written.
        await open_from_fork(box, {"geps/gep-100/metadata.yaml": linked}, "Extend GEP-200")
        run = await box.check_run(REPO, double.branch_sha("alice/gateway", "p") or "")
        assert run.conclusion == "failure", run.output
        notes = [(a["path"], a["title"], a["annotation_level"]) for a in run.annotations]
        assert ("geps/gep-200/metadata.yaml", "references.backlink", "failure") in notes


# -- the back-link offered (docs/design.md B3) ------------------------------------------------
#
# gateway-api at the corpus commit: gep-1294 (xRoutes Mesh Binding) `extends` gep-1324, and
# gep-1324 lists under `extendedBy` two other GEPs but not gep-1294. Both files are inlined
# as they are there; the base branch holds gep-1294 before its relationship was written.

GEP_1294 = """\
apiVersion: internal.gateway.networking.k8s.io/v1alpha1
kind: GEPDetails
number: 1294
name: xRoutes Mesh Binding
status: Standard
authors:
  - mikemorris
  - howardjohn
  - keithmattix
relationships:
  extends:
    - number: 1324
      name: Service Mesh in Gateway API
      description: Adds initial Service binding proposal
changelog:
  - "https://github.com/kubernetes-sigs/gateway-api/pull/2688"
"""
GEP_1294_BEFORE = GEP_1294.replace(
    "relationships:\n  extends:\n    - number: 1324\n      name: Service Mesh in Gateway API\n"
    "      description: Adds initial Service binding proposal\n",
    "relationships: {}\n",
)
GEP_1324 = """\
apiVersion: internal.gateway.networking.k8s.io/v1alpha1
kind: GEPDetails
number: 1324
name: Service Mesh in Gateway API
status: Memorandum
authors:
  - keithmattix
  - markmc
  - kflynn
relationships:
  extendedBy:
    - number: 1426
      name: xRoutes Mesh Binding
      description: Adds initial Service binding proposal
    - number: 1686
      name: Mesh conformance testing plan
      description: Adds initial Mesh conformance testing plan
"""
P1294, P1324 = "geps/gep-1294/metadata.yaml", "geps/gep-1324/metadata.yaml"
BACK_LINK = "    - number: 1294\n      name: xRoutes Mesh Binding\n"


def seed_real() -> GitHubDouble:
    double = new_double(CREDENTIALS)
    double.add_org(OWNER)
    files = {".github/kepbot.yml": "extends: gep\n", P1294: GEP_1294_BEFORE, P1324: GEP_1324}
    double.add_repo(OWNER, NAME, files)
    double.add_installation(OWNER)
    return double


def text_at(double: GitHubDouble, repo: str, ref: str, path: str) -> str:
    return (double.file_at(repo, ref, path) or b"").decode()


def back_link_comments(double: GitHubDouble, number: int) -> list[str]:
    return [
        c.body
        for c in double.comments(REPO, number)
        if c.user == double.bot_login and "<!-- kepbot:backlink/" in c.body
    ]


def notes_of(run: CheckRun) -> list[tuple[str, str]]:
    return [(a["path"], a["title"]) for a in run.annotations]


async def test_the_missing_back_link_is_committed_once_to_a_branch_of_the_repository() -> None:
    async with harness(seed_real(), CREDENTIALS) as box:
        double = box.double
        files: dict[str, str | None] = {P1294: GEP_1294}
        number = double.open_pull_request(
            REPO, "p", files, "GEP-1294 extends GEP-1324", author="alice"
        )
        pushed = double.branch_sha(REPO, "p")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        (head, commit), (parent, _) = double.commits(REPO, "p")[:2]
        assert parent == pushed and commit.parents == (pushed,)
        assert commit.message.startswith(f"GEP: back-link in {P1324}")
        assert text_at(double, REPO, "p", P1324) == GEP_1324 + BACK_LINK  # two lines added
        assert text_at(double, REPO, "p", P1294) == GEP_1294
        run = await box.check_run(REPO, head)
        assert run.conclusion == "success", run.output
        assert not [n for n in notes_of(run) if n[1] == "references.backlink"]
        (said,) = back_link_comments(double, number)
        assert P1324 in said and "GEP-1294" in said and head[:12] in said

        # The author takes the back-link out again: it is not put back on the next push, and
        # the check says what is missing.
        undone = double.push(REPO, "p", {P1324: GEP_1324}, "Not that", "alice")
        await box.deliver(pull_request_event(double, REPO, number, "synchronize", before=head))
        await box.idle()
        assert double.branch_sha(REPO, "p") == undone
        run = await box.check_run(REPO, undone)
        assert run.conclusion == "failure", run.output
        assert (P1324, "references.backlink") in notes_of(run)
        assert len(back_link_comments(double, number)) == 1


async def test_a_fork_is_offered_the_back_link_lines_once() -> None:
    async with harness(seed_real(), CREDENTIALS) as box:
        double = box.double
        files: dict[str, str | None] = {P1294: GEP_1294}
        number = double.open_pull_request(
            REPO,
            "p",
            files,
            "GEP-1294",
            author="alice",
            fork_owner="alice",
            maintainer_can_modify=False,
        )
        fork = "alice/gateway"
        pushed = double.branch_sha(fork, "p")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        assert double.branch_sha(fork, "p") == pushed, "nothing is pushed to the fork"
        (offer,) = back_link_comments(double, number)
        assert f"+++ {P1324}" in offer
        added = [line[1:] for line in offer.splitlines() if line.startswith("+ ")]
        assert added == BACK_LINK.splitlines()
        run = await box.check_run(REPO, pushed or "")
        assert (P1324, "references.backlink") in notes_of(run)

        again = double.push(fork, "p", {"geps/gep-1294/index.md": "# GEP-1294\n"}, "docs", "alice")
        await box.deliver(pull_request_event(double, REPO, number, "synchronize", before=pushed))
        await box.idle()
        await box.check_run(REPO, again)
        assert len(back_link_comments(double, number)) == 1


async def test_a_title_with_a_marker_in_it_offers_no_marker() -> None:
    """The offered lines quote the GEP's title: a title holding a marker of the bot's
    comments must not make the offer one of them (the status comment stays its own)."""
    status = "<!-- kepbot:status -->"
    linked = metadata(100, f"Child {status}", "relationships:\n  extends:\n    - number: 200\n")
    async with harness(seed(), CREDENTIALS) as box:
        double = box.double
        number = await open_from_fork(box, {"geps/gep-100/metadata.yaml": linked}, "Extend GEP-200")
        (offer,) = back_link_comments(double, number)
        assert "+      name: Child <!\u200d-- kepbot:status -->" in offer
        mine = [c.body for c in double.comments(REPO, number) if c.user == double.bot_login]
        (kept,) = [body for body in mine if status in body]
        assert "status** (kept up to date by kepbot" in kept
