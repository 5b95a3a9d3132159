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
    if policy.themes:
        lines.append(f"Themes ({len(policy.themes)}): " + "; ".join(policy.themes))
    if policy.reporting:
        lines.append("Reporting: " + ", ".join(policy.reporting))
    if policy.notes:
        lines.append(f"Notes: {policy.notes}")
    return "\n".join(lines)
