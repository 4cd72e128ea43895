"""The gep preset on the real GEPs: relationships recorded both ways, and gep-3793 moving on
with the TLDR it has long lacked."""

import difflib
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine.config import load_preset
from bot.engine.formats import YamlFile
from bot.engine.relationships import Relations, backlink_edits
from bot.engine.tree import LocalTree, MemoryTree
from bot.engine.validate import validate_change, validate_tree

GEP = load_preset("gep")


class _Overlay:
    """A tree with some files replaced, as a PR's head is to its base."""

    def __init__(self, base: LocalTree, files: dict[str, str]) -> None:
        self.base, self.files = base, files

    def paths(self) -> list[str]:
        return list(self.base.paths())

    def read(self, path: str) -> str | None:
        return self.files.get(path, self.base.read(path))


def test_moving_gep_3793_to_experimental_keeps_its_missing_tldr_a_warning(
    corpus_root: Path,
) -> None:
    """Implementable already required the TLDR, so its absence is inherited, not new."""
    base = LocalTree(corpus_root / "gateway-api")
    folder = "geps/gep-3793"
    meta, index = base.read(f"{folder}/metadata.yaml"), base.read(f"{folder}/index.md")
    assert meta is not None and index is not None
    assert "status: Implementable\n" in meta and "* Status: Implementable\n" in index
    head = _Overlay(
        base,
        {
            f"{folder}/metadata.yaml": meta.replace(
                "status: Implementable", "status: Experimental"
            ),
            f"{folder}/index.md": index.replace("Status: Implementable", "Status: Experimental"),
        },
    )
    report = validate_change(GEP, head, base, [f"{folder}/metadata.yaml", f"{folder}/index.md"])
    assert [(m.before, m.after) for m in report.moves] == [("Implementable", "Experimental")]
    assert [(f.rule, f.severity, f.path, f.message) for f in report.findings] == [
        (
            "sections.missing",
            "warning",
            f"{folder}/index.md",
            "status Experimental needs a section 'TLDR'",
        )
    ]


def test_relationships_of_the_real_geps(corpus_root: Path) -> None:
    report = validate_tree(GEP, LocalTree(corpus_root / "gateway-api"))
    found = {
        (f.rule, f.path, f.line, f.message)
        for f in report.findings
        if f.rule.startswith("references.")
    }
    assert found == {
        # gep-1294 ("xRoutes Mesh Binding") extends gep-1324, which names it as 1426.
        (
            "references.backlink",
            "geps/gep-1324/metadata.yaml",
            11,
            "GEP-1294 (geps/gep-1294/metadata.yaml) lists this GEP under relationships.extends, "
            "so relationships.extendedBy here must list GEP-1294: a relationship is recorded "
            "on both GEPs",
        ),
        (
            "references.unresolved",
            "geps/gep-1324/metadata.yaml",
            12,
            "relationships.extendedBy names GEP-1426, which is not in this repository",
        ),
        (
            "references.unresolved",
            "geps/gep-2643/metadata.yaml",
            16,
            "relationships.seeAlso names GEP-4274, which is not in this repository",
        ),
        (
            "references.unresolved",
            "geps/gep-2643/metadata.yaml",
            18,
            "relationships.seeAlso names GEP-4271, which is not in this repository",
        ),
    }
    assert {f.severity for f in report.findings if f.rule.startswith("references.")} == {"warning"}


def test_the_missing_back_link_of_a_real_gep_is_two_added_lines(corpus_root: Path) -> None:
    tree = LocalTree(corpus_root / "gateway-api")
    relations = Relations(GEP, tree, [p for p in tree.paths() if p.endswith("/metadata.yaml")])
    edits = backlink_edits(GEP, tree, relations.missing())
    target = "geps/gep-1324/metadata.yaml"
    assert list(edits) == [target]
    before = tree.read(target)
    assert before is not None
    diff = [
        d for d in difflib.ndiff(before.splitlines(), edits[target].splitlines()) if d[:1] in "+-"
    ]
    assert diff == ["+     - number: 1294", "+       name: xRoutes Mesh Binding"]
    fixed = validate_tree(GEP, _Overlay(tree, edits))
    assert not [f for f in fixed.findings if f.rule == "references.backlink"]


def test_linking_a_real_gep_one_way_in_a_change_blocks(corpus_root: Path) -> None:
    """gep-4152 extends gep-1897 with its key misplaced; put under `relationships` alone,
    the change lacks gep-1897's back-link."""
    base = LocalTree(corpus_root / "gateway-api")
    path = "geps/gep-4152/metadata.yaml"
    text = base.read(path)
    assert text is not None and "\nextends:\n" in text
    head = MemoryTree({p: base.read(p) or "" for p in base.paths() if p.startswith("geps/")})
    head.files[path] = (
        text.replace("\nextends:\n", "\nrelationships:\n  extends:\n")
        .replace("\n  - number: 1897", "\n    - number: 1897")
        .replace("\n    name: BackendTLSPolicy", "\n      name: BackendTLSPolicy")
    )
    report = validate_change(GEP, head, base, [path])
    assert [(f.rule, f.severity, f.path) for f in report.errors] == [
        ("references.backlink", "error", "geps/gep-1897/metadata.yaml")
    ]


def test_kepbot_validate_on_the_real_geps(
    corpus_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kepbot.yml"
    config.write_text("extends: gep\n")
    assert main(["validate", str(corpus_root / "gateway-api"), "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 errors, 64 warnings in 61 proposals")


def test_a_back_link_can_be_added_to_every_real_gep_by_adding_lines(corpus_root: Path) -> None:
    """Lines are only added, except an empty `extendedBy: []` or `relationships: {}` line,
    which loses its empty value; the rest of every file stays byte for byte."""
    paths = sorted((corpus_root / "gateway-api" / "geps").glob("gep-*/metadata.yaml"))
    assert len(paths) == 61
    item = {"number": "9999", "name": "A: new GEP"}
    for path in paths:
        text = path.read_text()
        edited = YamlFile().add_list_item(text, ("relationships", "extendedBy"), item)
        diff = [d for d in difflib.ndiff(text.splitlines(), edited.splitlines()) if d[:1] in "+-"]
        removed = [d[2:] for d in diff if d.startswith("- ")]
        added = [d[2:] for d in diff if d.startswith("+ ")]
        assert set(removed) <= {"  extendedBy: []", "relationships: {}"}, (path, diff)
        assert [a.strip() for a in added][-2:] == ["- number: 9999", 'name: "A: new GEP"'], path
        assert set(added[:-2]) <= {"relationships:", "  extendedBy:"}, (path, diff)
