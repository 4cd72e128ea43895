"""The configuration model: presets, extends with deep override, errors a maintainer can act on."""

import json
from pathlib import Path

import pytest

from bot.engine.config import (
    PRESET_NAMES,
    ConfigError,
    deep_merge,
    json_schema,
    load_config,
    load_preset,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_loads_and_is_consistent(name: str) -> None:
    config = load_preset(name)
    assert config.preset == name
    assert config.statuses and config.transitions
    names = set(config.status_names)
    for transition in config.transitions:
        assert transition.to in names
    assert config.template.files, "every preset ships a template for `kepbot new`"


def test_presets_carry_the_spec_table() -> None:
    assert load_preset("kep").numbering.source == "next"
    assert load_preset("gep").numbering.source == "issue"
    agentic = load_preset("agentic")
    assert (agentic.numbering.source, agentic.numbering.padding) == ("pr", 4)
    assert set(agentic.proposals.placeholders) == {"XXXX", "00XX"}
    assert load_preset("kep-2017").numbering.when == "accept"
    assert load_preset("kpep").proposals.format == "field-table"
    assert load_preset("agentic").proposals.format == "header-lines"
    assert load_preset("kep-2017").proposals.format == "front-matter"


def test_no_file_means_the_kep_preset() -> None:
    assert load_config(None).preset == "kep"
    assert load_config("").command == "kep"


def test_extends_with_deep_override_keeps_the_rest_of_the_preset() -> None:
    config = load_config(
        "extends: gep\nnumbering:\n  padding: 4\nlabels:\n  status-prefix: 'state/'\n"
    )
    assert config.numbering.padding == 4
    assert config.numbering.source == "issue"  # untouched key of the same mapping
    assert config.labels.status_prefix == "state/"
    assert config.labels.kind.name == "kind/gep"


def test_lists_replace_rather_than_merge() -> None:
    config = load_config("extends: kep\nproposals:\n  placeholders: [TBD]\n")
    assert config.proposals.placeholders == ["TBD"]


def test_deep_merge() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"c": 3}, "l": [2]}) == {
        "a": {"b": 1, "c": 3},
        "l": [2],
    }


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    return caught.value


def test_unknown_preset_names_the_valid_ones_with_its_line() -> None:
    error = _error("# my config\nextends: kepp\n")
    assert error.problems[0][0] == 2
    assert "did you mean 'kep'" in str(error)
    assert "kep-2017" in str(error)


def test_misspelt_key_gets_line_and_suggestion() -> None:
    error = _error("extends: kep\nnumbering:\n  sorce: pr\n")
    line, message = error.problems[0]
    assert line == 3
    assert "did you mean 'source'" in message


def test_bad_choice_lists_the_valid_values() -> None:
    error = _error("extends: kep\nnumbering:\n  source: nxt\n")
    assert error.problems[0][0] == 3
    assert "'next', 'pr' or 'issue'" in error.problems[0][1]


def test_transition_to_unknown_status_is_refused() -> None:
    error = _error("extends: kep\ntransitions:\n  - {to: done, verbs: [finish]}\n")
    assert error.problems[0][0] == 3
    assert "status 'done' is not valid" in error.problems[0][1]


def test_transition_naming_unknown_role_is_refused() -> None:
    error = _error("extends: kep\ntransitions:\n  - {to: implemented, roles: [wizard]}\n")
    assert "role 'wizard'" in str(error)


def test_invalid_yaml_and_non_mapping() -> None:
    assert "not valid YAML" in str(_error("extends: kep\nroles: [\n"))
    assert "must be a mapping" in str(_error("- a\n- b\n"))


def test_a_config_cannot_name_the_resolved_preset_field() -> None:
    assert "extends" in str(_error("preset: gep\n"))


def test_bad_label_colour_and_name_pattern() -> None:
    assert "color" in str(_error("extends: kep\nlabels:\n  kind: {name: k, color: red}\n"))
    assert "number" in str(_error("extends: kep\nproposals:\n  name-pattern: '(?P<n>.+)'\n"))


def test_generated_json_schema_is_current() -> None:
    """config/kepbot.schema.json is generated from the model; regenerate with `kepbot schema`."""
    shipped = json.loads((ROOT / "config" / "kepbot.schema.json").read_text())
    assert shipped == json_schema(), "stale: run `kepbot schema > config/kepbot.schema.json`"


def test_json_schema_describes_extends_and_nested_keys() -> None:
    schema = json_schema()
    assert schema["properties"]["extends"]["enum"] == list(PRESET_NAMES)
    assert "numbering" in schema["properties"]
    assert "preset" not in schema["properties"]
