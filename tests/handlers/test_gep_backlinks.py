"""Through the server and the GitHub double: a GEP pull request that links another GEP one
way only fails its check on the GEP that lacks the back-link, which the bot reads although
the pull request does not touch it."""

from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import harness
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


async def test_a_one_way_link_fails_the_check_on_the_gep_without_the_back_link() -> None:
    linked = metadata(100, "Child", "relationships:\n  extends:\n    - number: 200\n")
    async with harness(seed(), CREDENTIALS) as box:
        double = box.double
        files: dict[str, str | None] = {"geps/gep-100/metadata.yaml": linked}
        number = double.open_pull_request(REPO, "p", files, "Extend GEP-200", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        run = await box.check_run(REPO, double.branch_sha(REPO, "p") or "")
        assert run.conclusion == "failure", run.output
        notes = [(a["path"], a["title"], a["annotation_level"]) for a in run.annotations]
        assert ("geps/gep-200/metadata.yaml", "references.backlink", "failure") in notes
