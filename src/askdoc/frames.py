"""Frames: the parts of an English wh-question, and the verb forms that retell it.

"What did President Aliyev oppose?" is "what | did | President Aliyev | oppose | …":
`askdoc.resolve` completes a fragment ("Why?") from such a frame and the answer that
filled its gap ("Why did President Aliyev oppose the nationalization of …?"). A best
effort over words, no tagger or model: what it cannot place lands in ``rest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
AUX = frozenset(
    "is are was were am be been do does did has have had can could will would should may might must".split()
)
DO = frozenset(("do", "does", "did"))
WH = frozenset("what which who whom whose when where why how".split())
PREPS = frozenset(
    "in at on for from to with by under during since until till between about against after before over through of "
    "into within without toward towards among".split()
)
DETERMINERS = frozenset("the a an this that these those its his her their our".split())

_IRREGULAR_PAST = dict(
    x.split(":")
    for x in "fight:fought make:made say:said do:did give:gave take:took hold:held lead:led begin:began "
    "become:became have:had see:saw find:found lose:lost win:won build:built send:sent set:set put:put come:came "
    "go:went write:wrote think:thought bring:brought feel:felt meet:met get:got tell:told speak:spoke "
    "choose:chose leave:left keep:kept pay:paid know:knew chair:chaired".split()
)
IRREGULAR_BASE = {v: k for k, v in _IRREGULAR_PAST.items() if k != v}


@dataclass(frozen=True)
class Frame:
    """A question's parts: "What | did | President Aliyev | oppose | at the summit"."""

    wh: str  # the question phrase ("what", "how many member states", "through which organization")
    aux: str  # "did", "is", ... ("" for "Who chairs NAM?")
    subject: str  # "" when the question phrase is the subject
    verb: str
    rest: str
    kind: str  # "object", "subject", "adverb" or "copula"


def split_words(text: str) -> list[str]:
    return WORD.findall(text)


def parse(question: str) -> Frame:
    """The parts of a wh-question (a best effort: unparsed parts land in ``rest``)."""
    words = split_words(question.rstrip("?"))
    low = [w.lower() for w in words]
    i = 0
    while i < len(low) and low[i] in PREPS:
        i += 1
    if i >= len(low) or low[i] not in WH:
        return Frame("", "", "", "", " ".join(words), "")
    j = i + 1
    if low[i] == "how" and j < len(low) and low[j] in ("many", "much", "long", "large", "old", "often", "far", "big"):
        j += 1
    if low[i] in ("which", "what", "whose", "how") and j < len(low) and low[j] not in AUX:
        # "What principles did ...", "Which countries are ...": the phrase runs to the auxiliary;
        # without one ("What threatens NAM?") the question phrase is the subject.
        to_aux = next((n for n in range(j, len(low)) if low[n] in AUX), None)
        if to_aux is not None and to_aux - j <= 3:
            j = to_aux
    wh = " ".join(words[:j])
    if j >= len(words):
        return Frame(wh.lower(), "", "", "", "", "bare")
    if low[j] not in AUX:
        return Frame(wh.lower(), "", "", words[j], " ".join(words[j + 1 :]), "subject")
    aux, k = words[j], j + 1
    adverbial = low[i] in ("when", "where", "why", "how") and j == i + 1 or i > 0
    if low[i] in ("who", "what") and k < len(low) and _progressive(low[k]):
        # "Who is leading the organization?": the question phrase is the subject.
        return Frame(wh.lower(), "", "", f"{aux} {words[k]}", " ".join(words[k + 1 :]), "subject")
    subj_end = _subject_end(words, k)
    subject = " ".join(words[k:subj_end])
    after = low[subj_end] if subj_end < len(words) else ""
    if low[j] in DO or low[j] in ("has", "have", "had") or _progressive(after):
        verb = words[subj_end] if subj_end < len(words) else ""
        rest = " ".join(words[subj_end + 1 :])
        return Frame(wh.lower(), aux.lower(), subject, verb, rest, "adverb" if adverbial else "object")
    if after.endswith("ed") or after in IRREGULAR_BASE:
        # The passive: "When was NAM established?", "What was the database used for?"
        return Frame(wh.lower(), aux.lower(), subject, words[subj_end], " ".join(words[subj_end + 1 :]), "passive")
    tail = words[k:]
    while tail and tail[-1].lower() in PREPS:  # "What was the Baku meeting about?"
        tail = tail[:-1]
    return Frame(wh.lower(), aux.lower(), " ".join(tail), "", "", "copula")


#: Words in -ing that are nouns ("the Baku meeting"), not a verb's progressive form.
_ING_NOUNS = frozenset(
    "meeting building funding training gathering opening hearing beginning spending setting "
    "understanding warning ruling landing during morning evening".split()
)


def _progressive(word: str) -> bool:
    return word.endswith("ing") and len(word) > 4 and word not in _ING_NOUNS


def _subject_end(words: list[str], k: int) -> int:
    """Where the subject that starts at ``words[k]`` ends: a run of names, or a determiner
    and its noun ("the writer", "the recent NAM Summit in Baku")."""
    n = len(words)
    end = k
    last_cap = -1
    while end < n:
        w = words[end]
        if w[0].isupper():
            last_cap = end
        elif (
            w.lower() in DETERMINERS
            or (last_cap >= 0 and w.lower() in ("of", "in", "for", "and"))
            or (last_cap < 0 and end + 1 < n and words[end + 1][0].isupper() and end - k < 3)
        ):
            pass
        else:
            break
        end += 1
    if last_cap >= 0:
        end = last_cap + 1
        while end > k and words[end - 1].lower() in PREPS:
            end -= 1
        return end
    if k < n and words[k].lower() in DETERMINERS and k + 1 < n:
        return k + 2
    return k + 1 if k < n else k


def tensed(aux: str, verb: str) -> str:
    v = verb.lower()
    if aux == "did":
        return _IRREGULAR_PAST.get(v) or (v + "d" if v.endswith("e") else v + "ed")
    if aux == "does":
        if v.endswith(("s", "sh", "ch", "x", "o")):
            return v + "es"
        return v[:-1] + "ies" if v.endswith("y") and v[-2:-1] not in "aeiou" else v + "s"
    if aux in ("do", ""):
        return v
    return f"{aux} {v}"


def base_form(verb: str) -> tuple[str, str]:
    """A finite verb's base form and the "do" that carries its tense: "called" → ("call", "did")."""
    v = verb.lower()
    if v in IRREGULAR_BASE:
        return IRREGULAR_BASE[v], "did"
    if v.endswith("ied"):
        return v[:-3] + "y", "did"
    if v.endswith("ed"):
        stem = v[:-2]
        if stem.endswith(("at", "ut", "id", "iz", "is", "os", "ov", "ag", "ic", "ur", "ir")) or stem.endswith("s"):
            stem += "e"
        return stem, "did"
    if v.endswith("ies"):
        return v[:-3] + "y", "does"
    if v.endswith(("shes", "ches", "xes", "sses")):
        return v[:-2], "does"
    if v.endswith("s") and not v.endswith("ss"):
        return v[:-1], "does"
    return v, "do"
