"""What many tests build the same way: a settable clock, the example council's config (as a mapping, or as the
TOML of a config file: the council, the directory's people, IMAP in and SMTP out), a migrated store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailbot.config import Config, parse_config
from store.uow import Store
from tests.mailfactory import BOT, DOMAIN, QA, SM, TM

if TYPE_CHECKING:
    from tests.servers import DovecotServer, SmtpServer

OPENED = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # a Tuesday, in working hours; Nov–Mar London is UTC


def at(day: int, month: int = 11, hour: int = 10, minute: int = 0) -> datetime:
    """A moment of the winter after :data:`OPENED`: June to December in 2026, January to May in 2027."""
    year = 2027 if month < 6 else 2026
    return datetime(year, month, day, hour, minute, tzinfo=UTC)  # Nov–Mar: London = UTC


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


#: Dorset as published, case-record mails included: ``example_config(tmp_path, policy=CASE_RECORDS)``.
CASE_RECORDS: dict[str, Any] = {"base": "dorset"}


def example_config(tmp_path: Path, **sections: Any) -> Config:
    """The example council (mail only to example.test), the bot's mailbox, SQLite in ``tmp_path``, one QA manager
    and trial security (:data:`TRIAL_SECURITY`); ``sections`` replace whole top-level tables. The policy is Dorset's
    without the case-record mails (each test of them asks for them: ``policy=CASE_RECORDS``), so a test counts only
    the mails it is about."""
    data: dict[str, Any] = {
        "policy": {"base": "dorset", "case_record": False},
        "council": {"name": "Example Council", "domains": [DOMAIN]},
        "mailbox": {"address": BOT, "maildir": "mail"},
        "store": {"url": "sqlite:///bot.db"},
        "directory": {"qa_managers": [QA]},
        "security": TRIAL_SECURITY,
    }
    data.update(sections)
    return parse_config(data, source="test", base=tmp_path)


# ---- the directory ----------------------------------------------------------------------------------------

HOS = f"hos@{DOMAIN}"  # Hana Head, Head of Locality: Sara's line manager


def directory_people(*extra: dict[str, str], tm: str = TM, sm: str = SM,
                     head: str | None = HOS) -> list[dict[str, str]]:
    """The example council's line of managers for ``[directory] people``: Tom Manager (Team Manager, ``tm``) reports
    to Sara Service (Service Manager, ``sm``), who reports to Hana Head (Head of Locality, ``head``), who reports to
    no one; ``head=None``: Sara reports to no one and there is no Hana. ``extra`` people come after them."""
    people = [{"email": tm, "name": "Tom Manager", "role": "Team Manager", "reports_to": sm},
              {"email": sm, "name": "Sara Service", "role": "Service Manager"}]
    if head is not None:
        people[1]["reports_to"] = head
        people.append({"email": head, "name": "Hana Head", "role": "Head of Locality"})
    return [*people, *extra]


def directory_table(*, head: str | None = HOS, **table: Any) -> dict[str, Any]:
    """The ``[directory]`` table: the QA manager and :func:`directory_people` (``table`` replaces either, or adds)."""
    return {"qa_managers": [QA], "people": directory_people(head=head), **table}


# ---- the TOML of a config file --------------------------------------------------------------------------

COUNCIL_TOML = f'[council]\nname = "Example Council"\ndomains = ["{DOMAIN}"]\n'


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else json.dumps(str(value))


def _toml_table(name: str, values: Mapping[str, object]) -> str:
    return f"[{name}]\n" + "".join(f"{key} = {_toml(v)}\n" for key, v in values.items() if v is not None)


def directory_toml(people: Iterable[Mapping[str, str]] = (), qa_managers: Sequence[str] = (QA,)) -> str:
    """``[directory]`` with ``qa_managers`` and one ``[[directory.people]]`` table a person (e.g. of
    :func:`directory_people`)."""
    managers = ", ".join(_toml(qa) for qa in qa_managers)
    return f"[directory]\nqa_managers = [{managers}]\n" + "".join(
        "\n" + _toml_table("[directory.people]", person) for person in people)


def imap_mailbox_toml(dovecot: DovecotServer, *, address: str, password_env: str, username: str | None = None,
                      poll_seconds: int | None = None, **imap: str) -> str:
    """``[mailbox]`` on IMAP at ``dovecot`` (no TLS), logging in as ``username`` (default: ``address``) with the
    password in ``$password_env``; ``imap``: more ``[mailbox.imap]`` settings (folder, processed_folder, …)."""
    return (_toml_table("mailbox", {"transport": "imap", "address": address, "poll_seconds": poll_seconds}) + "\n"
            + _toml_table("mailbox.imap", {"host": dovecot.host, "port": dovecot.imap_port, "security": "none",
                                           "username": username or address, "password_env": password_env, **imap}))


def smtp_mail_out_toml(smtp: SmtpServer) -> str:
    """``[mail_out]`` over SMTP to ``smtp`` (no TLS, no AUTH)."""
    return ('[mail_out]\ntransport = "smtp"\n\n'
            + _toml_table("mail_out.smtp", {"host": smtp.host, "port": smtp.port, "security": "none"}))


def sqlite_store_toml(folder: Path) -> str:
    """``[store]`` on SQLite in ``folder``."""
    return _toml_table("store", {"url": f"sqlite:///{folder / 'bot.db'}"})


def write_gateway_config(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer, *, address: str,
                         password_env: str, people: Iterable[Mapping[str, str]], qa_managers: Sequence[str],
                         **imap: str) -> Path:
    """``tmp_path/mailbot.toml``: a Dorset council (without the case-record mails) reading ``address``'s mailbox on
    ``dovecot`` (``imap``: more ``[mailbox.imap]`` settings) and sending through ``smtp``, SQLite in ``tmp_path``,
    whose ``[security]`` trusts only the Authentication-Results the test SMTP server stamps as the council's gateway
    would (tests/servers.py)."""
    from tests.servers import GATEWAY_ID  # here: the tests without servers need not import them

    path = tmp_path / "mailbot.toml"
    path.write_text(f"""{COUNCIL_TOML}
[policy]
base = "dorset"
case_record = false  # these tests count the mails about trust; the case-record mails have tests of their own

{imap_mailbox_toml(dovecot, address=address, password_env=password_env, **imap)}
{smtp_mail_out_toml(smtp)}
{sqlite_store_toml(tmp_path)}
[security]
trusted_authserv_ids = [{_toml(GATEWAY_ID)}]

{directory_toml(people, qa_managers)}""", encoding="utf-8")
    return path


# ---- the store -------------------------------------------------------------------------------------------


def migrated_store(config: Config, clock: Clock | None = None) -> Store:
    store = Store(config.store.url, clock=clock) if clock is not None else Store(config.store.url)
    store.upgrade()
    return store
