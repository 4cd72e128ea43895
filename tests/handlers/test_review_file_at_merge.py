"""Numbering at merge (docs/design.md B4) moves a KEP's production readiness review file,
which Kubernetes names by the KEP's number, with the KEP."""

from bot import demo
from bot.engine.config import load_preset
from bot.engine.tree import MemoryTree
from bot.engine.validate import validate_tree
from bot.sandbox.harness import harness
from bot.sandbox.testing import app_credentials


async def test_the_review_file_follows_the_number_given_at_merge() -> None:
    credentials = app_credentials()
    async with harness(demo.seed(credentials), credentials) as box:
        await demo.script(box, lambda line: None)
        main = {
            path: (box.double.file_at(demo.REPO, "main", path) or b"").decode()
            for path in box.double.paths_at(demo.REPO, "main")
        }
    assert "keps/prod-readiness/sig-node/NNNN.yaml" not in main
    assert main["keps/prod-readiness/sig-node/754.yaml"] == demo.NEW_REVIEW.replace("NNNN", "754")
    assert "keps/sig-node/754-pod-restart-budget/kep.yaml" in main
    report = validate_tree(load_preset("kep"), MemoryTree(main))
    assert [f for f in report.findings if f.rule.startswith("prr.")] == []
