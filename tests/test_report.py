"""`kepbot report` over a git repository built with dated commits: known answers."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.config import load_config
from bot.engine.metrics import compute
from bot.engine.pipeline import DAY, summarize, timelines
from bot.report import add_parser, history, read_changes, read_history

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
    def __init__(self, root: Path, texts: dict[str, str], start: datetime = T0) -> None:
        self.root, self.texts, self.start = root, texts, start
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, day: float = 0) -> None:
        stamp = (self.start + timedelta(days=day)).isoformat()
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


# -- KEP-1's metrics (docs/metrics.md) on a dated history of eight real KEPs ----------------

T1 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
DOCS = "keps/sig-docs/1326-third-party-content-in-docs/kep.yaml"
BINPACK = "keps/sig-scheduling/964-binpacking-priority/kep.yaml"
ALLOCATABLE = "keps/sig-scheduling/5517-dra-node-allocatable-resources/kep.yaml"
HTTP3 = "keps/sig-api-machinery/3156-http3/kep.yaml"
NETPOL = "keps/sig-network/2943-networkpolicy-status/kep.yaml"
DRA = "keps/sig-node/3063-dynamic-resource-allocation/kep.yaml"
GCE = "keps/sig-cloud-provider/668-out-of-tree-gce/kep.yaml"
IBM = "keps/sig-cloud-provider/671-out-of-tree-ibm/kep.yaml"
EIGHT = (DOCS, BINPACK, ALLOCATABLE, HTTP3, NETPOL, DRA, GCE, IBM)

# The fields the metrics read, as the real files have them (the shared test reads those).
FIELDS = {
    DOCS: ("sig-docs", "aimeeu jimangel sftim zacharysarah", "cblecker dims", "2019-10-20"),
    BINPACK: ("sig-scheduling", "sudeshsh", "k82cn bsalamat", "2019-03-11"),
    ALLOCATABLE: ("sig-scheduling", "pravk03", "johnbelamaric kad", '"2025-12-22"'),
    HTTP3: ("sig-api-machinery", "aojea", "lavalamp", "2022-01-13"),
    NETPOL: ("sig-network", "rikatz", "thockin", "2021-09-06"),
    DRA: ("sig-node", "pohly", "sig-node-tech-leads", "2021-05-17"),
    GCE: ("sig-cloud-provider", "andrewsykim", "TBD", "2019-01-25"),
    IBM: ("sig-cloud-provider", "andrewsykim", "TBD", "2019-01-25"),
}


def excerpt(path: str) -> str:
    sig, authors, approvers, created = FIELDS[path]
    people = "".join(f'  - "@{a}"\n' for a in authors.split())
    chosen = "".join("  - TBD\n" if a == "TBD" else f'  - "@{a}"\n' for a in approvers.split())
    number = path.split("/")[2].split("-")[0]
    return (
        f"title: KEP {number}\nkep-number: {number}\nauthors:\n{people}owning-sig: {sig}\n"
        f"approvers:\n{chosen}creation-date: {created}\nstatus: provisional\n"
    )


def build_eight(root: Path, texts: dict[str, str]) -> None:
    """Day 0: DOCS, BINPACK, HTTP3, GCE proposed; DOCS implementable at 10; NETPOL, DRA and
    IBM proposed at 20; BINPACK rejected at 30; NETPOL withdrawn at 50; DRA implementable at
    60; DOCS implemented at 100; ALLOCATABLE proposed at 110; DRA replaced at 120; HTTP3
    deferred at 300; GCE implementable at 400; the last commit at day 500 (2027-05-20)."""
    repo = Repo(root, texts, T1)
    (root / "README.md").write_text("# KEPs\n")
    p = "provisional"
    repo.commit(0, {DOCS: p, BINPACK: p, HTTP3: p, GCE: p})
    repo.commit(10, {DOCS: "implementable"})
    repo.commit(20, {NETPOL: p, DRA: p, IBM: p})
    repo.commit(30, {BINPACK: "rejected"})
    repo.commit(50, {NETPOL: "withdrawn"})
    repo.commit(60, {DRA: "implementable"})
    repo.commit(100, {DOCS: "implemented"})
    repo.commit(110, {ALLOCATABLE: p})
    repo.commit(120, {DRA: "replaced"})
    repo.commit(300, {HTTP3: "deferred"})
    repo.commit(400, {GCE: "implementable"})
    (root / "README.md").write_text("# KEPs, later\n")
    repo.commit(500, {})


def check_metrics(root: Path) -> None:
    config = load_config(None)
    commits = history(root)
    now = commits[-1][1]
    assert now == T1 + timedelta(days=500)
    changes, facts = read_history(root, config, commits)
    assert facts[GCE].first_seen == T1 and facts[GCE].last_change == T1 + timedelta(days=400)
    metrics = compute(config, facts.values(), now)
    assert metrics.tracked == 8
    # accepted: DOCS (implemented), GCE (implementable); rejected: BINPACK. DRA, approved
    # once, is replaced now: out of the decided ones, as the definition says.
    assert (metrics.accepted, metrics.rejected) == (2, 1)
    assert metrics.rejection_rate == pytest.approx(1 / 3)
    assert metrics.authors == 10  # andrewsykim wrote GCE and IBM
    assert metrics.started_by_year == {2019: 4, 2021: 2, 2022: 1, 2025: 1}  # creation-date
    assert metrics.first_time_by_year == {2019: 6, 2021: 2, 2022: 1, 2025: 1}
    assert metrics.undated == 0
    # not in an end status: ALLOCATABLE (last change day 110), HTTP3 (300), GCE (400), IBM
    # (20); 365 days before day 500 is day 135.
    assert metrics.idle == [IBM, ALLOCATABLE]  # by path
    assert metrics.unowned == [GCE, IBM]  # approvers: TBD
    assert metrics.orphaned == sorted([ALLOCATABLE, GCE, IBM])
    assert metrics.retired == {"rejected": 1, "withdrawn": 1, "replaced": 1}
    assert metrics.superseded == [DRA]
    summary = summarize(timelines(changes, now).values())
    # days provisional: DOCS 10, BINPACK 30, NETPOL 30, DRA 40, HTTP3 300, ALLOCATABLE 390,
    # GCE 400, IBM 480
    prov = summary.per_status["provisional"]
    assert (prov.count, prov.median, prov.p90) == (8, 170 * DAY, 480 * DAY)
    later = compute(config, facts.values(), now, orphan_days=100)  # day 400 on
    assert later.idle == [HTTP3, IBM, ALLOCATABLE]


def test_metrics_known_answers(tmp_path: Path) -> None:
    build_eight(tmp_path, {path: excerpt(path) for path in EIGHT})
    check_metrics(tmp_path)


def test_metrics_on_real_corpus_proposals(tmp_path: Path, corpus_root: Path) -> None:
    kubernetes = corpus_root / "kubernetes-enhancements"
    texts = {path: (kubernetes / path).read_text(encoding="utf-8") for path in EIGHT}
    for path in EIGHT:
        real = texts[path]
        for login in FIELDS[path][1].split():
            assert f"@{login}" in real or f"- {login}" in real  # the excerpts are faithful
        assert FIELDS[path][3].strip('"') in real
    build_eight(tmp_path, texts)
    check_metrics(tmp_path)


PULLS = [  # merged: Wed 2027-05-19 (twice), Sat 2027-05-15, 2026-11-01 (before the weeks)
    {
        "title": "Third party content: docs",
        "body": "Implements KEP-1326",
        "state": "MERGED",
        "mergedAt": "2027-05-19T10:00:00Z",
    },
    {
        "title": "DRA: allocation",
        "state": "MERGED",
        "mergedAt": "2027-05-19T11:00:00Z",
        "body": "See https://github.com/kubernetes/enhancements/tree/master/keps/sig-node/"
        "3063-dynamic-resource-allocation",
    },
    {
        "title": "KEP-964: binpacking",
        "body": "",
        "state": "MERGED",
        "mergedAt": "2027-05-15T23:00:00Z",
    },
    {"title": "KEP-3156 http3", "body": "", "state": "MERGED", "mergedAt": "2026-11-01T00:00:00Z"},
    {"title": "KEP-1326 follow-up", "body": "", "state": "CLOSED", "mergedAt": None},
    {
        "title": "fix a typo",
        "body": "KEP-9999 does not exist",
        "state": "MERGED",
        "mergedAt": "2027-05-19T12:00:00Z",
    },
    {
        "title": "another repo",
        "state": "MERGED",
        "mergedAt": "2027-05-19T12:00:00Z",
        "body": "https://github.com/someone/else/tree/master/keps/sig-node/"
        "3063-dynamic-resource-allocation",
    },
]
ISSUES = [
    {"title": "KEP-1326: third party content", "body": "", "state": "OPEN"},
    {"title": "binpacking", "body": "tracked in KEP-964", "state": "CLOSED"},
    {"title": "a bug", "body": "nothing to do with a KEP", "state": "OPEN"},
]


def test_cli_prints_kep1_metrics_and_counts_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    build_eight(repo, {path: excerpt(path) for path in EIGHT})
    pulls, issues = tmp_path / "pulls.json", tmp_path / "issues.json"
    pulls.write_text(json.dumps(PULLS))
    issues.write_text(json.dumps(ISSUES))
    argv = ["report", str(repo), "--repo", "kubernetes/enhancements"]
    assert run_cli([*argv, "--pulls", str(pulls), "--issues", str(issues)]) == 0
    out = capsys.readouterr().out
    assert "proposals: 8 (as of 2027-05-20T09:00:00+00:00)" in out
    assert "rejection rate: 33.3% (1 rejected of 3 decided" in out
    assert "authors: 10" in out
    assert re.search(r"2019\s+4\s+6\n", out) and re.search(r"2025\s+1\s+1\n", out)
    assert (
        "orphaned: 3 (not in an end status; no activity for 365 days: 2; no approver named: 2)"
        in out
    )
    assert "retired: 3 (rejected 1, withdrawn 1, replaced 1)" in out
    assert "superseded: 1" in out
    # 3 merged in the last 12 weeks (2 in the week of 2027-05-17, 1 in that of 05-10)
    assert "implementation PRs merged per week: 0.25 over the last 12 weeks" in out
    assert "(5 of 7 pull requests read reference a proposal)" in out
    assert re.search(r"week of 2027-05-17\s+2\n", out)
    assert re.search(r"week of 2027-05-10\s+1\n", out)
    assert re.search(r"week of 2027-03-01\s+0\n", out)  # the oldest of the twelve
    assert "week of 2027-02-22" not in out
    assert "issues referencing a proposal: 1 open, 1 closed (3 issues read)" in out


def test_cli_says_what_is_not_available_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    build_eight(repo, {path: excerpt(path) for path in EIGHT})
    plot = tmp_path / "report.svg"
    assert run_cli(["report", str(repo), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "implementation PRs merged per week: not available offline (pass --pulls" in out
    assert "issues referencing a proposal: not available offline (pass --issues" in out
    drawn = plot.read_text()
    for title in ("by year (10 authors in all)", "rejection rate 33.3%", "first-time authors"):
        assert title in drawn


def test_an_unreadable_export_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    build(repo, own_texts())
    export = tmp_path / "pulls.json"
    export.write_text('{"not": "a list"}')
    assert run_cli(["report", str(repo), "--pulls", str(export)]) == 2
    assert "expected a JSON list" in capsys.readouterr().err


def plain_day(text: object) -> date | None:
    match = re.match(r"\s*(\d{4})-(\d\d)-(\d\d)", text if isinstance(text, str) else "")
    try:
        return date(int(match[1]), int(match[2]), int(match[3])) if match else None
    except ValueError:
        return None


def test_metrics_on_the_whole_corpus_add_up(tmp_path: Path, corpus_root: Path) -> None:
    """Every kep.yaml of kubernetes/enhancements added in one commit on 2020-01-01, then a
    last commit on 2026-12-01: the report's metrics against a plain count of the files."""
    kubernetes = corpus_root / "kubernetes-enhancements"
    found = sorted(
        str(p.relative_to(kubernetes))
        for p in kubernetes.glob("keps/**/kep.yaml")
        if "prod-readiness" not in p.parts
    )
    texts = {path: (kubernetes / path).read_text(encoding="utf-8") for path in found}
    start = datetime(2020, 1, 1, tzinfo=UTC)
    repo = Repo(tmp_path, texts, start)
    for path, text in texts.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "every KEP")
    (tmp_path / "README.md").write_text("# KEPs\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "later", day=(datetime(2026, 12, 1, tzinfo=UTC) - start).days)

    config = load_config(None)
    commits = history(tmp_path)
    now = commits[-1][1]
    changes, facts = read_history(tmp_path, config, commits)
    metrics = compute(config, facts.values(), now)
    summary = summarize(timelines(changes, now).values())

    plain: dict[str, dict[str, Any]] = {}
    for path, text in texts.items():
        document = next(yaml.load_all(text, Loader=yaml.BaseLoader))  # every value a string
        if isinstance(document, dict) and document.get("status"):
            plain[path] = document
    statuses = Counter(str(d["status"]).strip() for d in plain.values())
    assert metrics.tracked == len(plain) == sum(summary.counts.values()) > 600
    assert metrics.rejected == statuses["rejected"]
    assert metrics.accepted == statuses["implementable"] + statuses["implemented"]
    assert metrics.retired == {
        s: statuses[s] for s in ("rejected", "withdrawn", "replaced") if statuses[s]
    }
    tbd = {"", "tbd", "n/a", "na", "none", "-"}

    def named(values: object) -> list[str]:  # `- n/a` and `- TBD` name nobody
        listed = values if isinstance(values, list) else []
        return [str(v) for v in listed if str(v).strip().lower() not in tbd]

    superseded = [
        p for p, d in plain.items() if d["status"] == "replaced" or named(d.get("superseded-by"))
    ]
    assert metrics.superseded == sorted(superseded)
    ended = {"implemented", "rejected", "withdrawn", "replaced"}
    unowned = [
        p for p, d in plain.items() if d["status"] not in ended and not named(d.get("approvers"))
    ]
    assert metrics.unowned == sorted(unowned)
    cutoff = (now - timedelta(days=365)).date()
    idle = []
    for path, document in plain.items():
        days = [plain_day(document.get(k)) for k in ("creation-date", "last-updated")]
        last = max([d for d in days if d is not None] + [start.date()])
        if document["status"] not in ended and last < cutoff:
            idle.append(path)
    assert metrics.idle == sorted(idle)
    assert metrics.orphaned == sorted({*idle, *unowned})
    created = {p: plain_day(d.get("creation-date")) for p, d in plain.items()}
    # the commit of 2020 stands in for a missing creation-date: every proposal has a start
    years = Counter((d or start.date()).year for d in created.values())
    assert metrics.started_by_year == dict(sorted(years.items()))
    assert list(created.values()).count(None) > 0 and metrics.undated == 0
    dated = {a for f in facts.values() if f.started is not None for a in f.authors}
    assert sum(metrics.first_time_by_year.values()) == len(dated) <= metrics.authors
    handles = {
        h.lower()
        for d in plain.values()
        for h in re.findall(r"[\w-]+", json.dumps(d.get("authors")))
    }
    assert {a for f in facts.values() for a in f.authors} <= handles
