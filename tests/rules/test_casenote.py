"""The text the IRO pastes into the child's case record: each of the five councils' shapes (Hull's LiquidLogic note
and IRO Escalation Form, Dorset's Mosaic record, Birmingham's Eclipse "Resolution and Escalation" form, Rotherham's
IRO case note, South West's record of the problem resolution meetings) at the opening, a new level and the closure;
what the concern's words give (the actions asked, the impact); the plain text to paste; and, for any input, no
error, every field present and filled, every field within its cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.casenote import (
    MAX_FIELD_CHARS,
    MOMENTS,
    CaseFacts,
    CaseNote,
    Response,
    case_note,
    impact_of,
    long_date,
    note_text,
    requested_action_of,
    without_greeting,
)
from rules.procedure import RECORD_SOURCES, CaseRecord

# ---- the five councils' records, as the presets will give them ---------------------------------------------------

HULL = CaseRecord(system="LiquidLogic", note_type="IRO - escalation", form="IRO Escalation Form", section="4", fields=(
    ("Summary of concerns", "concern"),
    ("Requested action and timescale", "requested_action"),
    ("Which management level representation is addressed", "level"),
    ("Management response", "responses"),
    ("Outcome", "outcome"),
    ("Date concluded", "concluded"),
))
DORSET = CaseRecord(system="Mosaic", section="Level 1", fields=(
    ("Child", "child"),
    ("MOSAIC number", "case_number"),
    ("Concern", "concern"),
    ("Action and timescale", "requested_action"),
    ("Impact on the child if not resolved", "impact"),
    ("Level", "level"),
    ("Responses", "responses"),
    ("Outcome", "outcome"),
))
BIRMINGHAM = CaseRecord(system="Eclipse", form="Resolution and Escalation", section="9", fields=(
    ("Reasons for the dispute", "concern"),
    ("Impact on the child/young person", "impact"),
    ("Actions required to resolve the issue", "requested_action"),
    ("Proposed timescales", "timescale"),
    ("Stage", "level"),
    ("Manager responses", "responses"),
    ("IRO's views on close", "outcome"),
    ("Date closed", "concluded"),
))
ROTHERHAM = CaseRecord(system="LiquidLogic", note_type="Case notes IRO", section="2.3", fields=(
    ("Challenge", "concern"),
    ("Stage", "level"),
    ("Agreed actions", "requested_action"),
    ("Timescale", "timescale"),
    ("Responses", "responses"),
    ("Outcome for the child", "outcome"),
    ("Themes", "themes"),
))
SOUTH_WEST = CaseRecord(system="Case record", section="Stage 1", fields=(
    ("Reference", "reference"),
    ("Child", "child"),
    ("IRO", "iro"),
    ("Raised on", "opened"),
    ("The problem", "concern"),
    ("Stages", "levels"),
    ("Meetings and responses", "responses"),
    ("Outcome", "outcome"),
    ("Concluded", "concluded"),
))
COUNCILS = {"hull": HULL, "dorset": DORSET, "birmingham": BIRMINGHAM, "rotherham": ROTHERHAM,
            "south-west": SOUTH_WEST}

CONCERN = """Dear Tom,

Jane's care plan has not been signed off and her placement review is overdue. Please confirm who will complete the
plan. I would ask that the review is booked by Friday 11 December.

Impact: Jane does not know where she will live after Christmas.

Actions:
- Care plan signed off at panel
- Placement review booked"""
L1, L2 = "Level 1 (Team Manager)", "Level 2 (Group Manager)"
OPENED, L2_ON = date(2026, 11, 24), date(2026, 12, 9)
L1_DUE, L2_DUE = date(2026, 12, 8), date(2026, 12, 16)
TOM = Response(L1, "Tom Manager", date(2026, 12, 7), "The plan goes to panel on 17 December.")
GINA = Response(L2, "Gina Group", date(2026, 12, 15), "Panel brought forward: the plan is signed off today.")

OPENING = CaseFacts(
    reference="ESC-0042", children=("Jane Doe",), case_numbers=("MOSAIC 123456",), iro="Jane Reviewer",
    opened_on=OPENED, concern=CONCERN, requested_action="", timescale="response by Tuesday 8 December 2026",
    impact="", level_label=L1, levels=((L1, OPENED, L1_DUE),), responses=(), outcome="", concluded_on=None,
    themes=("Drift or delay in care planning",),
)
LEVEL = replace(OPENING, level_label=L2, timescale="response by Wednesday 16 December 2026",
                levels=((L1, OPENED, L1_DUE), (L2, L2_ON, L2_DUE)), responses=(TOM,))
CLOSURE = replace(LEVEL, responses=(TOM, GINA), outcome="Resolved: plan signed off at panel; review booked",
                  concluded_on=date(2026, 12, 15))
FACTS = {"opening": OPENING, "level": LEVEL, "closure": CLOSURE}


def field(note: CaseNote, label: str) -> str:
    return dict(note.fields)[label]


# ---- every council, every moment ---------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("council", COUNCILS)
def test_every_field_of_the_councils_record_is_there_in_its_order_and_filled(council: str, moment: str) -> None:
    record = COUNCILS[council]
    note = case_note(record, FACTS[moment], moment)
    assert note.moment == moment
    assert [label for label, _ in note.fields] == [label for label, _ in record.fields]
    for label, value in note.fields:
        assert value.strip(), label
        assert "None" not in value, (label, value)
        assert len(value) <= MAX_FIELD_CHARS
    assert "Jane" in note.instruction and record.system in note.instruction
    text = note_text(note)
    assert "<" not in text and all(f"{label}:" in text for label, _ in record.fields)


def test_hull_liquidlogic_note_and_the_iro_escalation_form() -> None:
    note = case_note(HULL, OPENING, "opening")
    assert note.heading == "LiquidLogic case note — type “IRO - escalation” and the IRO Escalation Form"
    assert note.instruction == ("The escalation was raised at Level 1 (Team Manager). Paste this into Jane's "
                                "LiquidLogic record as a case note of type “IRO - escalation” and the IRO Escalation "
                                "Form.")
    assert note.title == "For the child's record: Level 1 escalation raised"
    concern = field(note, "Summary of concerns")
    assert concern.startswith("Jane's care plan has not been signed off") and "Dear Tom" not in concern
    # the "Actions:" list has its field; the impact has none here, so it stays in the concern
    assert "Actions:" not in concern and "Placement review booked" not in concern
    assert concern.endswith("\n\nImpact: Jane does not know where she will live after Christmas.")
    # no timescale field: the timescale goes with the requested action ("Requested action and timescale")
    assert field(note, "Requested action and timescale") == (
        "Please confirm who will complete the plan.\nI would ask that the review is booked by Friday 11 December.\n"
        "- Care plan signed off at panel\n- Placement review booked\nResponse by Tuesday 8 December 2026.")
    assert field(note, "Which management level representation is addressed") == (
        "Level 1 (Team Manager), since Tuesday 24 November 2026")
    assert [field(note, x) for x in ("Management response", "Outcome", "Date concluded")] == ["(to be completed)"] * 3

    level = case_note(HULL, LEVEL, "level")
    assert level.title == "For the child's record: Level 2 escalation"
    assert level.instruction.startswith("The escalation has moved to Level 2 (Group Manager). Paste this into")
    assert field(level, "Which management level representation is addressed") == (
        "Level 2 (Group Manager), since Wednesday 9 December 2026\nEarlier: Level 1 (Team Manager)")
    assert field(level, "Management response") == (
        "Level 1 (Team Manager) — Tom Manager, Monday 7 December 2026:\nThe plan goes to panel on 17 December.")
    assert field(level, "Requested action and timescale").endswith("Response by Wednesday 16 December 2026.")
    assert (field(level, "Outcome"), field(level, "Date concluded")) == ("(still open)", "(still open)")

    closed = case_note(HULL, CLOSURE, "closure")
    assert closed.title == "For the child's record: closed at Level 2"
    assert closed.instruction.startswith("The escalation is closed. Paste this into Jane's LiquidLogic record")
    assert field(closed, "Outcome") == "Resolved: plan signed off at panel; review booked"
    assert field(closed, "Date concluded") == "Tuesday 15 December 2026"
    assert "Gina Group, Tuesday 15 December 2026:\nPanel brought forward" in field(closed, "Management response")


def test_the_actions_asked_are_the_sentences_and_lines_that_ask() -> None:
    asked = requested_action_of(CONCERN)
    assert asked.split("\n") == [
        "Please confirm who will complete the plan.",  # a sentence broken over two lines is read whole
        "I would ask that the review is booked by Friday 11 December.",
        "- Care plan signed off at panel",
        "- Placement review booked",
    ]
    assert "Impact" not in asked and "Dear Tom" not in asked


def test_dorset_mosaic_record_with_the_impact_on_the_child() -> None:
    note = case_note(DORSET, OPENING, "opening")
    assert note.heading == "Mosaic: the child's record"
    assert note.instruction.endswith("Paste this into Jane's Mosaic record.")
    assert field(note, "Child") == "Jane Doe" and field(note, "MOSAIC number") == "MOSAIC 123456"
    assert field(note, "Impact on the child if not resolved") == (
        "Jane does not know where she will live after Christmas.")
    assert field(note, "Action and timescale").endswith("Response by Tuesday 8 December 2026.")
    assert field(note, "Responses") == "(to be completed)"
    assert field(case_note(DORSET, LEVEL, "level"), "Responses").startswith("Level 1 (Team Manager) — Tom Manager")
    assert field(case_note(DORSET, CLOSURE, "closure"), "Outcome").startswith("Resolved: plan signed off")


def test_birmingham_eclipse_form_reasons_impact_actions_timescales_each_stage_and_the_iros_views() -> None:
    opening = case_note(BIRMINGHAM, OPENING, "opening")
    assert opening.heading == "Eclipse: “Resolution and Escalation” form"
    assert opening.instruction.endswith("Paste this into Jane's Eclipse record on the “Resolution and Escalation” "
                                        "form.")
    assert field(opening, "Impact on the child/young person") == (
        "Jane does not know where she will live after Christmas.")
    actions = field(opening, "Actions required to resolve the issue")
    assert "- Placement review booked" in actions and "Response by" not in actions  # the timescale has its field
    assert field(opening, "Proposed timescales") == "Response by Tuesday 8 December 2026"
    assert "Impact:" not in actions
    assert field(opening, "Manager responses") == "(to be completed)"
    assert field(opening, "Reasons for the dispute") == (  # each labelled block in its own field, not twice
        "Jane's care plan has not been signed off and her placement review is overdue. Please confirm who will "
        "complete the\nplan. I would ask that the review is booked by Friday 11 December.")

    closed = case_note(BIRMINGHAM, CLOSURE, "closure")
    responses = field(closed, "Manager responses")
    assert responses.index("Level 1 (Team Manager) — Tom Manager") < responses.index("Level 2 (Group Manager) — Gina")
    assert field(closed, "IRO's views on close") == "Resolved: plan signed off at panel; review booked"
    assert field(closed, "Date closed") == "Tuesday 15 December 2026"

    # a stage that was never answered says so at the closure (and not while it is the stage waiting)
    unanswered = replace(CLOSURE, responses=(TOM,))
    assert field(case_note(BIRMINGHAM, unanswered, "closure"), "Manager responses").endswith(
        "Level 2 (Group Manager): no response was recorded (due by Wednesday 16 December 2026).")
    assert "no response" not in field(case_note(BIRMINGHAM, LEVEL, "level"), "Manager responses")


def test_rotherham_iro_case_note_with_the_themes() -> None:
    note = case_note(ROTHERHAM, LEVEL, "level")
    assert note.heading == "LiquidLogic case note — type “Case notes IRO”"
    assert note.instruction.endswith("Paste this into Jane's LiquidLogic record as a case note of type "
                                     "“Case notes IRO”.")
    assert field(note, "Themes") == "Drift or delay in care planning"
    assert field(note, "Timescale") == "Response by Wednesday 16 December 2026"
    assert field(note, "Outcome for the child") == "(still open)"
    assert field(case_note(ROTHERHAM, OPENING, "opening"), "Responses") == "(to be completed)"


def test_south_west_record_of_the_stages_and_the_meetings() -> None:
    meeting = Response("Stage 2 (Safeguarding Service Manager)", "Problem Resolution Meeting", date(2026, 12, 10),
                       "Agreed: the plan to panel on 17 December; the IRO to review on 18 December.")
    levels = (("Stage 1 (Social Worker and Team Manager)", OPENED, None),
              ("Stage 2 (Safeguarding Service Manager)", date(2026, 11, 26), date(2026, 12, 10)))
    facts = replace(CLOSURE, level_label=levels[-1][0], levels=levels, responses=(meeting,),
                    children=("Jane Doe", "Sam Doe"))
    note = case_note(SOUTH_WEST, facts, "closure")
    assert note.heading == "Case record: each child's record"
    assert note.instruction.endswith("Paste this into each child's Case record record (Jane and Sam).")
    assert note.title == "For the children's records: closed at Stage 2"
    assert field(note, "Reference") == "ESC-0042" and field(note, "Child") == "Jane Doe and Sam Doe"
    assert field(note, "IRO") == "Jane Reviewer" and field(note, "Raised on") == "Tuesday 24 November 2026"
    assert field(note, "Stages") == (
        "Stage 1 (Social Worker and Team Manager): from Tuesday 24 November 2026\n"
        "Stage 2 (Safeguarding Service Manager): from Thursday 26 November 2026, response by Thursday 10 December 2026")
    assert field(note, "Meetings and responses") == (
        "Stage 2 (Safeguarding Service Manager) — Problem Resolution Meeting, Thursday 10 December 2026:\n"
        "Agreed: the plan to panel on 17 December; the IRO to review on 18 December.")


@pytest.mark.parametrize("source", RECORD_SOURCES)
def test_every_source_a_record_may_name_is_filled_from_the_facts(source: str) -> None:
    note = case_note(CaseRecord(system="Mosaic", fields=(("Field", source),)), CLOSURE, "closure")
    assert not field(note, "Field").startswith("("), source


# ---- the words ---------------------------------------------------------------------------------------------------


def test_long_dates_have_no_leading_zero() -> None:
    assert long_date(date(2026, 12, 1)) == "Tuesday 1 December 2026"
    assert long_date(None) == ""


def test_impact_under_its_own_heading_and_none_without_one() -> None:
    assert impact_of("The plan.\n\nImpact on Jane:\nShe misses school.\nHer carers are worried.\n\nPlease act.") == (
        "She misses school.\nHer carers are worried.")
    assert impact_of("No impact line here.") == ""
    assert requested_action_of("") == "" and requested_action_of("Hello,\nThe plan is late.") == ""


def test_the_greeting_line_goes_but_a_sentence_that_starts_with_one_stays() -> None:
    assert without_greeting("Dear Tom,\n\nThe plan is late.") == "The plan is late."
    assert without_greeting("Good morning Tom and Sara,\nThe plan.") == "The plan."
    assert without_greeting("Dear Tom, I write about Jane.\nThe plan.") == "Dear Tom, I write about Jane.\nThe plan."
    assert without_greeting("History of the case.") == "History of the case."


def test_a_long_field_is_cut_with_an_ellipsis() -> None:
    note = case_note(HULL, replace(OPENING, concern="word " * 3000), "opening")
    concern = field(note, "Summary of concerns")
    assert len(concern) <= MAX_FIELD_CHARS and concern.endswith("…")


def test_empty_facts_say_what_is_to_come_never_none() -> None:
    empty = CaseFacts(reference="", children=(), case_numbers=(), iro="", opened_on=OPENED, concern="",
                      requested_action="", timescale="", impact="", level_label="", levels=(), responses=(),
                      outcome="", concluded_on=None, themes=())
    for moment in MOMENTS:
        for record in COUNCILS.values():
            note = case_note(record, empty, moment)
            assert all(value.startswith("(") or value == "Tuesday 24 November 2026" for _, value in note.fields)
            assert "None" not in note_text(note) + note.instruction + note.title + note.heading
    assert case_note(HULL, empty, "opening").instruction.endswith("Paste this into the child's LiquidLogic record "
                                                                  "as a case note of type “IRO - escalation” and "
                                                                  "the IRO Escalation Form.")


def test_note_text_is_label_value_blocks_wrapped() -> None:
    note = case_note(HULL, CLOSURE, "closure")
    text = note_text(note, width=50)
    # a short value beside its label; a long one under it, wrapped (the council's label is never cut)
    assert "\n\nDate concluded: Tuesday 15 December 2026\n" in text
    assert "\nOutcome:\nResolved: plan signed off at panel; review booked\n" in text
    labels = {f"{label}:" for label, _ in note.fields}
    assert all(len(line) <= 50 for line in text.splitlines() if line not in labels)
    assert text.startswith("Summary of concerns:\nJane's care plan has not been signed off and her\n")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\nOutcome: Resolved: plan signed off at panel; review booked\n" in note_text(note, width=0)


def test_an_unknown_moment_or_a_record_without_fields_still_gives_a_note() -> None:
    note = case_note(CaseRecord(system="Mosaic"), LEVEL, "whenever")
    assert note.moment == "level" and len(note.fields) >= 5


# ---- any input ---------------------------------------------------------------------------------------------------

_text = st.text(max_size=300) | st.sampled_from(["", " ", "\r\n\r\n", "Impact:", "Actions:\n- x", "None", "\x00\t"])
_dates = st.dates()
_responses = st.builds(Response, level_label=_text, who=_text, on=_dates, text=st.text(max_size=5000))
_facts = st.builds(
    CaseFacts, reference=_text, children=st.lists(_text, max_size=3).map(tuple),
    case_numbers=st.lists(_text, max_size=3).map(tuple), iro=_text, opened_on=_dates,
    concern=st.text(max_size=6000) | st.sampled_from([CONCERN, ""]), requested_action=_text, timescale=_text,
    impact=_text, level_label=_text,
    levels=st.lists(st.tuples(_text, _dates, st.none() | _dates), max_size=4).map(tuple),
    responses=st.lists(_responses, max_size=4).map(tuple), outcome=_text, concluded_on=st.none() | _dates,
    themes=st.lists(_text, max_size=3).map(tuple),
)
_records = st.builds(
    CaseRecord, system=_text, note_type=_text, form=_text,
    fields=st.lists(st.tuples(_text, st.sampled_from(RECORD_SOURCES) | _text), max_size=10).map(tuple),
) | st.sampled_from(list(COUNCILS.values()))


@settings(max_examples=200, deadline=None)
@given(record=_records, facts=_facts, moment=st.sampled_from(MOMENTS) | _text, width=st.integers(-5, 200))
def test_any_input_gives_every_field_filled_and_capped(record: CaseRecord, facts: CaseFacts, moment: str,
                                                       width: int) -> None:
    note = case_note(record, facts, moment)
    assert note.moment in MOMENTS
    expected = len(record.fields) or 8
    assert len(note.fields) == expected
    for label, value in note.fields:
        assert label.strip() and value.strip()
        assert len(value) <= MAX_FIELD_CHARS and len(label) <= 200
        assert "\x00" not in value and "\r" not in value
    assert isinstance(note_text(note, width), str)
