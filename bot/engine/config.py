"""The repository configuration (`.github/kepbot.yml`): model, presets, `extends` and errors.

A configuration is YAML that names a preset with `extends:` and overrides any key of
it. Mappings merge key by key; lists and scalars replace. The merged document is
validated by the pydantic model below; a wrong document gives ConfigError with the
file, the line and the valid choices, so a maintainer can fix it without reading code.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.engine.yaml_lines import key_lines

CONFIG_PATH = ".github/kepbot.yml"
PRESET_NAMES = ("kep", "kep-2017", "gep", "agentic", "kpep", "kepctl")

Severity = Literal["error", "warning", "off"]
KeyType = Literal["string", "list", "bool", "date", "timestamp", "uuid", "mapping", "any"]
FormatName = Literal["yaml", "front-matter", "header-lines", "field-table"]
Permission = Literal["triage", "write", "maintain", "admin"]


class Model(BaseModel):
    """Base of every config model: unknown keys are errors, field names use dashes in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=lambda name: name.replace("_", "-"),
        frozen=True,
    )


class FieldMap(Model):
    """Which metadata key holds each value the process needs (None: the format has none)."""

    status: str
    number: str | None = None
    title: str | None = None
    authors: str | None = None
    approvers: str | None = None
    reviewers: str | None = None
    # The proposal's editor (KEP-1: one person, a login or a map as `authors` items are).
    editor: str | None = None
    area: str | None = None
    created: str | None = None
    last_updated: str | None = None
    superseded_by: str | None = None
    see_also: str | None = None
    replaces: str | None = None
    tracking_issue: str | None = None
    stage: str | None = None
    milestone: str | None = None
    # The list of the proposal's section files, paths inside its folder (kepctl's
    # `sections`). When set, a status's `sections` name such files: each must be listed
    # there and hold text (docs/design.md B1).
    sections: str | None = None


class KeySpec(Model):
    """The expected shape of one metadata key."""

    # One type, or the types a value may have: KEP-1 writes a person as a login
    # (`"@alice"`) or as a mapping (`name`, `github`, `email`, `slack`): [string, mapping].
    type: KeyType | list[KeyType] = "string"
    required: bool = False
    enum: list[str] | None = None
    # For mappings, and for lists of mappings: the allowed keys (None: any key).
    keys: dict[str, KeySpec] | None = None
    items: KeySpec | None = None
    # A top-level key whose value no two proposals of the repository may share (kepctl's
    # `uuid`); a reference may name a proposal by it.
    unique: bool = False

    @property
    def types(self) -> list[KeyType]:
        return list(self.type) if isinstance(self.type, list) else [self.type]


class MetadataSchema(Model):
    """Keys of the metadata, and whether keys outside `keys` are errors."""

    strict: bool = False
    keys: dict[str, KeySpec] = Field(default_factory=dict)


class StatusDef(Model):
    """One state of the process."""

    name: str
    description: str = ""
    sections: list[str] = Field(default_factory=list)
    # Values other keys must take in this status, e.g. implemented KEPs are `stage: stable`.
    requires: dict[str, list[str]] = Field(default_factory=dict)
    # Logical fields (see FieldMap) that must hold a value in this status.
    fields: list[str] = Field(default_factory=list)
    terminal: bool = False


NEW = "new"  # the pseudo-status of a proposal the default branch does not have yet
ANY = "*"


class Period(Model):
    """A comment period: `fcp <verb>` starts it and the transition happens when it ends."""

    days: Annotated[float, Field(gt=0, le=365)]
    # Count only Monday to Friday (UTC).
    business_days: bool = False


class Transition(Model):
    """A move between statuses, the verbs that request it, and who may perform it."""

    to: str
    from_: list[str] = Field(alias="from", default_factory=lambda: [ANY])
    verbs: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["approver"])
    # A verb argument written to this logical field (`replace <ref>` → superseded_by).
    argument: str | None = None
    # How many distinct authorised people must give the verb: `any` one of them, `all` the
    # approvers listed in the proposal's default-branch metadata (`any` when it lists
    # none, as for a new proposal), or a number of people holding one of `roles`.
    quorum: Literal["any", "all"] | Annotated[int, Field(ge=1)] = "any"
    # When set, the verb alone does not move the proposal: `fcp <verb>` starts a comment
    # period (once the quorum has given it) and the bot makes the move when it ends with
    # no concern open (see bot.engine.periods).
    period: Period | None = None
    # False: the move needs no command. A pull request that makes it passes the check once
    # the proposal is valid (KEP-1: "fast parallel merges of pre-acceptance KEPs", so a new
    # Draft merges without anyone's decision; docs/design.md B1).
    decision: bool = True
    # The status whose `sections` this transition adds to the proposal: the files it does
    # not list yet, from `template.sections`, in the transition's one commit (kepctl's
    # PLAN: while provisional, the author adds what implementable requires).
    add_sections: str | None = None


class RoleRule(Model):
    """The ways a person can hold a role; any one of them is enough."""

    metadata: list[str] = Field(default_factory=list)
    codeowners: bool = False
    teams: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    permission: Permission | None = None


class Layout(Model):
    """Where proposals live and how their names carry the number."""

    metadata: list[str]
    exclude: list[str] = Field(default_factory=list)
    format: FormatName
    document: str | None = None
    name_of: Literal["folder", "file"] = "folder"
    name_pattern: str = r"(?P<number>[^-]+)-(?P<slug>.+)"
    heading: str | None = None
    fields: FieldMap
    placeholders: list[str] = Field(default_factory=list)
    new_path: str = "{number}-{slug}"
    # Kubernetes' KEP parser: a line containing this text separates the metadata from the
    # rest; only the lines between the first two such lines are metadata (all lines when
    # no line contains it). The other lines are not read.
    metadata_separator: str | None = None
    # False: names carry no number (kepctl's `dry-run`): it is in the number field alone,
    # and numbering renames nothing.
    number_in_name: bool = True

    @field_validator("name_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        re.compile(value)
        return value

    @model_validator(mode="after")
    def _pattern_names_number(self) -> Layout:
        if self.number_in_name and "number" not in re.compile(self.name_pattern).groupindex:
            raise ValueError("name-pattern must have a (?P<number>...) group")
        if not self.number_in_name and self.fields.number is None:
            raise ValueError("number-in-name: false needs fields.number, where the number is")
        return self


class Numbering(Model):
    source: Literal["next", "pr", "issue"] = "next"
    # When a proposal gets its number: as its PR merges, on the branch as it is accepted, or
    # on the branch as its PR is opened (and at merge when the bot did not see it opened).
    when: Literal["merge", "accept", "open"] = "merge"
    padding: int = Field(default=0, ge=0, le=8)
    start: int = Field(default=1, ge=0)
    # `next` numbers also pass every number the default branch's history held (a proposal
    # deleted since included): read once from the commits, then from a mark the bot keeps
    # (docs/design.md I1). Without it, the tree and the bot's reservations say what is used.
    history: bool = False


class LabelSpec(Model):
    name: str
    color: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{6}$")] = "ededed"
    description: str = ""


class Labels(Model):
    kind: LabelSpec
    status_prefix: str
    status_color: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{6}$")] = "0e8a16"
    area_prefix: str | None = None
    area_strip: str = ""
    area_color: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{6}$")] = "d2b48c"
    link: LabelSpec


class Implementations(Model):
    """How implementation PRs link to proposals."""

    # Repositories (owner/name globs) whose PRs may link to this repository's proposals.
    repositories: list[str] = Field(default_factory=lambda: ["*"])
    # In an implementation repository's config: the owner/name of the proposals repository.
    proposals: str | None = None
    prefix: str
    references: list[str] = Field(default_factory=list)
    require_link: bool = False
    require_status: list[str] = Field(default_factory=list)
    # Statuses a proposal may enter only when every linked implementation PR is merged.
    require_merged: list[str] = Field(default_factory=list)


class IndexConfig(Model):
    path: str | None = None
    check: bool = False


class PRRConfig(Model):
    """Kubernetes' production readiness review rule (the `kep` preset)."""

    enabled: bool = False
    directory: str = "keps/prod-readiness"
    aliases_file: str = "OWNERS_ALIASES"
    # Approvals by people who have since become emeritus stay valid.
    aliases: list[str] = Field(
        default_factory=lambda: ["prod-readiness-approvers", "prod-readiness-approvers-emeritus"]
    )
    since: str = "v1.21"


class WalkConfig(Model):
    """Kubernetes' CI finds KEPs by walking `root` in name order (the `kep` preset).

    In a folder holding the metadata file it checks that file and skips the rest of the
    folder; a folder named in `skip` is not entered; a `document` file in a folder under
    `root` with no metadata file beside it is an error (`document.orphan`).
    """

    enabled: bool = False
    root: str = "keps"
    skip: list[str] = Field(default_factory=lambda: ["prod-readiness"])


class Backlinks(Model):
    """Relationships between proposals that are recorded on both of them (Gateway API: "The
    obsoleted GEP MUST have its obsoletedBy field set back to this GEP").

    `pairs` names each relationship and its reverse, once per pair: `obsoletes: obsoletedBy`
    means that a proposal listed under `obsoletes` lists this one under `obsoletedBy`, and
    back (`references.backlink`). `one-way` names relationships without a reverse (GEP
    `seeAlso`). Each relationship is a list under the metadata key `under` (top-level keys
    when None) whose entries name the other proposal by number: a mapping with
    `number-key`, the number, or `<KIND>-<number>`; an entry that names no proposal of the
    repository is `references.unresolved`. A back-link the bot offers to add carries the
    proposal's title under `title-key` too.
    """

    under: str | None = None
    pairs: dict[str, str] = Field(default_factory=dict)
    one_way: list[str] = Field(default_factory=list)
    number_key: str = "number"
    title_key: str | None = "name"

    def reverse(self) -> dict[str, str]:
        """Every relationship that needs a back-link, mapped to the back-link's key."""
        found = dict(self.pairs)
        found.update({back: forth for forth, back in self.pairs.items()})
        return found


class Validation(Model):
    # Severity per rule id; a rule not named here is an error.
    rules: dict[str, Severity] = Field(default_factory=dict)
    # A finding on a value the change introduced is raised to at least this severity.
    introduced: Severity = "error"
    prr: PRRConfig = Field(default_factory=PRRConfig)
    walk: WalkConfig = Field(default_factory=WalkConfig)
    # Gateway API: index.md's `* Status:` bullet must agree with the metadata.
    status_bullet: bool = False
    # GEP `[required_in]: # (X status and above)` markers in the document.
    required_in_markers: bool = False
    # Relationships that must be set both ways (`references.backlink`).
    backlinks: Backlinks = Field(default_factory=Backlinks)


class Template(Model):
    files: dict[str, str]
    # Section files a transition adds (`add-sections`), by their path in the proposal's
    # folder; `kepbot new` does not write them (a section it does write comes from `files`).
    sections: dict[str, str] = Field(default_factory=dict)


class OptIn(Model):
    """How a proposal is opted in for a release (`/kep track v1.37`, docs/design.md B10):
    the label the process records it with, beside the tracking issue's milestone, and who
    may do it."""

    label: str = "lead-opted-in"
    # A member of this alias in `aliases-file` on the default branch, `{area}` standing for
    # the proposal's area as written (Kubernetes: `sig-node-leads` in OWNERS_ALIASES).
    alias: str | None = None
    aliases_file: str = "OWNERS_ALIASES"
    # Or anyone holding one of these roles of `roles`.
    roles: list[str] = Field(default_factory=list)


class TrackingIssues(Model):
    """Each proposal's tracking issue, kept equal to the merged metadata (docs/design.md B9):
    its milestone, its stage label and area label, and one status comment of the bot's."""

    # Which issue: `number`, the issue numbered as the proposal (Kubernetes: the KEP's
    # number is its tracking issue's); `field`, the one the tracking-issue field names.
    issue: Literal["number", "field"] = "number"
    stage_prefix: str = "stage/"
    stage_color: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{6}$")] = "c2e0c6"
    area_labels: bool = True
    # What a milestone name must look like to be one (the metadata is outside text).
    milestone_pattern: str = r"^v[0-9]{1,3}\.[0-9]{1,3}$"
    opt_in: OptIn | None = None

    @field_validator("milestone_pattern")
    @classmethod
    def _milestone_pattern_compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class FreezeRule(Model):
    """One thing a proposal must have by a freeze (docs/design.md B11). `kind` says what is
    checked: `status` (its status is one of `statuses`), `latest-milestone` (the latest
    milestone is the release's), `stage-milestone` (a stage is set and the milestone of
    that stage is the release's), `review` (the production readiness review approves the
    stage: `validation.prr`'s approval file), `section` (the document has `section`, with
    text in it)."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]
    kind: Literal["status", "latest-milestone", "stage-milestone", "review", "section"]
    text: str
    statuses: list[str] = Field(default_factory=list)
    section: str | None = None


class Freeze(Model):
    """A process's freeze for a release: what must hold by when (`kepbot release`, the
    release page)."""

    name: str = "Freeze"
    # The date each milestone's freeze falls on (`v1.37: 2026-06-18`), shown beside it.
    dates: dict[str, str] = Field(default_factory=dict)
    rules: list[FreezeRule] = Field(default_factory=list)


class Config(Model):
    """The whole configuration after `extends` has been applied."""

    preset: str = ""
    command: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    kind: str
    proposals: Layout
    schema_: MetadataSchema = Field(alias="schema", default_factory=MetadataSchema)
    statuses: list[StatusDef]
    # `insensitive`: a status written in another case (`draft`, as KEP-1 and its template
    # write it) is the status of that name (`Draft`); the bot writes the name as listed.
    status_case: Literal["exact", "insensitive"] = "exact"
    transitions: list[Transition]
    roles: dict[str, RoleRule]
    self_approval: bool = False
    numbering: Numbering = Field(default_factory=Numbering)
    labels: Labels
    implementations: Implementations
    index: IndexConfig = Field(default_factory=IndexConfig)
    validation: Validation = Field(default_factory=Validation)
    template: Template
    tracking: TrackingIssues | None = None
    freeze: Freeze | None = None

    def status(self, name: str) -> StatusDef | None:
        return next((s for s in self.statuses if s.name == name), None)

    def canonical_statuses(self) -> dict[str, str]:
        """The status names by the text that stands for them: with `status-case:
        insensitive` each name in lower case, else none (only the exact name does)."""
        if self.status_case == "exact":
            return {}
        return {s.name.lower(): s.name for s in self.statuses}

    def canonical_status(self, value: str | None) -> str | None:
        """The status `value` stands for as the configuration lists it (`draft` → `Draft`
        with `status-case: insensitive`); any other value as it is."""
        if value is None:
            return None
        return self.canonical_statuses().get(value.lower(), value)

    @property
    def status_names(self) -> list[str]:
        return [s.name for s in self.statuses]

    def severity(self, rule: str) -> Severity:
        return self.validation.rules.get(rule, "error")


class ConfigError(ValueError):
    """A configuration a person must fix: each problem has a file, line and message."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(f"{self.path}:{line}: {message}" for line, message in self.problems)


def _presets() -> Traversable:
    try:
        return resources.files("bot.presets")
    except ModuleNotFoundError:
        # Run from a checkout with the package installed elsewhere: the checkout's `bot/`
        # comes first on the path and has no `presets`; they are data in config/presets.
        return Path(__file__).resolve().parents[2] / "config" / "presets"


@cache
def preset_text(name: str) -> str:
    if name not in PRESET_NAMES:
        raise KeyError(name)
    return _presets().joinpath(f"{name}.yml").read_text(encoding="utf-8")


def _load_mapping(text: str, path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(
            path, [(line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, [(1, "the configuration must be a mapping of keys to values")])
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value in `override` replaces the base value."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@cache
def load_preset(name: str) -> Config:
    return load_config(f"extends: {name}\n", path=f"preset {name}")


def load_config(text: str | None, path: str = CONFIG_PATH) -> Config:
    """Parse a `.github/kepbot.yml` text (None: no file, the `kep` preset)."""
    own = _load_mapping(text or "", path)
    if "preset" in own:
        line = key_lines(text or "").get(("preset",), 1)
        raise ConfigError(path, [(line, "use `extends: <preset>` to choose a preset")])
    extends = own.pop("extends", "kep")
    if not isinstance(extends, str) or extends not in PRESET_NAMES:
        line = key_lines(text or "").get(("extends",), 1)
        raise ConfigError(path, [(line, _choice_message("extends", extends, PRESET_NAMES))])
    base = _load_mapping(preset_text(extends), f"preset {extends}")
    merged = deep_merge(base, own)
    merged["preset"] = extends
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(path, _problems(exc, key_lines(text or ""))) from None
    problems = _consistency_problems(config)
    if problems:
        lines = key_lines(text or "")
        raise ConfigError(path, [(lines.get(loc, 1), message) for loc, message in problems])
    return config


def _problems(exc: ValidationError, lines: dict[tuple[str, ...], int]) -> list[tuple[int, str]]:
    problems = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        line = _nearest_line(loc, lines)
        where = ".".join(loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            valid = _keys_of(parent) if parent else []
            message = _choice_message("key", loc[-1], valid, unknown=True)
        elif error["type"] == "literal_error":
            message = f"{message} (got {error.get('input')!r})"
        problems.append((line, f"{where}: {message}"))
    return problems


def _keys_of(model: type[BaseModel]) -> list[str]:
    keys = {f.alias or n for n, f in model.model_fields.items()} - {"preset"}
    if model is Config:
        keys.add("extends")
    return sorted(keys)


def _nearest_line(loc: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> int:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _model_at(loc: tuple[str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in loc:
        if part.isdigit():
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        inner = _model_type(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _model_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_type(arg)
        if found is not None:
            return found
    return None


def _choice_message(what: str, got: Any, valid: Any, unknown: bool = False) -> str:
    valid = [str(choice) for choice in valid]
    close = difflib.get_close_matches(str(got), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    lead = f"unknown {what} {got!r}" if unknown else f"{what} {got!r} is not valid"
    return f"{lead}{hint} Valid: {', '.join(valid)}"


def _consistency_problems(config: Config) -> list[tuple[tuple[str, ...], str]]:
    """Cross-references the model cannot check: statuses and roles named by transitions."""
    names = config.status_names
    problems: list[tuple[tuple[str, ...], str]] = []
    if config.status_case == "insensitive":
        lowered = [name.lower() for name in names]
        for index, name in enumerate(names):
            if name.lower() in lowered[:index]:
                problems.append(
                    (
                        ("statuses", str(index)),
                        f"status {name!r} differs from another only in case, which "
                        "`status-case: insensitive` cannot tell apart",
                    )
                )
    for index, transition in enumerate(config.transitions):
        loc = ("transitions", str(index))
        if transition.to not in names:
            problems.append((loc, _choice_message("status", transition.to, names)))
        for source in transition.from_:
            if source not in (*names, NEW, ANY):
                problems.append((loc, _choice_message("status", source, [*names, NEW, ANY])))
        for role in transition.roles:
            if role not in config.roles and role != "author":
                problems.append((loc, _choice_message("role", role, [*config.roles, "author"])))
        if transition.period is not None and transition.argument is not None:
            problems.append(
                (loc, "a transition that takes an argument cannot have a comment period")
            )
        if transition.add_sections is not None:
            problems.extend(_add_sections_problems(config, transition, loc))
        if transition.period is not None and not transition.decision:
            problems.append(
                (loc, "a transition with `decision: false` cannot have a comment period")
            )
    return problems


def _add_sections_problems(
    config: Config, transition: Transition, loc: tuple[str, ...]
) -> list[tuple[tuple[str, ...], str]]:
    """A transition that adds sections names a status, and every section it adds has a
    template and a metadata list to go in."""
    status = config.status(str(transition.add_sections))
    if status is None:
        return [(loc, _choice_message("status", transition.add_sections, config.status_names))]
    if config.proposals.fields.sections is None:
        return [(loc, "`add-sections` needs proposals.fields.sections, the list to add to")]
    templates = {**config.template.files, **config.template.sections}
    missing = [name for name in status.sections if name not in templates]
    if missing:
        return [(loc, f"template.sections has no template for {', '.join(missing)}")]
    return []


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `.github/kepbot.yml` as users write it (with `extends`)."""
    schema = Config.model_json_schema(by_alias=True)
    schema["title"] = "kepbot repository configuration"
    schema["required"] = []  # every key may come from the preset
    schema.setdefault("properties", {})["extends"] = {
        "enum": list(PRESET_NAMES),
        "description": "the preset this configuration starts from",
        "default": "kep",
    }
    schema["properties"].pop("preset", None)
    return schema
