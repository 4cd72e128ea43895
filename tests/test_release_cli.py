"""`kepbot release MILESTONE [PATH]` on a checkout (docs/design.md B11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

READY = """\
title: Ready
kep-number: 10
authors: ["@alice"]
owning-sig: sig-node
status: implementable
approvers: ["@carol"]
stage: alpha
latest-milestone: "v1.37"
milestone:
  alpha: "v1.37"
"""
README = "# KEP-{n}\n\n## Summary\nS.\n\n### Test Plan\nT.\n\n### Graduation Criteria\nG.\n"


def checkout(root: Path) -> Path:
    files = {
        "keps/sig-node/10-ready/kep.yaml": READY,
        "keps/sig-node/10-ready/README.md": README.format(n=10),
        "keps/prod-readiness/sig-node/10.yaml": "kep-number: 10\nalpha:\n  approver: '@w'\n",
        "keps/sig-node/11-late/kep.yaml": READY.replace("10", "11").replace(
            "implementable", "provisional"
        ),
        "keps/sig-node/11-late/README.md": README.format(n=11),
        "keps/sig-node/12-old/kep.yaml": READY.replace("10", "12").replace("v1.37", "v1.30"),
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_release_lists_each_rule_and_fails_when_one_is_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = checkout(tmp_path)
    assert main(["release", "v1.37", str(root)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Enhancements Freeze v1.37: 1 of 2 ready")
    assert "keps/sig-node/10-ready/kep.yaml: ready" in out
    assert "MISS merged as implementable: status is provisional" in out
    assert "(keps/sig-node/11-late/kep.yaml:5)" in out
    assert "12-old" not in out


def test_release_json_and_a_milestone_that_is_no_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = checkout(tmp_path)
    assert main(["release", "v1.37", str(root), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [p["path"] for p in data["proposals"]] == [
        "keps/sig-node/10-ready/kep.yaml",
        "keps/sig-node/11-late/kep.yaml",
    ]
    assert main(["release", "v1.38", str(root)]) == 0  # nothing targets it: nothing missed
    assert "No proposal targets this milestone." in capsys.readouterr().out
    assert main(["release", "v1.37; rm -rf", str(root)]) == 2
    assert "no milestone name" in capsys.readouterr().err
