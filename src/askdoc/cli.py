"""The ``askdoc`` command line. Heavy imports happen inside the commands, so --help is instant.

Exit codes: 0 success (including "the document does not say"), 1 internal or
store error, 2 bad usage or question, 3 bad document, 4 vector store failure,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import AskdocError, ConfigError
from .maintain import cmd_bench, cmd_eval, cmd_train_reader


def _settings(args: argparse.Namespace):
    from .config import Settings

    return Settings.from_env(index_dir=args.index_dir, chroma_url=args.chroma_url)


def _index(args: argparse.Namespace):
    """The index to ask: the default article's unless the user added documents."""
    from .library import open_index

    return open_index(_settings(args))


def _expand_folders(paths: list[str]) -> tuple[list[str], int]:
    """``paths`` with each folder replaced by the documents under it (recursively, in name
    order, hidden entries skipped), and how many folders held none."""
    from .ingest import SUPPORTED_SUFFIXES

    out, empty = [], 0
    for path in paths:
        if not os.path.isdir(path):
            out.append(path)
            continue
        found = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [os.path.join(root, f) for f in sorted(files)
                      if not f.startswith(".") and f.lower().endswith(SUPPORTED_SUFFIXES)]  # fmt: skip
        if not found:
            empty += 1
            print(f"askdoc: error: {path}: no documents in it ({', '.join(SUPPORTED_SUFFIXES)})", file=sys.stderr)
        out += found
    return out, empty


def cmd_index(args: argparse.Namespace) -> int:
    from . import report
    from .config import DEFAULT_ARTICLE
    from .index import Index
    from .ingest import read_file, slugify
    from .library import rebuild

    settings = _settings(args)
    if args.doc_id and (len(args.paths) != 1 or os.path.isdir(args.paths[0])):
        raise ConfigError("--id names one document: give exactly one file with it")
    results = []
    if args.rebuild:
        if settings.chroma_url:
            raise ConfigError("--rebuild is for the embedded index; a Chroma server keeps its own storage")
        done = rebuild(settings)
        idx, results = done.index, done.results
        for line in report.rebuilt_notes(done):
            print(line, file=sys.stderr)
        if not results and not args.paths:
            results.append(idx.add_file_result(DEFAULT_ARTICLE))
    else:
        idx = Index(settings=settings)
    paths, failed = _expand_folders(args.paths or ([] if args.rebuild else [str(DEFAULT_ARTICLE)]))
    # The bundled article keeps its usual id wherever the checkout lies.
    doc_id = args.doc_id or (None if args.paths else slugify(DEFAULT_ARTICLE.stem))
    docs, seen = [], set()
    for path in paths:
        if os.path.realpath(path) in seen:
            continue  # one file named twice is indexed, and reported, once
        seen.add(os.path.realpath(path))
        try:
            docs.append(read_file(path, doc_id=doc_id, max_bytes=settings.max_document_bytes))
        except AskdocError as exc:
            # One bad file must not stop the others; report it and go on.
            failed += 1
            print(f"askdoc: error: {exc}", file=sys.stderr)
    # In one pass: shared embedding batches, one store write.
    added = idx.add_documents(docs, given_ids=doc_id is not None, progress=report.IndexingProgress())
    for doc, res in zip(docs, added):
        if res.doc_id != doc.doc_id:
            why = f"{doc.doc_id!r} is another file's" if res.status == "added" else "the id its document already has"
            print(f"askdoc: note: {doc.source}: indexed as {res.doc_id!r} ({why})", file=sys.stderr)
    for res in added[len(docs) :]:  # the same file, also indexed under another id (--id)
        print(f"askdoc: note: {res.doc_id!r} is from the same file: {res.status} too", file=sys.stderr)
    results += added
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for res in results:
            said = f"indexed {res.chars:,} chars"
            if res.furniture_chars:
                said += f"; {res.furniture_chars:,} chars of page furniture skipped"
            print(f"{res.status:9} {res.doc_id}  ({res.chunks} chunks)  {res.title} — {said}")
    return 3 if failed else 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .cues import check_question

    question = check_question(args.question)  # fail before loading anything heavy
    idx = _index(args)
    ans = idx.answer(question, k=args.k, doc_ids=args.doc or None)
    if args.json:
        print(json.dumps(ans.to_dict(), indent=2, ensure_ascii=False))
        return 0
    from .report import format_answer

    print(format_answer(ans, idx))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation: each question is read against the ones before it (see `askdoc.resolve`)."""
    from .cues import check_question
    from .errors import QuestionError

    interactive = sys.stdin.isatty() and not args.json
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and recall for input())
        except ImportError:  # not on every platform; the chat works without it
            pass
    idx = _index(args)
    from .report import format_answer

    if interactive:
        print("askdoc chat: ask about the documents; follow-ups use the conversation so far. "
              "/clear forgets it; Ctrl-D or /quit ends.", file=sys.stderr)  # fmt: skip
    history: list = []
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            if interactive:
                print(file=sys.stderr)
            return 0
        command = line.strip().lower()
        if not command:
            continue
        if command in ("/quit", "/exit"):
            return 0
        if command == "/clear":
            history.clear()
            if interactive:
                print("(conversation cleared)", file=sys.stderr)
            continue
        try:
            question = check_question(line)
            ans = idx.answer(question, k=args.k, doc_ids=args.doc or None, history=history)
        except QuestionError as exc:
            if args.json:
                print(json.dumps({"error": str(exc)}), flush=True)
            else:
                print(f"askdoc: error: {exc}", file=sys.stderr)
            continue
        history.append((question, ans))
        if args.json:
            print(json.dumps(ans.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(format_answer(ans, idx) + "\n", flush=True)


def cmd_docs(args: argparse.Namespace) -> int:
    idx = _index(args)
    docs = idx.documents()
    if args.json:
        print(
            json.dumps([{"doc_id": d.doc_id, "title": d.title, "source": d.source, "chars": len(d.text)} for d in docs])
        )
        return 0
    for d in docs:
        print(f"{d.doc_id}  {d.title}  ({len(d.text):,} chars)  {d.source or ''}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from .errors import UnknownDocument
    from .index import Index

    idx = Index(settings=_settings(args))
    missing = 0
    for doc_id in dict.fromkeys(args.doc_ids):
        try:
            idx.remove(doc_id)
        except UnknownDocument as exc:
            # One unknown id must not keep the others in the index.
            missing += 1
            print(f"askdoc: error: {exc}", file=sys.stderr)
            continue
        print(f"removed {doc_id}")
    return UnknownDocument.exit_code if missing else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serving import address, check_free

    host, port = address(args.host, args.port)
    check_free(host, port)  # before loading anything
    from . import ui

    idx = _index(args)
    print(f"askdoc: serving {len(idx.documents())} document(s) at http://{host}:{port}", file=sys.stderr)
    ui.launch(host, port, index=idx)
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """``askdoc feedback export``: the chat's votes as an eval set, gold left to fill in."""
    from . import feedback

    folder = _settings(args).index_dir
    votes = feedback.VOTES if args.all else ("down",)
    n, text = feedback.export(folder, args.out, votes)
    if args.out is None:
        sys.stdout.write(text)
    which = "votes" if args.all else "'not helpful' votes"
    print(f"askdoc: exported {n} {which} from {folder / feedback.FILE}" + (f" to {args.out}" if args.out else ""),
          file=sys.stderr)  # fmt: skip
    return 0


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askdoc",
        description="Answer questions about documents by quoting them, with citations. Offline.",
        epilog="Settings also come from ASKDOC_* environment variables (ASKDOC_INDEX_DIR, ASKDOC_CHROMA_URL, "
        "ASKDOC_MODEL, ASKDOC_TOP_K, ASKDOC_CHUNK_TOKENS, ...).",
    )
    parser.add_argument("--version", action="version", version="askdoc 0.1.0")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", help="folder of the embedded index (default: ./index in a checkout)")
    common.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    common.add_argument("--json", action="store_true", help="print JSON for programs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="add documents (.txt .md .html .pdf) to the index")
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="files, or folders to index recursively (default: the bundled article)"
    )
    p.add_argument(
        "--id", dest="doc_id", metavar="DOC_ID", help="the document's id, replacing what it names (one PATH only)"
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="start the index afresh (moving the old folder aside) and re-add its documents from their sources",
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", parents=[common], help="answer a question by quoting the documents")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--doc", action="append", metavar="DOC_ID", help="only search this document (repeatable)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "chat",
        parents=[common],
        help="a conversation in the terminal: follow-up questions use the ones before",
        description="Ask questions one a line; a follow-up ('When was it founded?', 'Why?') is read against the "
        "conversation so far, and the answer says how. /clear forgets the conversation; Ctrl-D or /quit ends. "
        "With --json, one answer a line as JSON.",
    )
    p.add_argument("-k", type=int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--doc", action="append", metavar="DOC_ID", help="only search this document (repeatable)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("eval", help="measure answer quality; exit 1 if a metric fell below the baseline")
    p.add_argument("--set", action="append", metavar="JSONL",
                   help="question or dialogue set (default: eval/article, dialogues and informal-* sets)")  # fmt: skip
    p.add_argument("--squad", action="append", metavar="FILE", help="a SQuAD v1.1/v2.0 JSON file")
    p.add_argument("--limit", type=int, metavar="N", help="with --squad: only the first N articles")
    p.add_argument("--article", action="append", dest="articles", metavar="TITLE",
                   help="with --squad: only this article (repeatable), e.g. one held out of training")  # fmt: skip
    p.add_argument("--collection", action="store_true",
                   help="with --squad: each paragraph a document of one index, questions asked of all")  # fmt: skip
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 0], metavar="N",
                   help="with --collection: collection sizes to measure at (0: all; default 1 10 100 0)")  # fmt: skip
    p.add_argument("--questions", type=int, metavar="N",
                   help="with --collection: a seeded sample of at most N questions per size")  # fmt: skip
    p.add_argument("-k", type=int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--json", metavar="PATH", help="write metrics and every result as JSON")
    p.add_argument("--report", metavar="PATH.md", help="write a Markdown report of the failed questions, with a chart")
    p.add_argument("--chart", metavar="PATH.png", help="write a PNG chart of the metrics by kind")
    p.add_argument("--baseline", metavar="PATH", help="baseline figures (default: eval/baseline.json)")
    p.add_argument("--update-baseline", action="store_true", help="rewrite the baseline with these figures")
    p.add_argument("--tolerance", type=float, default=0.02, help="allowed drop below the baseline (default 0.02)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "bench",
        help="measure speed and scale: cold start, answer latency, indexing, 10^2-10^5 chunks, concurrency",
        description="Measure askdoc's costs in one run; writes bench.json, bench.md and bench.png.",
    )
    p.add_argument(
        "--squad", action="append", required=True, metavar="FILE", help="SQuAD-format articles to build collections"
    )
    p.add_argument(
        "--scales", type=_int_list, default=[100, 10_000, 100_000], help="collection sizes in chunks (100,10000,100000)"
    )
    p.add_argument("--server", action="store_true", help="also measure against `chroma run` on 127.0.0.1")
    p.add_argument("--clients", type=_int_list, default=[1, 4, 16], help="concurrent chat clients to measure (0: skip)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each cold-process measure (median)")
    p.add_argument("--questions", type=int, default=0, help="eval questions per probe (default: all)")
    p.add_argument("--growth", type=int, default=0, metavar="N",
                   help="also add N paragraph documents one by one: the Nth's cost against the 10th's")  # fmt: skip
    p.add_argument("--growth-batch", type=int, default=0, metavar="N",
                   help="also add N paragraph documents in one batch, beside embedding them alone")  # fmt: skip
    p.add_argument("--out", default="eval/bench", help="folder for the reports (default eval/bench)")
    p.add_argument("--json", action="store_true", help="print JSON for programs")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "train-reader",
        help="train the answer reader on SQuAD-format files (CUDA when present)",
        description="Train askdoc's reader (a cross-encoder from the bundled MiniLM) on SQuAD v1.1/v2.0 files; "
        "writes reader.safetensors and MODEL_CARD.md. FILE:N uses the first N articles of FILE.",
    )
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="SQuAD-format .json, .json.gz or .json.xz (FILE:N: its first N articles)")  # fmt: skip
    p.add_argument("--out", required=True, help="folder for the weights and the model card")
    p.add_argument("--hold-out", action="append", metavar="TITLE",
                   help="an article to leave out of training and report figures on (repeatable)")  # fmt: skip
    p.add_argument("--init", metavar="DIR", help="continue from a reader folder (default: the bundled MiniLM)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--negatives", type=int, default=3, help="negative sentences per question")
    p.add_argument("--negative-weight", type=float, default=1.0, help="loss weight of unanswerable questions")
    p.add_argument("--near-misses", type=float, default=0.0, metavar="SHARE",
                   help="share of answerable questions that also train as a generated near miss")  # fmt: skip
    p.add_argument("--max-questions", type=int, help="a seeded sample of this many questions (CPU runs)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps")
    p.add_argument("--freeze-layers", type=int, default=0, help="freeze the embeddings and the N lowest layers")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                   help="bf16 computes in bfloat16; auto: where hardware has it (CUDA, AMX, AVX-512 BF16)")  # fmt: skip
    p.add_argument("--hard-negatives", action="store_true",
                   help="mine each question's negatives from its whole article with askdoc's BM25")  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out (same files and recipe)")
    p.add_argument("--checkpoint-every", type=int, default=200, metavar="STEPS",
                   help="save the run every this many steps, for --resume (0: never)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON for programs")
    p.set_defaults(func=cmd_train_reader)

    p = sub.add_parser("serve", parents=[common], help="open the browser chat (http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1, or GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=int, help="port (default 7860, or GRADIO_SERVER_PORT)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feedback", parents=[common], help="the chat's answer votes as an eval set")
    p.add_argument("action", choices=["export"], help="export: print (or --out) the votes as eval/article.jsonl cases")
    p.add_argument("--out", help="write to this file instead of stdout")
    p.add_argument("--all", action="store_true", help="the 'helpful' votes too, not only 'not helpful'")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("docs", parents=[common], help="list the indexed documents")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("remove", parents=[common], help="remove documents from the index")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    p.set_defaults(func=cmd_remove)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "k", None) is not None and args.k < 1:
        parser.error("-k must be at least 1")
    # The one place where errors become messages.
    try:
        return args.func(args)
    except AskdocError as exc:
        print(f"askdoc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("askdoc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`askdoc ask ... | head -1`): not an error.
        # Point stdout at nothing so that the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: still one line, unless debugging
        if os.environ.get("ASKDOC_DEBUG"):
            raise
        print(f"askdoc: internal error: {type(exc).__name__}: {exc} (set ASKDOC_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
