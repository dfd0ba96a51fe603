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
#: Words of a question or a name, compared one by one; names join them with spaces, hyphens or commas.
_TOKEN = re.compile(r"[\w'’.&]*\w")
_JOINER = re.compile(r"[\s,-]+")
_FUNCTION_WORDS = frozenset(("the", "a", "an", "of", "and", "for", "its", "their", "our"))
#: Longest text read for definitions and for counting their forms: a huge text must not cost a scan per name.
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
    head = text[:MAX_SCAN_CHARS]
    return tuple(Alias(short, long, _usual_form(short, long, head)) for short, long in found.items())


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
    """The names defined by a set of documents, and the form each is read in.

    Built in one pass over the aliases and read by dictionary look-ups per question
    word, so that neither grows with the collection: 10^4 documents define 10^4 names.
    """

    def __init__(self, aliases: Iterable[Alias] = ()):
        """An abbreviation that documents define differently is left alone."""
        chosen: dict[str, Alias] = {}
        clash: set[str] = set()
        for alias in aliases:
            old = chosen.setdefault(alias.short, alias)
            if old.long.lower() != alias.long.lower():
                clash.add(alias.short)
        rules = [a for s, a in chosen.items() if s not in clash]
        # Abbreviations read as their long form, by the word itself ("WHO", case as written).
        self._shorts = {a.short: a.long for a in rules if a.usual == a.long}
        # Long forms read as their abbreviation, by their first word; the longest first, so that
        # "World Health Organization" wins over a name inside it.
        self._longs: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for a in sorted((a for a in rules if a.usual == a.short), key=lambda a: -len(a.long)):
            words = tuple(w.lower() for w in _TOKEN.findall(a.long))
            if words:
                self._longs.setdefault(words[0], []).append((words, a.short))
        self._size = len(rules)

    def __len__(self) -> int:
        return self._size

    def read(self, question: str) -> str:
        """``question`` with each defined name in its document's usual form (as typed when it
        asks what an abbreviation means)."""
        if not self._size or _ASKS_EXPANSION.search(question):
            return question
        tokens = list(_TOKEN.finditer(question))
        out, at, i = [], 0, 0
        while i < len(tokens):
            t = tokens[i]
            got = self._long_at(question, tokens, i)
            if got is not None:
                n, short = got
                start = t.start()
                if i and tokens[i - 1].group().lower() == "the" and question[tokens[i - 1].end() : start].isspace():
                    start = tokens[i - 1].start()  # "the Non-Aligned Movement" reads "NAM"
                out += [question[at:start], short]
                at, i = tokens[i + n - 1].end(), i + n
                continue
            long = self._shorts.get(t.group())
            if long is not None:
                out += [question[at : t.start()], long]
                at = t.end()
            i += 1
        return "".join(out) + question[at:] if out else question

    def _long_at(self, question: str, tokens: list, i: int) -> tuple[int, str] | None:
        """The long form that starts at token ``i`` (its length in tokens, its abbreviation)."""
        for words, short in self._longs.get(tokens[i].group().lower(), ()):
            n = len(words)
            here = tokens[i : i + n]
            if (
                len(here) == n
                and all(t.group().lower() == w for t, w in zip(here, words))
                and all(_JOINER.fullmatch(question[a.end() : b.start()]) for a, b in zip(here, here[1:]))
            ):
                return n, short
        return None


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
