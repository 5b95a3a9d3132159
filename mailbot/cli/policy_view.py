"""A policy as a plain-text table, for ``mailbot policy show`` and the operator's eye."""

from __future__ import annotations

from rules.policy import Level, Policy


def _offset_words(offset: int) -> str:
    if offset == 0:
        return "on the due date"
    n = abs(offset)
    unit = "working day" if n == 1 else "working days"
    return f"{n} {unit} {'before' if offset < 0 else 'after'} the due date"


def _label(policy: Policy, level: Level) -> str:
    return level.label or f"{policy.level_word} {level.number}"


def policy_table(policy: Policy) -> str:
    """Levels with their working days, the running total and the roles copied."""
    cumulative = dict((lvl.number, total) for lvl, total in policy.cumulative())
    rows = [("Level", "Responds", "Working days", "Cumulative", "Copied")]
    for level in policy.levels:
        role = level.role
        if level.informal:
            role += " (informal)"
        if level.terminal:
            role += " (terminal)"
        if level.meeting is not None:
            role += f" (meeting: {level.meeting.name})"
        days = "-" if level.working_days is None else str(level.working_days)
        total = cumulative.get(level.number)
        copied = ", ".join((*policy.always_copy_roles, *level.copy_roles)) or "-"
        rows.append((_label(policy, level), role, days, "-" if total is None else str(total), copied))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        f"{policy.council} — {policy.title} [{policy.key}]",
        f"Total: {policy.total_working_days} working days"
        + (f"; case records on {policy.case_system}" if policy.case_system else "")
        + ("; the IRO's date in the subject overrides the policy" if policy.iro_date_overrides else ""),
        "",
    ]
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    ch = policy.chasers
    start, end = ch.hours
    lines.append("")
    lines.append(
        "Chasers: " + "; ".join(_offset_words(o) for o in ch.offsets)
        + f" (working hours {start:%H:%M}–{end:%H:%M})"
        + (f"; escalates {ch.grace_working_days} working day(s) after the due date" if ch.grace_working_days
           else "; escalates the working day after the due date passes unanswered")
    )
    if policy.budget_warnings:
        lines.append("Budget warnings at: " + ", ".join(f"{n} working days" for n in policy.budget_warnings))
    for level in policy.levels:
        if level.chaser_offsets is not None:
            lines.append(f"  {_label(policy, level)} reminders: "
                         + "; ".join(_offset_words(o) for o in level.chaser_offsets))
    lines.extend(_procedure_lines(policy))
    if policy.themes:
        lines.append(f"Themes ({len(policy.themes)}): " + "; ".join(policy.themes))
    if policy.notes:
        lines.append(f"Notes: {policy.notes}")
    return "\n".join(lines)


def _section(section: str) -> str:
    return f" [{section}]" if section else ""


_WHEN = {"in_proceedings": " when the child is in court proceedings", "looked_after": " for looked-after children",
         "child_protection": " for child-protection cases", "": ""}


def _procedure_lines(policy: Policy) -> list[str]:
    """Everything around the arithmetic: who raises, sections, meetings, notifications, Cafcass, reports, records."""
    lines = ["", "Cases: " + ", ".join(policy.case_types) + "; raised by: " + ", ".join(policy.raisers)
             + ("; the IRO may extend the whole process's working days" if policy.iro_may_extend_budget else "")]
    for level in policy.levels:
        if level.section:
            lines.append(f"  {_label(policy, level)}: section {level.section}")
        m = level.meeting
        if m is not None:
            lines.append(f"  {_label(policy, level)} meeting: {m.name}, chaired by the {m.chair}"
                         + (f", with the {', '.join(m.attendees)}" if m.attendees else "")
                         + f"; minutes by the {m.minutes_by}; convened within {m.convene_within} working days"
                         + _section(m.section))
    if policy.notifications:
        lines.append("Notifications:")
        for n in policy.notifications:
            event = n.event + (f" (level {n.level})" if n.level is not None else "") + (
                f" (day {n.day})" if n.day is not None else "")
            lines.append(f"  on {event}: tell {', '.join(n.roles)}{_WHEN.get(n.when, '')}"
                         + (f" — {n.says}" if n.says else "") + _section(n.section))
    c = policy.cafcass
    lines.append(f"Cafcass: for {', '.join(c.case_types)} cases; a referral at the end of the ladder "
                 f"{'closes the record' if c.at_end == 'close' else 'leaves it open'}, an earlier one "
                 f"{'closes it' if c.early == 'close' else 'leaves the staged process going'}" + _section(c.section))
    for r in policy.reports:
        what = "the IRO annual report's summary" if r.kind == "annual" else f"{r.cadence} {r.kind}"
        lines.append(f"Report: {what} to {', '.join(r.audience)}" + _section(r.section))
    rec = policy.case_record
    if rec is not None:
        what = " and ".join(x for x in (f'note "{rec.note_type}"' if rec.note_type else "",
                                        f'form "{rec.form}"' if rec.form else "") if x) or "the record"
        lines.append(f"Case record: {rec.system}, {what}: " + "; ".join(label for label, _ in rec.fields)
                     + _section(rec.section))
    return lines
