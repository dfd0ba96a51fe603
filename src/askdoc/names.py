"""Names: the abbreviations a document defines, so that both forms mean one thing.

An article writes "the Non-Aligned Movement (NAM)" once and "NAM" ever after; a
reader asks about "the Non-Aligned Movement". `find_aliases` finds such
definitions in any text ("Long Name (ABBR)", "ABBR (Long Name)"), checking that the
abbreviation's letters spell the long form's words in order (Schwartz and Hearst's
test, 2003), so that "Baku (Azerbaijan)" or "(2019)" define nothing. `Aliases`
then reads a question with every defined name in the form its document uses most,
which is the form its sentences will share with the question: for retrieval, the
scorer and the reader alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .records import Alias, Span

#: A parenthesis short enough to hold a name: "(NAM)", "(World Health Organization)".
_PAREN = re.compile(r"\(([^()\n]{2,80})\)")
#: An abbreviation: 2-10 characters, a capital first, at least two capitals, no spaces ("NAM", "WHO", "UNESCO", "G7s").
_SHORT = re.compile(r"^(?=(?:[^A-Z]*[A-Z]){2})[A-Z][A-Za-z0-9&.-]{1,9}$")
_WORDS = re.compile(r"[\w'’&.-]+")
#: A question asking what an abbreviation means is about the abbreviation itself: it is read as typed.
_ASKS_EXPANSION = re.compile(r"\b(stands? for|short for|abbreviat|acronym|full (name|form)|expand|spell)", re.I)
_FUNCTION_WORDS = frozenset(("the", "a", "an", "of", "and", "for", "its", "their", "our"))
#: Longest text read for definitions: they come early, and a huge text must not cost a scan.
MAX_SCAN_CHARS = 2_000_000


def find_aliases(text: str) -> tuple[Alias, ...]:
    """The abbreviations ``text`` defines, each once (its first definition), in order,
    each with the form ``text`` uses more often."""
    found: dict[str, str] = {}
    for m in _PAREN.finditer(text, 0, min(len(text), MAX_SCAN_CHARS)):
        inner = m.group(1).strip()
        line_start = text.rfind("\n", max(0, m.start() - 200), m.start()) + 1
        before = list(_WORDS.finditer(text, max(line_start, m.start() - 200), m.start()))
        if _SHORT.match(inner):
            # "Long Name (ABBR)": the long form is the shortest run of preceding words it spells.
            short = inner
            n = _long_form(short, [w.group() for w in before])
            long = text[before[-n].start() : before[-1].end()] if n else ""
        else:
            # "ABBR (Long Name)": the word before the parenthesis is the abbreviation, and the
            # whole parenthesis must be the name, not a remark that ends in it.
            short = before[-1].group() if before else ""
            words = list(_WORDS.finditer(inner))
            n = _long_form(short, [w.group() for w in words]) if _SHORT.match(short) else 0
            long = inner[words[-n].start() :] if n and n == len(words) else ""
        short = short.rstrip(".")
        if long and short not in found:
            found[short] = long
    return tuple(Alias(short, long, _usual_form(short, long, text)) for short, long in found.items())


def _long_form(short: str, words: Sequence[str]) -> int:
    """How many of the trailing ``words`` spell ``short``: the fewest whose letters hold its
    letters in order, its first letter opening the first word (0: none do)."""
    letters = [c.lower() for c in short if c.isalnum()]
    if len(letters) < 2 or not words:
        return 0
    limit = min(len(words), len(letters) + 5, 2 * len(letters))
    for n in range(1, limit + 1):
        if _spells(letters, " ".join(words[-n:]).lower()):
            # Leading function words are no part of the name ("the Non-Aligned Movement").
            while n > 1 and words[-n].lower() in _FUNCTION_WORDS:
                n -= 1
            first = words[-n]
            if first[0].lower() != letters[0] or (n == 1 and len(first) <= len(short)):
                return 0  # "a recent paper (AP)"; "WHO (who)"
            return n
    return 0


def _spells(letters: list[str], long: str) -> bool:
    """Schwartz-Hearst: every letter found right to left, the first at the start of a word."""
    i = len(long) - 1
    for k in range(len(letters) - 1, -1, -1):
        c = letters[k]
        while i >= 0 and (long[i] != c or (k == 0 and i > 0 and long[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return False
        i -= 1
    return True


def _name_pattern(name: str) -> re.Pattern:
    """``name`` as written, any case, hyphens, commas and spaces alike, with an optional leading "the"."""
    parts = [re.escape(w) for w in re.split(r"[\s,-]+", name) if w]
    return re.compile(r"(?:\bthe\s+)?\b" + r"[\s,-]+".join(parts) + r"\b", re.I)


class Aliases:
    """The names defined by a set of documents, and the form each is read in."""

    def __init__(self, aliases: Iterable[Alias] = ()):
        """An abbreviation that documents define differently is left alone."""
        chosen: dict[str, Alias] = {}
        clash: set[str] = set()
        for alias in aliases:
            old = chosen.setdefault(alias.short, alias)
            if old.long.lower() != alias.long.lower():
                clash.add(alias.short)
        # Longest names first, so that "World Health Organization" wins over a name inside it.
        self._rules = sorted((a for s, a in chosen.items() if s not in clash), key=lambda a: -len(a.long))
        self._patterns = [
            (_name_pattern(a.long) if a.usual == a.short else re.compile(rf"\b{re.escape(a.short)}\b"), a.usual)
            for a in self._rules
        ]

    def __len__(self) -> int:
        return len(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def read(self, question: str) -> str:
        """``question`` with each defined name in its document's usual form (as typed when it
        asks what an abbreviation means)."""
        if not self._rules or _ASKS_EXPANSION.search(question):
            return question
        for pattern, form in self._patterns:
            question = pattern.sub(form, question)
        return question


def _usual_form(short: str, long: str, text: str) -> str:
    """The form that ``text`` uses more often (the short one on a tie: a definition names
    both once, and the text goes on with the abbreviation)."""
    shorts = len(re.findall(rf"\b{re.escape(short)}\b", text))
    longs = len(_name_pattern(long).findall(text))
    return long if longs > shorts else short


#: Pronouns that stand for a person: such a span is no answer to "Who ...?".
PERSONAL_PRONOUN = re.compile(r"(he|she|him|her|his|hers)", re.I)
_TITLES = (
    r"President|Vice[- ]President|Prime Minister|Chairman|Chairwoman|Chairperson|Minister|Secretary[- ]General|"
    r"Secretary|Senator|Governor|Mayor|King|Queen|Prince|Princess|Emperor|Empress|Pope|Chancellor|Director|"
    r"General|Colonel|Captain|Judge|Justice|Sheikh|Lord|Lady|Sir|Dame|Mr|Mrs|Ms|Dr|Prof|Professor"
)
_CAPITAL = r"[A-Z][\w'’-]+"
#: A person as a text names one: a title and a name ("President Aliyev"), or two or three
#: capitalised words none of which names an organisation, place or event.
_PERSON = re.compile(
    rf"\b(?:{_TITLES})\.?(?:\s+{_CAPITAL}){{1,3}}|(?<![.!?]\s)(?<!^)\b{_CAPITAL}(?:\s+{_CAPITAL}){{1,2}}"
)
_NOT_PERSON = frozenset(
    """organization organisation movement nations union group network assembly session council committee party
    company university institute centre center summit accords war republic kingdom states ltd inc bank court agency
    association ministry department health youth parliamentary global recovery world international national special
    general new east west north south city county river sea ocean street road day month year covid""".split()
)
#: How far back a pronoun's antecedent is looked for: about three sentences.
ANTECEDENT_CHARS = 800


def antecedent(text: str, pronoun_at: int, floor: int = 0) -> Span | None:
    """The person a personal pronoun at ``pronoun_at`` stands for: the nearest person named
    before it (not before ``floor``, nor more than `ANTECEDENT_CHARS` back); None if none is."""
    lo = max(floor, pronoun_at - ANTECEDENT_CHARS)
    found = None
    for m in _PERSON.finditer(text, lo, pronoun_at):
        words = m.group().split()
        if not any(w.lower().strip("'’") in _NOT_PERSON for w in words):
            found = m
    return Span(found.start(), found.end()) if found else None
