"""The JSON Schema shipped for editors accepts every built-in portfolio and rejects broken ones."""

import copy
import json
import warnings
from importlib import resources

import jsonschema
import pytest
import yaml

import rareopt
from rareopt.inputs.examples import example_path
from rareopt.inputs.io import _Loader, write_yaml

SCHEMA = json.loads(
    resources.files("rareopt.schema").joinpath("portfolio.schema.json").read_text(encoding="utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def load(text):
    """Parse YAML as rareopt does (safe loader that also reads 2e6 as a number)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def tiny():
    with open(example_path("tiny"), encoding="utf-8") as handle:
        return load(handle)


def changed(spec, path, value):
    """A deep copy of ``spec`` with the node at ``path`` (keys and list indices) set to ``value``."""
    spec = copy.deepcopy(spec)
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return spec


def errors(spec):
    return [error.message for error in VALIDATOR.iter_errors(spec)]


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_covers_every_top_level_key_the_loader_accepts():
    assert set(SCHEMA["properties"]) == set(rareopt.inputs.io.TOP_LEVEL_KEYS)
    policy_keys = set(rareopt.Policy.__dataclass_fields__) | {"country_cap", "supplier_cap"}
    assert set(SCHEMA["properties"]["policy"]["properties"]) == policy_keys


@pytest.mark.parametrize("name", sorted(rareopt.list_examples()))
def test_built_in_portfolios_and_their_round_trip_validate(name):
    with open(example_path(name), encoding="utf-8") as handle:
        assert errors(load(handle)) == []
    assert errors(load(write_yaml(rareopt.load_example(name)))) == []


ACCEPTED = [
    (("periods",), 3),
    (("periods",), {"count": 3}),
    (("periods",), {"count": 3, "days": 91.25}),
    (("periods",), {"start": "2026-01", "count": 3, "freq": "month"}),
    (("periods",), {"start": "2026Q1", "count": 3, "freq": "quarter"}),
    (("periods",), ["P1", "P2", "P3"]),
    (
        ("periods",),
        [{"period": "P1", "days": 31}, {"period": "P2", "days": 28}, {"period": "P3", "days": 31}],
    ),
    (("periods",), [{"period": "P1"}, {"period": "P2"}, {"period": "P3"}]),
    (("demand",), {"Nd": [100, 100, 90], "Dy": 10}),
    (
        ("demand",),
        [{"element": e, "period": f"P{k}", "demand_t": 5} for e in ("Nd", "Dy") for k in (1, 2, 3)],
    ),
    (("offers", 0, "capacity_t"), float("inf")),
    (("offers", 0, "capacity_t"), [0, 100, float("inf")]),
    (("suppliers", 2, "risk_score"), None),
    (("stockpile", 0, "target_days"), [30, 45, 60]),
    (("stockpile", 0, "target_days"), {"from": 30, "to": 90, "periods": 2}),
    (("stockpile", 0, "shortfall_penalty_usd_per_t"), 5e4),
    (("stockpile",), None),
    (("policy",), None),
    (("policy",), {"country_cap": {"CN": 0.5}, "supplier_caps": {"CN-Mine": 0.5, "AU-Lynas": 1}}),
    (
        ("policy",),
        {
            "country_caps": [
                {"country": "CN", "element": "*", "max_share": 0.6},
                {"country": "CN", "element": "Dy", "max_share": 0.4},
            ],
            "supplier_caps": [
                {"supplier": "*", "max_share": 0.7},
                {"supplier": "JP-Recycling", "element": "Nd", "max_share": 1},
            ],
            "cap_basis": "horizon",
            "shortage_penalty_usd_per_t": 2e6,
            "target_shortfall_penalty_usd_per_t": 0,
            "risk_weight_usd_per_t": 1000,
            "hard_stock_targets": True,
        },
    ),
    (
        ("policy",),
        {
            "supplier_caps": [{"supplier": "*", "stage": "separation", "max_share": 0.7}],
            "group_caps": [{"countries": ["CN", "AU"], "stage": "any", "max_share": 0.95}],
            "stage_caps": [{"country": "CN", "element": "Dy", "stage": "mining", "max_share": 0.9}],
            "hhi_cap": [
                {"max_hhi": 9000},
                {"element": "Dy", "stage": "separation", "max_hhi": 9000},
            ],
        },
    ),
    (("policy",), {"hhi_cap": {"*": 9000, "Dy": 8000}}),
    (("policy",), {"stage_hhi_caps": [{"stage": "mining", "max_hhi": 9000}]}),
]


@pytest.mark.parametrize("path, value", ACCEPTED)
def test_documented_forms_pass_the_schema_and_the_loader(path, value):
    spec = changed(tiny(), path, value)
    assert errors(spec) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rareopt.Portfolio.from_dict(spec)


def test_csv_tables_pass_the_schema_and_the_loader(tmp_path):
    (tmp_path / "demand.csv").write_text("element,demand_t\nNd,100\nDy,10\n")
    (tmp_path / "suppliers.csv").write_text(
        "supplier,country,kind,risk_score\nCN-Mine,CN,mine,0.6\nAU-Lynas,AU,mine,\n"
    )
    (tmp_path / "offers.csv").write_text(
        "supplier,element,price_usd_per_t,capacity_t,freight_usd_per_t\n"
        "CN-Mine,Nd,50000,200,\nCN-Mine,Dy,250000,50,300\nAU-Lynas,Nd,60000,inf,1000\n"
    )
    (tmp_path / "capacity.csv").write_text("supplier,element,period,capacity_t\nCN-Mine,Nd,P2,0\n")
    (tmp_path / "stockpile.csv").write_text(
        "element,initial_t,target_days,capacity_t,holding_usd_per_t,shortfall_penalty_usd_per_t\n"
        "Nd,100,30,400,100,\nDy,10,30,inf,500,40000\n"
    )
    text = (
        "periods: 3\ndemand: demand.csv\nsuppliers: suppliers.csv\noffers: offers.csv\n"
        "capacity: capacity.csv\nstockpile: stockpile.csv\n"
    )
    (tmp_path / "p.yaml").write_text(text)
    assert errors(load(text)) == []
    portfolio = rareopt.Portfolio.from_yaml(str(tmp_path / "p.yaml"))
    assert (
        portfolio.capacity.set_index(["supplier", "element", "period"]).loc[
            ("CN-Mine", "Nd", "P2"), "capacity_t"
        ]
        == 0
    )


REJECTED = [
    (("suppliers", 0, "kind"), "volcano"),
    (("suppliers", 0, "risk_score"), 1.4),
    (("suppliers", 0, "country"), False),  # what YAML 1.1 makes of an unquoted NO (Norway)
    (("policy", "country_caps", "CN"), 1.5),
    (("policy", "country_caps"), [{"country": "CN", "element": "Dy", "max_share": 1.5}]),
    (("policy", "supplier_cap"), 1.5),
    (("policy", "cap_basis"), "monthly"),
    (("policy", "hard_stock_targets"), "yes"),
    (("policy", "caps"), 0.5),
    (("policy", "country_cap"), {"CN": 0.5}),  # both country_cap and country_caps
    (("offers", 0, "price_usd_per_t"), -1),
    (("offers", 0, "capacity_t"), "200"),
    (("offers", 4, "capacity_t"), [10, -1, 20]),
    (("demand", "Nd"), -100),
    (("stockpile", 0, "target_days"), {"from": 30, "to": 60}),
    (("periods",), 0),
    (("periods",), {"count": 3, "day": 30}),
    (("periods",), {"start": "2026-01", "count": 3, "freq": "week"}),
    (("polciy",), {}),
    (("offer",), []),
]


@pytest.mark.parametrize("path, value", REJECTED)
def test_broken_documents_are_rejected(path, value):
    assert errors(changed(tiny(), path, value))


@pytest.mark.parametrize("key", ["periods", "demand", "suppliers", "offers"])
def test_required_keys_are_required(key):
    spec = tiny()
    del spec[key]
    assert errors(spec)
