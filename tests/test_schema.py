"""The JSON Schema shipped for editors accepts every built-in portfolio and rejects broken ones."""

import json
from importlib import resources

import jsonschema
import pytest
import yaml

import rareopt
from rareopt.yamlio import _Loader, write_yaml

SCHEMA = json.loads(resources.files("rareopt.schema").joinpath("portfolio.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def load(text):
    return yaml.load(text, Loader=_Loader)


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(rareopt.list_examples()))
def test_built_in_portfolios_and_their_round_trip_validate(name):
    with open(rareopt.example_path(name), encoding="utf-8") as handle:
        VALIDATOR.validate(load(handle))
    VALIDATOR.validate(load(write_yaml(rareopt.load_example(name))))


@pytest.mark.parametrize(
    "path, value",
    [
        (("suppliers", 0, "kind"), "volcano"),
        (("policy", "country_caps", "CN"), 1.5),
        (("policy", "cap_basis"), "monthly"),
        (("offers", 0, "price_usd_per_t"), -1),
    ],
)
def test_broken_documents_are_rejected(path, value):
    with open(rareopt.example_path("tiny"), encoding="utf-8") as handle:
        spec = load(handle)
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert not VALIDATOR.is_valid(spec)


def test_unknown_top_level_key_is_rejected():
    with open(rareopt.example_path("tiny"), encoding="utf-8") as handle:
        spec = load(handle)
    spec["polciy"] = {}
    assert not VALIDATOR.is_valid(spec)
