"""``rank_pattern`` / ``alpha_pattern`` keys: PEFT's matches for the keys adapters really use, and a
refusal (never a regex run) for the rest, the backtracking bomb first."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.adapter.module_patterns import ModulePattern, ModulePatterns
from aiclone_agent.adapter.peft import read_peft_adapter
from tests.local_inference.adapter.models import write_peft_adapter

BOMB = "(.|.)*(.|.)*x$"  # exponential for a backtracking regex on any module name without an x
NAMES = [
    f"model.layers.{layer}.{block}.{module}"
    for layer in (0, 1, 7, 12, 29)
    for block, modules in (
        ("self_attn", ("q_proj", "k_proj", "v_proj", "o_proj")),
        ("mlp", ("gate_proj", "up_proj", "down_proj")),
    )
    for module in modules
]
SUPPORTED_KEYS = [
    "q_proj",
    "proj",  # not a dotted suffix: matches nothing, as in PEFT
    "model.layers.0.self_attn.q_proj",
    "layers.12.mlp.down_proj",
    r"layers\.1\.self_attn\.v_proj",
    r"layers\.\d+\.mlp\.up_proj",
    r"layers\.[0-9]+\.self_attn\..*",
    "layers.1.*",
    ".*_proj",
    ".*mlp.*",
    "(q|k|v)_proj",
    r"model\.layers\.(0|7|29)\.mlp\.(gate|up)_proj",
    "o_proj$",
    "self_attn.o_pro.",
    "layers.2+.mlp.down_proj",
]


@pytest.mark.parametrize("key", SUPPORTED_KEYS)
def test_a_supported_key_matches_exactly_what_peft_matches(key: str) -> None:
    pattern = ModulePattern(key)
    expected = [name for name in NAMES if re.match(rf"(.*\.)?({key})$", name)]
    assert [name for name in NAMES if pattern.matches(name)] == expected


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (BOMB, "repeats a group"),
        ("(a+)+$", "repeats a group"),
        ("(a|(b|c))", "nests groups"),
        ("q_proj?", "'?'"),
        ("layers.[1-3].q_proj", "'['"),
        ("^q_proj", "'^'"),
        ("q_proj{2}", "'{'"),
        ("(?i)q_proj", "(?...)"),
        ("a**", "repeats a repetition"),
        ("*q_proj", "nothing to repeat"),
        ("q|k", "'|' outside"),
        ("(a|b)(c|d)(e|f)(g|h)(i|j)(k|l)(m|n)", "more than 64 alternatives"),
        ("x" * 300, "longer than 256"),
    ],
)
def test_a_key_outside_the_bounded_syntax_is_refused_with_the_reason(key: str, says: str) -> None:
    with pytest.raises(AdapterError) as caught:
        ModulePatterns({key: 8}, "rank_pattern")
    reason = str(caught.value)
    assert says in reason and "rank_pattern" in reason and "the agent matches module names" in reason


def test_the_first_matching_key_wins_as_in_peft() -> None:
    patterns = ModulePatterns({"layers.0.self_attn.q_proj": 4.0, "q_proj": 2.0}, "alpha_pattern")
    assert patterns.value_for("model.layers.0.self_attn.q_proj", 1.0) == 4.0
    assert patterns.value_for("model.layers.1.self_attn.q_proj", 1.0) == 2.0
    assert patterns.value_for("model.layers.1.mlp.up_proj", 1.0) == 1.0


def test_a_long_name_against_a_starred_key_is_linear() -> None:
    # The shape that makes backtracking engines explode: many stars, a name that almost matches.
    key = ".*a.*a.*a.*a.*a.*a.*a.*a.*b"
    assert ModulePattern(key).matches("a" * 5000) is False
    assert ModulePattern(key).matches("a" * 5000 + "b") is True


def test_alpha_pattern_sets_the_scaling_of_the_modules_it_names(tmp_path: Path, model_path: Path) -> None:
    write_peft_adapter(
        tmp_path / "peft", model_path, layers=(0, 1), rank=4, alpha=8, targets=("q_proj", "v_proj")
    )
    config_path = tmp_path / "peft" / "adapter_config.json"
    config_path.write_text(
        config_path.read_text().replace(
            '"alpha_pattern": {}', r'"alpha_pattern": {"layers\\.1\\.self_attn\\.q_proj": 16}'
        )
    )
    scaling = {(p.layer, p.module): p.scaling for p in read_peft_adapter(tmp_path / "peft").pairs}
    assert scaling == {(0, "q_proj"): 2.0, (0, "v_proj"): 2.0, (1, "q_proj"): 4.0, (1, "v_proj"): 2.0}


def test_a_hostile_rank_pattern_refuses_the_adapter_before_its_weights_are_read(
    tmp_path: Path, model_path: Path
) -> None:
    write_peft_adapter(tmp_path / "peft", model_path, layers=(0,), rank=4, alpha=8)
    config_path = tmp_path / "peft" / "adapter_config.json"
    config_path.write_text(
        config_path.read_text().replace('"rank_pattern": {}', '"rank_pattern": ' + json.dumps({BOMB: 8}))
    )
    with pytest.raises(AdapterError, match=re.escape(f"rank_pattern key {BOMB!r} repeats a group")):
        read_peft_adapter(tmp_path / "peft")
