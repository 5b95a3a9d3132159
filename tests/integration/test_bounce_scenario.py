"""A chaser bounces, on real servers (issue 13): the bot sends its reminder through the SMTP server into dovecot; the
mail system's delivery report for it comes back into the shared mailbox; the bot reads it over IMAP, tells the IRO
and the QA manager once (their own mailboxes get the notice), and never mails the dead address again for the record —
the next reminder asks the IRO instead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration import test_trust
from tests.integration.test_trust import Council
from tests.mailfactory import Thread, postfix_bounce

pytestmark = pytest.mark.integration
council = test_trust.council  # the running bot on dovecot and the SMTP server, with one escalation opened


def _bot_mails_to(world: Council, address: str) -> list[str]:
    return [m["Subject"] for m in world.inbox(address) if world.cast.bot in str(m["From"])]


def test_a_bounced_chaser_is_told_once_and_the_dead_address_is_not_mailed_again(council: Council) -> None:
    world = council
    # Thursday 10 December, two working days before the due date (Monday 14th): the reminder to Tom
    world.clock.now = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)
    assert [i.kind for i in world.app.tick()] == ["chase"]
    world.app.send_pending()
    assert world.cast.tm in world.sent_by_bot()[-1]
    with world.app.store.unit_of_work() as uow:
        [chaser] = [r for r in uow.outbox.by_status("sent") if r.kind == "chaser"]
        chaser_id = f"<{chaser.message_id}>"
    # Tom has left: the mail system returns the reminder (a postfix DSN naming the reminder's Message-ID)
    thread = Thread(world.ref, seed=world.ref)
    thread.ids.append(chaser_id)
    for seed in ("first", "second"):  # the report, and a second copy of it: one notice all the same
        world.clock.advance(minutes=5)
        world.through_gateway(postfix_bounce(thread, failed=world.cast.tm, when=world.clock.now, seed=seed),
                              envelope_from="")
        [result] = [r for r in world.poll() if r.outcome != "own"]  # the bot's own copies are only filed
        assert (result.outcome, result.reference) == ("threaded", world.ref), result
        world.app.send_pending()
    notices = [s for s in _bot_mails_to(world, world.cast.iro) if "Not delivered to" in s]
    assert len(notices) == 1, notices
    assert len([s for s in _bot_mails_to(world, world.cast.qa) if "Not delivered to" in s]) == 1
    [undeliverable] = world.events("undeliverable")
    assert undeliverable["data"]["addresses"] == [world.cast.tm] and undeliverable["data"]["was_manager"]
    detail = world.detail()
    assert detail["addressee"] is None  # nobody to remind until the IRO names the manager
    sent_before = len(world.sent_by_bot())
    # Monday 14 December, the due date: the reminder goes to the IRO (who should have it?), never to Tom
    world.clock.now = datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
    world.app.tick()
    world.app.send_pending()
    later = world.sent_by_bot()[sent_before:]
    assert later and all(world.cast.tm not in rcpts for rcpts in later), later
    print(f"bounce scenario: 1 notice to the IRO and 1 to QA for 2 reports; {len(later)} mail(s) after it, "
          f"none to {world.cast.tm}")
