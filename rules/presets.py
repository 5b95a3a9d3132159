"""Policies of the five seed councils, reproducing their published procedures (see /work/shared/seeds/).

Each preset's ``notes`` give its source and every assumption made where the source is silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.errors import PolicyError
from rules.policy import Level, Policy, policy_from_mapping

CAFCASS = "Cafcass referral"

# ----------------------------------------------------------------------------------------- Dorset (seed 001)
# Table 1 of the QARO process: Levels 1-4 at 5 working days each (cumulative 5/10/15/20), Level 5 Cafcass.
# The QA Manager is copied at every level ("copy in the QA Manager and responsible Service Manager").
DORSET = Policy(
    key="dorset",
    council="Dorset Council",
    title="QARO IRO Resolution/Escalation Process (2021)",
    level_word="Level",
    levels=(
        Level(0, "Social Worker and/or Team Manager", None, informal=True, label="Informal"),
        Level(1, "Team Manager", 5, copy_roles=("Service Manager",)),
        Level(2, "Service Manager", 5, copy_roles=("Head of Locality",)),
        Level(3, "Head of Locality", 5, copy_roles=("Corporate Director for Care and Protection",)),
        Level(4, "Corporate Director for Care and Protection", 5,
              copy_roles=("Executive Director People - Children",)),
        Level(5, CAFCASS, None, terminal=True),
    ),
    total_working_days=20,
    always_copy_roles=("QA Manager",),
    themes=(
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
    reporting=("quarterly",),
    notes=(
        "Dorset Council, QARO IRO Resolution/Escalation Process (report of 12/01/2021), Table 1: Levels 1-4"
        " respond within 5 working days each unless the QARO specifies a different timescale; Level 5 is a "
        "referral to Cafcass. Subject rule: 'Action - Level 1 (or 2) escalation' + the child's names + "
        "MOSAIC number + expected response date. The QA Manager is copied throughout and reports themes "
        "quarterly to the Head of Quality Assurance and Partnerships (plus a summary in the IRO annual "
        "report)."
    ),
)

# ------------------------------------------------------------------------------------------- Hull (seed 000)
# Team Manager 10 -> Group Manager 5 -> Head of Service 3 -> Assistant Director 2 = 20 working days.
HULL = Policy(
    key="hull",
    council="Hull City Council",
    title="IRO Escalation Process",
    level_word="Level",
    levels=(
        Level(1, "Team Manager", 10),
        Level(2, "Group Manager", 5),
        Level(3, "Head of Service", 3),
        Level(4, "Assistant Director", 2),
        Level(5, CAFCASS, None, terminal=True),
    ),
    total_working_days=20,
    always_copy_roles=("IRO Team Manager",),
    themes=(
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
    reporting=("monthly",),
    notes=(
        "Hull City Council, IRO Escalation Process (adapted from Southwark): Team Manager within the IRO's "
        "timescale or at least 10 working days, Group Manager 5, Head of Service 3, Assistant Director 2; "
        "the whole process no longer than 20 working days. Mails always copied to the IRO Team Manager; "
        "brief details recorded on a LiquidLogic note of type 'IRO - escalation'. Cafcass referral (looked "
        "after children only) at the IRO's discretion; the IRO Team Manager informs the Director of CSC and"
        " the Head of Service. The IRO Team Manager reports themes to CSC SLT monthly. The seed numbers no "
        "levels: they are numbered 1-5 here."
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
        Level(0, "Social Worker and Team Manager", None, informal=True, label="Informal resolution"),
        Level(1, "Team Manager", 10, copy_roles=("IRO Service AHoS",)),
        Level(2, "Head of Service", 3, copy_roles=("IRO Service HoS",)),
        Level(3, "Assistant Director", 3, copy_roles=("IRO Service HoS",)),
        Level(4, "Director of Practice", 4, copy_roles=("Trust CEO",)),
        Level(5, CAFCASS, None, terminal=True),
    ),
    total_working_days=20,
    themes=(
        "General issues",
        "Failure to meet statutory requirements for the child/young person",
        "Care Plan implementation",
        "Dispute around the provision of services",
    ),
    case_system="Eclipse",
    notes=(
        "Birmingham Children's Trust, IRS Dispute Resolution and Escalation Procedure v8 (September 2021): "
        "Stage 1 team manager responds within 10 working days (the IRO consults the IRO Service AHoS at day"
        " 10); Stage 2 Head of Service within 3 (day 13, IRO Service HoS informed); Stage 3 Assistant "
        "Director within 3 (day 16, IRO Service HoS informed); Stage 4 Director of Practice at day 20, so 4"
        " working days (assumed from the day count; the Trust CEO is notified); then referral to Cafcass. "
        "Recorded on the Eclipse 'Resolution and Escalation' form. Themes are the four headings of section "
        "2.4."
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
        Level(0, "Social Worker and Team Manager", None, informal=True, label="Quality Alert"),
        Level(1, "Team Manager", 5),
        Level(2, "Service Manager", 5),
        Level(3, "Head of Service", 5),
        Level(4, "Deputy Director", 5),
        Level(5, CAFCASS, None, terminal=True,
              copy_roles=("Director of Children's Services", "Deputy Director of Children's Services")),
    ),
    total_working_days=20,
    always_copy_roles=("Operations Manager (Safeguarding)",),
    themes=(
        "Voice of the child",
        "Management oversight",
        "Risk assessment",
        "Provision of services",
        "Quality of plan",
        "Legal issues",
        "Therapeutic provision",
        "Placement concerns",
    ),
    reporting=("weekly", "monthly", "quarterly"),
    notes=(
        "Rotherham MBC, Challenge and Escalation Process Guidance (Safeguarding Children Unit, IROs and "
        "Conference Chairs). Quality Alerts are the informal stage; a formal Challenge goes to the Team "
        "Manager, Service Manager, Head of Service, then Deputy Director/Director, within 20 working days "
        "in all. ASSUMPTION: the guidance gives no per-level timescales, so the 20 days are split evenly, 5"
        " per level. Challenges are agreed with the Operations Manager (Safeguarding), who is copied. A "
        "Cafcass referral is for IROs only (not Conference Chairs); the DCS and Deputy DCS are always "
        "informed first. Tracker updated weekly, monthly report to SMT, quarterly report to the RSCP."
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
        Level(1, "Social Worker and Team Manager", None, informal=True),
        Level(2, "Safeguarding Service Manager", 10),
        Level(3, "Service Manager", 5),
        Level(4, "Head of Service", 5, copy_roles=("Assistant Director",)),
        Level(5, CAFCASS, None, terminal=True, copy_roles=("Assistant Director",)),
    ),
    total_working_days=20,
    themes=(
        "Failed to address the needs of the child set out in the plan",
        "Failed to review the case in accordance with the regulations",
        "Failed to implement effectively any decision made at a review",
        "Otherwise in breach of its duties to the child in any significant way",
    ),
    notes=(
        "South West Safeguarding and Child Protection Procedures 5.2.6: Stage 1 informal (Social Worker and"
        " Team Manager); Stage 2 formal Problem Resolution Meeting chaired by the Safeguarding Service "
        "Manager; Stage 3 further meeting chaired by the Service Manager, Safeguarding Service; Stage 4 the"
        " line management chain: Head of Service, Assistant Director, Director and Chief Executive (the bot"
        " writes to the Head of Service and copies the Assistant Director; the IRO takes it higher by "
        "naming the level); Stage 5 referral to Cafcass, the Assistant Director being told first. "
        "ASSUMPTION: the procedure sets only a 20-working-day total, which the IRO may extend, so the "
        "stages are given 10/5/5 working days."
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
