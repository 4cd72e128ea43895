"""Every validation rule on fixtures the tests write: what it finds, where, and how severe."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from tests_support import rules_of

from bot.engine.config import PRESET_NAMES, load_config, load_preset
from bot.engine.findings import Finding
from bot.engine.tree import MemoryTree
from bot.engine.validate import validate_change, validate_tree

Files = Callable[[str], dict[str, str]]


def run(preset: str, files: dict[str, str], extra: str = "") -> list[Finding]:
    config = load_config(f"extends: {preset}\n{extra}")
    return validate_tree(config, MemoryTree(files)).findings


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_good_fixture_has_no_findings(preset: str, files_for: Files) -> None:
    assert run(preset, files_for(preset)) == []


def edit(files: dict[str, str], path: str, old: str, new: str) -> dict[str, str]:
    assert old in files[path], f"fixture no longer has {old!r}"
    return {**files, path: files[path].replace(old, new)}


KEP = "keps/sig-node/1234-good/kep.yaml"
README = "keps/sig-node/1234-good/README.md"


def test_kep_ci_rules_are_errors(files_for: Files) -> None:
    files = edit(
        files_for("kep"), KEP, "stage: alpha\n", "stage: alpha\nstage: beta\nsurprise: 1\n"
    )
    files = edit(files, KEP, 'authors:\n  - "@alice"', 'authors: "@alice"')
    found = {(f.rule, f.severity, f.line) for f in run("kep", files)}
    assert ("schema.duplicate-key", "error", 14) in found
    assert ("schema.unknown-key", "error", 15) in found
    assert ("schema.type", "error", 3) in found


def test_yaml_syntax_error_is_one_error_with_its_line(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "status: implementable", "status: [implementable")
    (finding,) = run("kep", files)
    assert (finding.rule, finding.severity, finding.path) == ("parse.error", "error", KEP)
    assert finding.line >= 6


def test_defects_ci_misses_are_warnings_on_the_default_branch(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "status: implementable", "status: imlpemented")
    files = edit(files, KEP, "stage: alpha", "stage: alpha (deprecated)")
    files = edit(files, KEP, "creation-date: 2024-01-02", "creation-date: 2023-14-05")
    files = edit(files, KEP, "kep-number: 1234", "kep-number: 1235")
    found = {(f.rule, f.severity): f for f in run("kep", files)}
    assert "did you mean 'implemented'" in found["status.unknown", "warning"].message
    assert found["schema.enum", "warning"].line == 14
    assert found["schema.date", "warning"].line == 7
    assert found["naming.number-mismatch", "warning"].line == 2
    assert not [f for f in found.values() if f.severity == "error"]


def test_implemented_kep_must_be_stable(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "status: implementable", "status: implemented")
    assert rules_of(run("kep", files)) == {"status.requires"}


def test_replaced_needs_superseded_by(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "status: implementable", "status: replaced")
    assert "status.fields" in rules_of(run("kep", files))


def test_required_keys_and_sections(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "owning-sig: sig-node\n", "")
    files = edit(files, README, "## Design Details\n", "")
    found = run("kep", files)
    (required,) = [f for f in found if f.rule == "schema.required"]
    assert required.severity == "error", "Kubernetes' CI rejects a KEP without owning-sig"
    missing = [f for f in found if f.rule == "sections.missing"]
    assert [f.path for f in missing] == [README]
    assert "Design Details" in missing[0].message


def test_sections_in_code_blocks_do_not_count(files_for: Files) -> None:
    files = edit(files_for("kep"), README, "## Design Details\n", "```\n## Design Details\n```\n")
    assert "sections.missing" in rules_of(run("kep", files))


def test_placeholder_number_on_a_merged_proposal(files_for: Files) -> None:
    files = files_for("kep")
    files = {p.replace("1234-good", "NNNN-good"): t for p, t in files.items()}
    files["keps/sig-node/NNNN-good/kep.yaml"] = files["keps/sig-node/NNNN-good/kep.yaml"].replace(
        "kep-number: 1234", "kep-number: NNNN"
    )
    found = run("kep", files)
    assert "number.placeholder" in rules_of(found)
    assert "naming.number-mismatch" not in rules_of(found)


def test_number_format(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "kep-number: 1234", "kep-number: a non-empty string")
    assert "number.format" in rules_of(run("kep", files))


def test_unresolved_reference(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "99-older", "98-missing")
    (finding,) = [f for f in run("kep", files) if f.rule == "references.unresolved"]
    assert finding.line == 12 and "98-missing" in finding.message


def test_prr_rules(files_for: Files) -> None:
    files = files_for("kep")
    del files["keps/prod-readiness/sig-node/1234.yaml"]
    (missing,) = run("kep", files)
    assert (missing.rule, missing.severity) == ("prr.missing", "error")
    assert "keps/prod-readiness/sig-node/1234.yaml" in missing.message

    files = edit(files_for("kep"), "keps/prod-readiness/sig-node/1234.yaml", "wojtek-t", "mallory")
    (wrong,) = run("kep", files)
    assert wrong.rule == "prr.approver" and "mallory" in wrong.message

    old = edit(files_for("kep"), KEP, '"v1.30"\nmilestone', '"v1.20"\nmilestone')
    del old["keps/prod-readiness/sig-node/1234.yaml"]
    assert run("kep", old) == [], "PRR starts at v1.21"

    bad = edit(files_for("kep"), KEP, '"v1.30"\nmilestone', '"soon"\nmilestone')
    assert rules_of(run("kep", bad)) == {"prr.milestone"}


def test_gep_quirks(files_for: Files) -> None:
    path = "geps/gep-1619/metadata.yaml"
    files = edit(files_for("gep"), path, "status: Experimental", "status: Accepted\ntype: Memo")
    files = edit(files, path, "relationships:\n", "extendedBy:\n  - number: 1\nrelationships:\n")
    found = {f.rule: f for f in run("gep", files)}
    assert "Accepted" in found["status.unknown"].message
    assert found["status.bullet"].path == "geps/gep-1619/index.md"
    assert found["status.bullet"].line == 6
    assert "belongs under 'relationships'" in found["schema.unknown-key"].message
    assert {f.severity for f in found.values()} == {"warning"}


def test_gep_required_in_marker_needs_content(files_for: Files) -> None:
    files = edit(files_for("gep"), "geps/gep-1619/index.md", "The API.\n", "")
    (finding,) = run("gep", files)
    assert finding.rule == "sections.empty" and "'API'" in finding.message


def test_agentic_header_lines_and_file_naming(files_for: Files) -> None:
    path = "docs/proposals/0008-ToolAuthAPI.md"
    files = edit(files_for("agentic"), path, "Status: Provisional", "Status: Accepted")
    files[path.replace("0008", "8")] = files.pop(path)
    found = rules_of(run("agentic", files))
    assert {"status.unknown", "naming.pattern"} <= found


def test_kpep_heading_must_agree_with_folder(files_for: Files) -> None:
    path = "kpeps/0001-pluggable-storage-backends/README.md"
    files = edit(files_for("kpep"), path, "# KPEP-0001:", "# KPEP-0002:")
    (finding,) = run("kpep", files)
    assert (finding.rule, finding.line) == ("naming.number-mismatch", 1)


def test_severity_can_be_configured(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "status: implementable", "status: imlpemented")
    extra = "validation:\n  rules:\n    status.unknown: error\n"
    assert [f.severity for f in run("kep", files, extra)] == ["error"]
    extra = "validation:\n  rules:\n    status.unknown: 'off'\n"
    assert run("kep", files, extra) == []


def test_stale_index_is_reported_when_configured(files_for: Files) -> None:
    extra = "index:\n  path: keps/INDEX.md\n  check: true\n"
    found = run("kep", files_for("kep"), extra)
    assert rules_of(found) == {"index.stale"}


# --- against a base version ------------------------------------------------------


def change(
    preset: str, base: dict[str, str], head: dict[str, str], extra: str = ""
) -> list[Finding]:
    config = load_config(f"extends: {preset}\n{extra}")
    changed = [p for p in set(base) | set(head) if base.get(p) != head.get(p)]
    return validate_change(config, MemoryTree(head), MemoryTree(base), changed).findings


def test_defect_introduced_by_a_change_is_an_error(files_for: Files) -> None:
    base = files_for("kep")
    head = edit(base, KEP, "creation-date: 2024-01-02", "creation-date: 2024-13-02")
    (finding,) = change("kep", base, head)
    assert (finding.rule, finding.severity) == ("schema.date", "error")


def test_inherited_defect_stays_a_warning(files_for: Files) -> None:
    base = edit(files_for("kep"), KEP, "creation-date: 2024-01-02", "creation-date: 2024-13-02")
    head = edit(base, README, "Text.", "More text.")
    (finding,) = change("kep", base, head)
    assert (finding.rule, finding.severity) == ("schema.date", "warning")


def test_legal_and_illegal_transitions(files_for: Files) -> None:
    base = edit(files_for("kep"), KEP, "status: implementable", "status: provisional")
    assert change("kep", base, files_for("kep")) == []
    base = edit(files_for("kep"), KEP, "status: implementable", "status: rejected")
    (finding,) = change("kep", base, files_for("kep"))
    assert (finding.rule, finding.severity) == ("transition.illegal", "error")
    assert "'rejected' cannot move to 'implementable'" in finding.message


def test_change_reports_status_moves(files_for: Files) -> None:
    config = load_preset("kep")
    base = edit(files_for("kep"), KEP, "status: implementable", "status: provisional")
    report = validate_change(config, MemoryTree(files_for("kep")), MemoryTree(base), [README])
    assert [(m.path, m.before, m.after) for m in report.moves] == [
        (KEP, "provisional", "implementable")
    ]


def test_new_proposal_with_placeholder_is_fine_and_must_enter_legally(files_for: Files) -> None:
    base = files_for("kep")
    new_yaml = (
        base[KEP]
        .replace("kep-number: 1234", "kep-number: NNNN")
        .replace("status: implementable", "status: provisional")
    )
    head = {
        **base,
        "keps/sig-node/NNNN-new/kep.yaml": new_yaml,
        "keps/sig-node/NNNN-new/README.md": base[README],
    }
    assert change("kep", base, head) == []
    # A PR may carry several decisions (accepted, approved, ...): the head only has to be
    # reachable from the base status; each step is authorised by its own command.
    head["keps/sig-node/NNNN-new/kep.yaml"] = new_yaml.replace("provisional", "implementable")
    assert "transition.illegal" not in rules_of(change("kep", base, head))


def test_changes_outside_proposals_are_ignored(files_for: Files) -> None:
    base = files_for("kep")
    assert change("kep", base, {**base, "docs/other.md": "x"}) == []


def test_missing_status_heading_form_document_and_prr_file(files_for: Files) -> None:
    files = edit(files_for("kep"), KEP, "status: implementable\n", "")
    assert "status.missing" in rules_of(run("kep", files))

    files = edit(
        files_for("kpep"), "kpeps/0001-pluggable-storage-backends/README.md", "# KPEP-0001:", "# "
    )
    (heading,) = run("kpep", files)
    assert heading.rule == "naming.heading" and "'KPEP-{number}: {title}'" in heading.message

    files = files_for("kep")
    del files[README]
    (missing,) = run("kep", files)
    assert (missing.rule, missing.severity, missing.path) == ("document.missing", "warning", KEP)

    files = edit(
        files_for("kep"), "keps/prod-readiness/sig-node/1234.yaml", "alpha:\n", "alpha: [\n"
    )
    (bad,) = run("kep", files)
    assert (bad.rule, bad.path) == ("prr.parse", "keps/prod-readiness/sig-node/1234.yaml")


def test_every_rule_is_documented_in_the_readme() -> None:
    root = Path(__file__).resolve().parents[2]
    source = "".join(p.read_text() for p in (root / "bot" / "engine").glob("*.py"))
    emitted = set(re.findall(r'out\.add\(\s*"([a-z]+\.[a-z-]+)"', source))
    readme = (root / "README.md").read_text()
    assert len(emitted) >= 25, sorted(emitted)
    assert {rule for rule in emitted if f"`{rule}`" not in readme} == set()
