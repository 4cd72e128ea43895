"""The metadata formats against every real proposal in the shared corpus.

Reading must succeed on all of them, and a status edit must change exactly the status
line of each file and nothing else (docs/design.md I4).
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.engine.formats import FieldTable, HeaderLines, YamlFile
from bot.engine.formats.base import MetadataFormat

YAML = YamlFile()
HEADERS = HeaderLines()
TABLE = FieldTable()

GEP_STATUSES = {
    "Accepted",
    "Completed",
    "Declined",
    "Deferred",
    "Experimental",
    "Implementable",
    "Memorandum",
    "Provisional",
    "Standard",
}


def read(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as file:  # keep "\r\n" as written
        return file.read()


def kep_yamls(root: Path) -> list[Path]:
    return sorted(root.glob("kubernetes-enhancements/keps/**/kep.yaml"))


def gep_metadata(root: Path) -> list[Path]:
    return sorted(root.glob("gateway-api/geps/*/metadata.yaml"))


def agentic_proposals(root: Path) -> list[Path]:
    return sorted(root.glob("kube-agentic-networking/docs/proposals/[0-9]*.md"))


def status_edit_problem(fmt: MetadataFormat, path: Path, key: str) -> str | None:
    """Set `key` to another value; describe what went wrong, or None when all is well."""
    text = read(path)
    before = fmt.parse(text)
    new = "withdrawn" if before.get(key) != "withdrawn" else "implemented"
    edited = fmt.set_value(text, key, new)
    old_lines, new_lines = text.split("\n"), edited.split("\n")
    if len(old_lines) != len(new_lines):
        return f"{path}: line count changed"
    changed = [i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    if changed != [before.line_of(key)]:
        return f"{path}: changed lines {changed}, expected only {before.line_of(key)}"
    after = fmt.parse(edited)
    if after.get(key) != new:
        return f"{path}: reads {after.get(key)!r} after setting {new!r}"
    if {k: f for k, f in after.fields.items() if k != key} != {
        k: f for k, f in before.fields.items() if k != key
    }:
        return f"{path}: other fields changed"
    return None


def test_every_kep_yaml_status_edit_changes_exactly_the_status_line(corpus_root: Path) -> None:
    paths = kep_yamls(corpus_root)
    assert len(paths) >= 600
    problems = [status_edit_problem(YAML, path, "status") for path in paths]
    assert [problem for problem in problems if problem] == []


def test_kep_yaml_reads_keep_go_string_semantics(corpus_root: Path) -> None:
    for path in kep_yamls(corpus_root):
        metadata = YAML.parse(read(path))
        assert isinstance(metadata.get("status"), str), path
        number = metadata.get("kep-number")
        assert number is None or isinstance(number, str), path
    template = corpus_root / "kubernetes-enhancements/keps/NNNN-kep-template/kep.yaml"
    metadata = YAML.parse(read(template))
    assert metadata.get("kep-number") == "NNNN"
    assert metadata.get("disable-supported") == "true"
    assert metadata.get("latest-milestone") == "v1.19"


def test_parsing_every_kep_yaml_takes_well_under_a_second(corpus_root: Path) -> None:
    texts = [read(path) for path in kep_yamls(corpus_root)]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for text in texts:
            YAML.parse(text)
        best = min(best, time.perf_counter() - started)
    assert best < 1.0, f"parsing {len(texts)} kep.yaml files took {best:.2f} s"


def test_every_gep_metadata_reads_and_edits_minimally(corpus_root: Path) -> None:
    paths = gep_metadata(corpus_root)
    assert len(paths) == 61
    for path in paths:
        metadata = YAML.parse(read(path))
        assert metadata.get("status") in GEP_STATUSES, path
        assert metadata.get("number") == path.parent.name.removeprefix("gep-"), path
    problems = [status_edit_problem(YAML, path, "status") for path in paths]
    assert [problem for problem in problems if problem] == []


def test_agentic_proposals_read_their_header_lines(corpus_root: Path) -> None:
    paths = agentic_proposals(corpus_root)
    assert len(paths) == 4
    for path in paths:
        metadata = HEADERS.parse(read(path))
        assert metadata.get("Status") == "Provisional", path
        assert metadata.line_of("Status") == 3
        assert metadata.get("Authors") and metadata.get("Date"), path
    problems = [status_edit_problem(HEADERS, path, "Status") for path in paths]
    assert [problem for problem in problems if problem] == []


def test_kpep_field_tables_read_and_edit_minimally(corpus_root: Path) -> None:
    root = corpus_root / "kplane-enhancements"
    kpep = root / "kpeps/0001-pluggable-storage-backends/README.md"
    metadata = TABLE.parse(read(kpep))
    assert metadata.get("Status") == "provisional"
    assert metadata.get("Last updated") == "2026-06-02"
    assert metadata.line_of("Status") == 5
    template = TABLE.parse(read(root / "templates/README.md"))
    assert template.get("Status") == "provisional"
    for path in (kpep, root / "templates/README.md"):
        assert status_edit_problem(TABLE, path, "Status") is None
        assert status_edit_problem(TABLE, path, "Last updated") is None
