"""Policy data: look-ups, validation messages, and building policies from TOML-shaped mappings."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.errors import PolicyError, RulesError
from rules.policy import ChaserSchedule, Level, Policy, policy_from_mapping, policy_to_mapping
from rules.presets import PRESETS, policy_from_config
from rules.procedure import Report

CUSTOM_TOML = """
[policy]
key = "mycouncil"
council = "My Council"
title = "IRO Dispute Resolution Procedure"
level_word = "Stage"
case_system = "Mosaic"
always_copy_roles = ["QA Manager"]
themes = ["Care plan", "Drift and delay", "Other"]
reporting = ["weekly", "monthly"]
total_working_days = 20
budget_warnings = [10, 20]

[[policy.levels]]
number = 0
role = "Social Worker"
informal = true
label = "Conversation"

[[policy.levels]]
number = 1
role = "Team Manager"
working_days = 5
copy_roles = ["Service Manager"]

[[policy.levels]]
number = 2
role = "Service Manager"
working_days = 7

[[policy.levels]]
number = 3
role = "Head of Service"
working_days = 8

[[policy.levels]]
number = 4
role = "Cafcass referral"
terminal = true

[policy.chasers]
offsets = [-3, -1, 0]
grace_working_days = 1
hours = [08:30:00, "16:30"]
"""


def _custom() -> dict[str, Any]:
    return tomllib.loads(CUSTOM_TOML)["policy"]


def _message(data: dict[str, Any], where: str = "policy") -> str:
    with pytest.raises(PolicyError) as info:
        policy_from_config(data, where=where)
    return str(info.value)


def _simple(**changes: Any) -> Policy:
    levels = (Level(1, "Team Manager", 5), Level(2, "Service Manager", 5), Level(3, "Cafcass referral", None,
                                                                              terminal=True))
    base = Policy(key="t", council="Test Council", title="", level_word="Level", levels=levels)
    return replace(base, **changes)


# ------------------------------------------------------------------------------------------- custom TOML


def test_custom_toml_policy_builds() -> None:
    policy = policy_from_mapping(_custom())
    assert policy.key == "mycouncil" and policy.level_word == "Stage"
    labels = [lvl.label for lvl in policy.levels]
    assert labels == ["Conversation", "Stage 1", "Stage 2", "Stage 3", "Stage 4"]
    cumulative = [(lvl.number, total) for lvl, total in policy.cumulative()]
    assert cumulative == [(0, None), (1, 5), (2, 12), (3, 20), (4, None)]
    assert policy.levels[1].copy_roles == ("Service Manager",)
    assert policy.chasers == ChaserSchedule(offsets=(-3, -1, 0), grace_working_days=1,
                                            hours=(time(8, 30), time(16, 30)))
    assert policy.reporting == ("weekly", "monthly")
    assert policy.first_formal_level().number == 1
    assert policy.next_level(0) == policy.level(1)
    assert policy.next_level(3) == policy.level(4) and policy.level(4).terminal
    assert policy.next_level(4) is None
    # and back again
    assert policy_from_mapping(policy_to_mapping(policy)) == policy


def test_minimal_mapping_uses_defaults() -> None:
    policy = policy_from_mapping({"key": "min", "council": "Min Council",
                                  "levels": [{"number": 1, "role": "Team Manager", "working_days": 10}]})
    assert policy.level_word == "Level" and policy.title == ""
    assert policy.total_working_days == 20 and policy.budget_warnings == (15, 20)
    assert policy.chasers == ChaserSchedule() and policy.iro_date_overrides is True
    assert policy.levels[0].label == "Level 1"


# ------------------------------------------------------------------------------------ bad custom policies


def test_working_days_not_a_number_names_key_and_fix() -> None:
    data = _custom()
    data["levels"][2]["working_days"] = "five"
    assert _message(data) == (
        "policy.levels[2].working_days: must be a whole number of working days from 1 to 60, got 'five'"
        " — write e.g. working_days = 5"
    )


@pytest.mark.parametrize("days", [0, 61, 2.5, True, -1])
def test_working_days_out_of_range(days: Any) -> None:
    data = _custom()
    data["levels"][1]["working_days"] = days
    message = _message(data)
    assert message.startswith(
        "policy.levels[1].working_days: must be a whole number of working days from 1 to 60"
    )
    assert message.endswith("write e.g. working_days = 5")


def test_timed_level_without_days() -> None:
    data = _custom()
    del data["levels"][3]["working_days"]
    assert "policy.levels[3].working_days: must be a whole number of working days from 1 to 60, got None" in (
        _message(data))


def test_unknown_keys_get_did_you_mean() -> None:
    data = _custom()
    data["levels"][1]["workng_days"] = data["levels"][1].pop("working_days")
    assert _message(data) == "policy.levels[1].workng_days: is not a known key — did you mean 'working_days'?"
    data = _custom()
    data["theme"] = ["x"]
    assert _message(data) == "policy.theme: is not a known key — did you mean 'themes'?"
    data = _custom()
    data["chasers"]["offset"] = [0]
    assert _message(data) == "policy.chasers.offset: is not a known key — did you mean 'offsets'?"
    data = _custom()
    data["colour"] = "blue"
    message = _message(data)
    assert message.startswith("policy.colour: is not a known key — remove it (allowed: key, council,")


def test_where_prefix_is_used() -> None:
    data = _custom()
    data["levels"][2]["working_days"] = "five"
    assert _message(data, where="council.policy").startswith("council.policy.levels[2].working_days: ")


def test_missing_required_keys() -> None:
    data = _custom()
    del data["council"]
    assert _message(data) == (
        'policy.council: is missing — write e.g. council = "My Council", or start from a preset with '
        'base = "dorset"'
    )
    data = _custom()
    del data["levels"][1]["role"]
    assert _message(data) == 'policy.levels[1].role: is missing — write e.g. role = "Team Manager"'


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["levels"][2].update(number=1),
         "policy.levels[2].number: level numbers must increase down the list, got 1 after 1 — number "
         "the levels in order, e.g. 1, 2, 3"),
        (lambda d: d["levels"][1].update(terminal=True) or d["levels"][1].pop("working_days"),
         "policy.levels[1].terminal: only the last level may be terminal (a Cafcass referral) — move "
         "it to the end or set terminal = false"),
        (lambda d: d["levels"][0].update(working_days=3),
         "policy.levels[0].working_days: an informal level is not timed, got 3 — remove working_days "
         "from this level"),
        (lambda d: d["levels"][4].update(working_days=3),
         "policy.levels[4].working_days: a terminal level is not timed, got 3 — remove working_days "
         "from this level"),
        (lambda d: d["levels"][2].update(informal=True) or d["levels"][2].pop("working_days"),
         "policy.levels[2].informal: informal levels must come before the formal ones — move it to the"
         " start or set informal = false"),
        (lambda d: d.update(total_working_days=15),
         "policy.total_working_days: the levels' working days add up to 20, more than the total of 15 "
         "— raise total_working_days to 20 or shorten a level"),
        (lambda d: d.update(budget_warnings=[20, 10]),
         "policy.budget_warnings: must increase, got [20, 10] — write e.g. budget_warnings = [15, 20]"),
        (lambda d: d.update(budget_warnings=[15, 25]),
         "policy.budget_warnings[1]: must be a whole number of working days from 1 to 20, got 25 — "
         "write e.g. budget_warnings = [15, 20]"),
        (lambda d: d.update(themes="Care plan"),
         "policy.themes: must be a list of text, got 'Care plan' — write e.g. themes = [\"Care plan\", "
         "\"Drift and delay\", \"Other\"]"),
        (lambda d: d.update(themes=["Care plan", "care plan"]),
         "policy.themes[1]: 'care plan' is listed twice — remove the duplicate"),
        (lambda d: d.update(reporting=["montly"]),
         "policy.reporting[0]: 'montly' is not a reporting cadence (did you mean 'monthly'?) — use one"
         " of weekly, fortnightly, monthly, bimonthly, quarterly, annual"),
        (lambda d: d.update(key="My Council"),
         "policy.key: 'My Council' is not a valid value — write e.g. key = \"mycouncil\" (lower-case "
         "letters, digits, hyphens)"),
        (lambda d: d.update(iro_date_overrides="yes"),
         "policy.iro_date_overrides: must be true or false, got 'yes' — write e.g. iro_date_overrides "
         "= true"),
        (lambda d: d["chasers"].update(hours=["9am", "5pm"]),
         "policy.chasers.hours: must be [start, end] times of day with start before end, got ('9am', "
         "'5pm') — write e.g. hours = [\"09:00\", \"17:00\"]"),
        (lambda d: d["chasers"].update(hours=["17:00", "09:00"]),
         "policy.chasers.hours: must be [start, end] times of day with start before end, got "
         "(datetime.time(17, 0), datetime.time(9, 0)) — write e.g. hours = [\"09:00\", \"17:00\"]"),
        (lambda d: d["chasers"].update(offsets=[0, -2]),
         "policy.chasers.offsets: must increase without repeats, got [0, -2] — write e.g. offsets = "
         "[-2, 0]"),
        (lambda d: d["chasers"].update(grace_working_days=-1),
         "policy.chasers.grace_working_days: must be a whole number of working days from 0 to 20, got "
         "-1 — write e.g. grace_working_days = 0"),
        (lambda d: d.update(levels=[]),
         "policy.levels: must be a non-empty list of levels, got [] — add [[policy.levels]] tables "
         "with number, role and working_days"),
        (lambda d: d.update(levels=[d["levels"][0], d["levels"][4]]),
         "policy.levels: has no formal timed level — add a level with a role and working_days"),
        (lambda d: d["levels"].__setitem__(1, "Team Manager"),
         "policy.levels[1]: must be a table, got 'Team Manager' — write each level as a "
         "[[policy.levels]] table"),
        (lambda d: d.update(chasers=[-2, 0]),
         "policy.chasers: must be a table, got [-2, 0] — write it as [policy.chasers]"),
    ],
)
def test_bad_custom_policies_name_key_and_fix(mutate: Any, expected: str) -> None:
    data = _custom()
    mutate(data)
    assert _message(data) == expected


def test_policy_error_is_a_rules_error() -> None:
    assert issubclass(PolicyError, RulesError)


# ----------------------------------------------------------------------------------------- base = preset


def test_base_hull_override() -> None:
    policy = policy_from_config({"base": "hull", "themes": ["Care plan", "Other"], "total_working_days": 25,
                                  "chasers": {"grace_working_days": 2}})
    hull = PRESETS["hull"]
    assert policy.levels == hull.levels and policy.key == "hull"
    assert policy.themes == ("Care plan", "Other")
    assert policy.total_working_days == 25
    # chasers merge key by key: offsets and hours stay Hull's
    assert policy.chasers == replace(hull.chasers, grace_working_days=2)
    assert policy.always_copy_roles == ("IRO Team Manager",)
    assert policy.notes.startswith("Preset 'hull' with chasers, themes, total_working_days overridden")
    assert policy_from_mapping(policy_to_mapping(policy)) == policy


def test_base_alone_is_the_preset_and_levels_replace_the_ladder() -> None:
    assert policy_from_config({"base": "dorset"}) == PRESETS["dorset"]
    policy = policy_from_config({"base": "dorset", "key": "dorset-short", "notes": "Trial",
                                  "levels": [{"number": 1, "role": "Team Manager", "working_days": 3}]})
    assert [lvl.number for lvl in policy.levels] == [1]
    assert policy.always_copy_roles == ("QA Manager",) and policy.notes == "Trial"


def test_unknown_base() -> None:
    assert _message({"base": "dorest"}) == (
        "policy.base: 'dorest' is not a preset (did you mean 'dorset'?) — use one of birmingham, dorset, "
        'hull, rotherham, south-west, e.g. base = "dorset"'
    )


def test_override_that_breaks_the_base_is_reported() -> None:
    assert _message({"base": "hull", "total_working_days": 10}).startswith(
        "policy.total_working_days: the levels' working days add up to 20, more than the total of 10")


# ----------------------------------------------------------------------------------------- look-ups


def test_level_lookups() -> None:
    policy = _simple()
    assert policy.level(2).role == "Service Manager"
    assert policy.find_level(2) is policy.level(2)
    assert policy.find_level(7) is None
    with pytest.raises(PolicyError, match=r"there is no Level 7 — use one of 1, 2, 3"):
        policy.level(7)
    with pytest.raises(PolicyError, match="use one of 1, 2, 3"):
        policy.next_level(9)
    assert policy.next_level(1) == policy.level(2)
    assert policy.next_level(2) == policy.level(3)
    assert policy.next_level(3) is None
    assert policy.first_formal_level() == policy.level(1)
    assert [total for _, total in policy.cumulative()] == [5, 10, None]
    assert policy.levels[0].timed and not policy.levels[2].timed


def test_labels_are_derived_unless_given() -> None:
    policy = _simple(level_word="Stage", levels=(Level(1, "TM", 5, label="First"), Level(2, "SM", 5)))
    assert [lvl.label for lvl in policy.levels] == ["First", "Stage 2"]
    mapping = policy_to_mapping(policy)
    assert mapping["levels"][0]["label"] == "First" and "label" not in mapping["levels"][1]


def test_validate_direct_construction() -> None:
    _simple().validate()
    with pytest.raises(PolicyError, match=r"^policy\.council: must not be empty"):
        _simple(council=" ").validate()
    with pytest.raises(PolicyError, match=r"^policy\.chasers: must be a chaser schedule"):
        _simple(chasers=(-2, 0)).validate()
    with pytest.raises(PolicyError, match=r"^policy\.levels\[0\]: cannot be both informal and terminal"):
        _simple(levels=(Level(1, "X", None, informal=True, terminal=True),)).validate()
    with pytest.raises(PolicyError, match=r"^policy\.levels\[0\]\.copy_roles\[0\]: must be non-empty text"):
        _simple(levels=(Level(1, "TM", 5, copy_roles=("",)),)).validate()
    with pytest.raises(PolicyError, match=r"^policy\.levels\[0\]\.number: must be a whole number from 0"):
        _simple(levels=(Level(-1, "TM", 5),)).validate()


def test_lists_become_tuples_so_policies_stay_hashable() -> None:
    levels = [Level(1, "TM", 5, copy_roles=["SM"])]  # type: ignore[arg-type]
    policy = _simple(themes=["A", "B"], levels=levels)
    assert policy.themes == ("A", "B") and policy.levels[0].copy_roles == ("SM",)
    assert hash(policy) == hash(replace(policy))


# ------------------------------------------------------------------------------------------ round trip


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    word = draw(st.sampled_from(["Level", "Stage"]))
    levels: list[Level] = []
    number = draw(st.integers(0, 3))
    if draw(st.booleans()):
        label = draw(st.sampled_from(["", "Chat"]))
        levels.append(Level(number, "Social Worker", None, informal=True, label=label))
        number += 1
    roles = ["Team Manager", "Service Manager", "Head of Service", "Director"]
    for role in roles[: draw(st.integers(1, 4))]:
        copies = tuple(draw(st.lists(st.sampled_from(["QA Manager", "Head"]), unique=True, max_size=2)))
        levels.append(Level(number, role, draw(st.integers(1, 15)), copy_roles=copies))
        number += draw(st.integers(1, 2))
    if draw(st.booleans()):
        levels.append(Level(number, "Cafcass referral", None, terminal=True))
    timed = sum(lvl.working_days or 0 for lvl in levels)
    total = timed + draw(st.integers(0, 10))
    warnings = tuple(sorted(draw(st.sets(st.integers(1, total), max_size=3))))
    offsets = tuple(sorted(draw(st.sets(st.integers(-5, 3), max_size=3))))
    start = draw(st.integers(6, 11))
    chasers = ChaserSchedule(offsets, draw(st.integers(0, 5)), (time(start, draw(st.sampled_from([0, 30]))),
                                                                time(start + 7)))
    return Policy(key=draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)), council="Some Council",
                  title=draw(st.text(max_size=20)), level_word=word, levels=tuple(levels),
                  total_working_days=total, budget_warnings=warnings, chasers=chasers,
                  always_copy_roles=tuple(draw(st.lists(st.sampled_from(["QA Mgr", "IRO TM"]), unique=True))),
                  themes=tuple(draw(st.lists(st.sampled_from(["A", "B", "C"]), unique=True))),
                  case_system=draw(st.sampled_from(["", "Mosaic"])), iro_date_overrides=draw(st.booleans()),
                  reports=tuple(Report(c, ("QA Manager",))
                                for c in draw(st.lists(st.sampled_from(["weekly", "monthly"]), unique=True))),
                  iro_may_extend_budget=draw(st.booleans()))


@settings(max_examples=60, deadline=None)
@given(policies())
def test_round_trip_random_policies(policy: Policy) -> None:
    policy.validate()
    mapping = policy_to_mapping(policy)
    assert policy_from_mapping(mapping) == policy
    assert "working_days" not in mapping["levels"][-1] or not policy.levels[-1].terminal
