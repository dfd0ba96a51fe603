"""Resolve: a follow-up question and the conversation so far → the question askdoc reads.

People chat: "Who chairs NAM?", then "What did he call for in 2020?", "Why?". A
follow-up is read against the turn before it, with rules over text and records
only (no model), so that each is cheap and can be measured on its own:

- pronouns ("he", "it", "its", "they", "that", "that region", "there", "then") take the
  previous turn's entity: the exact answer, a person or place named in the question or
  the cited sentence, or the question's subject;
- fragments ("When?", "Why?", "For whom?", "In which year?", "Such as?", "And its youth
  wing?") are completed from the previous question's frame and its answer.

A question that needs neither is read exactly as typed: it names its own topic, and
must not inherit the last one. `resolve` says which rule fired, so that the answer can
show the reading ("Reading this as: …") and the eval can count each rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .frames import AUX, DETERMINERS, DO, PREPS, WH, WORD, Frame, base_form, parse, split_words, tensed
from .lexical import STOPWORDS
from .records import Answer

#: Earlier turns a follow-up is read against (the last one mostly; older ones name a person).
MAX_TURNS = 4
#: The conversation so far, oldest first: questions, or (question, Answer) pairs.
History = Sequence["str | tuple[str, Answer | Mapping | None] | Mapping"]

#: Words that make a capitalised run an organisation or a place, not a person.
_NOT_PERSON = re.compile(
    r"\b(Movement|Organi[sz]ation|Nations|Network|Group|Summit|Session|Assembly|Centre|Center|Institute|Accords?|City|"
    r"Council|Union|Bank|Party|Ministry|Agency|Committee|Republic|Region|Studies|Fund|Forum|War|Order)\b"
)
_TITLES = (
    r"(?:President|Prime Minister|Minister|Chairman|Chair|Director|Secretary|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Sir|King|Queen)"
)
_TITLED = re.compile(rf"\b{_TITLES}(?:\s+of\s+[A-Z][\w’'-]+)?(?:\s+[A-Z][\w’'-]+){{1,3}}")
_NAME_RUN = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of\s+|in\s+|for\s+|and\s+)?[A-Z][\w’'-]*)*")
_PERSON_PRONOUNS = {"he": "", "him": "", "his": "'s", "she": "", "her": "'s"}
_THING_PRONOUNS = {"it": "", "its": "'s", "they": "", "them": "", "their": "'s"}
_DEMONSTRATIVES = frozenset(("this", "that", "these", "those"))
_ALL_PRONOUNS = frozenset((*_PERSON_PRONOUNS, *_THING_PRONOUNS, *_DEMONSTRATIVES, "i", "you", "we", "me", "us"))
#: "Such as?", "What for?", "How come?": fragments that name nothing.
_BARE = re.compile(
    r"^(such as|like what|for example|for instance|what for|how so|how come|why not|what else|who else|how)$", re.I
)
#: Nouns after "what" that make a fragment ("What year?", "What else?"), not a question ("What threatens ...?").
_WHAT_NOUNS = frozenset("year date day month time kind sort type role else about".split())
#: A fragment's first word that is lower-cased when the fragment follows a statement.
_FUNCTION_STARTS = (
    WH
    | PREPS
    | frozenset(
        "and such especially mainly exactly particularly only even like what its their his her the a an".split()
    )
)


@dataclass(frozen=True)
class Resolution:
    """How a question is read: ``question`` is what askdoc reads; ``rule`` says why it
    differs from what was typed ("" when it does not)."""

    question: str
    rule: str = ""


@dataclass(frozen=True)
class _Turn:
    """An earlier turn as resolution sees it: how it was read, and what answered it."""

    question: str
    exact: str = ""
    quote: str = ""


def resolve(question: str, history: History = ()) -> Resolution:
    """The question askdoc reads for ``question`` after ``history`` (oldest first)."""
    return _read(question, _turns(history))


def _read(question: str, turns: list[_Turn]) -> Resolution:
    if not turns:
        return Resolution(question)
    prev = turns[-1]
    body = question.strip().rstrip("?").strip()
    lead = re.match(r"^(and|so|but|also|ok|okay)\b[,\s]*", body, re.I)
    core = body[lead.end() :] if lead else body
    if not core:
        return Resolution(question)
    if _is_fragment(core, bool(lead)):
        core = _pronouns(core, turns) or core
        read = _complete(core, prev)
        return Resolution(read, "ellipsis") if read else Resolution(question)
    read = _pronouns(core, turns)
    if read:
        return Resolution(_sentence(read), "pronoun")
    return Resolution(question)


def speaks_to(typed: str, quote: str) -> bool:
    """Whether ``quote`` shares a word with what was typed, beyond pronouns and question words
    (True when nothing else was typed: "Why?", "When?").

    A rewritten follow-up carries its antecedent's words ("Where was President Aliyev
    born?"), and a sentence that merely names the antecedent can outscore every other:
    it answers only if it also speaks to what the person asked ("born").
    """
    typed = re.sub(r"\b(that|this|these|those)\s+[\w-]+", " ", typed, flags=re.I)  # "that region" is the antecedent
    asked = {_stem(w) for w in split_words(typed.lower()) if w not in STOPWORDS and w not in _ALL_PRONOUNS}
    asked.discard("")
    if not asked:
        return True
    said = {_stem(w) for w in split_words(quote.lower())}
    return any(
        a == b or (min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a))) for a in asked for b in said
    )


def _stem(word: str) -> str:
    word = word.replace("’", "'").split("'")[0]
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _turns(history: History) -> list[_Turn]:
    """Each earlier turn as it was read: a pair's Answer knows; a bare question is resolved here.

    A turn may also be a mapping, as programs send it as JSON: ``{"question": ..., "answer": {...}}``
    (the answer as `Answer.to_dict` gives it), and a pair's answer may be such a mapping.
    """
    out: list[_Turn] = []
    # Only the last few turns are read; each bare question among them is read once, in order.
    for item in list(history)[-2 * MAX_TURNS :]:
        if isinstance(item, str):
            q, ans = item, None
        elif isinstance(item, Mapping):
            q, ans = item.get("question", ""), item.get("answer")
        else:
            q, ans = item[0], item[1] if len(item) > 1 else None
        q = " ".join(str(q or "").split())
        if not q:
            continue
        said = _said(ans)
        if said.get("resolved_question"):
            read = str(said["resolved_question"])
        else:
            read = _read(q, out[-MAX_TURNS:]).question
        found = bool(said.get("found"))
        out.append(
            _Turn(read, str(said.get("exact") or "") if found else "", str(said.get("text") or "") if found else "")
        )
    return out[-MAX_TURNS:]


def _said(ans: object) -> Mapping:
    """The fields of an answer that resolution reads, from an `Answer` or its dict."""
    if ans is None or isinstance(ans, Mapping):
        return ans or {}
    return {k: getattr(ans, k, "") for k in ("found", "exact", "text", "resolved_question")}


def _is_fragment(core: str, led: bool) -> bool:
    """A question that names no predicate of its own: "When?", "For whom?", "How many members?",
    "And its youth wing?" ("Who chairs it?" is a question with a pronoun, not a fragment)."""
    words = [w.lower() for w in split_words(core)]
    if not words or any(w in AUX for w in words) or len(words) > 6:
        return False
    if _BARE.match(core) or (len(words) == 1 and words[0] in WH):
        return True
    if words[0] in PREPS or words[0] in ("especially", "mainly", "exactly", "particularly", "only", "even"):
        return any(w in WH for w in words)
    if words[0] == "how" and len(words) > 1 and words[1] in ("many", "much", "long", "often", "old", "far"):
        return not any(w.endswith("ed") for w in words[2:])
    if words[0] in ("which", "whose", "what") and len(words) <= 3:
        return words[1] in _WHAT_NOUNS or (words[0] != "what" and not words[1].endswith("ed"))
    if words[0] == "what" and len(words) > 1 and words[1] == "about":
        return True
    return led and not any(w.endswith("ed") for w in words)


# -- pronouns ------------------------------------------------------------------------
def _pronouns(core: str, turns: list[_Turn]) -> str:
    """``core`` with its pronouns replaced by their antecedents ("" when none was replaced)."""
    prev = turns[-1]
    tokens = list(WORD.finditer(core))
    out, at, changed = [], 0, False
    for i, m in enumerate(tokens):
        w = m.group().lower()
        nxt = tokens[i + 1].group() if i + 1 < len(tokens) else ""
        if w in ("its", "their", "his", "her") and _named_before(core[: m.start()]):
            continue  # "What did Azerbaijan do for its members?": bound inside the question
        new = None
        if w in _PERSON_PRONOUNS and not (w == "her" and not nxt):
            person = _person(turns)
            if person:
                new = _possessive(person) if _PERSON_PRONOUNS[w] and (w != "her" or nxt) else person
        elif w in _THING_PRONOUNS:
            before = tokens[i - 1].group().lower() if i else ""
            agent = before in DO or before in ("has", "have", "had", "will", "would", "can", "could", "should")
            thing = _thing(prev, plural=w.startswith("the"), agent=agent or w in ("its", "their"))
            if thing:
                new = _possessive(thing) if _THING_PRONOUNS[w] else thing
        elif w in _DEMONSTRATIVES:
            if nxt and nxt.lower() not in AUX and nxt[0].islower() and nxt.lower() not in PREPS | WH:
                np = _noun_phrase(nxt, prev)
                if np:
                    out.append(core[at : m.start()] + np)
                    at, changed = tokens[i + 1].end(), True
                    continue
            elif not nxt or nxt.lower() in AUX or nxt.lower() in PREPS or i == len(tokens) - 1:
                new = _np(prev.exact) or _topic(prev.question)
        elif w == "there" and i > 0:
            place = prev.exact if parse(prev.question).wh == "where" and prev.exact else _place(prev.question)
            new = _prefixed(place, "in") if place else None
        elif w == "then" and i > 0:
            when = prev.exact if parse(prev.question).wh == "when" and prev.exact else _date(prev.question)
            new = _prefixed(when, "in") if when else None
        if new:
            out.append(core[at : m.start()] + new)
            at, changed = m.end(), True
    if not changed:
        return ""
    return "".join(out) + core[at:]


def _named_before(text: str) -> bool:
    """Whether ``text`` (the question before a pronoun) names an entity the pronoun may stand for."""
    return any(w[0].isupper() for w in split_words(text)[1:])


def _possessive(np: str) -> str:
    return np + ("’" if np.endswith("s") else "’s") if "’" in np else np + ("'" if np.endswith("s") else "'s")


def _prefixed(phrase: str, prep: str) -> str:
    words = split_words(phrase)
    return phrase if words and words[0].lower() in PREPS else f"{prep} {phrase}"


def _np(text: str) -> str:
    """``text`` as a noun phrase to put in a question ("" when it is a clause or a number)."""
    text = re.sub(r"^to\s+(?=[a-z]+\s+(the|a|an)\b)", "", text.strip().rstrip(".,;"))  # "to host the ..."
    words = split_words(text)
    if not words or len(words) > 12 or words[0].lower() in PREPS | {"because", "as", "if", "when"}:
        return ""
    if any(w.lower() in AUX for w in words[1:]):
        return ""
    if len(words) > 2 and words[0].islower() and words[0] not in DETERMINERS and words[1] in ("the", "a", "an"):
        text = text[text.index(words[1], len(words[0])) :]  # "host the Special Session" → "the Special Session"
    if words[0] in ("The", "A", "An"):
        text = text[0].lower() + text[1:]
    return text


def _person(turns: list[_Turn]) -> str:
    """The person a "he" or "his" stands for: the last one a turn answered or named."""
    for t in reversed(turns):
        f = parse(t.question)
        if f.wh == "who" and t.exact and _looks_like_person(t.exact):
            return _short_name(t.exact)
        for text in (t.question, t.quote):
            m = _TITLED.search(text)
            if m:
                return _short_name(m.group())
            for run in _NAME_RUN.finditer(text):
                if run.start() > 0 and _looks_like_person(run.group()):
                    return run.group()
    return ""


def _short_name(name: str) -> str:
    """ "President of Azerbaijan Ilham Aliyev" → "Ilham Aliyev": the name, without an office that names a place."""
    m = re.search(r"\bof\s+[A-Z][\w’'-]+\s+((?:[A-Z][\w’'-]+\s*){2,3})$", name)
    return m.group(1).strip() if m else name


def _looks_like_person(text: str) -> bool:
    words = text.split()
    if _TITLED.fullmatch(text):
        return True
    return (
        2 <= len(words) <= 4
        and all(w[0].isupper() for w in words)
        and not _NOT_PERSON.search(text)
        and not any(w.isupper() for w in words)
    )


def _thing(prev: _Turn, plural: bool, agent: bool) -> str:
    """What an "it" or "they" stands for. After a question that asked for a thing ("What did
    WHO use?"), a pronoun in that thing's place ("What was it aimed at?", "Who used it?")
    takes the answer; one that acts ("What did it suggest?") takes the previous subject."""
    f = parse(prev.question)
    exact = _np(prev.exact)
    # Only a thing the answer names ("the database ...", "the NAM Parliamentary Network"), not
    # an abstract phrase ("national independence and sovereignty"), becomes the new topic.
    named = bool(exact) and (exact[0].isupper() or split_words(exact)[0].lower() in ("the", "a", "an"))
    if named and f.kind == "object" and f.wh.split()[0] in ("what", "which") and not agent:
        if plural == split_words(exact)[-1].endswith("s") or not plural:
            return exact
    if plural and exact and f.kind == "object" and split_words(exact)[-1].endswith("s"):
        return exact
    return _topic(prev.question)


def _topic(question: str) -> str:
    """The entity a question is about: its subject, else the first name or definite noun phrase."""
    f = parse(question)
    if f.subject and not _looks_like_person(f.subject) and f.subject.lower() not in _ALL_PRONOUNS:
        return f.subject
    text = f.rest if f.kind == "subject" else question
    for run in _NAME_RUN.finditer(text):
        if run.start() > 0 or f.kind == "subject":
            if not _looks_like_person(run.group()) and run.group().lower() not in WH:
                return run.group()
    m = re.search(r"\b(the|this)\s+([a-z][\w-]*(?:\s+of\s+[\w-]+)?)", text)
    return f"the {m.group(2)}" if m else ""


def _place(question: str) -> str:
    return m.group(1) if (m := re.search(r"\b(?:in|at)\s+([A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*)", question)) else ""


def _date(question: str) -> str:
    return m.group() if (m := re.search(r"\b(1[0-9]{3}|20[0-9]{2})\b", question)) else ""


def _noun_phrase(noun: str, prev: _Turn) -> str:
    """The fullest mention of "that <noun>" in the previous turn: "that region" → "the South Caucasus region"."""
    pattern = re.compile(rf"\b((?:[A-Z][\w’'-]*\s+|[a-z][\w-]*-[\w-]+\s+){{0,4}}){re.escape(noun)}\b")
    for text in (prev.quote, prev.exact, prev.question):
        m = pattern.search(text)
        if m and m.group(1):
            return f"the {m.group(1)}{noun}"
    return ""


def _complete(fragment: str, prev: _Turn) -> str:
    """A fragment completed from the previous question's frame and answer ("" when it cannot be)."""
    f = parse(prev.question)
    if not f.wh or f.kind in ("bare", ""):
        return ""
    exact = _np(prev.exact) if f.kind in ("object", "subject", "copula", "passive") else ""
    words = [w.lower() for w in split_words(fragment)]
    fronted = words[0] in WH or (words[0] in PREPS and len(words) > 1 and words[1] in WH | {"how"})
    bare = _BARE.match(fragment)
    if fragment.lower().startswith(("what about", "how about")) or not (bare or any(w in WH for w in words)):
        # "And its youth wing?": the previous question asked again of another thing.
        x = re.sub(r"^(what|how) about\s+", "", fragment, flags=re.I)
        return _sentence(f"{prev.question.rstrip('?')}, and {x}")
    if fronted and not bare:
        q = _ask(fragment, f, exact)
        if q:
            return q
    if bare:  # "Such as?" reads best after the question it extends
        return _sentence(f"{prev.question.rstrip('?')}, {fragment[0].lower()}{fragment[1:]}")
    said = _statement(f, exact)
    if not said:
        return ""
    first = split_words(fragment)[0]
    tail = fragment[0].lower() + fragment[1:] if first.lower() in _FUNCTION_STARTS else fragment
    return _sentence(f"{said}, {tail}")


def _ask(fragment: str, f: Frame, exact: str) -> str:
    """The fragment as a question over the previous one's predicate: "When?" after "Why did
    NAM lose its importance?" → "When did NAM lose its importance?"."""
    rest = f" {f.rest}" if f.rest else ""
    if f.kind in ("adverb", "passive"):
        return _sentence(f"{fragment} {f.aux} {f.subject} {f.verb}{rest}")
    if f.kind == "object" and f.aux:
        obj = f" {exact}" if exact else ""
        return _sentence(f"{fragment} {f.aux} {f.subject} {f.verb}{obj}{rest}")
    if f.kind == "subject" and exact:
        if " " in f.verb:  # "is leading"
            aux, verb = f.verb.split(" ", 1)
            return _sentence(f"{fragment} {aux} {exact} {verb}{rest}")
        base, aux = base_form(f.verb)
        return _sentence(f"{fragment} {aux} {exact} {base}{rest}")
    return ""


def _statement(f: Frame, exact: str) -> str:
    """The previous question told as a statement with its answer in place."""
    rest = f" {f.rest}" if f.rest else ""
    if f.kind == "subject":
        return f"{exact or 'it'} {f.verb}{rest}"
    if f.kind == "copula":
        return f"{f.subject} {f.aux} {exact}".strip() if exact else f.subject
    if f.kind == "passive":
        return f"{f.subject} {f.aux} {f.verb}{rest}" + (f" {exact}" if exact and f.wh in ("what", "who") else "")
    if f.kind in ("object", "adverb"):
        verb = tensed(f.aux, f.verb)
        obj = f" {exact}" if exact and f.kind == "object" else ""
        return f"{f.subject} {verb}{obj}{rest}"
    return ""


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(" ,")
    return text[0].upper() + text[1:] + ("" if text.endswith("?") else "?")


def previous_quote(history: History) -> tuple[tuple[tuple[str, int, int], ...], tuple[str, ...]]:
    """The last turn's answer as the answer stage may favour it: (doc_id, start, end) of each
    sentence it quoted, and the chunk ids of the passage it quoted from (both empty when the
    last turn was not answered, or is a bare question)."""
    if not history:
        return (), ()
    item = list(history)[-1]
    if isinstance(item, str):
        return (), ()
    ans = item.get("answer") if isinstance(item, Mapping) else (item[1] if len(item) > 1 else None)
    if ans is None:
        return (), ()
    get = ans.get if isinstance(ans, Mapping) else lambda k, d=None: getattr(ans, k, d)
    if not get("found"):
        return (), ()
    spans, chunks = [], []
    for c in get("citations", None) or ():
        c = c if isinstance(c, Mapping) else vars(c)
        try:
            spans.append((str(c["doc_id"]), int(c["start"]), int(c["end"])))
        except (KeyError, TypeError, ValueError):
            continue
    for p in (get("passages", None) or ())[:1]:  # the quoted passage leads the answer's passages
        p = p if isinstance(p, Mapping) else vars(p)
        if p.get("chunk_id"):
            chunks.append(str(p["chunk_id"]))
    return tuple(spans), tuple(chunks)
