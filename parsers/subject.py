"""Reading the facts an IRO escalation subject line carries.

House style (Dorset): ``Action - Level 1 escalation - Jane Doe - MOSAIC 123456 - response by 05/12/2026``.
Real subjects drift from it: other separators or none, reply prefixes, "Stage Two", "IRO Challenge",
siblings ("Amy, Beth and Cara Khan"), several case numbers, dates in many UK forms, the bot's own
``[ESC-0042]`` tag. :func:`parse_subject` reads what it can and reports what it could not as
plain-English warnings (never containing a child's name). It is pure and never raises.

How it works: the subject is cleaned (control characters out, whitespace collapsed, length capped), reply
prefixes are stripped, and on a normalised working copy the recognised pieces (bot tag, dates, case numbers,
level) are found and blanked out in that order, so that a date is never read as a case number and a case
number never as a date. What is left is split into runs of name-like words; stop words ("escalation",
"response", "care plan", ...) and separators end a run, and "and", "&", "," join siblings.

An escalation subject has the house shape: a *marker* (a level or stage number, or a council's wording: "Action",
"escalation", "Formal Challenge", "Dispute Resolution", "Resolution and Escalation", "Problem Resolution",
"Quality Alert", "Informal escalation", "Level 0") *and* a child or a case number where the house style puts them.
A case number (labelled, or bare digits that are not a year) is enough beside any marker. Without one, the marker
must be a strong one (a council's wording, or a number with "Action" or "escalation" beside it) and a child's name
must stand in a slot of its own: between separators (" - ", ":", "|", brackets, the recognised pieces), after "for",
"re", "regarding" ..., or before the marker, every word of it name-like (not a stop word nor a word of talk such as
"training", "update", "figures"; capitalised when the subject mixes cases). So "Weekly IRO team update -
escalations open at Level 2", "RE: Level 1 escalation training slides" and "Level 2 escalations - monthly figures"
are talk about escalations, not escalations: nothing in them is a child or a case. :class:`SubjectFacts` says which
wording the subject used (``wording``) and what kind of step it names (``kind``: formal, informal, quality alert,
meeting), beside the number (``level``), so that policies with informal stages can place it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from parsers.dates import DateFind, find_date, resolve_received

__all__ = [
    "CaseNumber",
    "SubjectFacts",
    "normalise_subject",
    "parse_subject",
    "strip_prefixes",
]

#: Subjects longer than this are cut (RFC 5322 lines are at most 998 characters).
MAX_SUBJECT_CHARS = 1000
_MAX_CHILDREN = 12
_BLANK = "\x00"  # stands in for recognised text; never in a cleaned subject, never part of a word

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d~"
_DASH_TABLE = str.maketrans(dict.fromkeys(_DASHES, "-"))
_L = r"[^\W\d_]"  # one letter, any script

_REPLY_WORD = r"(?:re|fwd?|aw|wg|sv|vs|antw|rv|tr)"
_MARKER = (
    r"\[(?:external|ext|secure|encrypt(?:ed)?|official(?:[\s-]sensitive)?|sensitive|spam|suspected\s+spam)\]"
)
_PREFIX = re.compile(
    rf"\s*+(?:(?P<reply>{_REPLY_WORD})\s*+(?:\[\d{{1,3}}\]|\(\d{{1,3}}\))?\s*+[:：]|{_MARKER}"
    r"|\[\s*+esc\s*+-?\s*+\d{1,12}\s*+\](?=\s*+(?:re|fwd?|aw|wg|sv|vs|antw|rv|tr)\s*+[:：]))\s*",
    re.IGNORECASE,
)
_BOT_TAG = re.compile(r"\[\s*+esc\s*+-?\s*+(?P<n>\d{1,12})\s*+\]", re.IGNORECASE)

_LEVEL_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
    "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5,
}  # fmt: skip
_LEVEL = re.compile(
    r"(?<![\w'’])(?P<word>level|lvl|lev|stage|stg|l(?=-?\d))\.?\s?[-:#.]?\s?"
    r"(?P<num>\d{1,2}(?!\d)|one|two|three|four|five|first|second|third|fourth|fifth"
    r"|1st|2nd|3rd|4th|5th|(?-i:III|II|IV|I|V))(?![\w'’])"
    r"|(?<![\w'’])(?P<num2>first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th)\s?-?\s?"
    r"(?P<word2>level|stage)(?![\w'’])",
    re.IGNORECASE,
)
_KEYWORD = re.compile(
    r"(?<!\w)(?:escalat\w*|disputes?|challenge[sd]?|quality\s+alert|representations?)(?!\w)", re.IGNORECASE
)
_ACTION_START = re.compile(r"^\W*action\b", re.IGNORECASE)
# The councils' own words for an escalation (rules/presets.py, ../shared/seeds): each is a strong marker.
_WORDING = re.compile(
    r"(?<![^\W\d_])(?:"
    r"(?P<quality_alert>quality\s?alerts?)"
    r"|(?P<problem_resolution>problem\s?resolution)"
    r"|(?P<resolution_and_escalation>(?:dispute,?\s)?resolution\s(?:and|&)\s(?:escalation|challenge))"
    r"|(?P<dispute_resolution>dispute\s?resolution)"
    r"|(?P<formal_challenge>(?:formal|iro|irh)\schallenge|challenge\s(?:and|&)\sescalation)"
    r"|(?P<escalation>(?:formal|iro|irh)\s(?:escalation|dispute)s?)"
    r"|(?P<informal>informal\s(?:escalation|resolution|stage|level|challenge|dispute|concern)s?)"
    r")(?![^\W\d_])",
    re.IGNORECASE,
)
_INFORMAL = re.compile(r"(?<![^\W\d_])informal(?![^\W\d_])", re.IGNORECASE)  # alone: Dorset's "Informal" step
_MEETING = re.compile(
    r"(?<![^\W\d_])(?:resolution|escalation|challenge|dispute|drm|prm)\s(?:meeting|mtg)s?(?![^\W\d_])",
    re.IGNORECASE,
)
#: Which wording a subject used, the most specific first.
_WORDINGS = (
    "quality_alert", "problem_resolution", "resolution_and_escalation", "dispute_resolution", "formal_challenge",
    "informal",
)  # fmt: skip
_YEAR = re.compile(r"(?:19|20)\d\d")
_LETTERS = re.compile(r"[^\W\d_]+")
# Talk that a person's name beside it does not turn into an escalation ("Level 1 escalation training - Jane Smith"
# names the trainer): with no case number, one of these words anywhere means the subject is not an escalation.
_TALK_VETO_TEXT = """
    training slide slides newsletter newsletters bulletin bulletins agenda agendas minutes figures figs stats
    statistics dashboard dashboards webinar webinars workshop workshops session sessions course courses
    induction refresher presentation presentations digest survey surveys questionnaire weekly monthly quarterly
    annual yearly fortnightly tracker trackers invitation invitations invite invites apologies rota faq faqs
    toolkit handbook guidance powerpoint ppt recording recordings video videos briefing briefings forum forums
    awayday roundup recap snapshot scorecard kpi kpis dataset census inspection inspections ofsted jtai ilacs
    vacancy vacancies recruitment interview interviews
"""
_TALK_VETO = frozenset(_TALK_VETO_TEXT.split())

# Case numbers: a system label, optional "no."/"ID"/"#"/":", then 4-10 digits; more numbers may follow.
_SYSTEM_LABEL = r"(?P<sys>mosaic|liquid\s?logic|lcs|ll|eclipse)"
_GENERIC_LABEL = r"(?P<gen>id|ref|reference|case|child|no|nos|number|num|record)"
_LABEL_TAIL = r"(?:\s?(?:no|nos|number|num|id|ref|reference|case|record|person)(?!\w)\.?|\s?[#:.\-]){0,4}\s?"
_LABELLED = re.compile(
    rf"(?:(?<!{_L}){_SYSTEM_LABEL}(?!{_L})|(?<!\w)#|(?<!{_L}){_GENERIC_LABEL}(?!{_L}))"
    rf"{_LABEL_TAIL}(?P<n>\d{{4,10}})(?!\d)",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"\s?(?:&|and|/|,|\+|or|;)\s?#?\s?(?P<n>\d{4,10})(?!\d)", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"(?<![\w£$€.,])(?P<n>\d{4,10})(?!\w|[.,]\d)")
_SYSTEMS = {"mosaic": "mosaic", "eclipse": "eclipse"}

# Names.
_PAREN_INITIALS = re.compile(r"\(\s?(?P<i>(?:[A-Z]\.?\s?){1,4})\)")
_TOKEN = re.compile(
    rf"(?P<init>(?<!{_L})(?:{_L}\.(?:\s(?={_L}\.))?){{1,4}})"
    rf"|(?P<word>{_L}+(?:['’\-]{_L}+)*)"
    r"|(?P<digit>\d+)"
    r"|(?P<other>\S)"
)
_STOP_PHRASES = re.compile(
    r"(?<!\w)(?:young\s(?:person|people)|care\s(?:plan|leaver)s?|pathway\s(?:plan)?s?|head\sof\s\w+"
    r"|team\smanager|service\smanager|foster\scarers?|social\sworkers?|liquid\slogic|out\sof\soffice"
    r"|date\sof\sbirth|looked\safter|child\sprotection|in\scare|child\sin\sneed|sign(?:ed)?\soff"
    r"|unborn\sbaby)(?!\w)",
    re.IGNORECASE,
)
_STOPWORD_TEXT = """
    a about accepted accommodation action actioned actions ad adopted adoption adoptive advocacy advocate
    advice after age aged agreed ahos alert allocated allocation an and antw any are as asap assessment
    assessments assistant at attached attachment attn authorisation authority auto automatic aw
    bcc be been behaviour between birth breach breakdown business by cafcass cahms camhs care carer carers
    case cc cce challenge challenged challenges chaser chasing child childrens children childs cic cin cla
    close closed completed completion concern concerned concerning concerns conference confidential
    connected consent consultation contact copy corporate council court cp cse custody cyp date day days
    dcs decision decisions declined delay delayed delays delegated deputy director dispute disputes dl dob
    documentation documents dop drift due dd eclipse education eg ehcp email emotional encrypted eod
    escalate escalated escalates escalating escalation escalations expected extend extended extension
    external family fao father fifth final financial first follow followup for formal fourth from fw fwd
    fyi gp group have head health hearing high hol hos id ie iii important in inadequate incomplete
    independent info information informal iro iros irh is issue issues it lac lack lado late lcs leaving
    legal level liquidlogic ll locality lvl manager managers medical meeting minutes missing monday
    month months mosaic mother mr mrs ms mum needed new no non nos not note notice notification number
    of off office officer official on open or order outcome outstanding overdue panel parent parental
    parents part pathway pep permanence permanency placement placements plan planning plans please plo
    pls police policy poor pr practice priority private proceedings process progress protect provision ps qa
    qaro quality re reason ref reference referral regarding reminder report representation request
    requested required resolution resolved resources resp respond response responses restricted review
    reviewed reviewing reviews rights risk rv safeguarding school second secure semh send sensitive
    service services sgo sibling siblings sign signed sm social stability stage statutory step strategy
    subject sunday support supervision sv sw team the third timescale timescales to today tomorrow tr
    transition tuesday uasc unallocated update updated updates urgent urgently vs wd wednesday week
    weeks wg welfare with withdrawn within without work worker workers working yot your tm yp ahos
    thursday friday saturday mon tue tues wed thu thur thurs fri sat sun reply replies deadline return
    returned before until till calendar than later nlt wds again now also this that next last end cob
    problem problems mtg drm prm
"""
# Words of talk about escalations (newsletters, training, team updates, figures, meetings, absences): never a
# child's name, so a subject made of them and a level names no child. Common first names and surnames are left
# out on purpose (Ward, Page, Hall, King, Young, Best, Price, Summer, Grace, May ...).
_TALK_TEXT = """
    absence absences accepted access acknowledged acknowledgement ad adcs added adding agenda agendas all
    allocations am analysis announcement annual anyone apologies appraisal are assurance attendance attendees
    audit audits autoreply availability available average awaiting away awayday backlog bct being board book
    booked booking both breakfast brief briefing briefings bscp bulletin bulletins but calendar can canceled
    cancelled catch catchup ccs census ceo cex chair chairs change changes chart charts checklist christmas
    circular clinic closure cob colleagues committee comms communication communications compliance conferences
    confirmation could count counts course courses cover csc cslt cyps dashboard dashboards data dataset dear
    december deck development diary did digest discussion discussions dmt doc docs document does doing done down
    draft drafts each edt either email emails etc evaluation event events every everybody everyone faq faqs
    february feedback fig figs figures final findings flowchart flowcharts focus form forms fortnightly forum
    forums gm guidance guide guides had handbook handout handouts has hello here hi holiday holidays how hr icpc
    ict if ilacs implementation improvement improvements induction inspection inspections intro introduction
    invitation invitations invite invited invites irm issue itinerary its january jtai just key kpi kpis latest
    launch launched learning less lessons link links list lists lmt log logs lscp lsp lunch mailing mandatory
    manual many mash materials me meetings message messages might mock monthly more most much must my neither
    network networks newsletter newsletters nor notes november numbers october ofsted ok okay only open opened
    opens ops other others our ours out outlook over overview own pack packs pdf per performance pilot plenary
    pm policies poll powerpoint ppt presentation presentations procedure procedures programme project proposal
    proposals protocol protocols published q1 q2 q3 q4 quarter quarterly queries query question questionnaire
    questions quick rate rates rcpc read recap recording recordings refresher register registration reminders
    reporting reports reschedule rescheduled results returns revised rmbc rota round roundup same schedule
    scorecard scp september session sessions shall share shared sharepoint sheet should sign-up signup slide
    slides slt smt snapshot so some someone something spreadsheet staff statistic statistics stats status such
    summary survey surveys system systems table tables teams template templates tentative thanks their theirs
    them theme themes then there these they those thread timetable tips too toolkit total totals tracker
    trackers tracking training trend trends trial unavailable under up upcoming us version very via video videos
    was we webinar webinars weekly welcome wellbeing were what when where which who whom whose why workshop
    workshops would year yearly years yes you yours
"""
_TALK = frozenset(_TALK_TEXT.split())
_STOPWORDS = frozenset(_STOPWORD_TEXT.split()) | _TALK
# Words that may stand just before a child's name in an escalation subject ("escalation for Jane Doe"), and just
# after one ("Jane Doe regarding ...", "Jane Doe escalation").
_SLOT_OPENER_TEXT = """
    for re regarding concerning about action urgent escalation escalated escalate challenge challenged alert
    resolution dispute informal formal referral cafcass child children sibling siblings yp cyp
"""
_SLOT_CLOSER_TEXT = """
    re regarding concerning about dob born escalation escalated challenge alert resolution dispute referral
    cafcass action urgent
"""
_SLOT_OPENERS = frozenset(_SLOT_OPENER_TEXT.split())
_SLOT_CLOSERS = frozenset(_SLOT_CLOSER_TEXT.split())
_YEAR_BLANK = "\x01"  # stands in for a year-like bare number: blanked, but no border of a child's name
_PARTICLE_TEXT = "de da di del della van von der den le la du des dos bin binti ibn al el ap ter ten"
_PARTICLES = frozenset(_PARTICLE_TEXT.split())


@dataclass(frozen=True)
class CaseNumber:
    """A case-record number: digits only; the system named beside it, if any."""

    number: str
    system: str | None  # "mosaic" | "liquidlogic" | "eclipse" | None (bare digits, "#", "ID")


@dataclass(frozen=True)
class SubjectFacts:
    """What a subject line says.

    Level, case numbers, date and bot reference are read from any subject; ``children`` only from one that
    ``is_escalation`` (elsewhere name-like words are not evidence of a child). ``warnings`` are plain English
    and never contain a name.

    ``level`` is a formal number 1 to 5 as written ("Level 2", "Stage Two"), whatever the wording; "Level 0" is
    no number (``level`` None) but an informal step. ``kind`` is what the marker says the step is: ``"formal"``,
    ``"informal"`` ("Informal escalation", "Stage 1 (Informal Resolution)", "Level 0"), ``"quality_alert"``
    (Rotherham's informal stage) or ``"meeting"`` ("Problem Resolution Meeting", "Dispute Resolution Meeting");
    None without a marker. ``wording`` is the council vocabulary it used: ``"action"`` (Dorset's "Action - Level
    1 escalation"), ``"level"``, ``"stage"``, ``"escalation"`` (the word alone), ``"challenge"``,
    ``"formal_challenge"`` ("Formal Challenge", "IRO Challenge", "Challenge and Escalation"),
    ``"dispute_resolution"``, ``"resolution_and_escalation"`` (Birmingham), ``"problem_resolution"`` (South
    West), ``"quality_alert"``, ``"informal"``, ``"representation"`` (Hull); None without a marker.
    """

    subject: str
    core: str
    is_reply: bool
    is_escalation: bool
    level: int | None
    level_word: str | None
    children: tuple[str, ...]
    case_numbers: tuple[CaseNumber, ...]
    response_date: date | None
    response_date_text: str | None
    warnings: tuple[str, ...]
    bot_reference: str | None
    kind: str | None = None
    wording: str | None = None


class _Token(NamedTuple):  # the private records here are named tuples: a dataclass costs 0.5 ms to define
    kind: str  # "name", "join", "soft", "break"
    text: str
    start: int
    end: int


def _clean(subject: object) -> tuple[str, bool]:
    """Remove control/format characters, collapse whitespace, cap the length. Returns (text, truncated)."""
    if not isinstance(subject, str):
        return "", False
    raw = subject[: MAX_SUBJECT_CHARS * 8]
    kept: list[str] = []
    for char in raw:
        category = unicodedata.category(char)
        if char.isspace() or category == "Cc":
            kept.append(" ")
        elif category in ("Cs", "Co", "Cn") or (category == "Cf" and char != "\u200d"):
            continue
        else:
            kept.append(char)
    text = " ".join("".join(kept).split())
    if len(text) <= MAX_SUBJECT_CHARS:
        return text, len(raw) < len(subject)
    cut = text[:MAX_SUBJECT_CHARS]
    space = cut.rfind(" ", MAX_SUBJECT_CHARS - 60)
    if space > 0:
        cut = cut[:space]
    if cut and unicodedata.category(cut[-1]) == "Mn":  # do not end on a lone combining mark
        cut = cut.rstrip("".join(c for c in cut[-4:] if unicodedata.category(c) == "Mn"))
    return cut.rstrip(), True


def strip_prefixes(subject: str) -> tuple[str, bool]:
    """Remove any number of reply/forward prefixes (``RE: FW: re:``, ``AW:``, ``SV:``, ``RE[2]:``...).

    Mail-system markers such as ``[EXTERNAL]`` mixed in with them go too. Returns (core, had_reply_prefix).
    """
    if not isinstance(subject, str):
        return "", False
    position = 0
    had_prefix = False
    while True:
        match = _PREFIX.match(subject, position)
        if match is None or match.end() == position:
            break
        had_prefix = had_prefix or match["reply"] is not None
        position = match.end()
    return subject[position:].strip(), had_prefix


def normalise_subject(subject: str) -> str:
    """A key for matching subjects across a thread.

    Prefixes and ``[ESC-n]`` tags are removed, the text is NFKC-normalised and casefolded, and dashes and
    whitespace are collapsed so ``Action-Level 1`` and ``Action – Level 1`` compare equal.
    """
    text, _ = _clean(subject)
    core, _ = strip_prefixes(text)
    core = _BOT_TAG.sub(" ", unicodedata.normalize("NFKC", core))
    core = core.translate(_DASH_TABLE).casefold()
    core = re.sub(r"\s*-[\s-]*", " - ", core)
    return " ".join(core.split()).strip(" -:")


def _blank(chars: list[str], start: int, end: int) -> None:
    chars[start:end] = _BLANK * (end - start)


def _level_value(text: str) -> int | None:
    key = text.casefold()
    if key.isdigit():
        return int(key)
    return _LEVEL_WORDS.get(key)


class _Levels(NamedTuple):
    level: int | None
    word: str | None
    start: int
    end: int
    zero: tuple[str, int, int] | None  # "Level 0" / "Stage 0": the informal step (word, start, end)

    @property
    def span(self) -> tuple[int, int] | None:
        if self.level is not None:
            return self.start, self.end
        return (self.zero[1], self.zero[2]) if self.zero else None


def _find_levels(chars: list[str], warnings: list[str]) -> _Levels:
    """The first usable level phrase (and the first "Level 0"); every level phrase is blanked."""
    first: tuple[int, str, int, int] | None = None
    zero: tuple[str, int, int] | None = None
    others: set[int] = set()
    for match in _LEVEL.finditer("".join(chars)):
        word = (match["word"] or match["word2"]).casefold()
        word = "stage" if word.startswith("st") else "level"
        value = _level_value(match["num"] or match["num2"])
        _blank(chars, *match.span())
        if value == 0:
            zero = zero or (word, *match.span())
            continue
        if value is None or not 1 <= value <= 5:
            warnings.append(f"level '{match.group(0)}' is outside 1 to 5; ignored")
            continue
        if first is None:
            first = (value, word, *match.span())
        elif value != first[0]:
            others.add(value)
    if first is None:
        return _Levels(None, zero[0] if zero else None, -1, -1, zero)
    if others:
        listed = ", ".join(str(v) for v in sorted(others | {first[0]}))
        warnings.append(f"several levels in the subject ({listed}); the first was used")
    return _Levels(*first, zero)


def _find_case_numbers(chars: list[str]) -> tuple[list[CaseNumber], list[tuple[int, int]], bool]:
    """Case numbers in text order, the spans they occupied (blanked in ``chars``), and whether any is evidence of
    a case: a labelled number, or bare digits that are not a year ("Level 2 figures 2026" names no case)."""
    found: list[tuple[int, CaseNumber]] = []
    spans: list[tuple[int, int]] = []
    text = "".join(chars)
    for match in _LABELLED.finditer(text):
        label = (match["sys"] or "").casefold().replace(" ", "")
        system = _SYSTEMS.get(label, "liquidlogic" if label else None)
        found.append((match.start("n"), CaseNumber(match["n"], system)))
        end = match.end()
        while (more := _CONTINUATION.match(text, end)) is not None:
            found.append((more.start("n"), CaseNumber(more["n"], system)))
            end = more.end()
        spans.append((match.start(), end))
    evidence = bool(spans)
    for start, end in spans:
        _blank(chars, start, end)
    for match in _BARE_NUMBER.finditer("".join(chars)):
        found.append((match.start(), CaseNumber(match["n"], None)))
        spans.append(match.span())
        if _YEAR.fullmatch(match["n"]):
            chars[match.start() : match.end()] = _YEAR_BLANK * (match.end() - match.start())
        else:
            evidence = True
            _blank(chars, *match.span())
    found.sort(key=lambda pair: pair[0])
    return _dedupe([number for _, number in found]), sorted(spans), evidence


def _dedupe(numbers: list[CaseNumber]) -> list[CaseNumber]:
    """First occurrence wins its place; a named system beats an unnamed one for the same digits."""
    result: list[CaseNumber] = []
    for number in numbers:
        for i, seen in enumerate(result):
            if seen.number == number.number:
                if seen.system is None and number.system is not None:
                    result[i] = number
                break
        else:
            result.append(number)
    return result


def _word_kind(word: str, has_caps: bool) -> str:
    key = word.casefold().replace("’", "'")
    if key == "and":
        return "join"
    base = key[:-2] if key.endswith("'s") else key
    if (
        key in _STOPWORDS
        or base in _STOPWORDS
        or key.replace(".", "").replace(" ", "") in _STOPWORDS
        or (key.endswith("s") and key[:-1] in _TALK)  # "holidays", "slides": talk in the plural too
    ):
        return "break"
    if key in _PARTICLES:
        return "particle"
    if has_caps and word[:1].islower():
        return "break"
    return "name"


def _raw_tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, text, start, end) with kind "init", "word", "digit" or "other"; stop-word hyphen parts split."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        value = match.group(0)
        start = match.start()
        if kind == "word" and "-" in value:
            yield from _split_hyphenated(value, start)
            continue
        yield kind, value, start, match.end()


def _split_hyphenated(value: str, start: int) -> Iterator[tuple[str, str, int, int]]:
    """Split a hyphenated word only beside stop words: ``escalation-Mary-Kate`` -> escalation, Mary-Kate."""
    pieces: list[tuple[str, int]] = []  # (piece, start)
    offset = start
    group_start = -1
    for part in value.split("-"):
        if _word_kind(part, False) == "break":
            if group_start >= 0:
                pieces.append((value[group_start - start : offset - 1 - start], group_start))
                group_start = -1
            pieces.append((part, offset))
        elif group_start < 0:
            group_start = offset
        offset += len(part) + 1
    if group_start >= 0:
        pieces.append((value[group_start - start :], group_start))
    for index, (piece, piece_start) in enumerate(pieces):
        if index:
            yield "other", "-", piece_start - 1, piece_start
        yield "word", piece, piece_start, piece_start + len(piece)


def _tokens(text: str) -> list[_Token]:
    raw = list(_raw_tokens(text))
    has_caps = any(
        kind in ("word", "init") and value[:1].isupper() and _word_kind(value, False) == "name"
        for kind, value, _, _ in raw
    )
    tokens: list[_Token] = []
    for kind, value, start, end in raw:
        if kind == "init":
            sort = "break" if _word_kind(value, False) == "break" else "name"
        elif kind == "word":
            sort = _word_kind(value, has_caps)
        elif kind == "other" and value in ",&+/":
            sort = "join"
        elif kind == "other" and value == ".":
            sort = "soft"
        else:
            sort = "break"
        tokens.append(_Token(sort, value, start, end))
    return tokens


class _Run(NamedTuple):
    start: int
    end: int
    names: tuple[str, ...]


def _run_names(text: str, run: list[_Token]) -> tuple[str, ...]:
    parts: list[list[_Token]] = [[]]
    for token in run:
        if token.kind == "join":
            parts.append([])
        elif token.kind in ("name", "particle"):
            parts[-1].append(token)
    cleaned: list[list[_Token]] = []
    for part in parts:
        while part and part[0].kind == "particle":
            part = part[1:]
        while part and part[-1].kind == "particle":
            part = part[:-1]
        if part:
            cleaned.append(part)
    if not cleaned:
        return ()
    surname = ""
    last = cleaned[-1]
    if len(cleaned) > 1 and len(last) > 1:
        surname = _strip_possessive(text[last[1].start : last[-1].end])
    names: list[str] = []
    for part in cleaned:
        name = _strip_possessive(text[part[0].start : part[-1].end])
        if surname and len(part) == 1 and part is not last:
            name = f"{name} {surname}"
        names.append(name)
    return tuple(names)


def _strip_possessive(name: str) -> str:
    if len(name) > 3 and name[-2:] in ("'s", "’s"):
        return name[:-2]
    return name


def _runs(text: str) -> list[_Run]:
    runs: list[_Run] = []
    current: list[_Token] = []

    def flush() -> None:
        if any(t.kind == "name" for t in current):
            names = _run_names(text, current)
            if names:
                runs.append(_Run(current[0].start, current[-1].end, names))
        current.clear()

    for token in _tokens(text):
        if token.kind == "break":
            flush()
        elif token.kind == "soft" or (token.kind == "join" and not current):
            continue
        else:
            current.append(token)
    flush()
    return runs


def _pick_runs(
    runs: list[_Run],
    anchor: tuple[int, int] | None,
    case_end: int | None,
    date_start: int | None,
    length: int,
) -> list[_Run]:
    """Prefer names between the level and the case number(s), then before the date, then before the level."""
    if anchor is None:
        return runs
    a_start, a_end = anchor
    zones: list[list[_Run]] = []
    if case_end is not None and case_end > a_end:
        zones.append([r for r in runs if r.start >= a_end and r.end <= case_end])
    stop = date_start if date_start is not None and date_start > a_end else length
    zones.append([r for r in runs if r.start >= a_end and r.end <= stop])
    zones.append([r for r in runs if r.end <= a_start])
    zones.append(runs)
    return next((zone for zone in zones if zone), [])


def _is_word(token: _Token) -> bool:
    return token.text[:1].isalpha()


def _mixed_case(text: str) -> bool:
    """Whether the subject writes some words capitalised and some not (then a name is capitalised)."""
    initials = {word[0].isupper() for word in _LETTERS.findall(text)}
    return initials == {True, False}


def _border_ok(tokens: list[_Token], index: int, step: int, words: frozenset[str]) -> bool:
    """Whether the token next to a run of names (at ``index``, walking by ``step``) may border a child's name:
    the subject's start or end, a separator or a recognised piece, or one of ``words``."""
    while 0 <= index < len(tokens) and tokens[index].kind in ("join", "soft"):
        if tokens[index].text in ",/;":
            return True
        index += step
    if not 0 <= index < len(tokens):
        return True
    token = tokens[index]
    if _is_word(token):
        return token.text.casefold().replace("’", "'") in words
    return not token.text[:1].isdigit() and token.text not in (_YEAR_BLANK, "@", "%", "£", "$", "€", "#")


def _good_run(run: list[_Token], mixed: bool) -> bool:
    """Every word a name (capitalised when the subject mixes cases), at most four words to a child."""
    words = 0
    for token in run:
        if token.kind == "join":
            words = 0
        elif token.kind == "name":
            words += 1
            if words > 4 or (mixed and not token.text[:1].isupper()):
                return False
    return any(token.kind == "name" for token in run)


def _has_name_slot(text: str, mixed: bool) -> bool:
    """Whether a child's name stands where the house style puts one (see the module docstring); ``mixed``: the
    whole subject mixes cases."""
    tokens = _tokens(text)
    index = 0
    while index < len(tokens):
        if tokens[index].kind != "name":
            index += 1
            continue
        start = index
        while start > 0 and tokens[start - 1].kind == "particle":
            start -= 1
        end = index
        while end < len(tokens) and tokens[end].kind in ("name", "particle", "join", "soft"):
            end += 1
        while end > index and tokens[end - 1].kind in ("join", "soft", "particle"):
            end -= 1
        run = tokens[start:end]
        possessive = run[-1].text.casefold().endswith(("'s", "’s"))
        if (
            _good_run(run, mixed)
            and _border_ok(tokens, start - 1, -1, _SLOT_OPENERS)
            and (possessive or _border_ok(tokens, end, 1, _SLOT_CLOSERS))
        ):
            return True
        index = max(end, index + 1)
    return False


def _blank_initials(chars: list[str]) -> list[str]:
    """Blank "(JD)"-style initials; returns them (those that are not stop words) in text order."""
    initials: list[str] = []
    for match in _PAREN_INITIALS.finditer("".join(chars)):
        value = match["i"].strip()
        if _word_kind(value, False) != "break":
            initials.append(value)
        _blank(chars, *match.span())
    return initials


def _children(
    chars: list[str], anchor: tuple[int, int] | None, case_end: int | None, date_start: int | None
) -> tuple[str, ...]:
    initials = _blank_initials(chars)
    text = "".join(chars)
    names: list[str] = []
    seen: set[str] = set()
    for run in _pick_runs(_runs(text), anchor, case_end, date_start, len(text)):
        for name in run.names:
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                names.append(name)
    if not names:
        names = list(dict.fromkeys(initials))
    return tuple(names[:_MAX_CHILDREN])


def parse_subject(
    subject: str | None,
    received: date | None = None,
    add_working_days: Callable[[date, int], date] | None = None,
) -> SubjectFacts:
    """Read level, children, case numbers, response date and the bot tag from a subject. Never raises.

    ``received`` (the mail's date) resolves dates without a year and "in 5 working days";
    ``add_working_days(start, n)`` is the council's working-day calendar (``n == 0``: the next working
    day on or after ``start``); without it Monday to Friday is used and a warning says so.
    """
    try:
        return _parse(subject, resolve_received(received), add_working_days)
    except Exception:  # pragma: no cover - defensive: a subject must never stop the service
        import logging  # here, not on import: reading a subject does not import logging

        logging.getLogger(__name__).warning("subject parsing failed unexpectedly", exc_info=True)
        text, _ = _clean(subject)
        return SubjectFacts(
            text, text, False, False, None, None, (), (), None, None, ("the subject could not be read",), None
        )


def _parse(
    subject: str | None, received: date | None, add_working_days: Callable[[date, int], date] | None
) -> SubjectFacts:
    warnings: list[str] = []
    text, truncated = _clean(subject)
    if truncated:
        warnings.append(f"subject was longer than {MAX_SUBJECT_CHARS} characters and was cut")
    core, is_reply = strip_prefixes(text)
    work = unicodedata.normalize("NFKC", core).translate(_DASH_TABLE)
    work = " ".join(work.split())
    chars = list(work)

    tag = _BOT_TAG.search(text.translate(_DASH_TABLE))
    bot_reference = f"ESC-{tag['n']}" if tag else None
    for match in _BOT_TAG.finditer(work):
        _blank(chars, *match.span())

    found: DateFind = find_date("".join(chars), received, add_working_days)
    warnings.extend(found.warnings)
    for mention in found.mentions:
        _blank(chars, mention.start, mention.end)
    date_text = found.text
    if found.start is not None and found.end is not None and len(work) == len(core):
        date_text = core[found.start : found.end]

    case_numbers, case_spans, case_evidence = _find_case_numbers(chars)
    levels = _find_levels(chars, warnings)
    level, level_word = levels.level, levels.word if levels.level is not None else None
    for match in _STOP_PHRASES.finditer("".join(chars)):
        _blank(chars, *match.span())

    keyword = _KEYWORD.search(work)
    wordings = {name for match in _WORDING.finditer(work) for name, text in match.groupdict().items() if text}
    if not wordings and _INFORMAL.search(work):
        wordings.add("informal_word")  # a weak marker: "Informal - Jane Doe - Mosaic 123456"
    action = _ACTION_START.match(work) is not None
    numbered = levels.span is not None
    # The house shape: a marker and a case number, or a strong marker and a child's name in a slot of its own.
    strong = bool(wordings - {"informal_word"}) or (numbered and (keyword is not None or action))
    is_escalation = (numbered or keyword is not None or bool(wordings)) and case_evidence
    if strong and not is_escalation:
        slots = chars.copy()
        _blank_initials(slots)
        talk = any(word.casefold() in _TALK_VETO for word in _LETTERS.findall(work))
        is_escalation = not talk and _has_name_slot("".join(slots), _mixed_case(work))
    kind, wording = (
        _marker(levels, keyword, wordings, action, _MEETING.search(work) is not None) if is_escalation else (None, None)
    )
    if is_escalation and level is None:
        if kind in ("informal", "quality_alert"):
            warnings.append("the subject names an informal step, not a formal level")
        else:
            warnings.append("no escalation level found in the subject")
    if is_escalation and not case_numbers:
        warnings.append("no case number found in the subject")

    span = levels.span
    anchor = span if span is not None else (keyword.span() if keyword else None)
    case_end = max(end for _, end in case_spans) if case_spans else None
    # Names are only read from escalation subjects: elsewhere they would be guesses about strangers.
    children = _children(chars, anchor, case_end, found.start) if is_escalation else ()

    return SubjectFacts(
        subject=text,
        core=core,
        is_reply=is_reply,
        is_escalation=is_escalation,
        level=level,
        level_word=level_word,
        children=children,
        case_numbers=tuple(case_numbers),
        response_date=found.date,
        response_date_text=date_text,
        warnings=tuple(dict.fromkeys(warnings)),
        bot_reference=bot_reference,
        kind=kind,
        wording=wording,
    )


def _marker(
    levels: _Levels, keyword: re.Match[str] | None, wordings: set[str], action: bool, meeting: bool
) -> tuple[str | None, str | None]:
    """(kind, wording) of a subject's marker; (None, None) without one (see :class:`SubjectFacts`)."""
    numbered = levels.span is not None
    if not (numbered or keyword or wordings):
        return None, None
    if "quality_alert" in wordings:
        kind = "quality_alert"
    elif wordings & {"informal", "informal_word"} or (levels.level is None and levels.zero is not None):
        kind = "informal"
    elif meeting:
        kind = "meeting"
    else:
        kind = "formal"
    wording = next((name for name in _WORDINGS if name in wordings), None)
    if wording is None and "informal_word" in wordings and not numbered:
        wording = "informal"
    if wording is None:
        if numbered and action:
            wording = "action"
        elif numbered:
            wording = levels.word
        else:
            said = keyword.group(0).casefold() if keyword else "escalation"
            wording = next(
                (name for stem, name in _KEYWORD_WORDINGS if said.startswith(stem)), "escalation"
            )
    return kind, wording


_KEYWORD_WORDINGS = (("challenge", "challenge"), ("dispute", "dispute"), ("represent", "representation"))
