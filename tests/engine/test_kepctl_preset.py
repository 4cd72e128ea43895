"""The kepctl preset does what kepctl did (KubeCon North America 2018, "Enhancing
Kubernetes: A Journey Through the KEP Process"): a folder per KEP, metadata.yaml with
underscore keys, RFC 3339 timestamps and a uuid, one file per section listed in the
metadata, and the verbs INIT, PROPOSE, ACCEPT, PLAN and APPROVE."""

import datetime
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from kepctl_kep import KEPCTL_FOLDER, KEPCTL_METADATA, kepctl_files

from bot.cli import main
from bot.engine.config import ConfigError, load_config, load_preset
from bot.engine.edits import last_updated_text, transition_edit
from bot.engine.formats import YamlFile
from bot.engine.process import free_move, transition_for
from bot.engine.proposal import load_proposal
from bot.engine.renumber import number_files, numbered_path, renumber, used_numbers
from bot.engine.scaffold import scaffold
from bot.engine.section_files import added_files, files_to_read, has_text, inside, section_paths
from bot.engine.tree import MemoryTree
from bot.engine.validate import repository_files, validate_change, validate_tree
from bot.engine.verbs import registry

CONFIG = load_preset("kepctl")
META = f"{KEPCTL_FOLDER}/metadata.yaml"
PLANNED = ("guides/developer.md", "guides/operator.md", "guides/teacher.md")
NOON = datetime.datetime(2018, 12, 11, 12, 30, 5, 120034, tzinfo=datetime.UTC)


def findings(files: dict[str, str]) -> set[tuple[str, str, str]]:
    return {(f.rule, f.severity, f.path) for f in validate_tree(CONFIG, MemoryTree(files)).findings}


def with_metadata(old: str, new: str, files: dict[str, str] | None = None) -> dict[str, str]:
    files = dict(files or kepctl_files())
    assert old in files[META], f"fixture no longer has {old!r}"
    files[META] = files[META].replace(old, new)
    return files


# -- the metadata ----------------------------------------------------------------------------


def test_the_demo_kep_reads_through_the_field_map_and_is_valid() -> None:
    assert findings(kepctl_files()) == set()
    (proposal,) = validate_tree(CONFIG, MemoryTree(kepctl_files())).proposals
    assert proposal == META
    metadata = YamlFile().parse(KEPCTL_METADATA)
    assert metadata.get("kep_number") == "2"
    assert metadata.get("last_updated") == "2018-12-11T20:05:00.000000Z"
    assert metadata.get("sig_wide") == "true"


def test_a_transition_changes_the_state_and_last_updated_lines_only() -> None:
    before = KEPCTL_METADATA.replace("state: implementable", "state: provisional")
    after = transition_edit(CONFIG, before, status="implementable", today=NOON)
    old, new = before.splitlines(), after.splitlines()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [
        ("state: provisional", "state: implementable"),
        (
            "last_updated: 2018-12-11T20:05:00.000000Z",
            "last_updated: 2018-12-11T12:30:05.120034Z",
        ),
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2018-12-09T01:37:52.328024Z", "2018-12-11T12:30:05.120034Z"),
        ("2018-12-09T01:37:52Z", "2018-12-11T12:30:05Z"),
        ("2018-12-09T01:37:52.5Z", "2018-12-11T12:30:05.1Z"),
        ("2018-12-09t01:37:52.328024z", "2018-12-11t12:30:05.120034z"),
        ("2018-12-09T02:37:52.328+01:00", "2018-12-11T12:30:05.120+00:00"),
        ("2018-12-09T01:37:52.328024123Z", "2018-12-11T12:30:05.120034000Z"),
    ],
)
def test_last_updated_keeps_its_timestamp_form(written: str, expected: str) -> None:
    metadata = YamlFile().parse(f"state: draft\nlast_updated: {written}\n")
    assert last_updated_text(CONFIG, metadata, NOON) == expected


def test_a_timestamp_field_without_a_value_gets_the_full_form_and_a_date_a_date() -> None:
    empty = YamlFile().parse("state: draft\n")
    assert last_updated_text(CONFIG, empty, NOON) == "2018-12-11T12:30:05.120034Z"
    assert last_updated_text(CONFIG, empty, NOON.date()) == "2018-12-11T00:00:00.000000Z"
    kep = load_preset("kep")
    assert last_updated_text(kep, YamlFile().parse("status: x\n"), NOON) == "2018-12-11"
    dated = YamlFile().parse("state: draft\nlast_updated: 2018-12-09\n")
    assert last_updated_text(CONFIG, dated, NOON) == "2018-12-11T12:30:05.120034Z"


def test_timestamps_must_parse_and_the_uuid_must_be_a_uuid() -> None:
    files = with_metadata("created: 2018-12-09T01:37:52.328024Z", "created: 2018-12-09")
    files = with_metadata("uuid: 3d8f0a6e-2b1c-4f57-9e0d-6a4b2c8e1f93", "uuid: dry-run", files)
    files = with_metadata(
        "last_updated: 2018-12-11T20:05:00.000000Z", "last_updated: 2018-12-32T20:05:00Z", files
    )
    found = validate_tree(CONFIG, MemoryTree(files)).findings
    assert {(f.rule, f.line) for f in found} == {
        ("schema.timestamp", 10),
        ("schema.timestamp", 11),
        ("schema.uuid", 12),
    }


def test_a_uuid_is_unique_across_the_repository() -> None:
    files = kepctl_files()
    other = "content/sig-node/sig-wide/device-plugins"
    copied = {k.replace(KEPCTL_FOLDER, other): v for k, v in files.items()}
    copied[f"{other}/metadata.yaml"] = copied[f"{other}/metadata.yaml"].replace(
        "kep_number: 2", "kep_number: 1"
    )
    assert findings({**files, **copied}) == {
        ("schema.unique", "error", META),
        ("schema.unique", "error", f"{other}/metadata.yaml"),
    }
    fresh = copied[f"{other}/metadata.yaml"].replace(
        "3d8f0a6e-2b1c-4f57-9e0d-6a4b2c8e1f93", str(uuid.uuid4())
    )
    assert findings({**files, **copied, f"{other}/metadata.yaml": fresh}) == set()


# -- sections --------------------------------------------------------------------------------


def test_listed_sections_are_files_inside_the_folder() -> None:
    files = kepctl_files()
    del files[f"{KEPCTL_FOLDER}/guides/teacher.md"]
    files = with_metadata("  - README.md\n", "  - README.md\n  - ../other/summary.md\n", files)
    assert findings(files) == {
        ("sections.file", "error", META),
        ("sections.path", "error", META),
    }
    assert inside(KEPCTL_FOLDER, "guides/developer.md") == f"{KEPCTL_FOLDER}/guides/developer.md"
    assert inside(KEPCTL_FOLDER, "guides/../summary.md") == f"{KEPCTL_FOLDER}/summary.md"
    for outside in ("../x.md", "/etc/passwd", "a\\b.md", "", "."):
        assert inside(KEPCTL_FOLDER, outside) is None


def test_each_state_requires_its_sections_listed_and_written() -> None:
    files = with_metadata("  - guides/teacher.md\n", "")
    files[f"{KEPCTL_FOLDER}/graduation_criteria.md"] = (
        "# Graduation Criteria\n\n<!-- What must be true for each stage. -->\n"
    )
    found = validate_tree(CONFIG, MemoryTree(files)).findings
    assert {(f.rule, f.path, f.message) for f in found} == {
        (
            "sections.missing",
            META,
            "status implementable needs a section 'guides/teacher.md' listed in sections",
        ),
        (
            "sections.empty",
            f"{KEPCTL_FOLDER}/graduation_criteria.md",
            "section 'graduation_criteria.md' holds no text yet (only headings and comments): "
            "status implementable requires it",
        ),
    }
    # A provisional KEP needs only the summary and the motivation.
    provisional = with_metadata("state: implementable", "state: provisional", files)
    assert findings(provisional) == set()
    draft = with_metadata("state: implementable", "state: draft", files)
    draft[f"{KEPCTL_FOLDER}/motivation.md"] = "# Motivation\n\n"
    assert findings(draft) == {
        ("sections.empty", "error", f"{KEPCTL_FOLDER}/motivation.md"),
    }


def test_a_section_has_text_beyond_headings_and_comments() -> None:
    assert not has_text("# Summary\n\n<!-- guidance\nover lines -->\n\n## More\n")
    assert has_text("# Summary\n\nOne sentence.\n")
    assert has_text("Text before any heading.\n")
    assert not has_text("")


def test_a_missing_section_the_old_state_required_is_inherited_and_a_new_one_blocks() -> None:
    base = with_metadata("state: implementable", "state: provisional")
    base = with_metadata("  - guides/teacher.md\n", "", base)
    head = with_metadata("state: provisional", "state: implementable", base)
    report = validate_change(CONFIG, MemoryTree(head), MemoryTree(base), [META])
    assert [(f.rule, f.severity) for f in report.findings] == [("sections.missing", "error")]
    base_missing = with_metadata("  - summary.md\n", "", base)
    head_missing = with_metadata("  - summary.md\n", "", head)
    report = validate_change(CONFIG, MemoryTree(head_missing), MemoryTree(base_missing), [META])
    severities = {f.message.split("'")[1]: f.severity for f in report.findings}
    assert severities == {"summary.md": "error", "guides/teacher.md": "error"}


# -- states and verbs ------------------------------------------------------------------------


def test_the_verbs_are_kepctls_and_the_end_states_the_kep_presets() -> None:
    names = {verb.name for verb in registry(CONFIG) if verb.kind == "transition"}
    assert {"propose", "accept", "plan", "approve"} <= names
    assert {"defer", "reject", "withdraw", "replace"} <= names
    assert free_move(CONFIG, None, "draft"), "opening the pull request proposes the draft"
    assert not free_move(CONFIG, None, "provisional")
    accept = transition_for(CONFIG, "accept", "draft")
    assert accept is not None and accept.to == "provisional" and accept.roles == ["approver"]
    plan = transition_for(CONFIG, "plan", "provisional")
    assert plan is not None and plan.roles == ["author"] and plan.add_sections == "implementable"
    assert transition_for(CONFIG, "plan", "draft") is None
    (verb,) = [verb for verb in registry(CONFIG) if verb.name == "plan"]
    assert verb.summary == (
        "moves the proposal to `provisional` (from `provisional`) and adds the section "
        "files `implementable` requires, from the template"
    )
    approve = transition_for(CONFIG, "approve", "provisional")
    assert approve is not None and approve.to == "implementable"
    assert transition_for(CONFIG, "approve", "draft") is None
    withdraw = transition_for(CONFIG, "withdraw", "implementable")
    assert withdraw is not None and "author" in withdraw.roles


def test_plan_adds_the_sections_implementable_requires_once() -> None:
    provisional = KEPCTL_METADATA.replace("state: implementable", "state: provisional")
    for name in (*PLANNED, "graduation_criteria.md"):
        provisional = provisional.replace(f"  - {name}\n", "")
    planned = transition_edit(CONFIG, provisional, status="provisional", today=NOON)
    listed = YamlFile().parse(planned).get("sections")
    assert listed == [
        "summary.md",
        "motivation.md",
        "README.md",
        *PLANNED,
        "graduation_criteria.md",
    ]
    assert YamlFile().parse(planned).get("state") == "provisional"
    assert YamlFile().parse(planned).get("last_updated") == "2018-12-11T12:30:05.120034Z"
    assert transition_edit(CONFIG, planned, status="provisional", today=NOON) == planned
    files = added_files(CONFIG, META, provisional, planned)
    assert files == {
        f"{KEPCTL_FOLDER}/{name}": CONFIG.template.sections[name]
        for name in (*PLANNED, "graduation_criteria.md")
    }
    assert added_files(CONFIG, META, planned, planned) == {}


def test_accepting_an_already_provisional_kep_adds_nothing() -> None:
    provisional = KEPCTL_METADATA.replace("state: implementable", "state: provisional")
    moved = transition_edit(CONFIG, provisional, status="implementable", today=NOON)
    assert YamlFile().parse(moved).get("sections") == YamlFile().parse(provisional).get("sections")


def test_replaced_names_its_successor_by_uuid_or_number() -> None:
    files = kepctl_files()
    successor = "content/sig-api-machinery/sig-wide/dry-run-v2"
    for name, text in list(files.items()):
        files[name.replace(KEPCTL_FOLDER, successor)] = text
    files[f"{successor}/metadata.yaml"] = (
        files[f"{successor}/metadata.yaml"]
        .replace("3d8f0a6e-2b1c-4f57-9e0d-6a4b2c8e1f93", "c3a9e6f1-0d2b-4a8e-9f71-5b6d4e2c8a10")
        .replace("kep_number: 2", "kep_number: 7")
    )
    replaced = with_metadata("state: implementable", "state: replaced", files)
    assert findings(replaced) == {("status.fields", "error", META)}
    for ref in ("c3a9e6f1-0d2b-4a8e-9f71-5b6d4e2c8a10", "KEP-7"):
        named = with_metadata("superseded_by: []", f"superseded_by: [{ref}]", replaced)
        assert findings(named) == set(), ref
    wrong = with_metadata("superseded_by: []", "superseded_by: [KEP-8]", replaced)
    assert findings(wrong) == {("references.unresolved", "error", META)}
    edited = transition_edit(CONFIG, files[META], status="replaced", today=NOON, argument="KEP-7")
    assert YamlFile().parse(edited).get("superseded_by") == ["KEP-7"]


# -- numbers ---------------------------------------------------------------------------------


def test_a_number_goes_into_kep_number_and_the_folder_keeps_its_name() -> None:
    files = with_metadata("kep_number: 2", "kep_number: null")
    tree = MemoryTree(files)
    changes = renumber(CONFIG, tree, META, 3)
    assert list(changes) == [META]
    assert changes[META] == KEPCTL_METADATA.replace("kep_number: 2", "kep_number: 3")
    assert numbered_path(CONFIG, META, 3) == META


def test_used_numbers_come_from_the_metadata_where_names_carry_none() -> None:
    files = kepctl_files()
    other = "content/sig-node/sig-wide/device-plugins"
    files[f"{other}/metadata.yaml"] = KEPCTL_METADATA.replace("kep_number: 2", "kep_number: 5")
    assert used_numbers(CONFIG, MemoryTree(files)) == {2, 5}
    listed = sorted(files)
    wanted = [META, f"{KEPCTL_FOLDER}/README.md", f"{other}/README.md", f"{other}/metadata.yaml"]
    assert number_files(CONFIG, listed) == sorted(wanted)
    assert repository_files(CONFIG, listed) == sorted(wanted)
    kep = load_preset("kep")
    assert number_files(kep, ["keps/sig-node/12-x/kep.yaml"]) == []
    assert repository_files(kep, ["keps/sig-node/12-x/kep.yaml"]) == []


# -- INIT ------------------------------------------------------------------------------------


def test_init_scaffolds_the_folder_with_a_fresh_uuid_and_no_number() -> None:
    def init() -> dict[str, str]:
        return scaffold(
            CONFIG,
            MemoryTree({}),
            title="Dry Run",
            area="sig-api-machinery",
            author="jbeda",
            today=NOON.date(),
            now=NOON,
        )

    first, second = init(), init()
    ids = [re.search(r"^uuid: (\S+)$", files[META], re.M) for files in (first, second)]
    assert all(found is not None for found in ids)
    one, two = (found.group(1) for found in ids if found is not None)
    assert one != two and str(uuid.UUID(one)) == one
    metadata = YamlFile().parse(first[META])
    assert metadata.get("kep_number") is None and metadata.get("state") == "draft"
    assert metadata.get("created") == metadata.get("last_updated") == "2018-12-11T12:30:05.120034Z"
    assert sorted(p.removeprefix(KEPCTL_FOLDER + "/") for p in first) == [
        "README.md",
        "assets/.gitkeep",
        "experience_reports/.gitkeep",
        "guides/.gitkeep",
        "metadata.yaml",
        "motivation.md",
        "summary.md",
    ]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_kepbot_new_is_init_and_the_kep_validates_once_its_templates_are_populated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/kepbot.yml").write_text("extends: kepctl\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    args = ["new", str(tmp_path), "--title", "Dry Run", "--area", "sig-api-machinery"]
    assert main([*args, "--author", "jbeda"]) == 0
    capsys.readouterr()
    folder = tmp_path / KEPCTL_FOLDER
    assert (folder / "guides/.gitkeep").is_file()
    assert main(["validate", str(tmp_path), "--base", "main", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {(f["rule"], f["path"]) for f in data["findings"]} == {
        ("sections.empty", f"{KEPCTL_FOLDER}/summary.md"),
        ("sections.empty", f"{KEPCTL_FOLDER}/motivation.md"),
    }
    for name in ("summary.md", "motivation.md"):
        with (folder / name).open("a") as section:
            section.write("\nWritten.\n")
    assert main(["validate", str(tmp_path), "--base", "main", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == 0


# -- configuration ---------------------------------------------------------------------------


def test_add_sections_names_a_status_with_templates_for_its_sections() -> None:
    base = "extends: kepctl\ntransitions:\n  - {to: provisional, verbs: [plan], add-sections: "
    with pytest.raises(ConfigError, match="status 'implementabel' is not valid"):
        load_config(base + "implementabel}\n")
    statuses = "".join(
        f"  - {{name: {name}}}\n"
        for name in ("draft", "provisional", "deferred", "rejected", "withdrawn", "replaced")
    )
    statuses += "  - {name: implementable, sections: [summary.md, guides/security.md]}\n"
    with pytest.raises(ConfigError, match=r"no template for guides/security\.md"):
        load_config(base + f"implementable}}\nstatuses:\n{statuses}")
    with pytest.raises(ConfigError, match=r"needs proposals\.fields\.sections"):
        load_config(
            "extends: kep\ntransitions:\n  - {to: provisional, add-sections: provisional}\n"
        )


def test_a_name_without_a_number_needs_the_number_field() -> None:
    with pytest.raises(ConfigError, match=r"number-in-name: false needs fields\.number"):
        load_config(
            "extends: agentic\nproposals:\n  number-in-name: false\n  name-pattern: '(?P<x>.+)'\n"
        )
    with pytest.raises(ConfigError, match=r"must have a \(\?P<number>"):
        load_config("extends: kepctl\nproposals:\n  number-in-name: true\n")


def test_at_most_100_sections_are_read() -> None:
    many = "".join(f"  - notes/{index}.md\n" for index in range(150))
    files = with_metadata("  - README.md\n", "  - README.md\n" + many)
    files |= {f"{KEPCTL_FOLDER}/notes/{index}.md": "Notes.\n" for index in range(150)}
    (finding,) = validate_tree(CONFIG, MemoryTree(files)).findings
    assert (finding.rule, finding.path) == ("sections.path", META)
    assert "only the first 100 are read" in finding.message
    proposal = load_proposal(CONFIG, MemoryTree(files), META)
    assert proposal is not None
    assert len(section_paths(proposal)) == 100
    assert len(files_to_read(CONFIG, [MemoryTree(files)], [META])) == 100
