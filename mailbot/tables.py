"""Reading TOML strictly: :class:`Table` gives typed values with one clear error for each mistake, and reports
unknown keys, so a typo never silently falls back to a default. Used by :mod:`mailbot.config` and by the transports'
own settings (:mod:`mailbot.transports.settings`).

Every error is one :class:`~mailbot.errors.ConfigError` line naming the file, the key, what is wrong and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from rules.directory import EMAIL_RE

from .errors import ConfigError

MISSING: Any = object()


class Table:
    """Strict reader of one TOML table: typed getters, and unknown keys reported at the end."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        self.where = where
        self.source = source
        if not isinstance(data, Mapping):
            raise self.error(None, f"must be a table, got {kind(data)}", f"write it as [{where}]")
        self.data = dict(data)
        self.known: list[str] = []

    def path(self, key: str | None) -> str:
        if key is None:
            return self.where
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str | None, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.path(key)}: {problem} — {fix}")

    def _get(self, key: str, default: Any) -> Any:
        self.known.append(key)
        value = self.data.get(key, MISSING)
        if value is MISSING:
            if default is MISSING:
                raise self.error(key, "is required", f"add {key} = … under [{self.where}]")
            return default
        return value

    def text(self, key: str, default: Any = MISSING, *, example: str, choices: tuple[str, ...] = ()) -> Any:
        value = self._get(key, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty text, got {show(value)}", f'write e.g. {key} = "{example}"')
        value = value.strip()
        if choices and value not in choices:
            hint = did_you_mean(value, choices)
            raise self.error(key, f"{show(value)} is not one of {', '.join(choices)}",
                             f'write e.g. {key} = "{hint or choices[0]}"')
        return value

    def integer(self, key: str, default: Any, lo: int, hi: int, *, unit: str = "") -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            what = f" {unit}" if unit else ""
            raise self.error(key, f"must be a whole number{what} from {lo} to {hi}, got {show(value)}",
                             f"write e.g. {key} = {default if isinstance(default, int) else lo}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {show(value)}", f"write {key} = true or {key} = false")
        return value

    def texts(self, key: str, default: tuple[str, ...] = (), *, example: str) -> tuple[str, ...]:
        value = self._get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(key, f"must be a list of texts, got {show(value)}", f'write e.g. {key} = ["{example}"]')
        return tuple(v.strip() for v in value)

    def emails(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.texts(key, default, example="name@council.gov.uk")
        for v in values:
            if not EMAIL_RE.match(v):
                raise self.error(key, f"{show(v)} is not an email address",
                                 f'write e.g. {key} = ["name@council.gov.uk"]')
        return tuple(v.lower() for v in values)

    def table(self, key: str, *, required: bool = False) -> Table | None:
        value = self._get(key, MISSING if required else None)
        return None if value is None else Table(value, self.path(key), self.source)

    def finish(self) -> None:
        for key in self.data:
            if key not in self.known:
                hint = did_you_mean(key, self.known)
                fix = f"did you mean '{hint}'?" if hint else "remove it"
                allowed = ", ".join(sorted(set(self.known))) or "nothing"
                raise self.error(key, f"unknown key (allowed here: {allowed})", fix)


def kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, options: Any) -> str | None:
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


__all__ = ["MISSING", "Table", "did_you_mean", "kind", "show"]
