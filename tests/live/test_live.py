"""Against a real tenant or Exchange server: skipped unless ``MAILBOT_LIVE_CONFIG`` names a config file.

    MAILBOT_LIVE_CONFIG=/etc/iro-mailbot/test-tenant.toml ./scripts/test -m live

Read-only: the connections are tried and the mailbox's newest mails are read and parsed, nothing is recorded,
moved or sent (run `mailbot tick`/`mailbot send` by hand against a test mailbox to try sending).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailbot.app import App, system_clock
from mailbot.config import load_config
from mailbot.mail_in.reading import read
from mailbot.transports.registry import open_source

pytestmark = pytest.mark.live

LIVE = os.environ.get("MAILBOT_LIVE_CONFIG")
needs_live = pytest.mark.skipif(not LIVE, reason="set MAILBOT_LIVE_CONFIG to a config file for a real mailbox")


@needs_live
def test_every_configured_connection_works() -> None:
    checks = App(load_config(Path(str(LIVE)))).check_connections()
    assert all(c.ok for c in checks), "\n".join(c.line() for c in checks)


@needs_live
def test_the_newest_mail_can_be_read_and_parsed() -> None:
    config = load_config(Path(str(LIVE)))
    source = open_source(config)
    try:
        for fetched in source.fetch(None, limit=5):
            reading = read(fetched.raw, system_clock(), config)
            assert reading.kind in ("human", "auto_reply", "bounce", "unreadable")
    finally:
        source.close()
