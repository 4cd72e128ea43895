"""Generated repositories of a realistic size, for the cost tests and the benchmarks.

`add_keps` commits `count` KEPs, shaped like kubernetes/enhancements (656 of them there),
to a repository of the double in one push: per KEP a folder `keps/sig-N/NUMBER-feature-
NUMBER/` over 20 SIGs holding its `kep.yaml` (implemented, stable, milestone v1.33) and a
README of about 300 bytes.
"""

from __future__ import annotations

from bot.sandbox.double import GitHubDouble

__all__ = ["FLAGSHIP_KEPS", "add_keps", "kep_path", "kep_yaml"]

FLAGSHIP_KEPS = 656  # the KEPs of kubernetes/enhancements
SIGS = 20


def kep_path(number: int) -> str:
    """The metadata file of generated KEP `number`."""
    return f"keps/sig-{number % SIGS}/{number}-feature-{number}/kep.yaml"


def kep_yaml(number: int, status: str = "implemented") -> str:
    return f"""\
title: Feature {number}
kep-number: {number}
authors:
  - "@author-{number % 7}"
owning-sig: sig-{number % SIGS}
status: {status}
creation-date: 2019-01-01
approvers:
  - "@approver-{number % 5}"
stage: stable
latest-milestone: "v1.33"
"""


def _readme(number: int) -> str:
    summary = "A feature. " * 20
    return f"# KEP-{number}: Feature {number}\n\n## Summary\n\n{summary}\n"


def add_keps(
    double: GitHubDouble,
    repo: str,
    count: int = FLAGSHIP_KEPS,
    *,
    first: int = 1000,
    branch: str = "main",
    author: str | None = None,
) -> list[str]:
    """Commit KEPs numbered `first`, `first + 1`, ... to `branch`; their metadata paths."""
    files: dict[str, str | None] = {}
    for number in range(first, first + count):
        files[kep_path(number)] = kep_yaml(number)
        files[kep_path(number).replace("kep.yaml", "README.md")] = _readme(number)
    double.push(repo, branch, files, f"{count} KEPs", author)
    return [kep_path(number) for number in range(first, first + count)]
