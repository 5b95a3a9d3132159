"""Policies of the five seed councils, reproducing their published procedures (see /work/shared/seeds/).

Each preset's ``notes`` give its source and every assumption made where the source is silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.errors import PolicyError
from rules.policy import Level, Policy, policy_from_mapping
from rules.procedure import GUARDIAN, IRO, CafcassRule, CaseRecord, Meeting, Notify, Report

CAFCASS = "Cafcass referral"
#: Where a seed names no reminder for a short level, the bot reminds the day before and on the day (its choice).
SHORT = (-1, 0)
#: Every seed's "IRO annual report ... summary of key themes" (Hull 8, Dorset 4.1; statutory for all: IRO Handbook 7).
ANNUAL = "annual"

# ------------------------------------------------------------------------------------------- Hull (seed 000)
# Section 4: Team Manager 10 -> Group Manager 5 -> Head of Service 3 -> Assistant Director 2 = 20 working days.
HULL = Policy(
    key="hull",
    council="Hull City Council",
    title="IRO Escalation Process",
    level_word="Level",
    levels=(
        # 4: "They will aim to address any issues at as low and informal a level as possible" (no timescale given)
        Level(0, "Social Worker and Team Manager", None, informal=True, label="Informal", section="4"),
        Level(1, "Team Manager", 10, section="4, 7"),  # "within the time-scale set by the IRO or at least 10"
        Level(2, "Group Manager", 5, section="4"),
        Level(3, "Head of Service", 3, chaser_offsets=SHORT, section="4"),  # seed names no reminders: SHORT
        Level(4, "Assistant Director", 2, chaser_offsets=SHORT, section="4"),
        Level(5, CAFCASS, None, terminal=True, section="4"),
    ),
    total_working_days=20,  # 4: "The whole process should take no longer than 20 working days"
    always_copy_roles=("IRO Team Manager",),  # 4: "The e-mail should always be copied to the IRO Team Manager"
    notifications=(
        Notify("opened", (GUARDIAN, "Legal"), when="in_proceedings", section="6",
               says="to be advised of the issuing of an escalation while the child is subject of court proceedings"),
        Notify("closed", (GUARDIAN, "Legal"), when="in_proceedings", section="6",
               says="to be advised of the resolution of the escalation (the child is subject of court proceedings)"),
        Notify("cafcass_considered", ("IRO Team Manager",), section="4",
               says="the IRO informs their manager when considering a referral to Cafcass"),
        Notify("cafcass", ("Director of Children's Social Care", "Head of Service"), section="4",
               says="the IRO Team Manager informs the Director of CSC and the Head of Service of a Cafcass referral"),
    ),
    # 4: "In respect of looked after children only, the IRO has the discretion to refer matters to CAFCASS at any
    # time". The seed does not say whether the process goes on after a referral: the record closes (bot's choice).
    cafcass=CafcassRule(case_types=("looked-after",), at_end="close", early="close", section="4"),
    case_types=("looked-after", "child-protection"),  # scope: "child protection cases as well as looked after"
    themes=(  # 3: the 8 categories
        "Incomplete or inadequate care plans",
        "Drift or delay in care planning",
        "Concerns around social work provision",
        "Placement concerns",
        "18+ planning",
        "Poor practice",
        "Non completion of previous recommendations/decisions",
        "Other",
    ),
    case_system="LiquidLogic",
    case_record=CaseRecord(
        system="LiquidLogic", note_type="IRO - escalation", form="IRO Escalation Form", section="4, Appendix 1",
        fields=(("Summary of concerns", "concern"), ("Requested action and timescale", "requested_action"),
                ("Which management level representation is addressed", "level"),
                ("Management response", "responses"), ("Outcome", "outcome"), ("Date concluded", "concluded")),
    ),
    reports=(
        Report("monthly", ("Children's Social Care SLT",), "themes", section="8"),
        Report(ANNUAL, ("IRO Team Manager",), "annual", section="8"),
    ),
    notes=(
        "Hull City Council, IRO Escalation Process (adapted from Southwark): Team Manager within the IRO's "
        "timescale or at least 10 working days, Group Manager 5, Head of Service 3, Assistant Director 2; "
        "the whole process no longer than 20 working days. Mails always copied to the IRO Team Manager; "
        "brief details recorded on a LiquidLogic note of type 'IRO - escalation' and the IRO Escalation Form. "
        "The Guardian and Hull City Council Legal are advised of the issuing and resolution when the child is in "
        "proceedings. Cafcass referral (looked after children only) at the IRO's discretion; the IRO Team Manager "
        "informs the Director of CSC and the Head of Service. Themes to CSC SLT monthly. The seed numbers no "
        "levels: they are numbered 1-5 here; it names no reminders, so the 3- and 2-day levels are reminded the "
        "day before and on the day."
    ),
)

# ----------------------------------------------------------------------------------------- Dorset (seed 001)
# Table 1 of the QARO process (3.1): Levels 1-4 at 5 working days each (cumulative 5/10/15/20), Level 5 Cafcass.
DORSET = Policy(
    key="dorset",
    council="Dorset Council",
    title="QARO IRO Resolution/Escalation Process (2021)",
    level_word="Level",
    levels=(
        # Table 1 "Informal: Social Worker and/or Team manager — According to child's need" (no number of days)
        Level(0, "Social Worker and/or Team Manager", None, informal=True, label="Informal", section="3.1"),
        Level(1, "Team Manager", 5, copy_roles=("Service Manager",), section="3.1 Level 1"),
        Level(2, "Service Manager", 5, copy_roles=("Head of Locality",), section="3.1 Stage 2"),
        Level(3, "Head of Locality", 5, copy_roles=("Corporate Director for Care and Protection",),
              section="3.1 Stage 3"),
        Level(4, "Corporate Director for Care and Protection", 5,
              copy_roles=("Executive Director People - Children",), section="3.1 Stage 4"),
        Level(5, CAFCASS, None, terminal=True, section="3.1 Stage 5"),
    ),
    total_working_days=20,
    always_copy_roles=("QA Manager",),  # Level 1: "copy in the QA Manager"; Stage 2: "copying in the QA Manager"
    notifications=(
        Notify("level", ("Head of Quality Assurance and Partnerships",), level=4, section="3.1 Stage 4",
               says="Level 4 is raised in consultation with the Head of Quality Assurance and Partnerships"),
        Notify("bypass", ("Head of Quality Assurance and Partnerships",), section="3.1 Stage 5",
               says="a bypass is made in consultation with the QA manager and the Head of Quality Assurance and "
                    "Partnerships"),
        Notify("cafcass_considered", ("QA Manager", "Head of Quality Assurance and Partnerships"),
               section="3.1 Stage 5",
               says="the QARO informs the QA Manager when considering a referral; the QA Manager informs the Head of "
                    "Quality Assurance and Partnerships, who advises the Corporate Director for Care and Protection"),
        Notify("cafcass", ("Head of Quality Assurance and Partnerships", "Corporate Director for Care and Protection"),
               section="3.1 Stage 5", says="to be told of a referral to Cafcass"),
    ),
    # Stage 5: "QAROs have the authority to refer the case of any looked after child to Cafcass". The seed does not
    # say whether the process goes on after a referral: the record closes (bot's choice).
    cafcass=CafcassRule(case_types=("looked-after",), at_end="close", early="close", section="3.1 Stage 5"),
    themes=(  # 2.1: the 12 criteria
        "Incomplete or inadequate care plans",
        "Drift or delay in care planning",
        "Safeguarding concerns including missing episodes, crime related or CE risk",
        "Non-participation of child, parents and carers (including foster carers) in decision making",
        "Concerns around social work provision",
        "Placement concerns",
        "Education",
        "Health",
        "18+ planning",
        "Action and effectiveness of management",
        "Non completion of review decisions",
        "Other",
    ),
    case_system="Mosaic",
    # the seed names no note type: "recorded as part of the child's MOSAIC record" (Level 1, Stages 2-4)
    case_record=CaseRecord(
        system="Mosaic", section="3.1 Informal Stage, Level 1",
        fields=(("Summary of concern (who is involved)", "concern"),
                ("What is required to achieve the right outcome, and by when", "requested_action"),
                ("Impact on the child if not resolved", "impact"), ("Escalation level", "level"),
                ("Responses", "responses"), ("Outcome", "outcome"), ("Date concluded", "concluded")),
    ),
    reports=(
        Report("quarterly", ("Head of Quality Assurance and Partnerships",), "themes", section="4.1"),
        Report(ANNUAL, ("QA Manager",), "annual", section="4.1"),
    ),
    notes=(
        "Dorset Council, QARO IRO Resolution/Escalation Process (report of 12/01/2021), Table 1: Levels 1-4"
        " respond within 5 working days each unless the QARO specifies a different timescale; Level 5 is a "
        "referral to Cafcass. Subject rule: 'Action - Level 1 (or 2) escalation' + the child's names + "
        "MOSAIC number + expected response date. The QA Manager is copied throughout; the Head of Quality "
        "Assurance and Partnerships is consulted at Level 4, on a bypass and on a Cafcass referral, and receives "
        "the themes quarterly (plus a summary in the IRO annual report). Recorded on the child's MOSAIC record."
    ),
)

# ------------------------------------------------------------------------------------- Birmingham (seed 004)
# Stage 1 TM 10 (day 10) -> Stage 2 HoS 3 (day 13) -> Stage 3 AD 3 (day 16) -> Stage 4 Director of Practice
# at day 20: the seed gives only the day, so Stage 4 has 20 - 16 = 4 working days.
BIRMINGHAM = Policy(
    key="birmingham",
    council="Birmingham Children's Trust",
    title=("Independent Reviewing Service Dispute Resolution and Escalation Procedure "
           "(Version 8, September 2021)"),
    level_word="Stage",
    levels=(
        Level(0, "Social Worker and Team Manager", None, informal=True, label="Informal resolution",
              section="3.1-3.2"),  # no timescale in the seed: "the agreed timescale" is recorded on the case
        Level(1, "Team Manager", 10, copy_roles=("IRO Service AHoS",), section="3.5-3.7"),
        Level(2, "Head of Service", 3, copy_roles=("IRO Service HoS",), chaser_offsets=SHORT, section="3.9"),
        Level(3, "Assistant Director", 3, copy_roles=("IRO Service HoS",), chaser_offsets=SHORT, section="3.12"),
        Level(4, "Director of Practice", 4, copy_roles=("Trust CEO",), section="3.13"),  # "(Day 20)": 4 days
        Level(5, CAFCASS, None, terminal=True, section="4.1"),
    ),
    total_working_days=20,  # 1.2
    notifications=(
        Notify("opened", ("IRO Service AHoS",), section="3.5",
               says="the IRO advises and consults the IRO Service AHoS when raising a formal dispute"),
        Notify("day", ("IRO Service AHoS",), day=10, section="3.8",
               says="not resolved at day 10: the IRO consults the IRO Service AHoS; a Dispute Resolution Meeting "
                    "(social worker, team manager, IRO and AHoS) can be convened"),
        Notify("level", ("Legal",), level=2, when="in_proceedings", section="3.9",
               says="the BCT legal representative is made aware of the dispute at Stage 2"),
        Notify("level", ("Court Leads Group",), level=2, when="in_proceedings", section="3.11",
               says="the IRO HoS makes the Court Leads Group aware of the dispute in cases due in court"),
        Notify("cafcass_considered", ("IRO Service HoS",), section="4.3",
               says="the IRO discusses a referral with their line manager"),
    ),
    # 4.1: after Stage 4 the formal escalation "is closed and resolved as 'referral to Cafcass'"; 4.4: after an
    # earlier referral "the IRO should also continue to seek resolution of the dispute".
    cafcass=CafcassRule(case_types=("looked-after",), at_end="close", early="continue", section="4.1, 4.4"),
    themes=(  # 2.4: the four headings
        "General issues",
        "Failure to meet statutory requirements for the child/young person",
        "Care Plan implementation",
        "Dispute around the provision of services",
    ),
    case_system="Eclipse",
    case_record=CaseRecord(
        system="Eclipse", form="Resolution and Escalation", section="3.6, 9.1-9.3",
        fields=(("Reasons for the dispute", "concern"), ("Impact on the child/young person", "impact"),
                ("Actions required to resolve the issue and proposed timescales", "requested_action"),
                ("Stage", "level"), ("Managers' responses", "responses"), ("IRO's views and outcome", "outcome"),
                ("Date closed", "concluded")),
    ),
    # The seed sets no reporting cadence; the IRO annual report is statutory (IRO Handbook, chapter 7).
    reports=(Report(ANNUAL, ("IRO Service HoS",), "annual"),),
    notes=(
        "Birmingham Children's Trust, IRS Dispute Resolution and Escalation Procedure v8 (September 2021): "
        "Stage 1 team manager responds within 10 working days (the IRO consults the IRO Service AHoS on raising "
        "it and at day 10); Stage 2 Head of Service within 3 (day 13, IRO Service HoS informed, BCT Legal and the "
        "Court Leads Group aware in cases in court); Stage 3 Assistant Director within 3 (day 16); Stage 4 "
        "Director of Practice at day 20, so 4 working days (assumed from the day count; the Trust CEO is "
        "notified); then referral to Cafcass, which closes the record, while an earlier referral leaves the "
        "dispute open (4.4). Recorded on the Eclipse 'Resolution and Escalation' form. Themes are the four "
        "headings of section 2.4. The seed names no reminders: the 3-day stages are reminded the day before and "
        "on the day."
    ),
)

# -------------------------------------------------------------------------------------- Rotherham (seed 003)
# ASSUMPTION: the seed names the four challenge levels and the 20-working-day total but gives no per-level
# timescales, so the 20 days are split evenly, 5/5/5/5 (cumulative 5/10/15/20). Said in `notes` too.
ROTHERHAM = Policy(
    key="rotherham",
    council="Rotherham Metropolitan Borough Council",
    title=("Challenge and Escalation Process Guidance - Safeguarding Children Unit "
           "(IROs and Conference Chairs)"),
    level_word="Stage",
    levels=(
        # 2.2: compliance issues are Quality Alerts, answered by the Team Manager's action plan (no timescale)
        Level(0, "Team Manager", None, informal=True, label="Quality Alert", section="2.2, 3.3"),
        Level(1, "Team Manager", 5, section="3.4"),
        Level(2, "Service Manager", 5, section="3.4"),
        Level(3, "Head of Service", 5, section="3.4"),
        Level(4, "Deputy Director", 5, section="3.4"),
        Level(5, CAFCASS, None, terminal=True, section="2.6"),
    ),
    total_working_days=20,  # 2.8
    always_copy_roles=("Operations Manager (Safeguarding)",),  # 2.5: challenges agreed with the Operations Manager
    notifications=(
        Notify("informal_opened", ("Quality and Performance Team",), section="2.2",
               says="Quality Alerts are tracked by the quality and performance team and reported to senior managers"),
        Notify("cafcass_considered", ("Director of Children's Services", "Deputy Director of Children's Services"),
               section="2.6", says="the DCS and Deputy DCS are always informed prior to any referral to Cafcass"),
    ),
    # 1: the Cafcass route is "for IRO's" (looked-after children), not conference chairs' child-protection cases;
    # 2.6: a referral at any stage "whilst also continuing to follow the staged process".
    cafcass=CafcassRule(case_types=("looked-after",), at_end="close", early="continue", section="1, 2.6"),
    case_types=("looked-after", "child-protection"),
    raisers=("IRO", "Conference Chair"),
    themes=(  # 2: "Agreed stated key themes and issues"
        "Voice of the child",
        "Management oversight",
        "Risk assessment",
        "Provision of services",
        "Quality of plan",
        "Legal issues",
        "Therapeutic provision",
        "Placement concerns",
    ),
    case_record=CaseRecord(
        system="the child's file", note_type="IRO case note (Conference Chairs: Safeguarding advice)",
        section="2.3, 2.5, 4.1",
        fields=(("Challenge", "concern"), ("Action required", "requested_action"), ("Stage", "level"),
                ("Action plan and responses", "responses"), ("Outcome", "outcome"), ("Date concluded", "concluded")),
    ),
    reports=(
        Report("weekly", ("Operations Manager (Safeguarding)", "Quality and Performance Team"), "tracker",
               section="4.1"),
        Report("monthly", ("SMT",), "themes", section="4.2"),
        # a partnership of other agencies: figures and themes, no child's name (the council's information governance)
        Report("quarterly", ("RSCP",), "themes", section="4.2", counts_only=True),
        Report(ANNUAL, ("Operations Manager (Safeguarding)",), "annual"),
    ),
    notes=(
        "Rotherham MBC, Challenge and Escalation Process Guidance (Safeguarding Children Unit, IROs and "
        "Conference Chairs). Quality Alerts are the informal stage, answered by the Team Manager's action plan and "
        "tracked by the quality and performance team; a formal Challenge goes to the Team Manager, Service "
        "Manager, Head of Service, then Deputy Director/Director, within 20 working days in all. ASSUMPTION: the "
        "guidance gives no per-level timescales, so the 20 days are split evenly, 5 per level. Challenges are "
        "agreed with the Operations Manager (Safeguarding), who is copied. A Cafcass referral is for IROs only "
        "(not Conference Chairs); the DCS and Deputy DCS are always informed first, and the staged process goes "
        "on. Tracker updated weekly, monthly report to SMT, quarterly report to the RSCP."
    ),
)

# ------------------------------------------------------------------------------------- South West (seed 002)
# ASSUMPTION: the seed gives only the 20-working-day total (extendable by the IRO) and no per-stage
# timescales. Split chosen: Stage 2 (formal problem resolution meeting) 10, Stage 3 (Service Manager
# meeting) 5, Stage 4 (line management chain) 5 -> cumulative 10/15/20. Said in `notes` too.
SOUTH_WEST = Policy(
    key="south-west",
    council="South West Safeguarding and Child Protection Procedures",
    title="5.2.6 The Role of the IRO in Problem Resolution Procedure",
    level_word="Stage",
    levels=(
        Level(1, "Social Worker and Team Manager", None, informal=True, label="Stage 1 (Informal Resolution)",
              section="5, Stage 1"),
        Level(2, "Safeguarding Service Manager", 10, section="5, Stage 2",
              meeting=Meeting("Problem Resolution Meeting", chair="Safeguarding Service Manager",
                              attendees=("Team Manager", "Social Worker"), minutes_by=IRO, convene_within=5,
                              section="5, Stage 2")),  # "chaired by ... minuted by the IRO"; days: ASSUMPTION
        # "a further meeting ... chaired by the Service Manager, Safeguarding Service, and minutes placed on the
        # child or young person's record" (the directory's role is "Service Manager")
        Level(3, "Service Manager", 5, section="5, Stage 3",
              meeting=Meeting("Problem Resolution Meeting (Stage 3)", chair="Service Manager",
                              attendees=("Team Manager",), minutes_by="Service Manager", convene_within=3,
                              section="5, Stage 3")),
        Level(4, "Head of Service", 5, copy_roles=("Assistant Director",), section="5, Stage 4"),
        Level(5, CAFCASS, None, terminal=True, section="5, Stage 5"),
    ),
    total_working_days=20,  # 5, Stage 2: "no more than 20 working days ... this will be extended" by the IRO
    iro_may_extend_budget=True,
    notifications=(
        Notify("cafcass_considered", ("Assistant Director",), section="5, Stage 5",
               says="the IRO informs the Assistant Director that a referral will be made to Cafcass and when"),
        Notify("cafcass", ("Assistant Director",), section="5, Stage 5",
               says="where the IRO stops the problem resolution process, the reasons are explained to the senior "
                    "officer"),
    ),
    # 5, Stage 5: "applies to all Children in Care"; a referral curtails the process ("stop the problem resolution
    # process"): the record closes.
    cafcass=CafcassRule(case_types=("looked-after",), at_end="close", early="close", section="5, Stage 5"),
    themes=(
        "Failed to address the needs of the child set out in the plan",
        "Failed to review the case in accordance with the regulations",
        "Failed to implement effectively any decision made at a review",
        "Otherwise in breach of its duties to the child in any significant way",
    ),
    case_record=CaseRecord(
        system="the child's record", note_type="IRO problem resolution record", section="4, 5 Stages 1-3",
        fields=(("Problem", "concern"), ("Resolution sought", "requested_action"), ("Stage", "level"),
                ("Responses and meeting minutes", "responses"), ("Outcome", "outcome"),
                ("Date concluded", "concluded")),
    ),
    # The seed sets no reporting; the IRO annual report is statutory (IRO Handbook, chapter 7).
    reports=(Report(ANNUAL, ("Safeguarding Service Manager",), "annual"),),
    notes=(
        "South West Safeguarding and Child Protection Procedures 5.2.6: Stage 1 informal (Social Worker and"
        " Team Manager); Stage 2 formal Problem Resolution Meeting chaired by the Safeguarding Service "
        "Manager, minuted by the IRO; Stage 3 further meeting chaired by the Service Manager, Safeguarding "
        "Service; Stage 4 the line management chain: Head of Service, Assistant Director, Director and Chief "
        "Executive (the bot writes to the Head of Service and copies the Assistant Director; the IRO takes it "
        "higher by naming the level); Stage 5 referral to Cafcass, the Assistant Director being told first. "
        "ASSUMPTION: the procedure sets only a 20-working-day total, which the IRO may extend, so the "
        "stages are given 10/5/5 working days and the chairs 5 and 3 working days to convene the meetings."
    ),
)

PRESETS: dict[str, Policy] = {p.key: p for p in (DORSET, HULL, BIRMINGHAM, ROTHERHAM, SOUTH_WEST)}
DEFAULT_PRESET = "dorset"

for _preset in PRESETS.values():  # a broken preset is a programming error: fail at import, not mid-run
    _preset.validate(f"presets[{_preset.key!r}]")


def get_preset(name: str) -> Policy:
    """The preset called ``name``; :class:`PolicyError` listing the preset names when there is none."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise PolicyError(
            f"policy preset {name!r}: no such preset — use one of {', '.join(sorted(PRESETS))}"
        ) from None


def policy_from_config(data: Mapping[str, Any], *, where: str = "policy") -> Policy:
    """A council's ``[policy]`` table as a :class:`Policy`; ``base = "NAME"`` starts from one of :data:`PRESETS`
    (see :func:`rules.policy.policy_from_mapping`)."""
    return policy_from_mapping(data, where=where, bases=PRESETS)
