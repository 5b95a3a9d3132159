"""Does the directory cover the policy? Every team's line, followed up the ladder.

Pure: a :class:`~rules.directory.Directory` and a :class:`~rules.policy.Policy` in, a :class:`Coverage` out, for
``mailbot check-config``:

* **Gaps** — each formal level whose role nobody in the directory holds (``Level 4 'Corporate Director for Care and
  Protection': nobody in the directory has this role; did you mean 'Corporate Director'?``). Such a level can never
  reach anyone: the bot would ask the IRO at that level on every escalation. A configuration with gaps fails.
  The suggestion is the directory's closest role (:mod:`difflib`) among the roles the policy does not name.
* **Teams** — each person holding the first formal level's role (a team's manager, e.g. the Team Manager) starts a
  line, followed up the ``reports_to`` chain through each formal level exactly as the bot follows it when it
  escalates (:meth:`Directory.next_addressee`, from the last person reached): who would receive each level, or why
  nobody would.
* **Copy gaps** — roles the policy copies that nobody holds (a warning: the mail still goes, without that copy).

A directory that lists no managers at all (nobody, or only IROs, conference chairs, QA and IRO team managers) is not
a mistake, only a choice with a cost: the bot asks the IRO at every level. :attr:`Coverage.managers_listed` says
which; the gaps are errors only when it is true.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from rules.directory import (
    IRO_ROLES,
    IRO_TEAM_MANAGER,
    QA_MANAGER,
    Directory,
    Person,
    normalise_role,
    roles_match,
)
from rules.policy import Level, Policy

#: How alike (difflib's ratio of the normalised names) a directory role must be to be suggested.
SUGGESTION_CUTOFF = 0.5


@dataclass(frozen=True)
class RoleGap:
    """A role the policy needs that nobody in the directory holds. ``copied``: a role the level copies (``level``
    is ``None`` when every level copies it), not the role that answers."""

    role: str
    level: Level | None
    suggestion: str | None = None
    copied: bool = False

    def line(self) -> str:
        """One line for check-config, naming the level, the role, the closest role the directory has, the fix."""
        where = self.level.label if self.level is not None else "Every level"
        what = f"{where} copies '{self.role}'" if self.copied else f"{where} '{self.role}'"
        if roles_match(self.role, QA_MANAGER) or roles_match(self.role, IRO_TEAM_MANAGER):
            key = "qa_managers" if roles_match(self.role, QA_MANAGER) else "iro_team_managers"
            return f"{what}: nobody is set up as {self.role} — list them in directory.{key}"
        hint = f"; did you mean '{self.suggestion}'?" if self.suggestion else ""
        fix = (f"give that person role = \"{self.role}\" in the directory (the policy's name for it)"
               if self.suggestion else f"add the {self.role} to the directory with role = \"{self.role}\"")
        return f"{what}: nobody in the directory has this role{hint} — {fix}"


@dataclass(frozen=True)
class Step:
    """One level of a team's line: who receives it (``person``), or ``None`` and ``why`` not (short, lower-case
    first). A terminal level (Cafcass referral) has nobody: the bot tells the IRO and QA managers."""

    level: Level
    person: Person | None
    why: str = ""
    role_held: bool = True  # somebody in the directory has the level's role (else the gap is reported once)


@dataclass(frozen=True)
class TeamLine:
    """A team's line up the ladder: its manager at the first formal level, then each later level."""

    manager: Person
    steps: tuple[Step, ...]

    @property
    def name(self) -> str:
        """How check-config names the team: ``Team Tom Manager`` (``(Children in Care East)`` when set)."""
        team = f" ({self.manager.team})" if self.manager.team.strip() else ""
        return f"Team {self.manager.name or self.manager.email}{team}"

    @property
    def first_escalation(self) -> Step | None:
        """Where the first escalation goes (the level after the manager's), or ``None`` for a one-level ladder."""
        return self.steps[0] if self.steps else None

    @property
    def breaks(self) -> tuple[Step, ...]:
        """Formal levels the line does not reach although somebody in the directory has the role."""
        return tuple(s for s in self.steps if s.person is None and not s.level.terminal and s.role_held)


@dataclass(frozen=True)
class Coverage:
    """What :func:`coverage` found; :meth:`errors` fail check-config, :meth:`warnings` do not."""

    first_level: Level | None
    gaps: tuple[RoleGap, ...]
    copy_gaps: tuple[RoleGap, ...]
    teams: tuple[TeamLine, ...]
    managers_listed: bool

    @property
    def ok(self) -> bool:
        return not self.errors()

    def errors(self) -> list[str]:
        """One line per formal level nobody can receive (only when the directory lists managers)."""
        return [g.line() for g in self.gaps] if self.managers_listed else []

    def warnings(self) -> list[str]:
        """The rest: no managers listed at all, lines that break, roles copied that nobody holds."""
        out: list[str] = []
        if not self.managers_listed:
            roles = ", ".join(g.role for g in self.gaps)
            out.append(f"the directory lists none of the ladder's managers ({roles}): the bot cannot tell who is "
                       "next at any level and will ask the IRO each time — list them in [[directory.people]] or "
                       "directory.csv, each with reports_to")
        for team in self.teams:
            if team.breaks:  # the first break explains the rest: one line a team
                step, *rest = team.breaks
                also = f" (and {', '.join(s.level.label for s in rest)})" if rest else ""
                out.append(f"{team.name}: {step.level.label} '{step.level.role}'{also}: {step.why} — the bot will "
                           "ask the IRO who it is; set reports_to so the line reaches them")
        out.extend(g.line() for g in self.copy_gaps)
        return out


def coverage(directory: Directory, policy: Policy) -> Coverage:
    """Follow every team's line through the policy's formal levels; see the module notes."""
    formal = tuple(lvl for lvl in policy.levels if lvl.timed)
    named = (*(lvl.role for lvl in policy.levels), *policy.always_copy_roles,
             *(r for lvl in policy.levels for r in lvl.copy_roles), QA_MANAGER, IRO_TEAM_MANAGER, *IRO_ROLES)
    spare = _spare_roles(directory, named)
    gaps = tuple(RoleGap(lvl.role, lvl, _closest(lvl.role, spare)) for lvl in formal
                 if not directory.by_role(lvl.role))
    managers_listed = any(not any(roles_match(p.role, r) for r in (*IRO_ROLES, QA_MANAGER, IRO_TEAM_MANAGER))
                          for p in directory.people)
    first = formal[0] if formal else None
    teams: tuple[TeamLine, ...] = ()
    if first is not None:
        later = tuple(lvl for lvl in policy.levels if lvl.number > first.number and not lvl.informal)
        teams = tuple(_line(directory, manager, later) for manager in directory.by_role(first.role))
    return Coverage(first, gaps, _copy_gaps(directory, policy, gaps, spare), teams, managers_listed)


# ------------------------------------------------------------------------------------------ helpers


def _line(directory: Directory, manager: Person, levels: tuple[Level, ...]) -> TeamLine:
    steps: list[Step] = []
    current = manager
    for level in levels:
        if level.terminal:
            steps.append(Step(level, None, "the bot tells the IRO and QA managers (it never writes to Cafcass)"))
            continue
        held = bool(directory.by_role(level.role))
        found = directory.next_addressee(current.email, level.role)
        if found.person is not None:
            steps.append(Step(level, found.person))
            current = found.person
        else:
            steps.append(Step(level, None, _why(directory, current, level.role) if held
                              else "nobody in the directory has this role", role_held=held))
    return TeamLine(manager, tuple(steps))


def _why(directory: Directory, start: Person, role: str) -> str:
    chain, broken = directory.chain_above(start)
    holders = ", ".join(p.name or p.email for p in directory.by_role(role))
    listed = f" (the directory lists {holders} as {role})"
    if broken is not None:
        return f"{broken}{listed}"
    if chain:
        return f"the reports_to line from {start.name or start.email} ends at {chain[-1].name or chain[-1].email}" \
               f" without reaching a {role}{listed}"
    return f"{start.name or start.email} has no reports_to{listed}"


def _copy_gaps(directory: Directory, policy: Policy, gaps: tuple[RoleGap, ...],
               spare: tuple[str, ...]) -> tuple[RoleGap, ...]:
    known = [g.role for g in gaps]
    out: list[RoleGap] = []
    wanted: list[tuple[str, Level | None]] = [(QA_MANAGER, None), *((r, None) for r in policy.always_copy_roles)]
    wanted.extend((r, lvl) for lvl in policy.levels for r in lvl.copy_roles)
    for role, level in wanted:
        if any(roles_match(role, k) for k in known):
            continue
        known.append(role)
        if roles_match(role, QA_MANAGER):
            held = bool(directory.qa_managers or directory.by_role(QA_MANAGER))
        elif roles_match(role, IRO_TEAM_MANAGER):
            held = bool(directory.iro_team_managers or directory.by_role(IRO_TEAM_MANAGER))
        else:
            held = bool(directory.by_role(role))
        if not held:
            out.append(RoleGap(role, level, _closest(role, spare), copied=True))
    return tuple(out)


def _spare_roles(directory: Directory, named: tuple[str, ...]) -> tuple[str, ...]:
    """The directory's roles (as written, each once) that match no role the policy names: what a misspelling
    of the policy's role would look like."""
    keys = {normalise_role(r) for r in named}
    seen: set[str] = set()
    out: list[str] = []
    for p in directory.people:
        key = normalise_role(p.role)
        if key and key not in keys and key not in seen:
            seen.add(key)
            out.append(p.role.strip())
    return tuple(out)


def _closest(role: str, candidates: tuple[str, ...]) -> str | None:
    """The candidate most like ``role`` (difflib on the normalised names; one holding all the other's words
    counts as close), or ``None`` when none is close enough."""
    key = normalise_role(role)
    words = set(key.split())
    best: tuple[float, str] | None = None
    for candidate in candidates:
        other = normalise_role(candidate)
        score = difflib.SequenceMatcher(None, key, other).ratio()
        other_words = set(other.split())
        if other_words and (other_words <= words or words <= other_words):
            score = max(score, 0.75 + 0.25 * score)
        if score >= SUGGESTION_CUTOFF and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None


__all__ = ["SUGGESTION_CUTOFF", "Coverage", "RoleGap", "Step", "TeamLine", "coverage"]
