"""The demo repository: a small kubernetes/enhancements seeded into the double, and the
new KEP its pull request adds.

`kepbot demo` (`bot.demo`) plays a proposal's life on it; the tests and benchmarks that
measure the bot's work use it too (`bot.sandbox.cost`).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.double import GitHubDouble
from bot.sandbox.testing import AppCredentials, new_double

__all__ = [
    "BRANCH",
    "CODEOWNERS",
    "EXISTING_KEP",
    "EXISTING_REVIEW",
    "FIXED_KEP",
    "KEP_DIR",
    "NAME",
    "NEW_KEP",
    "NEW_README",
    "NEW_REVIEW",
    "NEW_REVIEW_PATH",
    "OWNER",
    "OWNERS_ALIASES",
    "README",
    "REPO",
    "sample_repository",
    "seed",
]

OWNER, NAME = "kubernetes-demo", "enhancements"
REPO = f"{OWNER}/{NAME}"
KEP_DIR = "keps/sig-node/NNNN-pod-restart-budget"

OWNERS_ALIASES = "aliases:\n  prod-readiness-approvers:\n    - wojtek-t\n"
CODEOWNERS = "/keps/sig-node/ @kubernetes-demo/sig-node-leads\n"
EXISTING_KEP = """\
title: Sidecar containers
kep-number: 753
authors:
  - "@joseph-irving"
owning-sig: sig-node
status: implemented
creation-date: 2019-01-01
approvers:
  - "@dchen1107"
stage: stable
latest-milestone: "v1.33"
"""
EXISTING_REVIEW = 'kep-number: 753\nstable:\n  approver: "@wojtek-t"\n'
README = """\
# KEP-{number}: {title}

## Summary
{summary}

## Motivation
Why this matters.
"""

NEW_KEP = """\
title: Pod restart budget
kep-number: NNNN
authors:
  - "@alice"
owning-sig: sig-node
status: provisonal
creation-date: 2026-11-31
reviewers:
  - "@bob"
approvers:
  - "@carol"
stage: alpha
see-also:
  - "/keps/sig-node/753-sidecar-containers"
latest-milestone: "v1.36"
"""
# Kubernetes' production readiness review of the new KEP, named by its number (the
# placeholder until it has one: numbering at merge renames it).
NEW_REVIEW_PATH = "keps/prod-readiness/sig-node/NNNN.yaml"
NEW_REVIEW = 'kep-number: NNNN\nalpha:\n  approver: "@wojtek-t"\n'


# The new KEP with both mistakes corrected, as alice pushes it in step 2.
FIXED_KEP = NEW_KEP.replace("provisonal", "provisional").replace("2026-11-31", "2026-11-21")


def sample_repository() -> dict[str, str]:
    """A small kubernetes/enhancements: one implemented KEP and the files its rules read."""
    return {
        "README.md": "# Enhancements (demo)\n",
        "OWNERS_ALIASES": OWNERS_ALIASES,
        ".github/CODEOWNERS": CODEOWNERS,
        "keps/sig-node/753-sidecar-containers/kep.yaml": EXISTING_KEP,
        "keps/prod-readiness/sig-node/753.yaml": EXISTING_REVIEW,
        "keps/sig-node/753-sidecar-containers/README.md": README.format(
            number=753, title="Sidecar containers", summary="Sidecars."
        ),
    }


def seed(credentials: AppCredentials, **options: Any) -> GitHubDouble:
    """A double holding the sample repository, with the App installed on its owner;
    `options` go to the double (e.g. its `clock`)."""
    double = new_double(credentials, **options)
    double.add_org(OWNER)
    for login in ("alice", "bob", "carol"):
        double.add_user(login)
    double.add_repo(OWNER, NAME, sample_repository())
    double.add_team_member(OWNER, "sig-node-leads", "carol")
    double.set_permission(REPO, "bob", "write")
    double.add_installation(OWNER)
    return double


BRANCH = "restart-budget"
NEW_README = README.format(number="NNNN", title="Pod restart budget", summary="Budgets.") + "".join(
    f"## {section}\nText.\n"
    for section in (
        "Proposal",
        "Design Details",
        "Test Plan",
        "Graduation Criteria",
        "Production Readiness Review Questionnaire",
    )
)
