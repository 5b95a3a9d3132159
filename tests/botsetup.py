"""What many tests build the same way: a settable clock, the example council's config, a migrated store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mailbot.config import Config, parse_config
from store.uow import Store
from tests.mailfactory import BOT, DOMAIN, QA

OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # a Tuesday, in working hours; Nov–Mar London is UTC


class Clock:
    """A clock the test sets: ``clock.now = …`` or ``clock.advance(hours=1)``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


#: Test mail carries no Authentication-Results: the From line is believed (forged-looking mail is still refused).
#: The tests of who may do what set a real [security] table instead.
TRIAL_SECURITY: dict[str, Any] = {"internal_requires": "none", "external_requires": "none"}
TRIAL_SECURITY_TOML = '[security]\ninternal_requires = "none"\nexternal_requires = "none"\n'


def example_config(tmp_path: Path, **sections: Any) -> Config:
    """The example council (mail only to example.test), the bot's mailbox, SQLite in ``tmp_path``, one QA manager
    and trial security (:data:`TRIAL_SECURITY`); ``sections`` replace whole top-level tables."""
    data: dict[str, Any] = {
        "council": {"name": "Example Council", "domains": [DOMAIN]},
        "mailbox": {"address": BOT, "maildir": "mail"},
        "store": {"url": "sqlite:///bot.db"},
        "directory": {"qa_managers": [QA]},
        "security": TRIAL_SECURITY,
    }
    data.update(sections)
    return parse_config(data, source="test", base=tmp_path)


def migrated_store(config: Config, clock: Clock | None = None) -> Store:
    store = Store(config.store.url, clock=clock) if clock is not None else Store(config.store.url)
    store.upgrade()
    return store
