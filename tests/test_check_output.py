"""A validation report rendered as a check run."""

from bot.check_output import check_output
from bot.engine.findings import Finding
from bot.engine.process import Move
from bot.engine.validate import Report


def finding(index: int, severity: str = "error") -> Finding:
    return Finding("schema.type", severity, "keps/a/1-x/kep.yaml", index + 1, f"problem {index}")  # type: ignore[arg-type]


def test_annotations_come_in_batches_of_fifty() -> None:
    report = Report(findings=[finding(i) for i in range(120)], proposals=["keps/a/1-x/kep.yaml"])
    output = check_output(report)
    assert [len(batch) for batch in output.batches()] == [50, 50, 20]
    assert output.conclusion == "failure"
    assert output.annotations[0] == {
        "path": "keps/a/1-x/kep.yaml",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "title": "schema.type",
        "message": "problem 0",
    }


def test_warnings_only_is_success_and_moves_are_summarised() -> None:
    report = Report(
        findings=[finding(0, "warning")],
        proposals=["keps/a/1-x/kep.yaml"],
        moves=[Move("keps/a/1-x/kep.yaml", "provisional", "implementable")],
    )
    output = check_output(report)
    assert output.conclusion == "success"
    assert output.annotations[0]["annotation_level"] == "warning"
    assert "`provisional` → `implementable`" in output.summary


def test_no_proposal_and_bad_config() -> None:
    assert check_output(Report()).conclusion == "neutral"
    broken = check_output(Report(), config_error=".github/kepbot.yml:3: bad")
    assert broken.conclusion == "failure" and ".github/kepbot.yml:3" in broken.summary
