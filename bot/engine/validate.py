"""Validation of proposals: one proposal, a whole tree, or the proposals a change touches.

Each rule has an id (`schema.unknown-key`, `status.unknown`, ...) whose severity the
configuration sets. Against a base version, a finding the change introduced (one the
base version does not have) is raised to `validation.introduced`, so inherited defects
stay warnings while new ones block; status changes must be legal transitions. A section
the old status already required and the old version lacked is inherited whatever the new
status is; one the new status requires first is new. Relationships between proposals
(bot.engine.relationships) are checked between the proposals a change touches and those
their links name, in both versions.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.engine import markdown
from bot.engine.config import Config
from bot.engine.findings import Collector, Finding
from bot.engine.index import render_index
from bot.engine.numbering import is_placeholder
from bot.engine.process import Move, next_statuses, reachable
from bot.engine.proposal import (
    Proposal,
    Walk,
    ci_walk,
    document_path,
    is_proposal_path,
    load_all,
    load_proposal,
    metadata_view,
    name_parts,
    owning_proposal,
    proposal_paths,
)
from bot.engine.prr import approvers, check_prr
from bot.engine.relationships import Relations, checks_relations, related_files
from bot.engine.schema import check_metadata
from bot.engine.section_files import check_sections
from bot.engine.tree import Tree


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    proposals: list[str] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


class Context:
    """What rules that look beyond one proposal need: the tree and its proposals' numbers."""

    def __init__(self, config: Config, tree: Tree, proposals: Iterable[Proposal] | None = None):
        self.config = config
        self.tree = tree
        self._numbers: set[str] | None = None
        self._paths: set[str] | None = None
        self._unique: dict[str, dict[str, list[str]]] | None = None
        self._proposals = list(proposals) if proposals is not None else None

    def all_proposals(self) -> list[Proposal]:
        if self._proposals is None:
            self._proposals = load_all(self.config, self.tree)
        return self._proposals

    def prr_approvers(self) -> list[str] | None:
        if not hasattr(self, "_prr_approvers"):
            self._prr_approvers = approvers(self.tree, self.config.validation.prr)
        return self._prr_approvers

    def numbers(self) -> set[str]:
        """Numbers in use, read from proposal names so that no file has to be fetched; from
        the metadata where the names carry none (kepctl's `kep_number`)."""
        if self._numbers is None:
            numbers = set()
            if not self.config.proposals.number_in_name:
                for proposal in self.all_proposals():
                    number = proposal.number
                    if number and number.isdigit():
                        numbers.add(number.lstrip("0"))
            for path in proposal_paths(self.config, self.tree):
                parts = name_parts(self.config.proposals, path)
                if parts and parts.get("number"):
                    numbers.add(parts["number"].lstrip("0"))
            self._numbers = numbers
        return self._numbers

    def unique_values(self) -> dict[str, dict[str, list[str]]]:
        """For each key the schema says is unique, the proposals holding each value."""
        if self._unique is None:
            keys = [key for key, spec in self.config.schema_.keys.items() if spec.unique]
            found: dict[str, dict[str, list[str]]] = {key: {} for key in keys}
            for proposal in self.all_proposals() if keys else []:
                for key in keys:
                    value = proposal.metadata.get(key) if proposal.metadata else None
                    if isinstance(value, str) and value.strip():
                        found[key].setdefault(value.strip(), []).append(proposal.path)
            self._unique = found
        return self._unique

    def path_exists(self, path: str) -> bool:
        if self._paths is None:
            self._paths = set()
            for file in self.tree.paths():
                self._paths.add(file)
                folder = posixpath.dirname(file)
                while folder and folder not in self._paths:
                    self._paths.add(folder)
                    folder = posixpath.dirname(folder)
        return path in self._paths


def check_proposal(proposal: Proposal, ctx: Context, *, new: bool = False) -> list[Finding]:
    """Every rule about one proposal on its own (no comparison with a base version)."""
    config = ctx.config
    out = Collector(config)
    if proposal.error is not None:
        out.add("parse.error", proposal.path, proposal.error.line, proposal.error.message)
        return out.findings
    assert proposal.metadata is not None
    _check_separator(out, proposal)
    check_metadata(out, proposal.path, proposal.metadata, config.schema_)
    _check_status(out, proposal, config)
    _check_naming(out, proposal, config, new)
    _check_document(out, proposal, config)
    status = proposal.status
    check_sections(out, proposal, ctx.tree, config.status(status) if status else None)
    _check_unique(out, proposal, ctx)
    _check_references(out, proposal, ctx)
    if config.validation.prr.enabled:
        check_prr(out, proposal, ctx.tree, config.validation.prr, ctx.prr_approvers)
    return out.findings


def _check_separator(out: Collector, proposal: Proposal) -> None:
    separator = proposal.layout.metadata_separator
    left_out = metadata_view(proposal.layout, proposal.text)[1]
    if left_out:
        shown = ", ".join(str(n) for n in left_out[:5]) + (", ..." if len(left_out) > 5 else "")
        which = f"lines {shown} are" if len(left_out) > 1 else f"line {shown} is"
        out.add(
            "parse.separator",
            proposal.path,
            left_out[0],
            f"{which} not read as metadata: only the lines between the first two lines "
            f"containing {separator!r} are (every line when none does); keep {separator!r} "
            "out of values and comments",
        )


def _check_status(out: Collector, proposal: Proposal, config: Config) -> None:
    status = proposal.status
    line = proposal.line_of("status")
    if not status:
        out.add("status.missing", proposal.path, line, "the proposal has no status")
        return
    definition = config.status(status)
    if definition is None:
        close = difflib.get_close_matches(status, config.status_names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        out.add(
            "status.unknown",
            proposal.path,
            line,
            f"status {status!r} is not valid{hint} Valid: {', '.join(config.status_names)}",
        )
        return
    for logical, allowed in definition.requires.items():
        value = proposal.text_of(logical)
        if value not in allowed:
            key = proposal.field_key(logical) or logical
            out.add(
                "status.requires",
                proposal.path,
                proposal.line_of(logical),
                f"status {status} needs {key} {' or '.join(allowed)}, not {value!r}",
            )
    for logical in definition.fields:
        if not proposal.text_of(logical) and not proposal.list_of(logical):
            key = proposal.field_key(logical) or logical
            out.add("status.fields", proposal.path, line, f"status {status} needs {key} to be set")


def _check_naming(out: Collector, proposal: Proposal, config: Config, new: bool) -> None:
    parts = proposal.name_parts
    layout = config.proposals
    if parts is None:
        out.add(
            "naming.pattern",
            proposal.path,
            1,
            f"the {layout.name_of} name {proposal.name!r} does not match {layout.name_pattern!r}",
        )
    number = proposal.number
    named = parts.get("number") if parts else None
    if named is not None and number is not None and not _same_number(named, number):
        out.add(
            "naming.number-mismatch",
            proposal.path,
            proposal.line_of("number"),
            f"number {number!r} differs from the {layout.name_of} name {proposal.name!r}",
        )
    heading = proposal.heading
    if heading is not None:
        _check_heading(out, proposal, heading, number)
    if is_placeholder(config, number):
        if not new:
            out.add(
                "number.placeholder",
                proposal.path,
                proposal.line_of("number"),
                f"number {number!r} is a placeholder on a proposal that is already merged",
            )
    elif number is not None and not number.isdigit():
        out.add(
            "number.format",
            proposal.path,
            proposal.line_of("number"),
            f"number {number!r} is neither a number nor a placeholder "
            f"({', '.join(repr(p) for p in layout.placeholders)})",
        )


def _check_heading(
    out: Collector, proposal: Proposal, heading: dict[str, object], number: str | None
) -> None:
    form = proposal.layout.heading
    line = int(str(heading["line"]))
    if "title" not in heading:
        out.add(
            "naming.heading",
            proposal.doc_path,
            line,
            f"the title heading {heading['text']!r} does not have the form {form!r}",
        )
    elif heading.get("number") and number and not _same_number(str(heading["number"]), number):
        out.add(
            "naming.number-mismatch",
            proposal.doc_path,
            line,
            f"the title heading says {heading['number']!r} but the number is {number!r}",
        )


def _same_number(a: str, b: str) -> bool:
    return a == b or (a.isdigit() and b.isdigit() and int(a) == int(b))


def _check_document(out: Collector, proposal: Proposal, config: Config) -> None:
    status = proposal.status
    definition = config.status(status) if status else None
    if proposal.document is None:
        if proposal.doc_path != proposal.path:
            out.add("document.missing", proposal.path, 1, f"{proposal.doc_path} is missing")
        return
    found = markdown.headings(proposal.document)
    titles = {markdown.normalise(h.text) for h in found}
    # Sections that are files of their own are bot.engine.section_files' to check.
    headed = proposal.layout.fields.sections is None
    for required in definition.sections if definition and headed else []:
        choices = [markdown.normalise(choice) for choice in required.split("|")]
        if not titles.intersection(choices):
            section = f"{_NEEDS}{required.split('|')[0]!r}"
            out.add("sections.missing", proposal.doc_path, 1, f"status {status} {section}")
    if config.validation.required_in_markers and status:
        _check_markers(out, proposal, found, config, status)
    if config.validation.status_bullet and status:
        bullet = markdown.status_bullet(proposal.document)
        if bullet is not None and bullet[0] != status:
            out.add(
                "status.bullet",
                proposal.doc_path,
                bullet[1],
                f"the Status line says {bullet[0]!r} but {proposal.path} says {status!r}",
            )


_NEEDS = "needs a section "


def _lasting(finding: Finding) -> tuple[str, str, str]:
    """What makes a finding the same in the base and the head version (`Finding.identity`),
    except that a missing section is the same whichever status needs it: one the old status
    already required is inherited, one only the new status requires is new (README,
    "inherited defects stay warnings, new ones block")."""
    if finding.rule == "sections.missing" and _NEEDS in finding.message:
        return (finding.rule, finding.path, finding.message.partition(_NEEDS)[2])
    return finding.identity


def _check_markers(
    out: Collector, proposal: Proposal, found: list[markdown.Heading], config: Config, status: str
) -> None:
    order = [s.name.lower() for s in config.statuses if not s.terminal or s.sections]
    if status.lower() not in order:
        return
    rank = order.index(status.lower())
    for heading in found:
        since = (heading.required_in or "").lower()
        if since in order and order.index(since) <= rank and not markdown.has_content(heading.body):
            out.add(
                "sections.empty",
                proposal.doc_path,
                heading.line,
                f"section {heading.text!r} is required from {heading.required_in} on and is empty",
            )


def _check_unique(out: Collector, proposal: Proposal, ctx: Context) -> None:
    """A key the schema says is unique (kepctl's `uuid`) holds a value no other proposal of
    the tree holds."""
    if proposal.metadata is None:
        return
    for key, holders in ctx.unique_values().items():
        value = proposal.metadata.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        others = [path for path in holders.get(value.strip(), []) if path != proposal.path]
        if others:
            out.add(
                "schema.unique",
                proposal.path,
                proposal.metadata.line_of(key),
                f"{key} {value.strip()!r} is also the {key} of {', '.join(others)}: "
                "each proposal needs its own",
            )


def _check_references(out: Collector, proposal: Proposal, ctx: Context) -> None:
    for logical in ("see-also", "replaces", "superseded-by"):
        for ref in proposal.list_of(logical):
            if not _resolves(ref, ctx):
                out.add(
                    "references.unresolved",
                    proposal.path,
                    proposal.line_of(logical),
                    f"{proposal.field_key(logical)} names {ref!r}, which is not in this repository",
                )


def _resolves(ref: str, ctx: Context) -> bool:
    ref = ref.strip()
    if ref.lower().startswith(("http://", "https://")) or ref.upper() == "TBD":
        return True  # links elsewhere are not ours to check
    if any(ref in values for values in ctx.unique_values().values()):
        return True  # a proposal named by its unique key (kepctl's uuid)
    prefix = ctx.config.kind.upper() + "-"
    if ref.upper().startswith(prefix):
        return ref[len(prefix) :].lstrip("0") in ctx.numbers()
    path = ref.split("#", 1)[0].strip("/")
    return ctx.path_exists(path)


def repository_files(config: Config, paths: Iterable[str]) -> list[str]:
    """The metadata files a check of a change reads besides the proposals it touches: every
    proposal's (and its document, which reading a proposal reads), when a rule looks across
    the repository (a `unique` key; numbers that only
    the metadata holds, for references), else none."""
    layout = config.proposals
    unique = any(spec.unique for spec in config.schema_.keys.values())
    if not unique and layout.number_in_name:
        return []
    metadata = [p for p in paths if is_proposal_path(layout, p)]
    return sorted({f for p in metadata for f in (p, document_path(layout, p))})


def validate_tree(config: Config, tree: Tree) -> Report:
    """Every proposal of a tree, as they stand (the state of the default branch)."""
    ctx = Context(config, tree)
    report = Report()
    walk = _walk(config, tree)
    for proposal in ctx.all_proposals():
        report.proposals.append(proposal.path)
        found = check_proposal(proposal, ctx)
        if walk is not None and proposal.path not in walk.reached:
            found = [f.demote() for f in found]  # CI's walk does not reach it
        report.findings.extend(found)
    if checks_relations(config):
        report.findings.extend(_relation_findings(config, tree, report.proposals, None))
    if walk is not None:
        report.findings.extend(_orphans(config, walk.orphans))
    index = config.index
    if index.path and index.check:
        expected = render_index(config, ctx.all_proposals())
        if tree.read(index.path) != expected:
            out = Collector(config)
            out.add("index.stale", index.path, 1, "the index is out of date: run `kepbot index`")
            report.findings.extend(out.findings)
    return report


def validate_change(config: Config, head: Tree, base: Tree, changed: Iterable[str]) -> Report:
    """The proposals that `changed` files belong to, compared with their base versions."""
    head_ctx, base_ctx = Context(config, head), Context(config, base)
    report = Report()
    walk = _walk(config, head)
    if walk is not None:
        touched = set(changed)
        report.findings.extend(_orphans(config, [p for p in walk.orphans if p in touched]))
    known = {*head.paths(), *base.paths()}
    owned = (owning_proposal(config, path, known.__contains__) for path in changed)
    owners = sorted({p for p in owned if p})
    for path in owners:
        after = load_proposal(config, head, path)
        if after is None:
            continue  # the change deletes the proposal
        before = load_proposal(config, base, path)
        report.proposals.append(path)
        found = check_proposal(after, head_ctx, new=before is None)
        if walk is not None and path not in walk.reached:
            found = [f.demote() for f in found]  # CI's walk does not reach it
        inherited = (
            {_lasting(f) for f in check_proposal(before, base_ctx)} if before is not None else set()
        )
        floor = config.validation.introduced
        for finding in found:
            if _lasting(finding) not in inherited and floor == "error":
                finding = finding.escalate()
            report.findings.append(finding)
        _check_move(report, config, before, after)
    if checks_relations(config):
        report.findings.extend(_relation_changes(config, head, base, report.proposals))
    return report


def _relation_findings(
    config: Config, tree: Tree, paths: Iterable[str], involving: set[str] | None
) -> list[Finding]:
    """Relationships of the proposals at `paths` (those of `involving` only, when given)
    that name no proposal, or that their other proposal does not record back."""
    relations = Relations(config, tree, paths)
    out = Collector(config)
    kind = config.kind
    for link in relations.unresolved(involving):
        where = _relation_key(config, link.relation)
        message = f"{where} names {kind}-{link.number}, which is not in this repository"
        out.add("references.unresolved", link.source, link.line, message)
    for gap in relations.missing(involving):
        source = f"{kind}-{gap.source_number}"
        out.add(
            "references.backlink",
            gap.target,
            gap.line,
            f"{source} ({gap.link.source}) lists this {kind} under "
            f"{_relation_key(config, gap.link.relation)}, so "
            f"{_relation_key(config, gap.reverse)} here must list {source}: "
            f"a relationship is recorded on both {kind}s",
        )
    return out.findings


def _relation_key(config: Config, relation: str) -> str:
    under = config.validation.backlinks.under
    return f"{under}.{relation}" if under else relation


def _relation_changes(config: Config, head: Tree, base: Tree, owners: list[str]) -> list[Finding]:
    """The relationship findings of a change: between the proposals it touches and those
    their links name in either version; new ones raised as any introduced finding is."""
    involved = set(owners)
    parties = involved | related_files(config, (head, base), owners)
    inherited = {f.identity for f in _relation_findings(config, base, parties, involved)}
    found = []
    for finding in _relation_findings(config, head, parties, involved):
        if finding.identity not in inherited and config.validation.introduced == "error":
            finding = finding.escalate()
        found.append(finding)
    return found


def _walk(config: Config, tree: Tree) -> Walk | None:
    """What Kubernetes' CI walk reaches, when the process follows it (`validation.walk`)."""
    rule = config.validation.walk
    document = config.proposals.document
    if not rule.enabled or document is None:
        return None
    metadata = posixpath.basename(config.proposals.metadata[0])
    return ci_walk(tree.paths(), rule.root.strip("/"), metadata, document, rule.skip)


def _orphans(config: Config, paths: Iterable[str]) -> list[Finding]:
    out = Collector(config)
    metadata = posixpath.basename(config.proposals.metadata[0])
    root = config.validation.walk.root.strip("/")
    for path in paths:
        out.add(
            "document.orphan",
            path,
            1,
            f"{posixpath.basename(path)} has no {metadata} beside it: every folder under "
            f"{root}/ that has a {posixpath.basename(path)} needs its {metadata}",
        )
    return out.findings


def _check_move(report: Report, config: Config, before: Proposal | None, after: Proposal) -> None:
    old = before.status if before is not None else None
    new = after.status
    if new is None or (before is not None and old == new):
        return
    report.moves.append(Move(after.path, old, new))
    if config.status(new) is None:
        return  # reported as status.unknown
    if before is not None and old is not None and config.status(old) is None:
        return  # leaving an unknown status for a valid one is a repair
    if not reachable(config, old, new):
        source = "a new proposal" if old is None else f"{old!r}"
        out = Collector(config)
        out.add(
            "transition.illegal",
            after.path,
            after.line_of("status"),
            f"{source} cannot move to {new!r}; allowed next: "
            f"{', '.join(next_statuses(config, old)) or 'nothing (the status is final)'}",
        )
        report.findings.extend(f.escalate() for f in out.findings)
