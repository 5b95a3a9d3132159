"""The themes an IRO or QA manager tags an escalation with: a ``Theme:`` line anywhere in the new text.

    Theme: Placement concerns
    Themes: drift or delay; Education

Each name is matched to the council's own list (``policy.themes``), case and spacing ignored, a unique prefix
enough ("drift" → "Drift or delay in care planning"). A name that matches none is kept as written, so nothing
an IRO wrote is lost, and reported back as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_LINE = re.compile(r"^[ \t>*_-]*themes?[ \t]*[:\-–][ \t*_]*(?P<names>.+)$", re.IGNORECASE | re.MULTILINE)
# Split only after runs of whitespace are collapsed (read_themes): restarting inside a long run of spaces at every
# position, "\s*" would rescan the rest of it each time (quadratic).
_SPLIT = re.compile(r"\s*+(?:;|,|\band\b(?=\s+[A-Z0-9])|\|)\s*+")
_SPACE = re.compile(r"\s+")
_MAX_TEXT = 20_000
_MAX_NAME = 80


@dataclass(frozen=True)
class ThemeReading:
    themes: tuple[str, ...] = ()  # in the council's spelling where known
    unknown: tuple[str, ...] = ()  # written by the IRO, not in the council's list


def _key(name: str) -> str:
    return _SPACE.sub(" ", name).strip(" .").lower()


def _match(name: str, known: Sequence[str]) -> str | None:
    wanted = _key(name)
    if not wanted:
        return None
    exact = [k for k in known if _key(k) == wanted]
    if exact:
        return exact[0]
    prefixed = [k for k in known if _key(k).startswith(wanted)]
    return prefixed[0] if len(prefixed) == 1 else None


def read_themes(text: str, known: Sequence[str]) -> ThemeReading:
    """The themes named on ``Theme:`` lines of ``text`` (never raises)."""
    if not isinstance(text, str):
        return ThemeReading()
    themes: dict[str, None] = {}
    unknown: dict[str, None] = {}
    for line in _LINE.finditer(text[:_MAX_TEXT]):
        for raw in _SPLIT.split(_SPACE.sub(" ", line.group("names"))):
            name = _SPACE.sub(" ", raw).strip(" .")[:_MAX_NAME]
            if not name:
                continue
            found = _match(name, known)
            if found is not None:
                themes.setdefault(found, None)
            else:
                unknown.setdefault(name, None)
                themes.setdefault(name, None)
    return ThemeReading(tuple(themes), tuple(unknown))


__all__ = ["ThemeReading", "read_themes"]
