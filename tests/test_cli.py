"""The `kepbot` command on real checkouts the tests build (git repositories in tmp_path)."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine.config import PRESET_NAMES, load_config, load_preset
from bot.engine.index import index_for
from bot.engine.proposal import load_all
from bot.engine.tree import LocalTree
from bot.engine.verbs import help_text

Files = Callable[[str], dict[str, str]]
KEP = "keps/sig-node/1234-good/kep.yaml"


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root), *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def kep_repo(tmp_path: Path, files_for: Files) -> Path:
    write(tmp_path, files_for("kep"))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_validate_text_output_and_exit_code(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(kep_repo)]) == 0
    assert capsys.readouterr().out.strip() == "0 errors, 0 warnings in 2 proposals"
    kep = kep_repo / KEP
    kep.write_text(kep.read_text().replace("stage: alpha", "stage: alpha\nstage: beta"))
    assert main(["validate", str(kep_repo)]) == 1
    out = capsys.readouterr().out
    assert f"{KEP}:15: error [schema.duplicate-key] key 'stage' is defined more than once" in out


def test_validate_json(kep_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kep = kep_repo / KEP
    kep.write_text(kep.read_text().replace("status: implementable", "status: imlpemented"))
    assert main(["validate", str(kep_repo), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["proposals"], data["errors"], data["warnings"]) == (2, 0, 1)
    (finding,) = data["findings"]
    assert finding["rule"] == "status.unknown" and finding["line"] == 6


def test_validate_github_annotations_escape(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kep = kep_repo / KEP
    kep.write_text(kep.read_text().replace("stage: alpha", "stage: alpha\nstage: beta"))
    main(["validate", str(kep_repo), "--format", "github"])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"::error file={KEP},line=15,title=schema.duplicate-key::")


def test_validate_base_checks_only_changed_proposals_and_transitions(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = kep_repo / "keps/sig-node/99-older/kep.yaml"
    older.write_text(older.read_text().replace("status: implemented", "status: provisional"))
    kep = kep_repo / KEP
    kep.write_text(kep.read_text().replace("status: implementable", "status: withdrawn"))
    assert main(["validate", str(kep_repo), "--base", "main", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["proposals"] == 2
    assert [f["rule"] for f in data["findings"]] == ["transition.illegal"]
    assert {(m["before"], m["after"]) for m in data["moves"]} == {
        ("implementable", "withdrawn"),
        ("implemented", "provisional"),  # no way back from implemented
    }


def test_validate_bad_ref_and_bad_path_are_usage_errors(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(kep_repo), "--base", "no-such-ref"]) == 2
    assert "cannot compare with 'no-such-ref'" in capsys.readouterr().err
    assert main(["validate", str(kep_repo / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_invalid_config_exits_2_with_file_and_line(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(kep_repo, {".github/kepbot.yml": "extends: kep\nnumbering:\n  source: nxt\n"})
    assert main(["validate", str(kep_repo)]) == 2
    err = capsys.readouterr().err
    assert ".github/kepbot.yml:3: numbering.source" in err
    assert "Traceback" not in err


# kepctl's INIT leaves the sections for the author to populate before proposing, so its new
# KEP validates once they are written (tests/engine/test_kepctl_preset.py).
@pytest.mark.parametrize("preset", [name for name in PRESET_NAMES if name != "kepctl"])
def test_new_scaffolds_a_proposal_that_validates_as_a_change(
    preset: str, tmp_path: Path, files_for: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {**files_for(preset), ".github/kepbot.yml": f"extends: {preset}\n"})
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    title = "Retry: budgets for #controllers"  # a colon and a hash must survive YAML
    args = ["new", str(tmp_path), "--title", title, "--area", "sig-node", "--author", "alice"]
    assert main(args) == 0
    created = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert created and all((tmp_path / p).is_file() for p in created)
    assert main(["validate", str(tmp_path), "--base", "main", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["proposals"] == 1 and data["errors"] == 0, data["findings"]
    proposals = [p for p in LocalTree(tmp_path).paths() if p in created]
    assert proposals, "the new files include the proposal itself"
    titles = {p.title for p in load_all(load_preset(preset), LocalTree(tmp_path))}
    assert title in titles
    assert main(args) == 2, "a second run refuses to overwrite"


def test_new_requires_area_where_the_layout_uses_it(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", str(kep_repo), "--title", "X"]) == 2
    assert "areas in use: sig-node" in capsys.readouterr().err


def test_index_writes_and_validate_reports_stale(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_text = "index:\n  path: keps/INDEX.md\n  check: true\n"
    write(kep_repo, {".github/kepbot.yml": config_text})
    assert main(["validate", str(kep_repo)]) == 1
    assert "[index.stale]" in capsys.readouterr().out
    assert main(["index", str(kep_repo)]) == 0
    text = (kep_repo / "keps/INDEX.md").read_text()
    assert text == index_for(load_config(config_text), LocalTree(kep_repo))
    assert "| 1234 | [Good KEP](sig-node/1234-good/README.md) | sig-node | @alice |" in text
    assert main(["validate", str(kep_repo)]) == 0


def test_index_without_a_configured_path(
    kep_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(kep_repo)]) == 2
    assert "no index file is configured" in capsys.readouterr().err


def test_schema_command_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    shipped = Path(__file__).resolve().parents[1] / "config" / "kepbot.schema.json"
    assert json.loads(capsys.readouterr().out) == json.loads(shipped.read_text())


def test_the_readme_command_reference_is_the_registrys() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("<!-- commands:start")
    body = readme[readme.index("\n", start) + 1 : readme.index("<!-- commands:end -->")]
    assert body.strip() == help_text(load_preset("kep")).strip(), "run `kepbot commands`"


def _rows_a_period_adds() -> str:
    root = Path(__file__).resolve().parents[1]
    example = (root / "config" / "examples" / "comment-period.yml").read_text()
    plain = help_text(load_preset("kep")).splitlines()
    with_period = help_text(load_config(example)).splitlines()
    return "\n".join(line for line in with_period if line not in plain)


def test_the_readme_rows_for_comment_periods_are_the_registrys() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("<!-- period-commands:start")
    body = readme[readme.index("\n", start) + 1 : readme.index("<!-- period-commands:end -->")]
    rows = _rows_a_period_adds()
    assert rows.count("\n") >= 4, "fcp, concern, resolve and the changed transition rows"
    listed = "\n".join(line for line in body.splitlines() if line.startswith("| `"))
    assert listed == rows, f"the README should list:\n{rows}"
