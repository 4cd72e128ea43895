"""What a transition writes: only the status, last-updated and the argument's field change."""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.config import Config, load_config, load_preset
from bot.engine.edits import transition_edit
from bot.engine.formats import FormatError, get_format

TODAY = datetime.date(2025, 3, 14)
LATER = datetime.date(2025, 4, 1)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEP_YAML = """\
title: Pod Scheduling Readiness
kep-number: 3521
authors:
  - "@kerthcet"
  - "@Huang-Wei"
owning-sig: sig-scheduling
participating-sigs:
  - sig-node
status: provisional  # moved by the SIG
creation-date: 2022-09-16
reviewers:
  - "@ahg-g"
approvers:
  - "@alculquicondor"
see-also:
  - "/keps/sig-scheduling/624-scheduling-framework"
replaces:
superseded-by:

# The target maturity stage in the current dev cycle for this KEP.
stage: beta

# The most recent milestone for which work toward delivery of this KEP has been
# done. This can be the current (upcoming) milestone, if it is being actively
# worked on.
latest-milestone: "v1.27"

# The milestone at which this feature was, or is targeted to be, at each stage.
milestone:
  alpha: "v1.26"
  beta: "v1.27"
last-updated: '2023-01-30'
feature-gates:
  - name: PodSchedulingReadiness
    components:
      - kube-apiserver
      - kube-scheduler
disable-supported: true
"""

KEP_2017 = """\
---
kep-number: draft-20180412
title: Kubectl Plugins
authors:
  - "@juanvallejo"
owning-sig: sig-cli
participating-sigs:
  - sig-cli
reviewers:
  - "@pwittrock"
approvers:
  - "@soltysh"
editor: juanvallejo
creation-date: 2018-04-12
last-updated: 2018-04-12
status: Draft
see-also:
  - n/a
replaces:
  - "https://github.com/kubernetes/community/pull/481"
superseded-by:
  - n/a
---

# Kubectl Plugins

## Table of Contents

* [Summary](#summary)

## Summary

status: this line is prose, not metadata.
"""

GEP_METADATA = """\
apiVersion: internal.gateway.networking.k8s.io/v1alpha1
kind: GEPDetails
number: 1748
name: Gateway API Interaction with Multi-Cluster Services
status: Experimental
# Any authors who contribute to the GEP in any way should be listed here using
# their GitHub handle.
authors:
  - robscott
relationships:
  # obsoletes indicates that a GEP makes the linked GEP obsolete, and completely
  # replaces that GEP.
  obsoletes: {}
  extendedBy:
    - number: 1713
      name: Mesh
references:
  - https://github.com/kubernetes-sigs/mcs-api
featureNames: []
changelog:
  - "https://github.com/kubernetes-sigs/gateway-api/pull/1748"
"""

AGENTIC = """\
Date: 17th November 2025<br/>
Authors: haiyanmeng, guicassolato<br/>
Status: Provisional<br/>

# Tool Authorization in Agentic Networking

This proposal defines authorization policies for tool access from AI agents.

Status: this is prose below the title.
"""

KPEP = """\
# KPEP-0001: Pluggable storage backends

| Field | Value |
|---|---|
| **Status** | `provisional` |
| **Authors** | @zachsmith |
| **Created** | 2026-05-29 |
| **Last updated** | 2026-06-02 |
| **Tracking issue** | TBD |
| **Affected repos** | `kplane-dev/storage`, `kplane-dev/apiserver` |
| **Supersedes** | N/A |

## Summary

| **Status** | a table in the body is not the metadata |
"""


def diff(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines `after` removed from `before`, and the lines it added (with endings)."""
    old, new = before.splitlines(True), after.splitlines(True)
    removed: list[str] = []
    added: list[str] = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if tag != "equal":
            removed += old[a1:a2]
            added += new[b1:b2]
    return removed, added


def edit(preset: str, text: str, status: str, argument: str | None = None) -> str:
    return transition_edit(load_preset(preset), text, status=status, today=TODAY, argument=argument)


# One realistic proposal per preset.


def test_kep_approve_changes_the_status_and_last_updated_lines_only() -> None:
    after = edit("kep", KEP_YAML, "implementable")
    assert diff(KEP_YAML, after) == (
        ["status: provisional  # moved by the SIG\n", "last-updated: '2023-01-30'\n"],
        ["status: implementable  # moved by the SIG\n", "last-updated: '2025-03-14'\n"],
    )


def test_kep_replace_also_writes_superseded_by_as_a_list() -> None:
    after = edit("kep", KEP_YAML, "replaced", "KEP-4000")
    removed, added = diff(KEP_YAML, after)
    assert removed == ["status: provisional  # moved by the SIG\n", "last-updated: '2023-01-30'\n"]
    assert added == [
        "status: replaced  # moved by the SIG\n",
        "  - KEP-4000\n",
        "last-updated: '2025-03-14'\n",
    ]
    metadata = get_format("yaml").parse(after)
    assert metadata.get("superseded-by") == ["KEP-4000"]


def test_kep_without_last_updated_gets_one_line_added() -> None:
    text = KEP_YAML.replace("last-updated: '2023-01-30'\n", "")
    after = edit("kep", text, "implementable")
    assert diff(text, after) == (
        ["status: provisional  # moved by the SIG\n"],
        ["status: implementable  # moved by the SIG\n", "last-updated: 2025-03-14\n"],
    )


def test_kep_2017_approve_edits_the_front_matter_only() -> None:
    after = edit("kep-2017", KEP_2017, "Approved")
    assert diff(KEP_2017, after) == (
        ["last-updated: 2018-04-12\n", "status: Draft\n"],
        ["last-updated: 2025-03-14\n", "status: Approved\n"],
    )
    assert after.endswith("status: this line is prose, not metadata.\n")


def test_kep_2017_replace_rewrites_the_superseded_by_list() -> None:
    after = edit("kep-2017", KEP_2017, "Replaced", "0009-other")
    removed, added = diff(KEP_2017, after)
    assert "  - n/a\n" in removed and "status: Draft\n" in removed
    assert "  - 0009-other\n" in added and "status: Replaced\n" in added
    assert len(removed) == 3 and len(added) == 3
    assert get_format("front-matter").parse(after).get("superseded-by") == ["0009-other"]


def test_gep_has_no_last_updated_so_only_the_status_changes() -> None:
    after = edit("gep", GEP_METADATA, "Standard")
    assert diff(GEP_METADATA, after) == (["status: Experimental\n"], ["status: Standard\n"])


def test_gep_transitions_take_no_argument() -> None:
    with pytest.raises(ValueError, match="takes an argument"):
        edit("gep", GEP_METADATA, "Withdrawn", "GEP-1")


def test_agentic_changes_the_status_header_line_only() -> None:
    after = edit("agentic", AGENTIC, "Implementable")
    assert diff(AGENTIC, after) == (
        ["Status: Provisional<br/>\n"],
        ["Status: Implementable<br/>\n"],
    )


def test_agentic_keeps_crlf_line_endings() -> None:
    text = AGENTIC.replace("\n", "\r\n")
    after = edit("agentic", text, "Withdrawn")
    assert after == text.replace("Status: Provisional<br/>", "Status: Withdrawn<br/>")


def test_kpep_changes_the_status_and_last_updated_rows() -> None:
    after = edit("kpep", KPEP, "implementable")
    assert diff(KPEP, after) == (
        ["| **Status** | `provisional` |\n", "| **Last updated** | 2026-06-02 |\n"],
        ["| **Status** | `implementable` |\n", "| **Last updated** | 2025-03-14 |\n"],
    )


def test_kpep_replace_adds_a_superseded_by_row() -> None:
    after = edit("kpep", KPEP, "replaced", "KPEP-0007")
    removed, added = diff(KPEP, after)
    assert len(removed) == 2
    assert added == [
        "| **Status** | `replaced` |\n",
        "| **Last updated** | 2025-03-14 |\n",
        "| **Superseded by** | KPEP-0007 |\n",
    ]
    assert get_format("field-table").parse(after).get("Superseded by") == "KPEP-0007"


# At the target already, and applied twice.

TEXTS = {"kep": KEP_YAML, "kep-2017": KEP_2017, "gep": GEP_METADATA, "agentic": AGENTIC}
TEXTS["kpep"] = KPEP
CURRENT = {
    "kep": "provisional",
    "kep-2017": "Draft",
    "gep": "Experimental",
    "agentic": "Provisional",
    "kpep": "provisional",
}


@pytest.mark.parametrize("preset", sorted(TEXTS))
def test_a_text_at_the_target_is_returned_unchanged(preset: str) -> None:
    text = TEXTS[preset]
    assert edit(preset, text, CURRENT[preset]) is text


@pytest.mark.parametrize("preset", sorted(TEXTS))
def test_applying_an_edit_twice_is_applying_it_once(preset: str) -> None:
    config = load_preset(preset)
    target = next(s for s in config.status_names if s != CURRENT[preset])
    once = transition_edit(config, TEXTS[preset], status=target, today=TODAY)
    assert once != TEXTS[preset]
    assert transition_edit(config, once, status=target, today=LATER) == once


def test_unreadable_metadata_raises_a_format_error() -> None:
    with pytest.raises(FormatError):
        edit("kep", "status: [unclosed\n", "implementable")


# The shape of the argument's value.


def test_a_scalar_superseded_by_stays_a_scalar() -> None:
    text = KEP_YAML.replace("superseded-by:\n", "superseded-by: KEP-1\n")
    after = edit("kep", text, "replaced", "KEP-2")
    assert "superseded-by: KEP-2\n" in after
    assert get_format("yaml").parse(after).get("superseded-by") == "KEP-2"


def test_an_absent_key_follows_the_schema_type() -> None:
    text = KEP_YAML.replace("superseded-by:\n", "")
    listed = edit("kep", text, "replaced", "KEP-2")
    assert get_format("yaml").parse(listed).get("superseded-by") == ["KEP-2"]
    scalar_config = load_config(
        "extends: kep\nschema:\n  keys:\n    superseded-by: {type: string}\n"
    )
    scalar = transition_edit(scalar_config, text, status="replaced", today=TODAY, argument="K-2")
    assert get_format("yaml").parse(scalar).get("superseded-by") == "K-2"


def test_an_argument_field_the_layout_lacks_is_not_written() -> None:
    config = load_config("extends: kpep\nproposals:\n  fields:\n    superseded-by: null\n")
    after = transition_edit(config, KPEP, status="replaced", today=TODAY, argument="KPEP-2")
    assert "KPEP-2" not in after
    assert "`replaced`" in after


# Property tests on generated proposals of every format.


@st.composite
def yaml_proposal(draw: st.DrawFn, status: str, front_matter: bool) -> str:
    quote = draw(st.sampled_from(["{}", '"{}"', "'{}'"]))
    lines = [
        "title: A generated proposal",
        "kep-number: NNNN",
        'authors:\n  - "@alice"',
        "owning-sig: sig-node",
        "status: " + quote.format(status) + draw(st.sampled_from(["", "  # why"])),
        "creation-date: 2024-01-02",
    ]
    if draw(st.booleans()):
        lines.append("last-updated: " + quote.format("2024-02-03"))
    lines.append(draw(st.sampled_from(["superseded-by:", "superseded-by: []", "see-also: []"])))
    lines = draw(st.permutations(lines))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "# a comment\n")
    text = "\n".join(lines) + "\n"
    return f"---\n{text}---\n\n# Title\n\nProse.\n" if front_matter else text


@st.composite
def header_proposal(draw: st.DrawFn, status: str) -> str:
    tail = draw(st.sampled_from(["<br/>", "<br>", "", "  <br />"]))
    lines = [f"Date: 1st May 2025{tail}", f"Authors: someone{tail}", f"Status: {status}{tail}"]
    lines = draw(st.permutations(lines))
    return "\n".join(lines) + "\n\n# Title\n\nProse.\n"


@st.composite
def table_proposal(draw: st.DrawFn, status: str) -> str:
    code = draw(st.booleans())
    rows = [
        f"| **Status** | {'`' + status + '`' if code else status} |",
        "| **Authors** | @someone |",
        "| **Created** | 2025-01-01 |",
    ]
    if draw(st.booleans()):
        rows.append("| **Last updated** | 2025-02-02 |")
    rows = draw(st.permutations(rows))
    return "# KPEP-NNNN: Title\n\n| Field | Value |\n|---|---|\n" + "\n".join(rows) + "\n\n## S\n"


def proposal_for(preset: str, status: str) -> st.SearchStrategy[str]:
    builders: dict[str, Callable[[], st.SearchStrategy[str]]] = {
        "kep": lambda: yaml_proposal(status, front_matter=False),
        "kep-2017": lambda: yaml_proposal(status, front_matter=True),
        "gep": lambda: yaml_proposal(status, front_matter=False),
        "agentic": lambda: header_proposal(status),
        "kpep": lambda: table_proposal(status),
    }
    return builders[preset]()


@st.composite
def edit_case(draw: st.DrawFn) -> tuple[Config, str, str, str | None, datetime.date]:
    preset = draw(st.sampled_from(sorted(TEXTS)))
    config = load_preset(preset)
    statuses = st.sampled_from(config.status_names)
    current, target = draw(st.lists(statuses, min_size=2, max_size=2, unique=True))
    text = draw(proposal_for(preset, current))
    takes_argument = any(t.argument for t in config.transitions if t.to == target)
    argument = draw(st.from_regex(r"KEP-[0-9]{1,5}", fullmatch=True)) if takes_argument else None
    today = draw(st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)))
    return config, text, target, argument, today


@given(edit_case())
@SETTINGS
def test_an_edit_is_idempotent(case: tuple[Config, str, str, str | None, datetime.date]) -> None:
    config, text, target, argument, today = case
    once = transition_edit(config, text, status=target, today=today, argument=argument)
    again = transition_edit(config, once, status=target, today=LATER, argument=argument)
    assert again == once


@given(edit_case())
@SETTINGS
def test_an_edit_touches_only_the_expected_lines(
    case: tuple[Config, str, str, str | None, datetime.date],
) -> None:
    config, text, target, argument, today = case
    after = transition_edit(config, text, status=target, today=today, argument=argument)
    fields = config.proposals.fields
    fmt = get_format(config.proposals.format)
    metadata = fmt.parse(after)
    assert metadata.get(fields.status) == target
    removed, added = diff(text, after)
    keys = {fields.status, fields.last_updated, fields.superseded_by} - {None}
    present = [key for key in keys if key in fmt.parse(text).fields]
    assert len(removed) <= len(present)
    for line in removed:
        assert any(line.lstrip("|* ").startswith(str(key)) for key in keys), line
    expected_values = [target, today.isoformat(), argument or target]
    for line in added:
        assert any(value in line for value in expected_values) or line.strip().endswith(":")
    assert len(added) <= len(keys) + 1
    if fields.last_updated is not None:
        assert today.isoformat() in str(metadata.get(fields.last_updated))
    if argument is not None and fields.superseded_by is not None:
        value = metadata.get(fields.superseded_by)
        assert value in (argument, [argument])
