"""Tests for parsers.authenticity: a sender is who the mail proves, not what its From line claims.

Mails are written here as raw RFC 5322 text and read with parsers.message.parse_message.  The council's gateway is
``mx.council.example``; the council's domain is ``example.test`` (the IRO is jane.iro@example.test).
"""

from __future__ import annotations

import base64
import dataclasses

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from parsers.authenticity import (
    MAX_HEADER_CHARS,
    MAX_HEADERS,
    MAX_RESULTS,
    NO_AUTHSERV_ID,
    AuthenticationResults,
    Authenticity,
    AuthPolicy,
    MethodResult,
    assess,
    parse_authentication_results,
)
from parsers.mail import RAW_HEADERS, Address, ParsedMail
from parsers.message import parse_message

GATEWAY = "mx.council.example"
IRO = "Jane Reviewer <jane.iro@example.test>"
IRO_ADDRESS = "jane.iro@example.test"
PARTNER = "Priya Shah <priya.shah@partner.example>"
PARTNER_ADDRESS = "priya.shah@partner.example"

POLICY = AuthPolicy(trusted_authserv_ids=frozenset({GATEWAY}), internal_domains=frozenset({"example.test"}))
EOP_POLICY = dataclasses.replace(POLICY, trusted_authserv_ids=frozenset({NO_AUTHSERV_ID}))
EXCHANGE_POLICY = dataclasses.replace(POLICY, trust_exchange_internal=True)
TRIAL_POLICY = dataclasses.replace(POLICY, external_requires="none")

# What Exchange Online Protection stamps (no authserv-id; folded as it arrives).
EOP_PASS = ("spf=pass (sender IP is 40.107.22.52)\r\n smtp.mailfrom=example.test; dkim=pass (signature was "
            "verified)\r\n header.d=example.test;dmarc=pass action=none header.from=example.test;compauth=pass\r\n"
            " reason=100")
EOP_INTERNAL = "dkim=none (message not signed) header.d=none;dmarc=none action=none\r\n header.from=example.test;"
TRUSTED_IRO_PASS = f"{GATEWAY}; spf=pass smtp.mailfrom=example.test; dkim=pass header.d=example.test; " \
                   "dmarc=pass header.from=example.test"
TRUSTED_PARTNER_PASS = f"{GATEWAY}; spf=pass smtp.mailfrom=partner.example; dmarc=pass (p=reject) " \
                       "header.from=partner.example"


def raw_mail(sender: str | None = IRO, headers: list[tuple[str, str]] | None = None) -> bytes:
    lines = [f"From: {sender}"] if sender is not None else []
    lines += [
        "To: IRO Escalations <iro-escalations@example.test>",
        "Subject: RE: Action - Level 1 escalation",
        "Date: Tue, 1 Dec 2026 10:00:00 +0000",
        "Message-ID: <m1@example.test>",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
    ]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\nResolved - plan signed off.\r\n").encode("utf-8")


def mail(sender: str | None = IRO, *headers: tuple[str, str]) -> ParsedMail:
    return parse_message(raw_mail(sender, list(headers)))


def ar(value: str) -> tuple[str, str]:
    return ("Authentication-Results", value)


def verdict(sender: str | None = IRO, *headers: tuple[str, str], policy: AuthPolicy = POLICY) -> Authenticity:
    return assess(mail(sender, *headers), policy)


def added(base: ParsedMail, *headers: tuple[str, str]) -> ParsedMail:
    """``base`` with ``headers`` (lower-case names) added after its own, as parse_message would keep them: in
    ``headers``, and as they are in ``raw_headers`` too when the name is one kept raw."""
    raw = tuple((name, value) for name, value in headers if name in RAW_HEADERS)
    return dataclasses.replace(base, headers=(*base.headers, *headers), raw_headers=(*base.raw_headers, *raw))


def refused(result: Authenticity, *reasons: str) -> None:
    assert result.authenticated is False
    assert result.sender is None
    for reason in reasons:
        assert reason in result.reasons, result.reasons


# --- what proves a sender ------------------------------------------------------------------------------------


def test_trusted_dmarc_pass_authenticates_the_iro() -> None:
    result = verdict(IRO, ar(TRUSTED_IRO_PASS))
    assert result.authenticated is True
    assert result.sender == IRO_ADDRESS
    assert result.reasons[0] == "dmarc=pass for example.test from the council's gateway (mx.council.example)"
    assert "spf=pass for example.test, aligned with the council's From domain example.test, from the council's " \
           "gateway (mx.council.example)" in result.reasons


def test_external_sender_needs_trusted_dmarc_pass() -> None:
    result = verdict(PARTNER, ar(TRUSTED_PARTNER_PASS))
    assert result == Authenticity(
        True, PARTNER_ADDRESS, ("dmarc=pass for partner.example from the council's gateway (mx.council.example)",))


def test_external_sender_with_spf_and_dkim_pass_but_no_dmarc_pass_is_refused() -> None:
    result = verdict(PARTNER, ar(f"{GATEWAY}; spf=pass smtp.mailfrom=partner.example; "
                                 "dkim=pass header.d=partner.example; dmarc=none header.from=partner.example"))
    refused(result, "the council's gateway reported no dmarc=pass for partner.example")


def test_sender_is_lower_case() -> None:
    result = verdict("Jane Reviewer <Jane.IRO@Example.TEST>", ar(TRUSTED_IRO_PASS))
    assert result.sender == IRO_ADDRESS


def test_authserv_id_compared_case_insensitively() -> None:
    policy = AuthPolicy(trusted_authserv_ids=frozenset({" MX.Council.Example "}),
                        internal_domains=frozenset({"@Example.TEST."}))
    assert policy.trusted_authserv_ids == frozenset({GATEWAY})
    assert policy.internal_domains == frozenset({"example.test"})
    assert verdict(IRO, ar(TRUSTED_IRO_PASS.replace(GATEWAY, "Mx.COUNCIL.example")), policy=policy).authenticated


def test_no_authentication_results_at_all() -> None:
    refused(verdict(IRO), "no Authentication-Results from the council's gateway")
    refused(verdict(PARTNER), "no Authentication-Results from the council's gateway")


def test_dmarc_pass_for_another_domain_does_not_prove_the_from_domain() -> None:
    # an upstream forwarder's trusted-looking pass for its own domain says nothing about partner.example
    refused(verdict(PARTNER, ar(f"{GATEWAY}; dmarc=pass"), ar(f"{GATEWAY}; spf=pass smtp.mailfrom=partner.example")),
            "the council's gateway reported no dmarc=pass for partner.example")


# --- the forged cases ----------------------------------------------------------------------------------------


def test_forged_iro_with_dmarc_fail() -> None:
    result = verdict(IRO, ar("mx.council.example; dmarc=fail header.from=example.test"))
    refused(result, "dmarc=fail for example.test reported by the council's gateway (mx.council.example)")
    assert len(result.reasons) == 1


def test_forged_iro_with_spf_fail() -> None:
    # dmarc passes (on DKIM, say) but the gateway also saw spf=fail for the council's domain: not proof
    result = verdict(IRO, ar(f"{GATEWAY}; spf=fail smtp.mailfrom=example.test; dkim=pass header.d=example.test; "
                             "dmarc=pass header.from=example.test"))
    refused(result, "spf=fail for example.test reported by the council's gateway (mx.council.example)")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (f"{GATEWAY}; spf=softfail smtp.mailfrom=bounce.example.test", "spf=softfail for example.test"),
        (f"{GATEWAY}; spf=hardfail smtp.mailfrom=jane.iro@example.test", "spf=hardfail for example.test"),
        (f"{GATEWAY}; spf=fail smtp.helo=example.test", "spf=fail for example.test"),
        (f"{GATEWAY}; dkim=fail (bad signature) header.d=example.test", "dkim=fail for example.test"),
        (f"{GATEWAY}; dkim=fail header.i=@childrens.example.test", "dkim=fail for example.test"),
        (f"{GATEWAY}; dmarc=fail (p=reject)", "dmarc=fail for example.test"),
        (f"{GATEWAY}; dmarc=FAIL header.from=Example.Test.", "dmarc=fail for example.test"),
    ],
)
def test_failing_results_for_the_from_domain(value: str, reason: str) -> None:
    result = verdict(IRO, ar(value), ar(TRUSTED_IRO_PASS))
    refused(result)
    assert any(text.startswith(reason) for text in result.reasons), result.reasons


def test_a_failure_in_an_untrusted_header_counts_too() -> None:
    # whoever added the header can only hurt the mail it is in
    result = verdict(IRO, ar(TRUSTED_IRO_PASS), ar("mx.elsewhere.example; dmarc=fail header.from=example.test"))
    refused(result, "dmarc=fail for example.test reported by mx.elsewhere.example")


def test_failures_for_other_domains_and_non_pass_results_do_not_block() -> None:
    result = verdict(PARTNER, ar(TRUSTED_PARTNER_PASS),
                     ar(f"{GATEWAY}; dkim=fail header.d=esp.example; spf=softfail smtp.mailfrom=other.example"),
                     ar("list.example; dmarc=temperror header.from=partner.example; spf=permerror "
                        "smtp.mailfrom=partner.example; dkim=neutral header.d=partner.example"))
    assert result.authenticated is True


@pytest.mark.parametrize("outcome", ["none", "neutral", "temperror", "permerror", "bestguesspass", "policy"])
def test_results_that_are_neither_pass_nor_failure(outcome: str) -> None:
    result = verdict(PARTNER, ar(f"{GATEWAY}; dmarc={outcome} header.from=partner.example"))
    refused(result, "the council's gateway reported no dmarc=pass for partner.example")
    assert not any("=" + outcome + " for" in reason for reason in result.reasons)


def test_sender_header_of_someone_else() -> None:
    result = verdict(IRO, ("Sender", "attacker@evil.example"), ar(TRUSTED_IRO_PASS))
    refused(result, "Sender attacker@evil.example differs from From jane.iro@example.test")


def test_sender_header_equal_to_from_is_fine() -> None:
    assert verdict(IRO, ("Sender", "Jane <JANE.IRO@example.test>"), ar(TRUSTED_IRO_PASS)).authenticated


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("Sender", IRO), ("Sender", IRO)], "2 Sender headers"),
        ([("Sender", f"{IRO}, attacker@evil.example")], "2 Sender mailboxes"),
        ([("Sender", "undisclosed-recipients:;")], "a Sender header with no readable mailbox"),
    ],
)
def test_unreadable_sender_headers(headers: list[tuple[str, str]], reason: str) -> None:
    refused(verdict(IRO, *headers, ar(TRUSTED_IRO_PASS)), reason)


@pytest.mark.parametrize(
    "sender",
    [
        '"jane.iro@example.test" <attacker@evil.example>',
        "=?utf-8?q?jane.iro=40example.test?= <attacker@evil.example>",  # the same, as an encoded-word
        '"Jane Reviewer (jane.iro＠example.test)" <attacker@evil.example>',  # full-width at sign
        '"jane.iro@exam\u200bple.test" <attacker@evil.example>',  # zero-width space
    ],
)
def test_display_name_trick(sender: str) -> None:
    result = verdict(sender, ar(f"{GATEWAY}; dmarc=pass header.from=evil.example"))
    assert result == Authenticity(False, None, ("the From display name contains another address, "
                                                "jane.iro@example.test",))


@pytest.mark.parametrize("gateway", [
    f"{GATEWAY}; spf=pass smtp.mailfrom=evil.example; dmarc=pass header.from=evil.example",  # what it really says
    TRUSTED_IRO_PASS,  # even a gateway that read the From as the email package does
])
def test_unquoted_display_name_trick_is_two_from_mailboxes(gateway: str) -> None:
    # the stdlib reader keeps only "jane.iro@example.test" of this From; its raw value has two addr-specs
    forged = mail("jane.iro@example.test <attacker@evil.example>", ar(gateway))
    assert forged.from_ is not None and forged.from_.email == IRO_ADDRESS
    assert assess(forged, POLICY) == Authenticity(False, None, ("2 From mailboxes",))


def test_display_name_with_the_from_address_itself_is_fine() -> None:
    result = verdict('"Jane Reviewer (Jane.Iro@example.test)" <jane.iro@example.test>', ar(TRUSTED_IRO_PASS))
    assert result.authenticated is True


def test_two_from_mailboxes() -> None:
    result = verdict(f"{IRO}, Tom Manager <tom.manager@example.test>", ar(TRUSTED_IRO_PASS))
    assert result == Authenticity(False, None, ("2 From mailboxes",))


def test_unquoted_comma_in_display_name_counts_as_two_mailboxes() -> None:
    refused(verdict("Reviewer, Jane <jane.iro@example.test>", ar(TRUSTED_IRO_PASS)), "2 From mailboxes")


def test_two_from_headers() -> None:
    result = verdict(IRO, ("From", "attacker@evil.example"), ar(TRUSTED_IRO_PASS))
    assert result == Authenticity(False, None, ("2 From headers",))


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        (None, "no From header"),
        ("undisclosed-recipients:;", "no readable From mailbox"),
        ("<>", "no readable From mailbox"),
        ("jane", "the From address has no domain"),
        # two readers, two answers: parse_message keeps the quotes of this decoded encoded-word, getaddresses not
        ("=?utf-8?q?jane.iro=40example.test?=", "the From header reads differently to different mail parsers"),
    ],
)
def test_no_single_readable_from(sender: str | None, reason: str) -> None:
    assert verdict(sender, ar(TRUSTED_IRO_PASS)) == Authenticity(False, None, (reason,))


def test_trusted_pass_next_to_untrusted_pass_for_an_evil_domain() -> None:
    # the gateway passes the attacker's own domain; an attacker-written header claims a pass for the IRO's domain
    result = verdict(IRO,
                     ar(f"{GATEWAY}; spf=pass smtp.mailfrom=evil.example; dkim=pass header.d=evil.example; "
                        "dmarc=none header.from=example.test"),
                     ar("mx.evil.example; spf=pass smtp.mailfrom=example.test; dmarc=pass header.from=example.test"))
    refused(result,
            "the council's gateway reported no dmarc=pass for example.test, and no spf=pass or dkim=pass aligned "
            "with it",
            "dmarc=pass reported by mx.evil.example does not count: not the council's gateway",
            "spf=pass reported by mx.evil.example does not count: not the council's gateway")


def test_trusted_pass_for_the_partner_is_not_spoiled_by_an_untrusted_evil_pass() -> None:
    result = verdict(PARTNER, ar(TRUSTED_PARTNER_PASS), ar("mx.evil.example; dmarc=pass header.from=evil.example"))
    assert result.authenticated is True
    assert result.sender == PARTNER_ADDRESS


def test_untrusted_authserv_id_claiming_pass_is_not_enough() -> None:
    result = verdict(PARTNER, ar("mx.partner.example; spf=pass smtp.mailfrom=partner.example; "
                                 "dkim=pass header.d=partner.example; dmarc=pass header.from=partner.example"))
    assert result == Authenticity(False, None, (
        "no Authentication-Results from the council's gateway",
        "dmarc=pass reported by mx.partner.example does not count: not the council's gateway",
    ))


def test_gateway_id_as_a_subdomain_or_prefix_is_not_trusted() -> None:
    for forged in ("evil.mx.council.example", "mx.council.example.evil.example", "mx.council.exampl"):
        refused(verdict(PARTNER, ar(TRUSTED_PARTNER_PASS.replace(GATEWAY, forged))),
                "no Authentication-Results from the council's gateway")


# --- Exchange ------------------------------------------------------------------------------------------------


def test_exchange_internal_header_proves_an_internal_sender_when_trusted() -> None:
    headers = ("X-MS-Exchange-Organization-AuthAs", "Internal")
    result = verdict(IRO, headers, ar(EOP_INTERNAL), policy=EXCHANGE_POLICY)
    assert result == Authenticity(True, IRO_ADDRESS,
                                  ("X-MS-Exchange-Organization-AuthAs: Internal, from a council domain",))
    assert verdict(IRO, ("X-MS-Exchange-Organization-AuthAs", " INTERNAL "), policy=EXCHANGE_POLICY).authenticated


def test_exchange_internal_header_ignored_unless_the_policy_says_so() -> None:
    refused(verdict(IRO, ("X-MS-Exchange-Organization-AuthAs", "Internal")),
            "no Authentication-Results from the council's gateway")


def test_exchange_internal_header_does_not_prove_an_external_sender() -> None:
    refused(verdict(PARTNER, ("X-MS-Exchange-Organization-AuthAs", "Internal"), policy=EXCHANGE_POLICY),
            "no Authentication-Results from the council's gateway")


@pytest.mark.parametrize("values", [["Anonymous"], ["Internal", "Anonymous"], [""], ["Internal; x"]])
def test_exchange_auth_as_other_than_internal(values: list[str]) -> None:
    headers = [("X-MS-Exchange-Organization-AuthAs", value) for value in values]
    refused(verdict(IRO, *headers, policy=EXCHANGE_POLICY), "no X-MS-Exchange-Organization-AuthAs: Internal")


def test_exchange_internal_header_does_not_outweigh_a_failure() -> None:
    result = verdict(IRO, ("X-MS-Exchange-Organization-AuthAs", "Internal"),
                     ar(f"{GATEWAY}; dmarc=fail header.from=example.test"), policy=EXCHANGE_POLICY)
    refused(result, "dmarc=fail for example.test reported by the council's gateway (mx.council.example)")


def test_exchange_online_header_without_authserv_id() -> None:
    parsed = parse_authentication_results(parse_message(raw_mail(IRO, [ar(EOP_PASS)])).header("authentication-results")
                                          or "")
    assert parsed == AuthenticationResults(None, (
        MethodResult("spf", "pass", (("smtp.mailfrom", "example.test"),)),
        MethodResult("dkim", "pass", (("header.d", "example.test"),)),
        MethodResult("dmarc", "pass", (("action", "none"), ("header.from", "example.test"))),
        MethodResult("compauth", "pass", (("reason", "100"),)),
    ))
    # not trusted unless the policy lists NO_AUTHSERV_ID...
    refused(verdict(IRO, ar(EOP_PASS)), "no Authentication-Results from the council's gateway",
            "dmarc=pass reported by a header without authserv-id does not count: not the council's gateway")
    # ...and then it is
    result = verdict(IRO, ar(EOP_PASS), policy=EOP_POLICY)
    assert result.authenticated is True
    assert result.reasons[0] == ("dmarc=pass for example.test from the council's gateway (Authentication-Results "
                                 "without authserv-id)")


def test_exchange_online_header_for_an_external_sender() -> None:
    eop = ("spf=pass (sender IP is 209.85.128.41) smtp.mailfrom=partner.example; dkim=pass (signature was verified) "
           "header.d=partner.example;dmarc=pass action=none header.from=partner.example;compauth=pass reason=100")
    assert verdict(PARTNER, ar(eop), policy=EOP_POLICY).authenticated
    assert not verdict(PARTNER, ar(eop), policy=POLICY).authenticated


def test_old_exchange_online_header_with_the_recipient_domain_as_a_bare_element() -> None:
    eop = ("spf=pass (sender IP is 63.35.35.123) smtp.mailfrom=partner.example; example.test; dkim=pass (signature "
           "was verified) header.d=partner.onmicrosoft.com;example.test; dmarc=pass action=none "
           "header.from=partner.example;")
    parsed = parse_authentication_results(eop)
    assert parsed.authserv_id is None
    assert [(r.method, r.result) for r in parsed.results] == [("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass")]
    assert verdict(PARTNER, ar(eop), policy=EOP_POLICY).authenticated


def test_exchange_online_header_with_an_authserv_id() -> None:
    value = f"{GATEWAY}; {EOP_PASS.replace(chr(13) + chr(10), '')}"
    assert parse_authentication_results(value).authserv_id == GATEWAY
    assert verdict(IRO, ar(value)).authenticated
    assert not verdict(IRO, ar(value), policy=EOP_POLICY).authenticated  # only the id-less form is (no authserv-id)


def test_only_the_topmost_header_without_authserv_id_is_trusted() -> None:
    # EOP's header is prepended on arrival; the one below it was written by the sender
    eop = "spf=none smtp.mailfrom=partner.example; dkim=none (message not signed) header.d=none;dmarc=none " \
          "action=none header.from=partner.example;compauth=fail reason=001"
    forged = "spf=pass smtp.mailfrom=partner.example; dmarc=pass action=none header.from=partner.example"
    refused(verdict(PARTNER, ar(eop), ar(forged), policy=EOP_POLICY),
            "the council's gateway reported no dmarc=pass for partner.example",
            "dmarc=pass reported by a header without authserv-id does not count: not the council's gateway")


def test_a_quoted_authserv_id_never_matches_the_special_id() -> None:
    policy = dataclasses.replace(POLICY, trusted_authserv_ids=frozenset({NO_AUTHSERV_ID}))
    forged = f'"{NO_AUTHSERV_ID}"; dmarc=pass header.from=partner.example'
    assert parse_authentication_results(forged).authserv_id == NO_AUTHSERV_ID
    refused(verdict(PARTNER, ar(forged), policy=policy), "no Authentication-Results from the council's gateway")


def test_exchange_intra_org_mail_needs_the_internal_header() -> None:
    refused(verdict(IRO, ar(EOP_INTERNAL), policy=EOP_POLICY),
            "the council's gateway reported no dmarc=pass for example.test, and no spf=pass or dkim=pass aligned "
            "with it")
    policy = dataclasses.replace(EOP_POLICY, trust_exchange_internal=True)
    assert verdict(IRO, ar(EOP_INTERNAL), ("X-MS-Exchange-Organization-AuthAs", "Internal"),
                   policy=policy).authenticated


# --- internal senders: aligned spf or dkim -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "value"),
    [
        (IRO, f"{GATEWAY}; spf=pass smtp.mailfrom=jane.iro@example.test"),
        (IRO, f"{GATEWAY}; dkim=pass header.d=example.test header.s=selector1"),
        (IRO, f"{GATEWAY}; dkim=pass header.i=@example.test"),
        ("Sam <sam@childrens.example.test>", f"{GATEWAY}; dkim=pass header.d=example.test"),  # parent signs
    ],
)
def test_internal_sender_with_aligned_spf_or_dkim_pass(sender: str, value: str) -> None:
    result = verdict(sender, ar(value))
    assert result.authenticated is True
    assert "aligned with the council's From domain" in result.reasons[0]


@pytest.mark.parametrize(
    ("sender", "value", "policy"),
    [
        # a child domain (a vendor's, say) does not prove the parent
        (IRO, f"{GATEWAY}; dkim=pass header.d=news.example.test", POLICY),
        # a parent that is not the council's does not prove a council domain
        ("Jo <jo@council.gov.example>", f"{GATEWAY}; dkim=pass header.d=gov.example",
         dataclasses.replace(POLICY, internal_domains=frozenset({"council.gov.example"}))),
        # spf/dkim alone never prove an external sender
        (PARTNER, f"{GATEWAY}; spf=pass smtp.mailfrom=partner.example; dkim=pass header.d=partner.example", POLICY),
        # one result naming two domains is ambiguous
        (IRO, f"{GATEWAY}; spf=pass smtp.mailfrom=example.test smtp.mailfrom=evil.example", POLICY),
        # not aligned at all
        (IRO, f"{GATEWAY}; spf=pass smtp.mailfrom=evil.example; dkim=pass header.d=evil.example", POLICY),
    ],
)
def test_spf_or_dkim_pass_that_proves_nothing(sender: str, value: str, policy: AuthPolicy) -> None:
    refused(verdict(sender, ar(value), policy=policy))


# --- comments, quoted strings, the grammar -------------------------------------------------------------------


def test_comments_and_quoted_strings() -> None:
    value = (f'{GATEWAY} (gateway; "v1") 1; dmarc=pass (p=reject; dmarc=fail header.from=example.test) '
             'header.from="example.test"; dkim=pass (good; (nested; x=y)) header.i="jane \\"iro"@example.test')
    parsed = parse_authentication_results(value)
    assert parsed.authserv_id == GATEWAY
    assert parsed.results == (
        MethodResult("dmarc", "pass", (("header.from", "example.test"),)),
        MethodResult("dkim", "pass", (("header.i", 'jane "iro@example.test'),)),
    )
    assert verdict(IRO, ar(value)).authenticated


def test_a_pass_inside_a_comment_does_not_count() -> None:
    value = f"{GATEWAY}; dmarc=none (dmarc=pass header.from=partner.example) header.from=partner.example"
    refused(verdict(PARTNER, ar(value)), "the council's gateway reported no dmarc=pass for partner.example")


def test_a_quoted_authserv_id() -> None:
    assert verdict(PARTNER, ar(f'"{GATEWAY}"; dmarc=pass header.from=partner.example')).authenticated


def test_grammar_details() -> None:
    parsed = parse_authentication_results(
        "mx.example 1; dkim/1 = pass header.b=ab/+c==; spf=softfail smtp.mailfrom=SRS0=a=b=x.example=u@fwd.example "
        "dmarc=fail reason=\"quoted; reason\" header.from=x.example; ; iprev=pass policy.iprev=192.0.2.1")
    assert parsed == AuthenticationResults("mx.example", (
        MethodResult("dkim", "pass", (("header.b", "ab/+c=="),)),
        MethodResult("spf", "softfail", (("smtp.mailfrom", "SRS0=a=b=x.example=u@fwd.example"),)),
        MethodResult("dmarc", "fail", (("reason", "quoted; reason"), ("header.from", "x.example"))),
        MethodResult("iprev", "pass", (("policy.iprev", "192.0.2.1"),)),
    ))
    assert parse_authentication_results("mx.example; none") == AuthenticationResults("mx.example", ())
    assert parse_authentication_results("; dmarc=pass header.from=x.example").authserv_id == ""
    assert parse_authentication_results("").authserv_id == ""


def test_spf_domain_of_an_srs_address_is_the_forwarders() -> None:
    value = f"{GATEWAY}; spf=fail smtp.mailfrom=SRS0=ab=cd=example.test=jane.iro@fwd.example"
    result = verdict(IRO, ar(value), ar(TRUSTED_IRO_PASS))
    assert result.authenticated  # the failure is the forwarder's, not example.test's


@pytest.mark.parametrize(
    "value",
    [
        "(" * 8000,
        ")" * 8000,
        '"' * 8000,
        "\\" * 8000,
        "=" * 8000,
        ";" * 8000,
        "a=" * 4000,
        "(\\" * 4000,
        '"\\' * 4000,
        "x; " + "dmarc=pass " * 700,
        "\x00\x01\udcff\ufffd;=()\"\\" * 700,
        "mx.council.example; dmarc=pass (unclosed comment header.from=example.test",
        'mx.council.example; dmarc="pass header.from=example.test',
    ],
)
def test_garbage_never_raises(value: str) -> None:
    parsed = parse_authentication_results(value)
    assert isinstance(parsed, AuthenticationResults)
    assert len(parsed.results) <= MAX_RESULTS
    base = mail(IRO, ar(TRUSTED_IRO_PASS))
    garbage = added(base, ("authentication-results", value))
    result = assess(garbage, POLICY)
    assert not any("could not be assessed" in reason for reason in result.reasons)


def test_unclosed_comment_hides_the_rest() -> None:
    value = f"{GATEWAY}; dmarc=pass (unclosed comment header.from=example.test"
    assert parse_authentication_results(value).results == (MethodResult("dmarc", "pass", ()),)
    refused(verdict(IRO, ar(value)))


# --- limits --------------------------------------------------------------------------------------------------


def test_a_huge_header_is_not_read_and_the_mail_is_refused() -> None:
    huge = f"{GATEWAY}; dmarc=pass header.from=example.test (" + "x" * (MAX_HEADER_CHARS + 10) + ")"
    assert parse_authentication_results(huge).results == ()
    result = verdict(IRO, ar(TRUSTED_IRO_PASS), ar(huge))
    assert result == Authenticity(False, None, (
        f"an Authentication-Results header longer than {MAX_HEADER_CHARS} characters was not read",))


def test_a_megabyte_of_parentheses_is_refused() -> None:
    base = mail(IRO, ar(TRUSTED_IRO_PASS))
    for value in ("(" * 1_000_000, '"\\' * 500_000, "a=b " * 250_000):
        huge = added(base, ("authentication-results", value))
        refused(assess(huge, POLICY),
                f"an Authentication-Results header longer than {MAX_HEADER_CHARS} characters was not read")


def test_too_many_results_in_one_header() -> None:
    value = f"{GATEWAY}; " + "; ".join(["dmarc=pass header.from=example.test"] * (MAX_RESULTS + 1))
    parsed = parse_authentication_results(value)
    assert len(parsed.results) == MAX_RESULTS
    assert parsed.problem == f"an Authentication-Results header with more than {MAX_RESULTS} results was not read"
    refused(verdict(IRO, ar(value)), parsed.problem)
    exactly = f"{GATEWAY}; " + "; ".join(["dmarc=pass header.from=example.test"] * MAX_RESULTS)
    assert verdict(IRO, ar(exactly)).authenticated


def test_too_many_headers() -> None:
    headers = [ar(TRUSTED_IRO_PASS)] * (MAX_HEADERS + 1)
    refused(verdict(IRO, *headers), f"more than {MAX_HEADERS} Authentication-Results headers")
    assert verdict(IRO, *headers[:MAX_HEADERS]).authenticated


def test_a_huge_display_name_is_read() -> None:
    # built around parse_message, whose stdlib address parser is slow on long display names
    name = "Jane Reviewer " * 5000 + "jane.iro@example.test"
    base = mail("attacker@evil.example")
    def swap(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple(("from", f'"{name}" <attacker@evil.example>') if key == "from" else (key, value)
                     for key, value in headers)

    huge = dataclasses.replace(base, headers=swap(base.headers), raw_headers=swap(base.raw_headers),
                               from_=Address(name, "attacker@evil.example"))
    refused(assess(huge, POLICY), "the From display name contains another address, jane.iro@example.test")


# --- the gateway contradicting itself ------------------------------------------------------------------------


def test_forged_copy_of_the_gateway_header_as_an_encoded_word() -> None:
    # the gateway strips headers with its own id, but does not recognise an encoded-word as its id. parse_message
    # decodes it in ``headers``, where it reads as the gateway's header; assess reads the raw value, where the id is
    # an encoded word: not the gateway's, so its pass is an untrusted one.
    forged = "=?us-ascii?q?mx.council.example?=; dmarc=pass header.from=partner.example"
    parsed = mail(PARTNER, ar(f"{GATEWAY}; spf=none smtp.mailfrom=partner.example; dmarc=none "
                              "header.from=partner.example"), ar(forged))
    assert parsed.header_all("authentication-results")[1].startswith(f"{GATEWAY};")
    assert parsed.raw_header_all("authentication-results")[1] == forged
    assert assess(parsed, POLICY) == Authenticity(False, None, (
        "the council's gateway reported no dmarc=pass for partner.example",
        "dmarc=pass reported by (an unreadable authserv-id) does not count: not the council's gateway",
    ))


# --- raw header values: what the mail says, not what a decoder makes of it -----------------------------------


def _q_word(text: str) -> str:
    """``text`` as one RFC 2047 Q encoded word, every character encoded."""
    return "=?us-ascii?q?" + "".join(f"={byte:02X}" for byte in text.encode()) + "?="


def _b_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def test_a_gateway_header_written_wholly_as_an_encoded_word_proves_nothing() -> None:
    # the gateway reports nothing about dmarc, so there is no contradiction to spoil the forged pass: before the
    # raw values were read, this mail was authenticated as the partner
    forged = _q_word(f"{GATEWAY}; dmarc=pass header.from=partner.example")
    parsed = mail(PARTNER, ar(forged))
    assert parsed.header("authentication-results") == f"{GATEWAY}; dmarc=pass header.from=partner.example"
    assert assess(parsed, POLICY) == Authenticity(False, None, ("no Authentication-Results from the council's "
                                                                "gateway",))


def test_a_pass_written_as_an_encoded_word_under_the_gateways_id_proves_nothing() -> None:
    # (if the gateway ever let a header with its own id through) the encoded result is text, not a result
    parsed = mail(PARTNER, ar(f"{GATEWAY}; " + _q_word("dmarc=pass header.from=partner.example")))
    assert parsed.header("authentication-results") == f"{GATEWAY}; dmarc=pass header.from=partner.example"
    assert assess(parsed, POLICY) == Authenticity(False, None, ("the council's gateway reported no dmarc=pass for "
                                                                "partner.example",))


_TRUSTED_PASSES = st.sampled_from([
    (IRO, TRUSTED_IRO_PASS), (PARTNER, TRUSTED_PARTNER_PASS), (IRO, EOP_PASS.replace("\r\n", "")),
    (PARTNER, "spf=pass smtp.mailfrom=partner.example; dmarc=pass header.from=partner.example"),
])


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(case=_TRUSTED_PASSES, encode=st.sampled_from([_q_word, _b_word]), cut=st.integers(0, 10**6),
       policy=st.sampled_from([POLICY, EOP_POLICY]))
def test_a_trusted_pass_hidden_in_encoded_words_never_authenticates(
        case: tuple[str, str], encode: object, cut: int, policy: AuthPolicy) -> None:
    # the header's text from ``cut`` on is written as an encoded word (decoded, the whole is a trusted pass): the
    # mail is refused whenever the text before it proves nothing on its own
    sender, value = case
    cut %= len(value)
    prefix = value[:cut]
    assume(not assess(mail(sender, ar(prefix)), policy).authenticated)
    parsed = mail(sender, ar(prefix + encode(value[cut:])))  # type: ignore[operator]
    assert parsed.header("authentication-results") == value.strip()
    result = assess(parsed, policy)
    assert result.authenticated is False
    assert result.sender is None
    assert result.reasons, result.reasons  # why: the decoded pass counted nowhere, as a proof or otherwise
    assert not any(reason.startswith(("dmarc=pass for", "spf=pass for", "dkim=pass for")) for reason in result.reasons)


@pytest.mark.parametrize(
    "sender",
    [
        "jane.iro@example.test attacker@evil.example",
        "<jane.iro@example.test> <attacker@evil.example>",
        "Jane Reviewer <jane.iro@example.test> <attacker@evil.example>",
        "jane.iro@example.test<attacker@evil.example>",
    ],
)
def test_two_addr_specs_collapsed_by_the_email_package_are_two_from_mailboxes(sender: str) -> None:
    parsed = mail(sender, ar(TRUSTED_IRO_PASS))
    assert parsed.from_ is not None and parsed.from_.email == IRO_ADDRESS  # the email package kept one of them
    assert assess(parsed, POLICY) == Authenticity(False, None, ("2 From mailboxes",))


_LOCALS = st.from_regex(r"[a-z][a-z0-9.]{0,12}[a-z0-9]", fullmatch=True).filter(lambda local: ".." not in local)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(local=_LOCALS, between=st.sampled_from(["", " ", "  ", "\t", " (x) "]),
       name=st.sampled_from(["", "Jane ", '"Jane" ']))
def test_a_bare_address_before_an_angle_address_is_never_one_mailbox(local: str, between: str, name: str) -> None:
    parsed = mail(f"{name}{local}@example.test{between}<attacker@evil.example>", ar(TRUSTED_IRO_PASS),
                  ar(f"{GATEWAY}; dmarc=pass header.from=evil.example"))
    assert assess(parsed, POLICY) == Authenticity(False, None, ("2 From mailboxes",))


@pytest.mark.parametrize(
    ("sender", "other"),
    [
        ("attacker@evil.example (=?utf-8?q?jane.iro=40example.test?=)", IRO_ADDRESS),  # an encoded word in a comment
        ("Jane Reviewer <jane.iro@example.test> (attacker@evil.example)", "attacker@evil.example"),  # a comment
        (f"{_b_word(IRO_ADDRESS)} <attacker@evil.example>", IRO_ADDRESS),  # B encoding
    ],
)
def test_addresses_in_the_raw_from_text_outside_its_addr_spec(sender: str, other: str) -> None:
    result = verdict(sender, ar(f"{GATEWAY}; dmarc=pass header.from={_domain_of(sender)}"))
    assert result == Authenticity(False, None, (f"the From display name contains another address, {other}",))


def _domain_of(sender: str) -> str:
    return "example.test" if "<jane.iro@example.test>" in sender else "evil.example"


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(local=_LOCALS, encode=st.sampled_from([_q_word, _b_word]), quoted=st.booleans())
def test_an_address_in_an_encoded_display_name_is_always_seen(local: str, encode: object, quoted: bool) -> None:
    word = encode(f"{local}@example.test")  # type: ignore[operator]
    sender = f'"{word}" <attacker@evil.example>' if quoted else f"{word} <attacker@evil.example>"
    result = verdict(sender, ar(f"{GATEWAY}; dmarc=pass header.from=evil.example"))
    assert result == Authenticity(False, None, (f"the From display name contains another address, "
                                                f"{local}@example.test",))


def test_an_encoded_display_name_before_a_bare_address_reads_differently() -> None:
    # the email package reads the encoded word as the local part: jane.iro@example.test; the raw From's only
    # addr-spec is attacker@evil.example
    parsed = mail("=?utf-8?q?jane.iro=40example.test?= attacker@evil.example", ar(TRUSTED_IRO_PASS))
    assert parsed.from_ is not None and parsed.from_.email == IRO_ADDRESS
    assert assess(parsed, POLICY) == Authenticity(False, None, ("the From header reads differently to different "
                                                                "mail parsers",))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("jane.iro@example.test <attacker@evil.example>", "2 Sender mailboxes"),
        ("<jane.iro@example.test> <attacker@evil.example>", "2 Sender mailboxes"),
        ("jane.iro@example.test attacker@evil.example", "2 Sender mailboxes"),
    ],
)
def test_a_sender_collapsed_to_the_from_address_by_the_email_package(value: str, reason: str) -> None:
    parsed = mail(IRO, ("Sender", value), ar(TRUSTED_IRO_PASS))
    assert parsed.sender is not None and parsed.sender.email == IRO_ADDRESS
    assert assess(parsed, POLICY) == Authenticity(False, None, (reason,))


def test_a_mail_without_raw_headers_is_refused() -> None:
    # a ParsedMail built by hand, with decoded headers only: nothing raw to decide on
    base = mail(IRO, ("Sender", IRO), ar(TRUSTED_IRO_PASS))
    assert assess(base, POLICY).authenticated
    no_from = [pair for pair in base.raw_headers if pair[0] != "from"]
    assert assess(dataclasses.replace(base, raw_headers=tuple(no_from)), POLICY) == Authenticity(
        False, None, ("the From header reads differently to different mail parsers",))
    no_sender = [pair for pair in base.raw_headers if pair[0] != "sender"]
    assert assess(dataclasses.replace(base, raw_headers=tuple(no_sender)), POLICY) == Authenticity(
        False, None, ("the Sender header reads differently to different mail parsers",))
    no_results = [pair for pair in base.raw_headers if pair[0] != "authentication-results"]
    assert assess(dataclasses.replace(base, raw_headers=tuple(no_results)), POLICY) == Authenticity(
        False, None, ("no Authentication-Results from the council's gateway",))


def test_a_gateway_writing_one_header_per_method_is_fine() -> None:
    result = verdict(PARTNER, ar(f"{GATEWAY}; dmarc=pass header.from=partner.example"),
                     ar(f"{GATEWAY}; dkim=pass header.d=partner.example"),
                     ar(f"{GATEWAY}; spf=pass smtp.mailfrom=partner.example; spf=none smtp.helo=mta.partner.example"))
    assert result.authenticated is True


# --- the gateway reading another From ------------------------------------------------------------------------


def test_gateway_checked_dmarc_for_another_from_domain() -> None:
    result = verdict(PARTNER, ar(f"{GATEWAY}; dmarc=pass header.from=partner.example; dmarc=none "
                                 "header.from=evil.example"))
    refused(result, "the council's gateway (mx.council.example) checked DMARC for evil.example, not for the From "
                    "domain partner.example")


def test_untrusted_dmarc_for_another_domain_is_only_ignored() -> None:
    assert verdict(PARTNER, ar(TRUSTED_PARTNER_PASS), ar("list.example; dmarc=pass header.from=list.example"))\
        .authenticated


# --- trials --------------------------------------------------------------------------------------------------


def test_external_requires_none_accepts_external_senders_without_proof() -> None:
    result = verdict(PARTNER, policy=TRIAL_POLICY)
    assert result == Authenticity(True, PARTNER_ADDRESS, (
        "an external sender accepted without proof (external_requires = none: tests and trials only)",))


def test_external_requires_none_still_refuses_forgeries_and_council_addresses() -> None:
    refused(verdict(PARTNER, ar("mx.partner.example; dmarc=fail header.from=partner.example"), policy=TRIAL_POLICY),
            "dmarc=fail for partner.example reported by mx.partner.example")
    refused(verdict(PARTNER, ("Sender", "attacker@evil.example"), policy=TRIAL_POLICY))
    refused(verdict(IRO, policy=TRIAL_POLICY), "no Authentication-Results from the council's gateway")


# --- the policy ----------------------------------------------------------------------------------------------


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="external_requires"):
        AuthPolicy(external_requires="spf")
    with pytest.raises(TypeError, match="not one string"):
        AuthPolicy(trusted_authserv_ids="mx.council.example")  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        POLICY.external_requires = "none"  # type: ignore[misc]
    assert AuthPolicy() == AuthPolicy(frozenset(), frozenset(), "dmarc", False)


def test_default_policy_authenticates_nobody() -> None:
    refused(assess(mail(IRO, ar(TRUSTED_IRO_PASS), ("X-MS-Exchange-Organization-AuthAs", "Internal")), AuthPolicy()))


# --- reasons carry no mail text ------------------------------------------------------------------------------


def test_reasons_name_only_addresses_and_domains() -> None:
    forged = '"please approve the extension now"; dmarc=pass header.from=partner.example'
    result = verdict(PARTNER, ar(forged), ar("mx.partner.example; dmarc=fail header.from=\"partner.example x y\""))
    refused(result)
    assert not any("approve" in reason or "x y" in reason for reason in result.reasons), result.reasons
    result = verdict(PARTNER, ar(forged))
    assert "dmarc=pass reported by (an unreadable authserv-id) does not count: not the council's gateway" \
        in result.reasons
    result = verdict(IRO, ("Sender", '"call me on 01234" <"pay now"@evil.example>'), ar(TRUSTED_IRO_PASS))
    assert "Sender (an unreadable address) differs from From jane.iro@example.test" in result.reasons


# --- properties ----------------------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from([
    GATEWAY, "mx.evil.example", ";", " ", "=", "(", ")", '"', "\\", ".", "@", "/", "1", "none", "pass", "fail",
    "dmarc", "spf", "dkim", "header.from", "smtp.mailfrom", "header.d", "header.i", "example.test", "partner.example",
    "dmarc=pass header.from=example.test", "dmarc=pass header.from=partner.example",
    "spf=pass smtp.mailfrom=example.test",
    "dkim=pass header.d=example.test", "=?us-ascii?q?mx.council.example?=", "\r\n ", "é", "\x00",
])
_RESULTS = st.sampled_from([
    "dmarc=pass header.from=example.test", "dmarc=pass header.from=partner.example", "dmarc=pass",
    "spf=pass smtp.mailfrom=example.test", "dkim=pass header.d=example.test", "dkim=pass header.i=@example.test",
    "dmarc=pass (comment; x) header.from=\"partner.example\"", "dmarc=none header.from=partner.example",
    "compauth=pass reason=100", "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=partner.example", "example.test",
])
_IDS = st.sampled_from([GATEWAY, "MX.Council.Example", f'"{GATEWAY}"', f"{GATEWAY} 1", "mx.evil.example", "",
                        "=?us-ascii?q?mx.council.example?=", f"evil.{GATEWAY}", f"({GATEWAY})", f"{GATEWAY}."])
# whole headers shaped like real ones (with the gateway's id too: the properties filter those out), fragments, text
_AR_TEXT = st.one_of(
    st.builds(lambda authserv_id, results: f"{authserv_id}; {'; '.join(results)}", _IDS,
              st.lists(_RESULTS, min_size=1, max_size=4)),
    st.lists(_RESULTS, min_size=1, max_size=4).map("; ".join),
    st.lists(_FRAGMENTS, max_size=30).map("".join),
    st.text(max_size=300),
)
_FROMS = st.sampled_from([IRO, PARTNER, IRO_ADDRESS, "jane.iro@example.test <attacker@evil.example>"])


def _with_headers(sender: str, headers: list[tuple[str, str]]) -> ParsedMail:
    base = mail(sender)
    return added(base, *headers)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.tuples(st.sampled_from(["authentication-results", "from", "sender", "x-ms-exchange-"
                                                  "organization-authas"]), st.text(max_size=400)), max_size=6),
       trust_exchange=st.booleans(), requires=st.sampled_from(["dmarc", "none"]))
def test_assess_never_raises_on_arbitrary_header_text(values: list[tuple[str, str]], trust_exchange: bool,
                                                      requires: str) -> None:
    policy = AuthPolicy(frozenset({GATEWAY, NO_AUTHSERV_ID}), frozenset({"example.test"}), requires, trust_exchange)
    result = assess(_with_headers(IRO, values), policy)
    assert isinstance(result, Authenticity)
    assert not any("could not be assessed" in reason for reason in result.reasons), result.reasons
    assert (result.sender is not None) == result.authenticated


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(raw_values=st.lists(st.binary(max_size=300), max_size=4))
def test_assess_never_raises_on_raw_header_bytes(raw_values: list[bytes]) -> None:
    lines = b"".join(b"Authentication-Results: " + value.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"
                     for value in raw_values)
    raw = raw_mail(IRO).replace(b"MIME-Version", lines + b"MIME-Version", 1)
    result = assess(parse_message(raw), dataclasses.replace(POLICY, trusted_authserv_ids=frozenset({NO_AUTHSERV_ID})))
    assert not any("could not be assessed" in reason for reason in result.reasons), result.reasons


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(sender=_FROMS, values=st.lists(_AR_TEXT, min_size=1, max_size=5))
def test_only_untrusted_authentication_results_never_authenticate(sender: str, values: list[str]) -> None:
    parsed = [parse_authentication_results(value) for value in values]
    assume(all(header.authserv_id is None or header.authserv_id.lower() != GATEWAY for header in parsed))
    result = assess(_with_headers(sender, [("authentication-results", value) for value in values]), POLICY)
    assert result.authenticated is False
    assert result.sender is None


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(sender=_FROMS, values=st.lists(_AR_TEXT, min_size=1, max_size=5))
def test_headers_without_authserv_id_below_the_topmost_never_authenticate(sender: str, values: list[str]) -> None:
    # with the EOP id trusted, a mail whose topmost id-less header proves nothing stays unauthenticated whatever
    # id-less headers follow it
    top = "spf=none smtp.mailfrom=evil.example; dmarc=none action=none header.from=evil.example"
    parsed = [parse_authentication_results(value) for value in values]
    assume(all(header.authserv_id is None or header.authserv_id.lower() != GATEWAY for header in parsed))
    headers = [("authentication-results", top), *[("authentication-results", value) for value in values]]
    result = assess(_with_headers(sender, headers), dataclasses.replace(POLICY, trusted_authserv_ids=frozenset(
        {GATEWAY, NO_AUTHSERV_ID})))
    assert result.authenticated is False
