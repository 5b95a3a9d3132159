"""Reading one raw mail into the facts the bot acts on: the parsed mail, machine or human, the subject's facts.

Pure facts, no database: :func:`read` only calls the parsers (which never raise) with the received moment and the
council's calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailbot.config import Config
from parsers.authenticity import assess
from parsers.machine import MachineVerdict, classify
from parsers.mail import ParsedMail
from parsers.message import parse_message
from parsers.subject import SubjectFacts, parse_subject
from rules.calendar import london_date


@dataclass(frozen=True)
class Reading:
    """Everything the parsers say about one mail (pure facts, no database)."""

    mail: ParsedMail
    verdict: MachineVerdict
    facts: SubjectFacts
    received: datetime
    proven: bool = True  # the mail proves its sender (parsers.authenticity, with the council's [security])
    proof: tuple[str, ...] = ()  # why it does, or why not, in plain words

    @property
    def kind(self) -> str:
        if self.unreadable:
            return "unreadable"
        return self.verdict.kind

    @property
    def unreadable(self) -> bool:
        return not self.mail.headers or (self.mail.from_ is None and not self.mail.subject and not self.mail.text)

    @property
    def sender(self) -> str | None:
        return self.mail.from_.email if self.mail.from_ else None


def read(raw: bytes, received: datetime, config: Config) -> Reading:
    """Parse a raw mail into the facts the service needs. Never raises."""
    mail = parse_message(raw)
    day = london_date(mail.date or received) if mail.date else london_date(received)
    verdict = classify(mail, day)
    facts = parse_subject(mail.subject, day, config.calendar.calendar().add_working_days)
    authenticity = assess(mail, config.security.policy(config.domains))
    return Reading(mail=mail, verdict=verdict, facts=facts, received=received, proven=authenticity.authenticated,
                   proof=authenticity.reasons)


__all__ = ["Reading", "read"]
