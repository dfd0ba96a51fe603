"""Many documents: a folder indexed whole, and the collection eval (every paragraph a document)."""

from __future__ import annotations

import json

from askdoc.collection import load_paragraphs, run_collection

from .conftest import ROOT, run_cli

MINI = ROOT / "tests" / "data" / "squad-mini.json"


def test_a_folder_is_indexed_recursively_with_a_result_per_file(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub" / ".cache").mkdir(parents=True)
    (docs / "harbour.txt").write_text("Harbour notes.\n\nThe lighthouse was lit in 1890 by the harbour board.\n")
    (docs / "sub" / "pier.md").write_text("# Pier\n\nThe pier opened in 1901 and closed in 1975.\n")
    (docs / "sub" / "image.png").write_bytes(b"\x89PNG")  # not a document: passed over
    (docs / "sub" / ".cache" / "old.txt").write_text("A hidden copy.\n")  # hidden: passed over
    (tmp_path / "empty").mkdir()
    out = run_cli("index", str(docs), "--index-dir", str(tmp_path / "idx"), "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(r["doc_id"] for r in json.loads(out.stdout)) == ["harbour", "pier"]
    empty = run_cli("index", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "idx"))
    assert empty.returncode == 3 and "no documents in it" in empty.stderr and "Traceback" not in empty.stderr
    ask = run_cli("ask", "When did the pier open?", "--index-dir", str(tmp_path / "idx"), "--json")
    assert json.loads(ask.stdout)["exact"] == "1901"


def test_paragraphs_become_documents_with_their_own_questions():
    docs, questions = load_paragraphs(str(MINI))
    assert len(docs) == len({d.doc_id for d in docs}) > 1
    by_id = {d.doc_id: d for d in docs}
    for q in questions:
        for answer, (s, e) in zip(q.answers, q.spans):
            assert by_id[q.doc_id].text[s:e] == answer  # spans point into the question's own paragraph


def test_the_collection_eval_measures_each_size_and_where_quotes_come_from():
    docs, questions = load_paragraphs(str(MINI))
    runs = run_collection("collection:mini", docs, questions, sizes=(1, 0), max_questions=6)
    assert [r.name for r in runs] == ["collection:mini@1", "collection:mini@all"]
    assert len(runs[-1].results) == min(6, len(questions))
    overall = runs[-1].metrics()["overall"]
    # Every answer says whether it quotes the question's own paragraph; recall@k is of that paragraph.
    assert all(r.own_doc is not None for r in runs[-1].results)
    assert 0.0 <= overall.get("own_document", 0.0) <= 1.0 and "recall@5" in overall


def test_add_texts_indexes_many_strings_in_one_call_with_progress(fresh_index):
    heard = []
    texts = {f"note-{n}": f"Note {n}. The harbour crane number {n} was painted blue in {1900 + n}." for n in range(12)}
    got = fresh_index.add_texts(texts, titles={"note-3": "Crane three"}, progress=lambda d, t: heard.append((d, t)))
    assert [r.doc_id for r in got] == list(texts) and {r.status for r in got} == {"added"}
    assert heard and heard[-1][0] == heard[-1][1]  # ends with everything embedded
    assert fresh_index.document("note-3").title == "Crane three"
    assert fresh_index.answer("When was crane number 7 painted blue?").exact == "1907"
    assert {r.status for r in fresh_index.add_texts(texts, titles={"note-3": "Crane three"})} == {"unchanged"}
