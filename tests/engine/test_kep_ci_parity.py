"""The `kep` preset rejects exactly what Kubernetes' own CI rejects.

kubernetes/enhancements checks every KEP with `test/metadata_test.go`, which runs
`pkg/repo/validate.go` (Repo.Validate: the walk of `keps/`), `api/proposal.go`
(KEPHandler.Parse: the `---` split, yaml.v3 strict decoding into api.Proposal, the
`validate:"required"` tags) and `pkg/kepval/approval.go` (ValidatePRR, reading the
approval file as `api/approval.go` does). Each table row below names the upstream test,
test data or rule it comes from; the data are this project's own. A row's verdict is
"CI rejects the file" (some finding is an error) or "CI accepts it" (no error; the
defects CI lets through are warnings), through the same engine as `kepbot validate`.
"""

import itertools
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine.config import load_preset
from bot.engine.findings import Finding
from bot.engine.proposal import load_proposal
from bot.engine.prr import Version, parse_tolerant, prr_files
from bot.engine.tree import MemoryTree
from bot.engine.validate import validate_change, validate_tree

KEP = "keps/sig-node/1234-restart-budget/kep.yaml"
README = "keps/sig-node/1234-restart-budget/README.md"
PRR = "keps/prod-readiness/sig-node/1234.yaml"

# A provisional KEP with every key set, one per line: rows replace or drop keys.
BASE = {
    "title": "Restart budget",
    "kep-number": "1234",
    "authors": '["@maria"]',
    "owning-sig": "sig-node",
    "participating-sigs": "[sig-apps]",
    "status": "provisional",
    "creation-date": "2024-05-01",
    "reviewers": '["@tomas"]',
    "approvers": '["@ines"]',
    "stage": "alpha",
    "latest-milestone": '"v1.31"',
    "milestone": '{alpha: "v1.31"}',
}

SECTIONS = (
    "Summary",
    "Motivation",
    "Proposal",
    "Design Details",
    "Test Plan",
    "Graduation Criteria",
    "Production Readiness Review Questionnaire",
)
DOCUMENT = "# KEP-1234: Restart budget\n\n" + "".join(f"## {s}\nText.\n" for s in SECTIONS)

ALIASES = """\
aliases:
  prod-readiness-approvers:
    - zofia
    - kenji
  prod-readiness-approvers-emeritus:
    - amara
  sig-node-leads:
    - ines
"""

APPROVAL = 'kep-number: "1234"\nalpha:\n  approver: "@zofia"\n'


def kep_yaml(changes: dict[str, str | None] | None = None) -> str:
    """BASE with keys replaced (a value is YAML text), added at the end, or dropped (None)."""
    fields: dict[str, str | None] = {**BASE, **(changes or {})}
    return "".join(f"{key}: {value}\n" for key, value in fields.items() if value is not None)


def repository(kep: str, approval: str | None = APPROVAL) -> dict[str, str]:
    files = {KEP: kep, README: DOCUMENT, "OWNERS_ALIASES": ALIASES}
    if approval is not None:
        files[PRR] = approval
    return files


def findings(files: dict[str, str]) -> list[Finding]:
    return validate_tree(load_preset("kep"), MemoryTree(files)).findings


def errors(found: list[Finding]) -> set[str]:
    return {f.rule for f in found if f.severity == "error"}


def warnings(found: list[Finding]) -> set[str]:
    return {f.rule for f in found if f.severity == "warning"}


# --- The metadata as Go decodes it into api.Proposal ------------------------------------
#
# (changes to BASE, the error rules expected (empty: CI accepts the file), warning rules
# that must be among the findings)

DECODING = [
    # pkg/repo/repo_test.go TestProposalValidate "valid KEP: minimum fields"
    # (testdata/valid-kep-minimum.yaml): the required keys and a stage are enough.
    pytest.param(
        {k: None for k in BASE if k not in {"title", "kep-number", "authors", "owning-sig"}}
        | {"approvers": '["@ines"]', "status": "provisional", "stage": "beta"},
        set(),
        set(),
        id="minimum-fields",
    ),
    # pkg/repo/repo_test.go TestProposalValidate "valid KEP: all fields"
    # (testdata/valid-kep-full.yaml): every key of api.Proposal that has a yaml tag.
    pytest.param(
        {
            "last-updated": "2024-06-01",
            "editor": "TBD",
            "see-also": '["https://example.com/design"]',
            "replaces": "[]",
            "milestone": '{alpha: "v1.31", beta: "v1.32", stable: "v1.34", deprecated: "",'
            ' removed: "", disabled: ""}',
            "feature-gates": "[{name: RestartBudget, components: [kubelet, kube-apiserver]}]",
            "disable-supported": "true",
            "metrics": "[restart_budget_exhausted_total]",
        },
        set(),
        set(),
        id="all-fields",
    ),
    # pkg/repo/repo_test.go TestProposalValidate "invalid KEP: owning-sig does not exist":
    # KEPHandler.Validate reports it, but Repo.Validate (CI) never calls Validate.
    pytest.param({"owning-sig": "sig-penguins"}, set(), set(), id="unknown-sig-passes-ci"),
    # pkg/repo/repo_test.go TestProposalValidate "invalid KEP: status does not exist":
    # not checked by CI either; a warning here.
    pytest.param({"status": "bananas"}, set(), {"status.unknown"}, id="unknown-status-warns"),
    # pkg/repo/repo_test.go TestProposalValidate "invalid KEP: stage does not exist"
    pytest.param({"stage": "bananas"}, set(), {"schema.enum"}, id="unknown-stage-warns"),
    # pkg/repo/validate_test.go TestRepoValidate, testdata .../1-the-bare-minimum/kep.yaml:
    # any non-empty text satisfies the required string fields.
    pytest.param(
        {"kep-number": "any text", "status": "any text", "owning-sig": "any text"},
        set(),
        {"number.format", "status.unknown"},
        id="bare-minimum-text-values",
    ),
    # pkg/repo/validate_test.go TestRepoValidate, testdata .../13-keps-as-crds/kep.yaml:
    # an empty optional list is null and passes.
    pytest.param({"participating-sigs": ""}, set(), set(), id="null-optional-list"),
    # pkg/repo/validate_test.go TestRepoValidate, testdata .../123-newstyle/kep.yaml:
    # reviewers may be TBD; quoted and plain scalars read the same.
    pytest.param({"reviewers": '["TBD"]', "stage": '"alpha"'}, set(), set(), id="newstyle"),
    # api/proposal.go Proposal.Title `validate:"required"` (commit e5d51d185)
    pytest.param({"title": None}, {"schema.required"}, set(), id="title-missing"),
    pytest.param({"title": '""'}, {"schema.required"}, set(), id="title-empty-string"),
    # api/proposal.go Proposal.Number `validate:"required"`
    pytest.param({"kep-number": None}, {"schema.required"}, set(), id="kep-number-missing"),
    # api/proposal.go Proposal.Authors `validate:"required"` (commit c9dc76943)
    pytest.param({"authors": None}, {"schema.required"}, set(), id="authors-missing"),
    # api/proposal.go Proposal.OwningSIG `validate:"required"` (commit e5d51d185)
    pytest.param({"owning-sig": None}, {"schema.required"}, set(), id="owning-sig-missing"),
    # api/proposal.go Proposal.Approvers `validate:"required"` (commit b3022f434)
    pytest.param({"approvers": None}, {"schema.required"}, set(), id="approvers-missing"),
    pytest.param({"approvers": "~"}, {"schema.required"}, set(), id="approvers-null"),
    # go-playground/validator `required` on a slice only asks that it is not nil: `[]`
    # passes CI (keps/sig-scheduling/5941-dra-shared-consumable-capacity has it).
    pytest.param({"approvers": "[]"}, set(), {"schema.empty"}, id="approvers-empty-list"),
    pytest.param({"authors": "[]"}, set(), {"schema.empty"}, id="authors-empty-list"),
    # api/proposal.go Proposal.Status `validate:"required"` (commit d7a4f728a)
    pytest.param(
        {"status": None}, {"schema.required", "status.missing"}, set(), id="status-missing"
    ),
    # api/proposal.go Proposal.Reviewers has no validate tag: not required.
    pytest.param({"reviewers": None}, set(), set(), id="reviewers-optional"),
    # pkg/yaml/yaml.go UnmarshalStrict (KnownFields, commit 729eb2fe5): unknown keys fail.
    pytest.param({"owner": "sig-node"}, {"schema.unknown-key"}, set(), id="unknown-key"),
    # api/proposal.go: keys are matched exactly, so a capitalised key is unknown.
    pytest.param({"Title": "Other"}, {"schema.unknown-key"}, set(), id="capitalised-key"),
    # api/proposal.go Proposal.Contents and .Filename are `yaml:"-"`: never read.
    pytest.param({"contents": "text"}, {"schema.unknown-key"}, set(), id="contents-key"),
    pytest.param({"filename": "kep.yaml"}, {"schema.unknown-key"}, set(), id="filename-key"),
    # api/proposal.go Proposal.ID, .PRNumber, .Name and .Path have no yaml tag: yaml.v3
    # reads them under their lower-cased names (Path since commit cb0b84281).
    pytest.param({"id": '"1234"'}, set(), set(), id="untagged-id"),
    pytest.param({"prnumber": '"98765"'}, set(), set(), id="untagged-prnumber"),
    pytest.param({"name": "restart-budget"}, set(), set(), id="untagged-name"),
    pytest.param({"path": "sig-node/1234-restart-budget"}, set(), set(), id="untagged-path"),
    # pkg/repo (commit 15f2d128b, "get rid of prr-approvers"): the key left api.Proposal.
    pytest.param({"prr-approvers": '["@zofia"]'}, {"schema.unknown-key"}, set(), id="prr-key"),
    # yaml.v3 (pkg/yaml/yaml.go): a key given twice is an error.
    pytest.param(
        {"title": "Restart budget\ntitle: Again"}, {"schema.duplicate-key"}, set(), id="duplicate"
    ),
    # api/proposal.go Proposal.Authors is []string: a scalar cannot be decoded into it.
    pytest.param({"authors": '"@maria"'}, {"schema.type"}, set(), id="authors-scalar"),
    # api/proposal.go Proposal.Title is a string: a list cannot be decoded into it.
    pytest.param({"title": "[a, b]"}, {"schema.type"}, set(), id="title-list"),
    # api/proposal.go Proposal.DisableSupported is a bool: yaml.v3 takes true/false and the
    # YAML 1.1 words (yes, no, on, off, ...), nothing else.
    pytest.param({"disable-supported": "yes"}, set(), set(), id="bool-yes"),
    pytest.param({"disable-supported": "maybe"}, {"schema.type"}, set(), id="bool-maybe"),
    pytest.param({"disable-supported": "1"}, {"schema.type"}, set(), id="bool-one"),
    # api/proposal.go Milestone: alpha, beta, stable, deprecated, removed, disabled only.
    pytest.param(
        {"milestone": '{gamma: "v1.31"}'}, {"schema.unknown-key"}, set(), id="milestone-key"
    ),
    # api/proposal.go FeatureGate.Components is []string.
    pytest.param(
        {"feature-gates": "[{name: Budget, components: kubelet}]"},
        {"schema.type"},
        set(),
        id="feature-gate-components",
    ),
    # yaml.v3 decodes any scalar into a string field: numbers stay their text.
    pytest.param(
        {"kep-number": "1234", "latest-milestone": "1.31"}, set(), set(), id="numbers-as-text"
    ),
    # Dates are plain strings in api.Proposal: a bad one passes CI and is a warning.
    pytest.param({"creation-date": "2024-14-05"}, set(), {"schema.date"}, id="bad-date"),
]


@pytest.mark.parametrize(("changes", "rejected_by", "warned"), DECODING)
def test_metadata_decoding(
    changes: dict[str, str | None], rejected_by: set[str], warned: set[str]
) -> None:
    found = findings(repository(kep_yaml(changes)))
    assert errors(found) == rejected_by, found
    assert warned <= warnings(found), found


def test_required_errors_name_the_key_line_and_what_is_required() -> None:
    # api/proposal.go Proposal: the required fields, reported where the key stands.
    (finding,) = [
        f for f in findings(repository(kep_yaml({"approvers": "~"}))) if f.severity == "error"
    ]
    assert (finding.path, finding.line) == (KEP, 9)
    assert "'approvers' has no value" in finding.message
    assert "title, kep-number, authors, owning-sig, approvers, status" in finding.message


# --- KEPHandler.Parse: only the lines between the first two `---` lines are metadata ----

SEPARATOR = [
    # api/proposal.go KEPHandler.Parse: a leading `---` starts the metadata.
    pytest.param("---\n" + kep_yaml(), set(), set(), id="leading-marker"),
    # api/proposal.go KEPHandler.Parse: metadata between two `---` lines, the rest ignored.
    pytest.param(
        "---\n" + kep_yaml() + "---\nnotes: free text\n", set(), set(), id="front-matter-style"
    ),
    # api/proposal.go KEPHandler.Parse: a value containing `---` on the last line leaves
    # nothing to read (yaml.v3 then fails on an empty document).
    pytest.param(
        kep_yaml({"title": None}) + "title: Budget --- restarts\n",
        {"schema.required", "status.missing"},
        {"parse.separator"},
        id="separator-in-last-value",
    ),
    pytest.param("# ---- owners ----\n" + kep_yaml(), set(), set(), id="separator-in-comment"),
]


@pytest.mark.parametrize(("text", "rejected_by", "warned"), SEPARATOR)
def test_metadata_separator(text: str, rejected_by: set[str], warned: set[str]) -> None:
    found = findings(repository(text))
    assert errors(found) == rejected_by, found
    assert warned <= warnings(found), found


def test_a_separator_in_the_middle_hides_the_keys_before_it() -> None:
    # api/proposal.go KEPHandler.Parse: lines before the first `---` line are body text.
    text = kep_yaml({"status": "provisional # --- see below"})
    found = findings(repository(text))
    missing = {f.message.split("'")[1] for f in found if f.rule == "schema.required"}
    assert missing == {"title", "kep-number", "authors", "owning-sig", "status"}
    (hint,) = [f for f in found if f.rule == "parse.separator"]
    assert (hint.severity, hint.line) == ("warning", 1)
    assert hint.message.startswith("lines 1, 2, 3, 4, 5, ... are not read as metadata")


# --- ValidatePRR: the production readiness review ---------------------------------------
#
# (changes to BASE, the approval file (None: absent), the error rule expected (None: CI
# accepts))

PRR_CASES = [
    # pkg/kepval/approval.go isPRRRequired: a provisional KEP needs no review.
    pytest.param({"latest-milestone": None}, None, None, id="provisional-needs-nothing"),
    # pkg/kepval/approval.go isPRRRequired, api/approval_test.go
    # TestPRRApproval_ApproverForStage "valid: alpha": an approval for the KEP's stage.
    pytest.param({"status": "implementable"}, APPROVAL, None, id="implementable-approved"),
    # pkg/kepval/approval.go isPRRRequired (commit c48b0334b, 2021): implemented KEPs too.
    pytest.param(
        {"status": "implemented", "stage": "stable"},
        None,
        "prr.missing",
        id="implemented-needs-file",
    ),
    pytest.param({"status": "implementable"}, None, "prr.missing", id="implementable-needs-file"),
    # pkg/kepval/approval.go isPRRRequired (commit 45d968c97, 2023): the latest milestone
    # and the stage are required for a KEP that needs a review.
    pytest.param(
        {"status": "implementable", "latest-milestone": None},
        APPROVAL,
        "prr.milestone",
        id="implementable-without-milestone",
    ),
    pytest.param(
        {"status": "implemented", "stage": "stable", "latest-milestone": '""'},
        APPROVAL,
        "prr.milestone",
        id="implemented-empty-milestone",
    ),
    pytest.param(
        {"status": "implementable", "stage": None},
        APPROVAL,
        "prr.stage",
        id="implementable-without-stage",
    ),
    # pkg/kepval/approval.go isPRRRequired: they are required even before v1.21.
    pytest.param(
        {"status": "implemented", "stage": None, "latest-milestone": '"v1.10"'},
        None,
        "prr.stage",
        id="old-implemented-without-stage",
    ),
    # pkg/kepval/approval.go isPRRRequired: reviews start at v1.21.
    pytest.param(
        {"status": "implemented", "stage": "stable", "latest-milestone": '"v1.20"'},
        None,
        None,
        id="before-v1.21",
    ),
    pytest.param(
        {"status": "implementable", "latest-milestone": '"v1.21"'},
        None,
        "prr.missing",
        id="at-v1.21",
    ),
    # blang/semver ParseTolerant, as isPRRRequired reads the milestone.
    pytest.param(
        {"status": "implementable", "latest-milestone": '"v1.21.0-rc.1"'},
        None,
        None,
        id="pre-release-sorts-before-v1.21",
    ),
    pytest.param(
        {"status": "implementable", "latest-milestone": '"v1.21-rc.1"'},
        APPROVAL,
        "prr.milestone",
        id="short-pre-release-fails",
    ),
    pytest.param(
        {"status": "implementable", "latest-milestone": "soon"},
        APPROVAL,
        "prr.milestone",
        id="not-a-version",
    ),
    pytest.param(
        {"status": "implementable", "latest-milestone": '"V1.31"'},
        APPROVAL,
        "prr.milestone",
        id="capital-v",
    ),
    # Other statuses are not reviewed, whatever their milestone.
    pytest.param({"status": "deferred"}, None, None, id="deferred"),
    pytest.param({"status": "withdrawn", "latest-milestone": None}, None, None, id="withdrawn"),
    # api/approval_test.go TestPRRApproval_ApproverForStage "invalid: incorrect stage"
    pytest.param(
        {"status": "implementable", "stage": "gamma"}, APPROVAL, "prr.stage", id="incorrect-stage"
    ),
    # api/approval_test.go TestPRRApproval_ApproverForStage "invalid: missing approver"
    # (no stage populated: ErrPRRMilestonesAllEmpty)
    pytest.param(
        {"status": "implementable"}, 'kep-number: "1234"\n', "prr.approver", id="no-stage-populated"
    ),
    pytest.param(
        {"status": "implementable"}, 'kep-number: "1234"\nalpha:\n', "prr.approver", id="stage-null"
    ),
    # api/approval.go ApproverForStage: the KEP's stage must be populated
    # (ErrPRRMilestoneIsNil).
    pytest.param(
        {"status": "implementable", "stage": "beta"},
        APPROVAL,
        "prr.approver",
        id="stage-not-populated",
    ),
    # api/approval_test.go TestPRRApproval_ApproverForStage "valid: beta" .. "valid: removed"
    # (commit 7cd88e6c3 for deprecated, disabled, removed).
    *(
        pytest.param(
            {"status": "implementable", "stage": stage},
            f'kep-number: "1234"\n{stage}:\n  approver: "@kenji"\n',
            None,
            id=f"valid-{stage}",
        )
        for stage in ("beta", "stable", "deprecated", "disabled", "removed")
    ),
    # pkg/kepval/approval.go ValidatePRR (commit 183d079fa): one leading `@` is dropped,
    # and the login must be exactly a member of an alias.
    pytest.param(
        {"status": "implementable"},
        'kep-number: "1234"\nalpha:\n  approver: zofia\n',
        None,
        id="approver-without-at",
    ),
    pytest.param(
        {"status": "implementable"},
        'kep-number: "1234"\nalpha:\n  approver: "@Zofia"\n',
        "prr.approver",
        id="approver-case-differs",
    ),
    pytest.param(
        {"status": "implementable"},
        'kep-number: "1234"\nalpha:\n  approver: "@ines"\n',
        "prr.approver",
        id="approver-not-prr",
    ),
    pytest.param(
        {"status": "implementable"},
        'kep-number: "1234"\nalpha:\n  approver: "@"\n',
        "prr.approver",
        id="approver-only-at",
    ),
    # api/groups.go RemoteGroupFetcher.FetchPRRApprovers: emeritus approvers count.
    pytest.param(
        {"status": "implementable"},
        'kep-number: "1234"\nalpha:\n  approver: amara\n',
        None,
        id="approver-emeritus",
    ),
    # api/approval.go PRRApproval: read strictly, kep-number and each approver required.
    pytest.param(
        {"status": "implementable"},
        APPROVAL + "notes: fine\n",
        "prr.parse",
        id="approval-unknown-key",
    ),
    pytest.param(
        {"status": "implementable"},
        'alpha:\n  approver: "@zofia"\n',
        "prr.parse",
        id="approval-without-kep-number",
    ),
    pytest.param(
        {"status": "implementable"},
        'kep-number: "1234"\nalpha: {}\n',
        "prr.parse",
        id="approval-stage-without-approver",
    ),
    pytest.param(
        {"status": "implementable"},
        'kep-number: "1234"\nalpha:\n  approver: "@zofia"\n  lgtm: true\n',
        "prr.parse",
        id="approval-stage-unknown-key",
    ),
    pytest.param(
        {"status": "implementable"},
        APPROVAL + "alpha:\n  approver: kenji\n",
        "prr.parse",
        id="approval-duplicate-stage",
    ),
    pytest.param(
        {"status": "implementable"}, "kep-number: [1234\n", "prr.parse", id="approval-not-yaml"
    ),
    pytest.param({"status": "implementable"}, "", "prr.parse", id="approval-empty"),
]


@pytest.mark.parametrize(("changes", "approval", "rejected_by"), PRR_CASES)
def test_production_readiness_review(
    changes: dict[str, str | None], approval: str | None, rejected_by: str | None
) -> None:
    found = findings(repository(kep_yaml(changes), approval))
    prr = [f for f in found if f.rule.startswith("prr.")]
    assert errors(found) == ({rejected_by} if rejected_by else set()), found
    assert len(prr) <= 1, "CI stops at the first problem of the review"


def test_prr_findings_say_where_and_what_is_valid() -> None:
    # pkg/kepval/approval.go ValidatePRR: the approver must be a PRR approver.
    approval = 'kep-number: "1234"\nalpha:\n  approver: "@Zofia"\n'
    (wrong,) = findings(repository(kep_yaml({"status": "implementable"}), approval))
    assert (wrong.rule, wrong.path, wrong.line) == ("prr.approver", PRR, 3)
    assert "it lists 'zofia'" in wrong.message
    assert wrong.message.endswith("amara, kenji, zofia")
    # pkg/kepval/approval.go isPRRRequired: the file's expected place is named.
    (missing,) = findings(repository(kep_yaml({"status": "implementable"}), None))
    assert (missing.path, missing.line) == (KEP, 6)
    assert PRR in missing.message
    # api/approval.go ApproverForStage: the stages that are valid are listed.
    kep = kep_yaml({"status": "implementable", "stage": "gamma"})
    (stage,) = [f for f in findings(repository(kep)) if f.rule == "prr.stage"]
    assert (stage.line, stage.severity) == (10, "error")
    assert "alpha, beta, stable, deprecated, disabled, removed" in stage.message


# blang/semver/v4 ParseTolerant, which pkg/kepval/approval.go isPRRRequired applies to
# latest-milestone: (text, the version it reads or None when it fails)
TOLERANT = [
    # ParseTolerant: a missing patch is 0 (the form every kep.yaml uses)
    ("v1.21", Version(1, 21, 0, (1,))),
    # ParseTolerant: the `v` is optional
    ("1.21.3", Version(1, 21, 3, (1,))),
    # ParseTolerant: surrounding space is trimmed
    ("  v1.31  ", Version(1, 31, 0, (1,))),
    # ParseTolerant: leading zeros are dropped
    ("v01.021", Version(1, 21, 0, (1,))),
    # ParseTolerant: a missing minor is 0
    ("v1", Version(1, 0, 0, (1,))),
    # Parse: a pre-release, with its identifiers
    ("v1.21.0-rc.1", Version(1, 21, 0, (0, (1, 0, "rc"), (0, 1, "")))),
    # Parse: build data is read and does not count in comparisons
    ("v1.21.0+build.7", Version(1, 21, 0, (1,))),
    # ParseTolerant: "Short version cannot contain PreRelease/Build meta data"
    ("v1.21-rc.1", None),
    # ParseTolerant: only a lower-case `v`, only once
    ("V1.21", None),
    ("vv1.21", None),
    # Parse: numeric parts only
    ("1.x", None),
    # NewPRVersion: empty and zero-padded numeric identifiers fail
    ("v1.21.0-rc..1", None),
    ("v1.21.0-rc.01", None),
    # Parse: an empty major number
    ("", None),
]


@pytest.mark.parametrize(("text", "version"), TOLERANT)
def test_milestone_versions(text: str, version: Version | None) -> None:
    assert parse_tolerant(text) == version


def test_pre_releases_sort_before_their_release() -> None:
    ordered = ["v1.20.9", "v1.21.0-alpha", "v1.21.0-alpha.1", "v1.21.0-beta", "v1.21", "v1.21.1"]
    versions = [parse_tolerant(text) for text in ordered]
    for earlier, later in itertools.pairwise(versions):
        assert earlier is not None and later is not None and earlier < later, (earlier, later)


# --- Repo.Validate: the walk of keps/ ---------------------------------------------------
#
# (extra files, README.md paths reported as orphans, kep.yaml paths CI's walk does not reach)

NESTED = "keps/sig-node/1234-restart-budget"
WALK = [
    # pkg/repo/validate_test.go TestRepoValidate (testdata/repos/valid): a README.md at
    # the root of keps/, other files beside a kep.yaml.
    pytest.param(
        {"keps/README.md": "# KEPs\n", f"{NESTED}/notes.md": "x", f"{NESTED}/a.png": ""},
        [],
        [],
        id="valid-repository",
    ),
    # pkg/repo/validate.go Repo.Validate (commit 94aa32aa3): a README.md needs a kep.yaml.
    pytest.param(
        {"keps/sig-node/README.md": "# SIG Node\n"},
        ["keps/sig-node/README.md"],
        [],
        id="sig-folder-readme",
    ),
    pytest.param(
        {"keps/sig-node/5678-draft/README.md": DOCUMENT},
        ["keps/sig-node/5678-draft/README.md"],
        [],
        id="kep-without-metadata",
    ),
    # pkg/repo/validate.go Repo.Validate: entries are walked in name order and a folder's
    # walk ends at its kep.yaml: a sub-folder named before it is walked, one after is not.
    pytest.param(
        {f"{NESTED}/images/README.md": "x"},
        [f"{NESTED}/images/README.md"],
        [],
        id="sub-folder-before-kep-yaml",
    ),
    pytest.param(
        {f"{NESTED}/Zeta/README.md": "x"},
        [f"{NESTED}/Zeta/README.md"],
        [],
        id="capitals-sort-first",
    ),
    pytest.param({f"{NESTED}/zeta/README.md": "x"}, [], [], id="sub-folder-after-kep-yaml"),
    pytest.param(
        {f"{NESTED}/old/kep.yaml": "title: [\n"},
        [],
        [f"{NESTED}/old/kep.yaml"],
        id="nested-kep-not-reached",
    ),
    # pkg/repo/validate.go Repo.Validate: prod-readiness folders are not entered.
    pytest.param(
        {
            "keps/prod-readiness/sig-node/README.md": "x",
            "keps/sig-node/prod-readiness/README.md": "x",
        },
        [],
        [],
        id="prod-readiness",
    ),
]


@pytest.mark.parametrize(("extra", "orphans", "unreached"), WALK)
def test_repository_walk(extra: dict[str, str], orphans: list[str], unreached: list[str]) -> None:
    found = findings({**repository(kep_yaml()), **extra})
    reported = sorted(f.path for f in found if f.rule == "document.orphan")
    assert reported == orphans
    assert {f.severity for f in found if f.rule == "document.orphan"} <= {"error"}
    outside = [f for f in found if f.path in unreached]
    assert bool(outside) == bool(unreached)
    assert {f.severity for f in outside} <= {"warning"}
    if not orphans:
        assert errors(found) == set(), found


def test_a_change_adding_a_readme_without_metadata_fails() -> None:
    # pkg/repo/validate.go Repo.Validate (commit 94aa32aa3), as a pull request meets it.
    base = repository(kep_yaml())
    head = {**base, "keps/sig-node/README.md": "# SIG Node\n"}
    changed = ["keps/sig-node/README.md"]
    report = validate_change(load_preset("kep"), MemoryTree(head), MemoryTree(base), changed)
    assert [(f.rule, f.severity, f.path) for f in report.findings] == [
        ("document.orphan", "error", "keps/sig-node/README.md")
    ]


def test_a_change_files_what_the_review_reads() -> None:
    # pkg/kepval/approval.go ValidatePRR on a pull request that makes a KEP implemented:
    # the approval file is among the files a check fetches before it validates.
    config = load_preset("kep")
    kep = kep_yaml({"status": "implemented", "stage": "stable"})
    proposal = load_proposal(config, MemoryTree({KEP: kep}), KEP)
    assert proposal is not None
    assert prr_files(proposal, config.validation.prr) == ["OWNERS_ALIASES", PRR]


# --- The verdict of `kepbot validate` on a checkout -------------------------------------


def test_validate_exits_non_zero_exactly_when_ci_would_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # test/metadata_test.go TestValidation: any validation error fails the run.
    for path, text in repository(kep_yaml({"approvers": "[]"})).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    assert main(["validate", str(tmp_path)]) == 0
    assert "warning [schema.empty]" in capsys.readouterr().out
    (tmp_path / KEP).write_text(kep_yaml({"approvers": None}))
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{KEP}:11: error [schema.required]" in out
