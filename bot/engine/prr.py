"""Kubernetes' production readiness review rule, as its CI enforces it.

kubernetes/enhancements checks it in `pkg/kepval/approval.go` (ValidatePRR), reading the
approval file as `api/approval.go` does. A KEP whose status is `implementable` or
`implemented` must have `latest-milestone` and `stage`; when its latest milestone, read as
a tolerant semantic version, is at or after the rule's start (v1.21), it needs
`keps/prod-readiness/<owning-sig>/<kep-number>.yaml`. That file is read strictly (known
keys only, `kep-number` required, every stage entry with an `approver`), must name an
approver for the KEP's stage, and that approver (less one leading `@`) must be, exactly,
a member of the `prod-readiness-approvers` alias or its emeritus alias in OWNERS_ALIASES.
CI stops at the first problem, and so does check_prr: one finding per KEP at most.

A KEP whose number is still a placeholder cannot be told from another new KEP of its SIG by
`<owning-sig>/NNNN.yaml`, so its approval file may be named by its folder instead
(`<owning-sig>/NNNN-<slug>.yaml`, `draft_review_path`): numbering the KEP at merge renames
it to `<number>.yaml` (docs/design.md B4). Two new KEPs of one SIG that would share the
placeholder file get a `prr.shared` finding that names the file each one needs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import NamedTuple

from bot.engine.config import KeySpec, MetadataSchema, PRRConfig
from bot.engine.findings import Collector, Finding
from bot.engine.formats import Field, FormatError, Metadata, get_format
from bot.engine.numbering import is_placeholder
from bot.engine.proposal import Proposal, is_proposal_path, name_parts, proposal_name
from bot.engine.schema import check_metadata
from bot.engine.tree import Tree

# The statuses that need a review, and the stages an approval file can name (api/proposal.go).
PRR_STATUSES = ("implementable", "implemented")
STAGES = ("alpha", "beta", "stable", "deprecated", "disabled", "removed")

# The approval file as Go reads it: these keys and no other.
APPROVAL_SCHEMA = MetadataSchema(
    strict=True,
    keys={
        "kep-number": KeySpec(required=True),
        **{stage: KeySpec(type="mapping", keys={"approver": KeySpec()}) for stage in STAGES},
    },
)

_DIGITS = frozenset("0123456789")
_ALPHANUMERIC = _DIGITS | frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")


class Version(NamedTuple):
    """A semantic version; tuples compare as semantic versions do (build data is ignored)."""

    major: int
    minor: int
    patch: int
    # (1,) for a release; (0, identifiers...) for a pre-release, which comes before it.
    # A numeric identifier is (0, n, ""), any other (1, 0, text): numbers sort first.
    pre: tuple[object, ...]


def parse_tolerant(text: str) -> Version | None:
    """A version as Go's blang/semver ParseTolerant reads it, or None where it fails.

    Surrounding space and one leading `v` go; leading zeros go from each of the first
    three dot-separated parts; a missing minor or patch is 0, but a shortened version
    cannot carry a pre-release or build suffix (`v1.21-alpha` fails, `v1.21.0-alpha` is
    a pre-release of 1.21.0, which sorts before it). `V1.21` and `1.x` fail.
    """
    parts = text.strip().removeprefix("v").split(".", 2)
    for index, part in enumerate(parts):
        if len(part) > 1:
            part = part.lstrip("0")
            if not part or part[0] not in _DIGITS:
                part = "0" + part
            parts[index] = part
    if len(parts) < 3:
        if "+" in parts[-1] or "-" in parts[-1]:
            return None
        parts += ["0"] * (3 - len(parts))
    return _parse_strict(parts)


def _parse_strict(parts: list[str]) -> Version | None:
    """Go's semver Parse on `major.minor.patch[-pre][+build]`, already split in three."""
    major, minor, rest = (_number(parts[0]), _number(parts[1]), parts[2])
    rest, plus, build = rest.partition("+")
    patch_text, dash, pre = rest.partition("-")
    patch = _number(patch_text)
    if major is None or minor is None or patch is None:
        return None
    if plus and not all(part and set(part) <= _ALPHANUMERIC for part in build.split(".")):
        return None
    identifiers: list[object] = []
    for identifier in pre.split(".") if dash else []:
        if not identifier or not set(identifier) <= _ALPHANUMERIC:
            return None
        if set(identifier) <= _DIGITS:
            number = _number(identifier)
            if number is None:
                return None
            identifiers.append((0, number, ""))
        else:
            identifiers.append((1, 0, identifier))
    return Version(major, minor, patch, (0, *identifiers) if dash else (1,))


def _number(text: str) -> int | None:
    """A numeric part: digits, no leading zero, below 2**64."""
    if not text or not set(text) <= _DIGITS or _leading_zero(text) or int(text) >= 2**64:
        return None
    return int(text)


def _leading_zero(text: str) -> bool:
    return len(text) > 1 and text[0] == "0"


def approvers(tree: Tree, rule: PRRConfig) -> list[str] | None:
    """The members of the PRR aliases, as written (CI compares them exactly); None when the
    aliases file is missing or unreadable."""
    text = tree.read(rule.aliases_file)
    if text is None:
        return None
    try:
        data = get_format("yaml").parse(text)
    except FormatError:
        return None
    aliases = data.get("aliases")
    if not isinstance(aliases, dict):
        return []
    members: list[str] = []
    for alias in rule.aliases:
        found = aliases.get(alias)
        if found is not None and isinstance(found.value, list):
            members.extend(m for m in found.value if isinstance(m, str))
    return sorted(members)


def check_prr(
    out: Collector,
    proposal: Proposal,
    tree: Tree,
    rule: PRRConfig,
    allowed: Callable[[], list[str] | None],
) -> None:
    """`allowed` gives what approvers() reads, once per validation run and only if needed."""
    status = proposal.raw("status")
    placeholder = is_placeholder(out.config, proposal.text_of("number"))
    if placeholder and _check_shared(out, proposal, tree, rule):
        return
    if status not in PRR_STATUSES:
        return
    milestone, stage = proposal.raw("milestone"), proposal.raw("stage")
    if not isinstance(milestone, str | None) or not isinstance(stage, str | None):
        return  # a list or mapping there is already a schema.type error, as in CI
    milestone_key = proposal.field_key("milestone") or "latest-milestone"
    stage_key = proposal.field_key("stage") or "stage"
    if not milestone:
        out.add(
            "prr.milestone",
            proposal.path,
            proposal.line_of("milestone"),
            f"an {status} KEP needs {milestone_key}: the release its work targets (such as v1.31)",
        )
        return
    if not stage:
        out.add(
            "prr.stage",
            proposal.path,
            proposal.line_of("stage"),
            f"an {status} KEP needs {stage_key}: one of {', '.join(STAGES)}",
        )
        return
    version = parse_tolerant(milestone)
    if version is None:
        out.add(
            "prr.milestone",
            proposal.path,
            proposal.line_of("milestone"),
            f"{milestone_key} {milestone!r} is not a version such as v1.31 or 1.31.0",
        )
        return
    since = parse_tolerant(rule.since)
    if since is not None and version < since:
        return
    prr_path = review_path(proposal, tree, rule, placeholder=placeholder)
    if prr_path is None:
        return  # no owning-sig or kep-number: a schema.required error, as in CI
    text = tree.read(prr_path)
    if text is None:
        out.add(
            "prr.missing",
            proposal.path,
            proposal.line_of("status"),
            f"an {status} KEP targeting {milestone} needs a production readiness "
            f"approval file at {prr_path}",
        )
        return
    approval = read_approval(out, prr_path, text)
    if approval is not None:
        _check_approver(out, proposal, stage, approval, prr_path, allowed, rule)


def read_approval(out: Collector, path: str, text: str) -> Metadata | None:
    """The approval file read as CI reads it; None (with prr.parse findings) when it fails."""
    try:
        approval = get_format("yaml").parse(text)
    except FormatError as exc:
        out.add("prr.parse", path, exc.line, exc.message)
        return None
    problems = _Problems(out.config)
    check_metadata(problems, path, approval, APPROVAL_SCHEMA)
    for stage in STAGES:
        entry = approval.get(stage)
        approver = entry.get("approver") if isinstance(entry, dict) else None
        if isinstance(entry, dict) and (approver is None or approver.value in (None, "")):
            line = approver.line if approver else approval.line_of(stage)
            problems.add("schema.required", path, line, f"{stage}.approver is required: a login")
    for problem in problems.findings:
        out.add("prr.parse", path, problem.line, problem.message)
    return None if problems.findings else approval


class _Problems(Collector):
    """Collects what the schema check finds in an approval file, to report as prr.parse."""

    def add(self, rule: str, path: str, line: int, message: str) -> None:
        self.findings.append(Finding(rule, "error", path, max(line, 1), message))


def _check_approver(
    out: Collector,
    proposal: Proposal,
    stage: str,
    approval: Metadata,
    prr_path: str,
    allowed: Callable[[], list[str] | None],
    rule: PRRConfig,
) -> None:
    if stage not in STAGES:
        out.add(
            "prr.stage",
            proposal.path,
            proposal.line_of("stage"),
            f"stage {stage!r} is not one of {', '.join(STAGES)}, so {prr_path} "
            "cannot give its approver",
        )
        return
    entries = {s: approval.fields[s] for s in STAGES if approval.get(s) is not None}
    if not entries:
        out.add(
            "prr.approver",
            prr_path,
            1,
            f"no stage names an approver: add `{stage}:` with `approver: <login>`",
        )
        return
    entry = entries.get(stage)
    if entry is None:
        out.add(
            "prr.approver",
            prr_path,
            1,
            f"no `{stage}:` entry for the KEP's stage ({stage}); it has {', '.join(entries)}",
        )
        return
    assert isinstance(entry.value, dict)
    field: Field = entry.value["approver"]
    approver = str(field.value)
    login = approver.removeprefix("@")
    members = allowed()
    if members is None:
        out.add(
            "prr.approver",
            proposal.path,
            proposal.line_of("stage"),
            f"{rule.aliases_file} with the {rule.aliases[0]} alias is needed to check {prr_path}",
        )
    elif login not in members:
        near = [m for m in members if m.lower() == login.lower()]
        hint = f" (logins are compared exactly: it lists {near[0]!r})" if near else ""
        out.add(
            "prr.approver",
            prr_path,
            field.line,
            f"the {stage} approver {approver!r} is not in {' or '.join(rule.aliases)}{hint}: "
            f"{', '.join(members) or 'nobody'}",
        )


def prr_files(
    proposal: Proposal, rule: PRRConfig, present: Callable[[str], bool] | None = None
) -> list[str]:
    """The files check_prr may read for this proposal, so a caller can fetch them first.

    Whatever its status now: a command may move it to a status that needs them before the
    check that follows reads the same fetched files. The aliases are read only beside an
    approval file, so they are wanted only where one is `present` (or may be: no test given).
    """
    if not rule.enabled:
        return []
    path = approval_path(proposal, rule)
    files = [path] if path else []
    draft = draft_review_path(proposal, rule)
    own = draft is not None and present is not None and present(draft)
    if own and draft is not None:
        files.append(draft)  # a new KEP's own approval file, when there is one
    needed = proposal.raw("status") in PRR_STATUSES
    if needed or own or (path is not None and (present is None or present(path))):
        files.insert(0, rule.aliases_file)
    return files


def approval_path(proposal: Proposal, rule: PRRConfig) -> str | None:
    """`<directory>/<owning-sig>/<kep-number>.yaml`, joined and cleaned as Go's filepath.Join
    does; None when a part is missing or the path would leave the repository."""
    area, number = proposal.raw("area"), proposal.raw("number")
    if not isinstance(area, str) or not isinstance(number, str) or not number:
        return None
    return _inside(f"{rule.directory}/{area}/{number}.yaml")


def _inside(path: str) -> str | None:
    path = posixpath.normpath(path)
    return None if path.startswith(("../", "/")) or path == ".." else path


def draft_review_path(proposal: Proposal, rule: PRRConfig) -> str | None:
    """`<directory>/<owning-sig>/<folder name>.yaml` (`NNNN-pod-budget.yaml`): the approval
    file of a KEP whose number is still a placeholder, its own whatever other new KEPs its
    SIG has; None when the KEP names no SIG."""
    area = proposal.raw("area")
    if not isinstance(area, str) or not area:
        return None
    return _inside(f"{rule.directory}/{area}/{proposal.name}.yaml")


def _present(tree: Tree, path: str) -> bool:
    try:
        return tree.read(path) is not None
    except LookupError:  # listed, not fetched: it is there
        return True


def review_path(
    proposal: Proposal, tree: Tree, rule: PRRConfig, *, placeholder: bool
) -> str | None:
    """The approval file the KEP has: its own draft file while its number is a placeholder
    and that file exists, else the one named by its number (`approval_path`)."""
    draft = draft_review_path(proposal, rule) if placeholder else None
    if draft is not None and _present(tree, draft):
        return draft
    return approval_path(proposal, rule)


def sharing(
    proposal: Proposal,
    tree: Tree,
    rule: PRRConfig,
    placeholder: Callable[[str | None], bool],
) -> list[str]:
    """The other proposals beside this one (in the same area folder) whose names still
    carry a placeholder number and that have no draft approval file of their own: with this
    one, they would take the same approval file (`NNNN.yaml`)."""
    layout, own = proposal.layout, draft_review_path(proposal, rule)
    if own is None:
        return []
    home = posixpath.dirname(proposal.path)
    if layout.name_of == "folder":
        home = posixpath.dirname(home)
    found = []
    for path in tree.paths():
        if path == proposal.path or not is_proposal_path(layout, path):
            continue
        folder = posixpath.dirname(path)
        if layout.name_of == "folder":
            folder = posixpath.dirname(folder)
        parts = name_parts(layout, path)
        if folder != home or parts is None or not placeholder(parts.get("number")):
            continue
        name = proposal_name(layout, path)
        if not _present(tree, posixpath.join(posixpath.dirname(own), f"{name}.yaml")):
            found.append(path)
    return sorted(found)


def _check_shared(out: Collector, proposal: Proposal, tree: Tree, rule: PRRConfig) -> bool:
    """`prr.shared`: a new KEP without its own draft approval file, beside another new KEP,
    while the placeholder file exists or its status needs one. True when found."""
    own, shared = draft_review_path(proposal, rule), approval_path(proposal, rule)
    if own is None or shared is None or _present(tree, own):
        return False
    if not _present(tree, shared) and proposal.raw("status") not in PRR_STATUSES:
        return False
    others = sharing(proposal, tree, rule, lambda number: is_placeholder(out.config, number))
    if not others:
        return False
    out.add(
        "prr.shared",
        proposal.path,
        proposal.line_of("number"),
        f"{shared} cannot be the approval file of this KEP and of "
        f"{', '.join(posixpath.dirname(o) or o for o in others)}: none has a number yet. "
        f"Name this KEP's {own}; numbering it at merge renames it to {posixpath.dirname(own)}/"
        "<number>.yaml",
    )
    return True
