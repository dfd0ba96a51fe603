"""The trained reader: exact answer spans, nonsense questions, and its training command."""

from __future__ import annotations

import json

import pytest

from askdoc import Index
from askdoc.cues import unanswerable_form
from askdoc.errors import DataSetError
from askdoc.read import Reader, best_span

from .conftest import ROOT, run_cli

MINI = ROOT / "tests" / "data" / "squad-mini.json"


@pytest.fixture(scope="module")
def reader():
    return Reader()


def test_the_reader_prefers_the_answering_sentence_and_finds_the_span(reader):
    sentences = [
        "Azerbaijan took over the chairmanship of the movement in 2019.",
        "Established in 1961, NAM currently comprises 120 member states.",
        "The summit was held in Baku City.",
    ]
    got = reader.read("When was NAM established?", sentences, ["", "", ""])
    assert max(range(3), key=lambda i: got[i].probability) == 1
    assert sentences[1][got[1].start : got[1].end] == "1961"
    where = reader.read("Where was the summit held?", sentences, ["", "", ""])
    assert sentences[2][where[2].start : where[2].end] == "Baku City"


def test_the_cpu_runs_the_int8_onnx_export_and_it_reads_as_the_weights_do(reader):
    """On a CPU the shipped reader runs reader.onnx in ONNX Runtime; it must choose the
    sentences and spans that the full-precision weights choose."""
    from askdoc.read import OnnxReader

    assert isinstance(reader.model, OnnxReader)
    full = Reader(device="cpu", quantize=False)
    text = (ROOT / "src" / "askdoc" / "data" / "azerbaijan-leads-nam.txt").read_text(encoding="utf-8")
    sentences = [s.strip() for s in text.split(". ") if 40 < len(s.strip()) < 300][:8]
    for question in ["When was NAM established?", "Who chaired the meeting?", "How many members does NAM have?"]:
        a, b = reader.read(question, sentences, [""] * 8), full.read(question, sentences, [""] * 8)
        best = max(range(8), key=lambda i: b[i].probability)
        assert max(range(8), key=lambda i: a[i].probability) == best
        assert (a[best].start, a[best].end) == (b[best].start, b[best].end)
        assert all(abs(x.probability - y.probability) < 0.1 for x, y in zip(a, b))


def test_best_span_stays_inside_the_sentence():
    import numpy as np

    # Pieces 1-2 are the question (type 0), 3-5 the sentence, 6 the previous sentence.
    types = np.array([0, 0, 0, 1, 1, 1, 1])
    offsets = np.array([[0, 0], [0, 4], [5, 8], [0, 3], [4, 9], [10, 14], [20, 25]])
    start = np.array([9, 9, 9, 0, 5, 1, 9.0])  # the question and the context score highest
    end = np.array([9, 9, 9, 0, 1, 4, 9.0])
    assert best_span(start, end, types, offsets, limit=14) == (4, 14)


@pytest.fixture(scope="module")
def nonsense_index(tmp_path_factory):
    from .conftest import ARTICLE

    idx = Index(tmp_path_factory.mktemp("nonsense"))
    idx.add_file(ARTICLE)
    return idx


NONSENSE = [
    "?", "the", "…", "😀🎉👍", "of the and",
    "Когда было основано Движение неприсоединения?",
    "不结盟运动是什么时候成立的？",
    "متى تأسست حركة عدم الانحياز؟",
    "Quand le Mouvement des non-alignés a-t-il été fondé ?",
    "Qui dirige le Mouvement des non-alignés",
]  # fmt: skip


@pytest.mark.parametrize("question", NONSENSE)
def test_nonsense_and_foreign_questions_abstain(nonsense_index, question):
    ans = nonsense_index.answer(question)
    assert not ans.found and ans.citations == [] and ans.exact == ""


def test_english_questions_pass_the_form_check():
    for q in ("When was NAM established?", "NAM founding year", "Name a common autoimmune disease.",
              "Who is Ilham Aliyev?", "how many member states"):  # fmt: skip
        assert unanswerable_form(q) == "", q


def test_answers_carry_the_exact_span_in_records_and_json(article_index, tmp_path):
    ans = article_index.answer("When was NAM established?")
    assert ans.found and ans.exact == "1961"
    cited = ans.citations[0]
    text = article_index.document(cited.doc_id).text
    assert text[cited.answer_start : cited.answer_end] == "1961"
    assert cited.start <= cited.answer_start < cited.answer_end <= cited.end
    out = run_cli("ask", "When was NAM established?", "--json", "--index-dir", str(tmp_path / "idx"))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["exact"] == "1961"
    assert data["citations"][0]["answer_end"] - data["citations"][0]["answer_start"] == 4
    plain = run_cli("ask", "When was NAM established?", "--index-dir", str(tmp_path / "idx"))
    assert plain.stdout.startswith("Answer: 1961\n")


def _no_onnx_runtime(folder):
    raise ImportError("No module named 'onnxruntime'")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """16 steps over a tiny set (4 steps an epoch), twice with the same seed; the second
    time as on a GPU machine without ONNX Runtime."""
    from askdoc import train

    folder = tmp_path_factory.mktemp("trained")
    runs = []
    for n in range(2):
        with pytest.MonkeyPatch.context() as mp:
            if n:
                mp.setattr(train, "export_onnx", _no_onnx_runtime)
            runs.append(train.train_reader([MINI], folder / f"run{n}", hold_out=["Honey_bees"], max_steps=16,
                                           epochs=20, batch_size=8, device="cpu"))  # fmt: skip
    return runs


def test_training_lowers_the_loss(trained):
    losses = trained[0].losses
    assert len(losses) == 16
    # Each epoch sees the same examples: compare the first epoch's mean with the last's.
    assert sum(losses[-4:]) / 4 < 0.8 * sum(losses[:4]) / 4


def test_training_is_seeded_and_deterministic(trained):
    assert trained[0].losses == trained[1].losses


def test_training_without_onnx_runtime_still_writes_the_weights_and_card(trained):
    """The int8 export is made later, where ONNX Runtime is installed; the run is not lost."""
    with_onnx, without = (r.out_dir for r in trained)
    assert (with_onnx / "reader.onnx").is_file() and not (without / "reader.onnx").exists()
    assert (without / "reader.safetensors").is_file() and (without / "MODEL_CARD.md").is_file()
    assert trained[1].heldout == trained[0].heldout


def test_near_misses_swap_a_mention_for_one_the_paragraph_lacks():
    """A near miss reads like its answerable twin but names something else of the article's
    (of the same kind), and the sentence that answered the twin is among its negatives."""
    import random

    from askdoc.trainset import make_examples, near_miss

    paragraph = "The harbour of Marrow Point froze in 1961, and ships from Norway brought timber."
    mentions = ["Marrow Point", "Norway", "Sweden", "Lisbon", "1961", "1975", "12"]
    for seed in range(20):
        twin = near_miss("Where did ships from Norway dock in 1961?", paragraph, mentions, random.Random(seed))
        assert twin in {"Where did ships from Sweden dock in 1961?", "Where did ships from Lisbon dock in 1961?",
                        "Where did ships from Norway dock in 1975?"}  # fmt: skip
    assert near_miss("Where did the ships dock?", paragraph, mentions, random.Random(0)) is None  # nothing to swap
    qa = {"question": "What did ships from Norway bring?", "answers": [{"text": "timber", "answer_start": 73}]}
    article = {"title": "Harbour", "paragraphs": [
        {"context": paragraph + " The mines closed later.", "qas": [qa]},
        {"context": "Sweden and Lisbon traded wool. Fishing boats sailed from Lisbon.", "qas": []},
    ]}  # fmt: skip
    plain = make_examples([article], negatives=3, seed=1)
    both = make_examples([article], negatives=3, seed=1, near_misses=1.0)
    assert both[: len(plain)] == plain  # the original examples are untouched
    twins = both[len(plain) :]
    assert {e.question for e in twins} in ({"What did ships from Sweden bring?"}, {"What did ships from Lisbon bring?"})
    assert not any(e.positive for e in twins)
    assert any(e.sentence == plain[0].sentence for e in twins)  # the hardest negative


def test_an_interrupted_run_resumes_where_it_stopped_and_ends_as_an_unbroken_one(tmp_path, monkeypatch):
    from askdoc import train

    monkeypatch.setattr(train, "export_onnx", _no_onnx_runtime)  # the ONNX copy is another test's
    kw = dict(hold_out=["Honey_bees"], max_steps=5, epochs=20, batch_size=8, device="cpu", checkpoint_every=2)
    whole = train.train_reader([MINI], tmp_path / "whole", **kw)

    def stop_at_the_fifth(steps):
        for step in steps:
            if step == 4:  # (counted from 0)
                raise KeyboardInterrupt  # a session ends mid-run
            yield step

    with pytest.raises(KeyboardInterrupt):
        train.train_reader([MINI], tmp_path / "cut", progress=stop_at_the_fifth, **kw)
    assert (tmp_path / "cut" / train.CHECKPOINT_FILE).is_file()  # saved after four steps
    resumed = train.train_reader([MINI], tmp_path / "cut", resume=True, **kw)
    assert resumed.losses == whole.losses
    assert not (tmp_path / "cut" / train.CHECKPOINT_FILE).exists()  # done: nothing left to resume
    train._checkpoint(tmp_path / "x", "run-a", 1, *_tiny_state())
    with pytest.raises(DataSetError, match="another recipe"):
        train._restore(tmp_path / "x", "run-b", *_tiny_state()[:3], train.TrainResult(tmp_path, 1))


def _tiny_state():
    import torch

    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0), [0.5], 1.0


def test_hard_negatives_come_from_the_whole_article_by_bm25():
    from askdoc.trainset import make_examples

    qa = {"question": "What did ships from Norway bring?", "answers": [{"text": "timber", "answer_start": 26}]}
    article = {"title": "Harbour", "paragraphs": [
        {"context": "Ships from Norway brought timber. The mines closed later. Rain fell.", "qas": [qa]},
        {"context": "Sheep grazed. Ships from Norway also brought salt and wool to the harbour.", "qas": []},
    ]}  # fmt: skip
    got = make_examples([article], negatives=1, seed=1, hard=True)
    assert [e.positive for e in got] == [True, False]
    # The negative shares the question's words: the other paragraph's sentence about Norway's ships.
    assert got[1].sentence == "Ships from Norway also brought salt and wool to the harbour."


def test_bf16_only_where_the_hardware_has_it(monkeypatch):
    from askdoc import train

    monkeypatch.setattr(train, "bf16_hardware", lambda: False)
    assert train.resolve_precision("auto", "cpu") == "fp32"
    assert train.resolve_precision("auto", "cuda") == "bf16"
    assert train.resolve_precision("bf16", "cpu") == "bf16"  # asked for: slow here, but the user's call
    monkeypatch.setattr(train, "bf16_hardware", lambda: True)
    assert train.resolve_precision("auto", "cpu") == "bf16"
    with pytest.raises(DataSetError):
        train.resolve_precision("fp8", "cpu")


def test_train_reader_writes_weights_and_a_model_card_that_load(tmp_path):
    out = tmp_path / "reader"
    res = run_cli(
        "train-reader", str(MINI), "--out", str(out), "--max-steps", "2", "--batch-size", "4",
        "--hold-out", "Honey_bees", "--device", "cpu", "--json", timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["steps"] == 2 and "top1_sentence" in summary["heldout"]
    card = (out / "MODEL_CARD.md").read_text()
    assert "CC BY-SA 4.0" in card and "Honey_bees" in card and "askdoc train-reader" in card
    got = Reader(out, device="cpu").read("What do bees make?", ["Bees make honey.", "It rains."], ["", ""])
    assert len(got) == 2 and all(0.0 <= r.probability <= 1.0 for r in got)
    # The word embeddings are the bundled MiniLM's, taken from the model package, not shipped.
    from safetensors import safe_open

    from askdoc.read import WORD_EMBEDDINGS, bundled_word_embeddings, load_model

    with safe_open(str(out / "reader.safetensors"), framework="pt") as f:
        assert WORD_EMBEDDINGS not in f.keys() and len(f.keys()) > 100
    assert (out / "reader.safetensors").stat().st_size < 25_000_000
    loaded = load_model(out / "reader.safetensors").enc.embeddings.word_embeddings.weight
    assert (loaded == bundled_word_embeddings().float()).all()
    # Beside them, the int8 ONNX export the CPU runs, also without word embeddings.
    assert (out / "reader.onnx").stat().st_size < 15_000_000
    assert "reader.onnx" in card


def test_a_bad_training_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = run_cli("train-reader", str(bad), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "not a readable SQuAD file" in res.stderr and "Traceback" not in res.stderr


def test_the_chat_bolds_the_exact_answer_inside_the_quote(article_index):
    from askdoc.chatapp import ChatApp
    from askdoc.chatview import evidence_html, reply_html

    ans = article_index.answer("When was NAM established?")
    assert "Established in <b>1961</b>, NAM" in reply_html(1, ans, article_index.document)
    assert "<mark>Established in <b>1961</b>, NAM" in evidence_html(1, ans, article_index.document)
    api = ChatApp(article_index).api_answer("When was NAM established?")
    assert api["exact"] == "1961" and api["citations"][0]["answer_start"] is not None


def test_a_question_longer_than_the_reader_reads_is_still_read(reader, article_index):
    # ~1,400 characters: far past the 128 word pieces the reader reads; the question is cut too.
    long = "In which year, after long talks among many newly independent nations, was the NAM established? " * 14
    sentence = "Established in 1961, NAM currently comprises 120 member states."
    (got,) = reader.read(long, [sentence], [""])
    assert sentence[got.start : got.end] == "1961"
    assert article_index.answer(long).question  # the whole pipeline answers or abstains, no error
