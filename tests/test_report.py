"""`kepbot report` over a git repository built with dated commits: known answers."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.engine.config import load_config
from bot.engine.pipeline import DAY, summarize, timelines
from bot.report import add_parser, history, read_changes

T0 = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
A = "keps/sig-docs/1326-third-party-content-in-docs/kep.yaml"
B = "keps/sig-scheduling/964-binpacking-priority/kep.yaml"
C = "keps/sig-scheduling/5517-dra-node-allocatable-resources/kep.yaml"

KEP = """title: {title}
kep-number: {number}
authors:
  - "@someone"
owning-sig: {sig}
status: provisional
creation-date: 2023-03-01
"""


class Repo:
    def __init__(self, root: Path, texts: dict[str, str]) -> None:
        self.root, self.texts = root, texts
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, day: float = 0) -> None:
        stamp = (T0 + timedelta(days=day)).isoformat()
        env = dict(os.environ, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        env.update(GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@x", GIT_COMMITTER_NAME="a")
        env["GIT_COMMITTER_EMAIL"] = "a@x"
        env["GIT_CONFIG_GLOBAL"] = os.devnull
        subprocess.run(["git", "-C", str(self.root), *args], check=True, env=env)

    def commit(
        self, day: float, statuses: dict[str, str], message: str = "change", tail: str = ""
    ) -> None:
        for path, status in statuses.items():
            file = self.root / path
            file.parent.mkdir(parents=True, exist_ok=True)
            text = re.sub(r"(?m)^status: .*$", f"status: {status}", self.texts[path])
            file.write_text(text + tail, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, day=day)


def build(root: Path, texts: dict[str, str]) -> None:
    """A at day 0 → implementable day 10 → implemented day 30; B day 0 → implementable day
    20; C written on a branch at day 11, merged at day 12; the last commit is at day 40."""
    repo = Repo(root, texts)
    (root / "README.md").write_text("# KEPs\n")
    repo.commit(0, {A: "provisional", B: "provisional"})
    repo.commit(5, {A: "provisional"}, "edit", "# reviewed\n")  # same status: no change
    repo.commit(10, {A: "implementable"})
    repo.git("checkout", "-q", "-b", "dra")
    repo.commit(11, {C: "provisional"})
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "merge dra", "dra", day=12)
    repo.commit(20, {B: "implementable"})
    repo.commit(30, {A: "implemented"})
    (root / "README.md").write_text("# KEPs, now with more\n")
    repo.commit(40, {})


def check_known_answers(root: Path) -> None:
    config = load_config(None)
    commits = history(root)
    now = commits[-1][1]
    assert now == T0 + timedelta(days=40)
    lines = timelines(read_changes(root, config, commits), now)
    assert lines[C].since == T0 + timedelta(days=12)  # landed with the merge, first parent
    assert lines[A].durations == {
        "provisional": 10 * DAY,
        "implementable": 20 * DAY,
        "implemented": 10 * DAY,
    }
    summary = summarize(lines.values())
    assert summary.counts == {"implementable": 1, "implemented": 1, "provisional": 1}
    prov = summary.per_status["provisional"]  # 10, 20, 28 days
    assert (prov.count, prov.median, prov.p90) == (3, 20 * DAY, 28 * DAY)
    impl = summary.per_status["implementable"]  # 20, 20 days
    assert (impl.count, impl.median, impl.p90) == (2, 20 * DAY, 20 * DAY)


def own_texts() -> dict[str, str]:
    return {
        A: KEP.format(title="Third party content in docs", number=1326, sig="sig-docs"),
        B: KEP.format(title="Binpacking priority", number=964, sig="sig-scheduling"),
        C: KEP.format(title="DRA node allocatable", number=5517, sig="sig-scheduling"),
    }


def test_report_known_answers(tmp_path: Path) -> None:
    build(tmp_path, own_texts())
    check_known_answers(tmp_path)


def test_report_on_real_corpus_proposals(tmp_path: Path, corpus_root: Path) -> None:
    kubernetes = corpus_root / "kubernetes-enhancements"
    texts = {path: (kubernetes / path).read_text(encoding="utf-8") for path in (A, B, C)}
    build(tmp_path, texts)
    check_known_answers(tmp_path)


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def test_cli_prints_figures_and_writes_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    build(repo, own_texts())
    plot = tmp_path / "report.png"
    assert run_cli(["report", str(repo), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "proposals: 3 (as of 2023-04-10T09:00:00+00:00)" in out
    assert re.search(r"provisional\s+3\s+20\.0\s+28\.0", out)
    assert re.search(r"implemented\s+1\s+10\.0\s+10\.0", out)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_refuses_a_folder_without_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["report", str(tmp_path)]) == 2
    assert "not the root of a git clone" in capsys.readouterr().err


def test_plot_without_matplotlib_says_which_extra_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    build(repo, own_texts())
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    assert run_cli(["report", str(repo), "--plot", str(tmp_path / "r.png")]) == 2
    assert "pip install 'kepbot[report]'" in capsys.readouterr().err
    assert not (tmp_path / "r.png").exists()
    assert run_cli(["report", str(repo)]) == 0  # the figures alone need no extra


def test_the_server_never_imports_matplotlib() -> None:
    code = (
        "import sys, bot.__main__, bot.app, bot.routing, bot.cli, bot.reconcile, bot.pipeline_page"
        "\nassert 'matplotlib' not in sys.modules, 'the server imported matplotlib'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
