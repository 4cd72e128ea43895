"""Small proposal repositories written by the tests themselves, one per preset.

The `files_for` fixture (tests/conftest.py) hands them to the engine's tests and to the
`kepbot` command's (tests/test_cli.py).
"""

from collections.abc import Callable

from bot.engine.config import load_preset
from bot.engine.index import index_for
from bot.engine.tree import MemoryTree

KEP_YAML = """\
title: Good KEP
kep-number: 1234
authors:
  - "@alice"
owning-sig: sig-node
status: implementable
creation-date: 2024-01-02
reviewers:
  - "@bob"
approvers:
  - "@carol"
see-also:
  - "/keps/sig-node/99-older"
stage: alpha
latest-milestone: "v1.30"
milestone:
  alpha: "v1.30"
"""

KEP_README = """\
# KEP-1234: Good KEP

## Summary
Text.
## Motivation
### Goals
## Proposal
## Design Details
### Test Plan
### Graduation Criteria
## Production Readiness Review Questionnaire
"""

OLDER_KEP = """\
title: Older
kep-number: 99
authors: ["@dan"]
owning-sig: sig-node
approvers: ["@carol"]
status: implemented
stage: stable
latest-milestone: "v1.19"
"""

PRR_APPROVAL = 'kep-number: 1234\nalpha:\n  approver: "@wojtek-t"\n'

OWNERS_ALIASES = """\
aliases:
  prod-readiness-approvers:
    - wojtek-t
    - deads2k
"""


def kep_files() -> dict[str, str]:
    return {
        "keps/sig-node/1234-good/kep.yaml": KEP_YAML,
        "keps/sig-node/1234-good/README.md": KEP_README,
        "keps/sig-node/99-older/kep.yaml": OLDER_KEP,
        "keps/sig-node/99-older/README.md": KEP_README.replace("1234: Good KEP", "99: Older"),
        "keps/prod-readiness/sig-node/1234.yaml": PRR_APPROVAL,
        "OWNERS_ALIASES": OWNERS_ALIASES,
    }


GEP_METADATA = """\
apiVersion: internal.gateway.networking.k8s.io/v1alpha1
kind: GEPDetails
number: 1619
name: Session Persistence
status: Experimental
authors:
  - gcs278
relationships:
  seeAlso:
    - number: 713
      name: Metaresources
"""

GEP_INDEX = """\
---
title: "GEP-1619: Session Persistence"
---

* Issue: [#1619](https://github.com/kubernetes-sigs/gateway-api/issues/1619)
* Status: Experimental

## TLDR

Persist sessions.

## Goals

[required_in]: # (Provisional status and above)

Stick to a backend.

## API

[required_in]: # (Implementable status and above)

The API.
"""


GEP_713 = (
    "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n"
    "number: 713\nname: Metaresources\nstatus: Memorandum\n"
)


def gep_files() -> dict[str, str]:
    """GEP-1619 and GEP-713, which its `seeAlso` names (references.unresolved otherwise)."""
    return {
        "geps/gep-1619/metadata.yaml": GEP_METADATA,
        "geps/gep-1619/index.md": GEP_INDEX,
        "geps/gep-713/metadata.yaml": GEP_713,
        "geps/gep-713/index.md": "# GEP-713: Metaresources\n\n* Status: Memorandum\n",
    }


AGENTIC = """\
Date: 17th November 2025<br/>
Authors: haiyanmeng, guicassolato<br/>
Status: Provisional<br/>

# Tool Authorization

## Goals

## Non-Goals

## Use Cases & Motivation
"""


def agentic_files() -> dict[str, str]:
    return {
        "docs/proposals/0008-ToolAuthAPI.md": AGENTIC,
        "docs/proposals/README.md": "# Proposals\n",
    }


KPEP = """\
# KPEP-0001: Pluggable storage backends

| Field | Value |
|---|---|
| **Status** | `provisional` |
| **Authors** | @zachsmith |
| **Created** | 2026-05-29 |
| **Last updated** | 2026-06-02 |
| **Tracking issue** | TBD |
| **Supersedes** | N/A |

## Summary

## Motivation
"""


def kpep_files() -> dict[str, str]:
    return {"kpeps/0001-pluggable-storage-backends/README.md": KPEP}


KEP_2017 = """\
---
kep-number: 8
title: Kubectl Plugins
authors:
  - "@alice"
owning-sig: sig-cli
status: Draft
creation-date: 2017-10-01
---

# Kubectl Plugins

## Summary

## Motivation
"""


def kep2017_files() -> dict[str, str]:
    # KEP-1 keeps `keps/index.md` up to date: a good checkout has it current.
    files = {"keps/sig-cli/0008-kubectl-plugins.md": KEP_2017}
    return files | {"keps/index.md": index_for(load_preset("kep-2017"), MemoryTree(files))}


BUILDERS: dict[str, Callable[[], dict[str, str]]] = {
    "kep": kep_files,
    "gep": gep_files,
    "agentic": agentic_files,
    "kpep": kpep_files,
    "kep-2017": kep2017_files,
}
