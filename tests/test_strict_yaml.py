"""Strict YAML: keys given twice, deep nesting and alias bombs are refused with the file named
(issue 19); scenario files too."""

import pytest
import yaml
from typer.testing import CliRunner

import rareopt
from rareopt.cli import app
from rareopt.exceptions import ScenarioError

TINY = rareopt.load_example("tiny").to_yaml()


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, words",
    [
        (TINY + "policy: {country_caps: {CN: 0.9}}\n", "key 'policy' given twice"),
        (TINY.replace("name: tiny", "name: tiny\nname: again"), "key 'name' given twice"),
        ("demand: {Nd: 9000, Nd: 90}\n", "key 'Nd' given twice in one mapping (lines 1 and 1)"),
        ("name: " + "[" * 10_000 + "]" * 10_000 + "\n", "nesting deeper than 64 levels"),
    ],
)
def test_a_malformed_yaml_file_is_refused_naming_the_problem(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(yaml.YAMLError) as caught:
        rareopt.Portfolio.from_yaml(str(path))
    assert words in str(caught.value)
    done = CliRunner().invoke(app, ["validate", str(path)])
    assert done.exit_code == 2 and words in done.output and "Traceback" not in done.output


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)
    ]
    path = write(tmp_path, TINY + "extra:\n" + "\n".join(lines) + "\n")
    done = CliRunner().invoke(app, ["validate", str(path)])
    assert done.exit_code == 2
    assert "once its aliases are expanded (most under 'extra', line" in done.output
    assert "at most 1,000,000" in done.output


def test_a_scenario_file_with_a_key_twice_or_without_scenarios_names_the_file(tmp_path):
    twice = write(
        tmp_path,
        "scenarios: [{name: a, probability: 1}]\nspot_share: 0.2\nspot_share: 0.3\n",
        "s.yaml",
    )
    with pytest.raises(ScenarioError) as caught:
        rareopt.ScenarioSet.from_yaml(str(twice))
    assert str(twice) in str(caught.value) and "given twice" in str(caught.value)
    empty = write(tmp_path, "spot_share: 0.2\n", "e.yaml")
    with pytest.raises(ScenarioError) as caught:
        rareopt.ScenarioSet.from_yaml(str(empty))
    assert str(empty) in str(caught.value) and "a list of scenarios" in str(caught.value)
    done = CliRunner().invoke(app, ["stress", "--scenarios", str(empty)])
    assert done.exit_code == 2 and str(empty) in done.output


def test_numbers_read_as_written_not_as_yaml_1_1_octal_or_base_60(tmp_path):
    from rareopt.inputs.io import load_yaml

    got = load_yaml("a: 010\nb: 1:30\nc: 2e6\nd: .inf\ne: 0x1F\nf: 1_000\n")
    assert got == {"a": 10, "b": "1:30", "c": 2e6, "d": float("inf"), "e": 31, "f": 1000}
    # 1:30 in a number field is an error, not 90 t; 0200 is 200 t, not octal 128.
    assert "capacity_t: 200}" in TINY
    sixty = write(tmp_path, TINY.replace("capacity_t: 200}", "capacity_t: 1:30}", 1))
    done = CliRunner().invoke(app, ["validate", str(sixty)])
    assert done.exit_code == 2 and "field capacity_t: got '1:30'" in done.output
    octal = write(tmp_path, TINY.replace("capacity_t: 200}", "capacity_t: 0200}", 1), "o.yaml")
    capacity = rareopt.Portfolio.from_yaml(str(octal)).capacity
    assert capacity.query("supplier == 'CN-Mine' and element == 'Nd'")["capacity_t"].eq(200).all()
