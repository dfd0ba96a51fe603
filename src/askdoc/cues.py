"""Answer types: what the wording of a question says its answer must contain.

A "when" question wants a date the question does not already name, "how many"
a number, "what is the budget" a number too, "what is the email" an address,
"what does NAM stand for" a spelled-out name, "who wrote" a byline. A strong
cue nearly decides: a quote without that form does not answer the question.

Also what a question is before any of that: `check_question` normalises the text
or refuses it, and `unanswerable_form` tells text no document could answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .errors import QuestionError
from .lexical import STOPWORDS

#: Longest question accepted, in characters.
MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Cue:
    """What an answer to a kind of question contains; strong cues nearly decide."""

    pattern: re.Pattern
    strong: bool
    #: The match must be new information (a date the question does not already name).
    new_info: bool = True


_YEAR = r"\b(1[0-9]{3}|20[0-9]{2})s?\b"
# Capitalised only: "may" and "march" are verbs too.
_MONTH = (
    r"\b(?-i:Jan(uary)?|Feb(ruary)?|March|April|May|June|July|Aug(ust)?|Sept?(ember)?|Oct(ober)?|Nov(ember)?|"
    r"Dec(ember)?)\b"
)
_WEEKDAY = r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
# An exact date names the day: "March 3", "3rd of March", "03/03/2021", "on Friday".
_DAY_DATE = (
    rf"{_MONTH}\s+\d{{1,2}}\b|\b\d{{1,2}}(st|nd|rd|th)?\s+(of\s+)?{_MONTH}|\b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|"
    rf"{_WEEKDAY}"
)
# Times and relative dates also answer "when": "at 23:40", "on Friday", "in the spring".
_TIME = (
    r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s*[ap]\.?m\b|\b(century|decade|today|yesterday|tomorrow|tonight|ago|"
    r"noon|midnight|morning|evening|night|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"spring|summer|autumn|winter|daily|weekly|monthly|annually|years?|months?|weeks?|days?|hours?)\b"
)
# A time told by the events around it also answers "when": "after the Cold War", "during
# World War II", "since independence", "before the election".
_RELATIVE = (
    r"\b(after|before|during|since|until|following|amid)\s+(the\s+)?((end|start|beginning|fall|collapse)\s+of\s+"
    r"(the\s+)?)?((?-i:[A-Z][\w-]+)|(war|crisis|pandemic|revolution|election|independence|invasion|recession)s?\b)"
)
# Digits inside a name ("COVID-19", "G20") are no quantity; ordinals ("21st") are.
_NUMBER = (
    r"(?<![\w-])\d[\d,.]*(st|nd|rd|th)?\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|dozens|half|several)\b"
)
_ASKS_BYLINE = re.compile(r"\b(who (wrote|authored|penned)|author|writer|byline|written by)\b", re.I)
# "What is the budget/population/...?" asks for a quantity as surely as "how many" does.
_QUANTITY_NOUNS = (
    r"number|amount|percentage|proportion|share|population|budget|cost|price|size|area|length|height|width|depth|"
    r"weight|value|rate|salary|revenue|income|profit|score|distance|age|capacity|speed|temperature|total|sum|fee"
)
_CUES: list[tuple[re.Pattern, Cue]] = [
    # The most specific forms first: an exact date wants the day, "what year" a year.
    (
        re.compile(r"\b(exact|specific|precise)\s+(date|day)\b|\b(what|which)\s+(date|day)\b", re.I),
        Cue(re.compile(_DAY_DATE, re.I), True),
    ),
    (
        re.compile(r"\b(what|which)\s+((is|was|are|were)\s+the\s+)?(exact\s+|specific\s+)?year\b", re.I),
        Cue(re.compile(_YEAR), True),
    ),
    (
        re.compile(
            # "Since when?", "Until when?", "By when ...?" ask for a time as "When?" does.
            r"^\s*((since|until|till|by|from)\s+)?when\b|"
            r"\b(what|which)\s+((is|was|are|were)\s+the\s+)?(exact\s+|specific\s+|precise\s+)?"
            r"(year|date|day|month|time|decade|century)s?\b",
            re.I,
        ),
        Cue(re.compile(f"{_YEAR}|{_MONTH}|{_TIME}|{_RELATIVE}", re.I), True),
    ),
    (
        re.compile(
            rf"\bhow (many|much|old)\b|\bwhat (is|was|are|were) (the|its|their|his|her)\s+"
            rf"((total|exact|approximate|average|estimated|annual)\s+)?({_QUANTITY_NOUNS})\b|"
            rf"\bwhat ({_QUANTITY_NOUNS})\b",
            re.I,
        ),
        Cue(re.compile(_NUMBER, re.I), True),
    ),
    # Contact details have a form of their own: an address, a link, a telephone number.
    (re.compile(r"\be-?mail\b", re.I), Cue(re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), True)),
    (
        re.compile(r"\b(website|web site|web address|url|homepage|link)\b", re.I),
        Cue(re.compile(r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(com|org|net|gov|edu|int|io)\b", re.I), True),
    ),
    (
        re.compile(r"\b(phone|telephone|fax|mobile) (number|no)\b", re.I),
        Cue(re.compile(r"\+?\d[\d\s().-]{6,}\d"), True),
    ),
    # "How long/often/far" is often answered in words ("every morning"): a hint, not a rule.
    (re.compile(r"\bhow (long|large|big|far|often)\b", re.I), Cue(re.compile(_NUMBER, re.I), False)),
    (
        _ASKS_BYLINE,
        Cue(re.compile(r"^\s*(author|by)\b|\b(writer|author|columnist|correspondent)\b", re.I), True, False),
    ),
    (
        re.compile(r"^\s*(who|whom|whose)\b|\bwhich (person|people|leader|country|organi[sz]ation)\b", re.I),
        Cue(re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+|\b[A-Z]{2,}\b"), False),
    ),
    (
        re.compile(r"^\s*where\b|\b(in|at) which (city|country|place|venue)\b", re.I),
        Cue(re.compile(r"\b(in|at|from|near)\s+(the\s+)?[A-Z]\w*"), False),
    ),
]
_EXPANDS = re.compile(r"\b(stand for|short for|abbreviation|acronym|full (name|form)|expand)", re.I)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,9}\b")
_ASKS_TITLE = re.compile(r"\b(title|headline)\b", re.I)
# Questions about the document itself, not about what it says: "Who wrote this?", "What is the
# title?", "When was the article published?". "Who wrote the letter?" asks about the content.
_THE_DOCUMENT = (
    r"(it|this|that|(this|that|the)\s+(article|piece|story|post|blog post|document|report|text|page|essay|paper|"
    r"column|book|news|item|op-ed|editorial|file|note|notes|memo))"
)
_ASKS_FIELD = {
    "author": re.compile(
        rf"^\s*(who\s+(wrote|authored|penned|is\s+the\s+(author|writer)|was\s+the\s+(author|writer))|"
        rf"who'?s\s+the\s+(author|writer)|by\s+whom|(what\s+is\s+)?the\s+(author|writer)'?s\s+name|"
        rf"(what\s+is\s+the\s+)?name\s+of\s+the\s+(author|writer))"
        rf"(\s+(of\s+)?{_THE_DOCUMENT})?(\s+(was|is)\s+{_THE_DOCUMENT})?(\s+written(\s+by)?)?\s*\??\s*$",
        re.I,
    ),
    "title": re.compile(
        rf"^\s*(what\s+is|what'?s)\s+(the\s+)?(title|headline)(\s+of\s+{_THE_DOCUMENT})?\s*\??\s*$|"
        rf"^\s*what\s+is\s+{_THE_DOCUMENT}\s+(called|titled|named)\s*\??\s*$",
        re.I,
    ),
    "date": re.compile(
        rf"^\s*(when|what\s+(date|day|year))\s+(was|is)\s+{_THE_DOCUMENT}\s+(published|written|posted|released|dated)"
        rf"\s*\??\s*$|^\s*what\s+is\s+the\s+(publication|published|publishing)\s+date"
        rf"(\s+of\s+{_THE_DOCUMENT})?\s*\??\s*$",
        re.I,
    ),
}


def answer_cue(question: str) -> Cue | None:
    """What an answer to ``question`` should contain, if its wording implies something."""
    acronym = _ACRONYM.search(question)
    if acronym and _EXPANDS.search(question):
        # "What does NAM stand for?" wants "Non-Aligned Movement (NAM)" or "NAM (Non-...)".
        a = re.escape(acronym.group())
        spelled = rf"[A-Z][\w-]*(\s+\w[\w-]*){{0,8}}\s*\({a}\)|\b{a}\s*\([A-Z]|\b{a} (stands|is short) for"
        return Cue(re.compile(spelled), True, False)
    for asks, cue in _CUES:
        if asks.search(question):
            return cue
    return None


def cue_hit(cue: Cue, sentence: str, question_lower: str) -> bool:
    if not cue.new_info:
        return bool(cue.pattern.search(sentence))
    # The answer is new information: a date or name the question already states does not count.
    return any(m.group().strip().lower() not in question_lower for m in cue.pattern.finditer(sentence))


def asked_field(question: str) -> str:
    """The document's own field a question asks for, "author", "title" or "date" ("" for
    any other question): these are answered from what ingest read, not from the text."""
    return next((field for field, asks in _ASKS_FIELD.items() if asks.match(question)), "")


def asked_role(question: str) -> str:
    if _ASKS_BYLINE.search(question):
        return "byline"
    if _ASKS_TITLE.search(question):
        return "title"
    return ""


_LETTERS = re.compile(r"[^\W\d_]+")
# English words that rarely spell a word of another Latin-script language (not "was",
# "in", "an", "a", "on": German and French have them). A question of four or more words
# without one of these is taken for another language.
_ENGLISH = frozenset(
    """what who whom whose when where which why how is are were did does do the of to and for with by from that this
    these those has have had can could will would should many much it its there their they he she his her
    name list give describe explain tell my me you
    """.split()
)
#: Questions this short may be keywords ("NAM founding year") and pass without a function word.
_KEYWORDS_MAX = 3
#: Why a question cannot be asked (`unanswerable_form`), as `Answer.reason` says it: the chat
#: tells each case apart (ask for a question; say that askdoc reads English questions).
NO_WORDS = "the question has no words"
NOT_ENGLISH = "the question is not in English"
NOTHING_TO_LOOK_FOR = "the question names nothing to look for"
#: `Answer.reason` when the index holds no documents at all: nothing was searched.
NO_DOCUMENTS = "there are no documents in the index"


def unanswerable_form(question: str) -> str:
    """Why a question cannot be asked of English text ("" when it can): no words,
    nothing but function words, or another script or language."""
    found = _LETTERS.findall(question)
    if not found:
        return NO_WORDS
    letters = "".join(found)
    # Latin letters, accented ones included (U+00C0-U+024F).
    latin = sum(ch.isascii() or "\u00c0" <= ch <= "\u024f" for ch in letters)
    if latin < 0.5 * len(letters):
        return NOT_ENGLISH
    lowered = [w.lower() for w in found]
    if all(w in STOPWORDS for w in lowered):
        return NOTHING_TO_LOOK_FOR
    if len(lowered) > _KEYWORDS_MAX and not any(w in _ENGLISH for w in lowered):
        return NOT_ENGLISH
    return ""


def check_question(question: object) -> str:
    """The question as askdoc reads it: Unicode-normalised (NFKC), without control or
    zero-width characters; an error when nothing is left or it is far too long."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if len(question) > 50 * MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is too long ({len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,})"
        )
    if any(unicodedata.category(ch) == "Cs" for ch in question):
        # Lone surrogates: bytes that were not UTF-8 (a shell passing Latin-1, say).
        raise QuestionError("the question holds bytes that are not UTF-8 text; re-type it or convert it to UTF-8")
    text = unicodedata.normalize("NFKC", question)
    text = "".join(
        " " if ch in "\t\n\r" else ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\t\n\r"
    )
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is too long ({len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,})")
    return text
