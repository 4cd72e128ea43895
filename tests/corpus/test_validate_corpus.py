"""`kepbot validate` against the real proposals: no error under Kubernetes' CI rules, and the
defects that CI lets through found and pinned by file."""

from collections import defaultdict
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine.config import load_preset
from bot.engine.findings import Finding
from bot.engine.proposal import ci_walk
from bot.engine.tree import LocalTree
from bot.engine.validate import validate_change, validate_tree

# What Kubernetes' CI (test/metadata_test.go) rejects, by rule id.
CI_RULES = {
    *("parse.error", "schema.duplicate-key", "schema.unknown-key", "schema.type"),
    *("schema.required", "status.missing", "document.orphan"),
    *("prr.milestone", "prr.stage", "prr.missing", "prr.parse", "prr.approver"),
}


@pytest.fixture(scope="module")
def kep_findings(corpus_root: Path) -> dict[str, set[tuple[str, str]]]:
    report = validate_tree(load_preset("kep"), LocalTree(corpus_root / "kubernetes-enhancements"))
    assert len(report.proposals) == 656
    by_rule: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for finding in report.findings:
        by_rule[finding.rule].add((finding.path, finding.severity))
    return by_rule


def paths(found: set[tuple[str, str]]) -> set[str]:
    return {path for path, _ in found}


def test_no_error_under_the_rules_kubernetes_ci_enforces(corpus_root: Path) -> None:
    report = validate_tree(load_preset("kep"), LocalTree(corpus_root / "kubernetes-enhancements"))
    assert report.errors == []
    assert not [f for f in report.findings if f.rule in CI_RULES]


def test_ci_walk_reaches_every_kep_and_finds_no_orphan(corpus_root: Path) -> None:
    tree = LocalTree(corpus_root / "kubernetes-enhancements")
    walk = ci_walk(tree.paths(), "keps", "kep.yaml", "README.md", ["prod-readiness"])
    assert len(walk.reached) == 656 and walk.orphans == []


def test_cli_exit_code_is_zero_on_the_kubernetes_corpus(
    corpus_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(corpus_root / "kubernetes-enhancements")]) == 0
    # 549: since headings are read as GitHub reads them (bot/engine/markdown.py), the four
    # section warnings of KEP-3726 are gone: its "```Values ...```" line is inline code, not
    # a fence that hid every heading after it.
    assert capsys.readouterr().out.strip().endswith("0 errors, 549 warnings in 656 proposals")


def test_unknown_statuses_ci_misses(kep_findings: dict[str, set[tuple[str, str]]]) -> None:
    assert paths(kep_findings["status.unknown"]) == {
        "keps/sig-node/2625-cpumanager-policies-thread-placement/kep.yaml",  # imlpemented
        "keps/sig-instrumentation/1753-logs-sanitization/kep.yaml",  # implemented (alpha)
        "keps/sig-api-machinery/4153-declarative-validation/kep.yaml",  # superseded
        "keps/sig-node/281-dynamic-kubelet-configuration/kep.yaml",  # removed
        "keps/NNNN-kep-template/kep.yaml",  # the template literal
        "keps/sig-api-machinery/5000-api-linting-crd-schema-tooling/kep.yaml",  # copied literal
    }
    assert {severity for _, severity in kep_findings["status.unknown"]} == {"warning"}


def test_bad_stages_dates_and_numbers(kep_findings: dict[str, set[tuple[str, str]]]) -> None:
    stages = paths(kep_findings["schema.enum"])
    assert (
        "keps/sig-instrumentation/1753-logs-sanitization/kep.yaml" in stages
    )  # alpha (deprecated)
    assert "keps/sig-api-machinery/4355-coordinated-leader-election/kep.yaml" in paths(
        kep_findings["schema.date"]
    )  # 2023-14-05
    assert paths(kep_findings["naming.number-mismatch"]) == {
        "keps/sig-node/2043-pod-resource-concrete-assigments/kep.yaml"  # kep-number 1884
    }


def test_an_empty_approvers_list_passes_ci_and_warns(
    kep_findings: dict[str, set[tuple[str, str]]],
) -> None:
    # Go's validate:"required" accepts `approvers: []` (a non-nil slice).
    assert kep_findings["schema.empty"] == {
        ("keps/sig-scheduling/5941-dra-shared-consumable-capacity/kep.yaml", "warning")
    }


def test_implemented_keps_that_are_not_stable(
    kep_findings: dict[str, set[tuple[str, str]]],
) -> None:
    assert paths(kep_findings["status.requires"]) == {
        "keps/sig-cli/1802-kustomize-components/kep.yaml",
        "keps/sig-cli/2383-extend-kustomize-patches-to-multiple-targets/kep.yaml",
        "keps/sig-cli/3515-kubectl-explain-openapiv3/kep.yaml",
        "keps/sig-cli/993-kustomize-generators-transformers/kep.yaml",
        "keps/sig-cluster-lifecycle/kubeadm/2501-kubeadm-phases-to-beta/kep.yaml",
        "keps/sig-network/4004-deprecate-kube-proxy-version/kep.yaml",
    }


def test_a_change_that_introduces_a_ci_missed_defect_fails(corpus_root: Path) -> None:
    """The same defect is a warning where it stands and an error where a PR writes it."""
    root = corpus_root / "kubernetes-enhancements"
    path = "keps/sig-node/2625-cpumanager-policies-thread-placement/kep.yaml"
    base = LocalTree(root)
    head_text = (root / path).read_text().replace("status: imlpemented", "status: implementd")
    head = _Overlay(base, {path: head_text})
    report = validate_change(load_preset("kep"), head, base, [path])
    assert [(f.rule, f.severity) for f in report.findings if f.rule == "status.unknown"] == [
        ("status.unknown", "error")
    ]


class _Overlay:
    """A tree with some files replaced, as a PR's head is to its base."""

    def __init__(self, base: LocalTree, files: dict[str, str]) -> None:
        self.base, self.files = base, files

    def paths(self) -> list[str]:
        return list(self.base.paths())

    def read(self, path: str) -> str | None:
        return self.files.get(path, self.base.read(path))


def _gep_findings(corpus_root: Path) -> list[Finding]:
    report = validate_tree(load_preset("gep"), LocalTree(corpus_root / "gateway-api"))
    assert len(report.proposals) == 61
    return report.findings


def test_gep_quirks_are_reported(corpus_root: Path) -> None:
    found = _gep_findings(corpus_root)
    by_rule: dict[str, set[str]] = defaultdict(set)
    for finding in found:
        by_rule[finding.rule].add(finding.path)
    assert by_rule["status.unknown"] == {"geps/gep-2659/metadata.yaml"}  # Accepted
    misplaced = {f.path for f in found if "belongs under 'relationships'" in f.message}
    assert misplaced == {
        "geps/gep-1897/metadata.yaml",
        "geps/gep-4152/metadata.yaml",
        "geps/gep-4768/metadata.yaml",
    }
    assert {"geps/gep-1651/index.md", "geps/gep-3567/index.md"} <= by_rule["status.bullet"]
    assert not [f for f in found if f.severity == "error"]


def test_agentic_and_kpep_corpora_validate(corpus_root: Path) -> None:
    for folder, preset, count in (
        ("kube-agentic-networking", "agentic", 4),
        ("kplane-enhancements", "kpep", 1),
    ):
        report = validate_tree(load_preset(preset), LocalTree(corpus_root / folder))
        assert len(report.proposals) == count
        assert report.errors == []
