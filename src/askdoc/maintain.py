"""The maintainers' commands: `askdoc eval`, `askdoc bench` and `askdoc train-reader`.

`askdoc.cli` parses their arguments and turns their errors into messages; these run
them. Everything heavy is imported inside each command, so `askdoc --help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def cmd_eval(args: argparse.Namespace) -> int:
    from . import dialogues, gate, report
    from . import evaluate as ev

    runs = []
    progress = None
    if not args.quiet:
        from functools import partial

        from tqdm import tqdm

        progress = partial(tqdm, desc="questions", unit="q", leave=False, file=sys.stderr, disable=None)
    if args.squad:
        for path in args.squad:
            stem = os.path.basename(path).removesuffix(".gz").removesuffix(".xz").removesuffix(".json")
            if args.collection:
                from . import collection

                docs, questions = collection.load_paragraphs(path, args.limit, args.articles or ())
                runs += collection.run_collection(f"collection:{stem}", docs, questions, args.sizes, args.k,
                                                  args.questions, progress)  # fmt: skip
                continue
            docs, questions = ev.load_squad(path, args.limit, args.articles or ())
            name = f"squad:{stem}" + (":articles" if args.articles else "")
            runs.append(ev.run_set(name, docs, questions, k=args.k, progress=progress))
    if args.set or not args.squad:
        for path in args.set or [str(p) for p in ev.default_sets()]:
            if ev.is_dialogue_set(path):
                doc, talks = dialogues.load_dialogue_set(path)
                runs.append(dialogues.run_dialogues(ev.set_name(path), doc, talks, k=args.k, progress=progress))
            else:
                doc, items = ev.load_article_set(path)
                runs.append(ev.run_set(ev.set_name(path), [doc], items, k=args.k, progress=progress))
    metrics = {run.name: run.metrics() for run in runs}
    print(report.format_table(runs))
    for run in runs:
        dialogue = any(r.stale is not None for r in run.results)
        for label, value, limit, met in dialogues.conversation_bar(metrics[run.name]) if dialogue else ():
            print(f"{run.name}: {label}: {value:.3f} (limit {limit:.3f}) {'met' if met else 'NOT MET'}")
    if args.json:
        report.write_json(args.json, runs)
    chart = args.chart
    if args.report:
        chart = chart or os.path.splitext(args.report)[0] + ".png"
    if chart:
        report.write_chart(chart, runs)
    if args.report:
        rel = os.path.relpath(chart, os.path.dirname(os.path.abspath(args.report)) or ".")
        report.write_markdown(args.report, runs, rel)
    baseline_path = args.baseline or str(ev.default_baseline_path())
    if args.update_baseline:
        gate.update_baseline(baseline_path, metrics)
        print(f"baseline written: {baseline_path}")
        return 0
    baseline = gate.read_baseline(baseline_path)
    if baseline is None:
        print(f"no baseline at {baseline_path}; run with --update-baseline to create it", file=sys.stderr)
        return 0
    dropped = gate.regressions(metrics, baseline, args.tolerance)
    if dropped:
        print(f"askdoc: eval: {len(dropped)} metric(s) fell below the baseline:", file=sys.stderr)
        for line in dropped:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"all metrics within {args.tolerance} of the baseline ({baseline_path})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import bench, report

    options = bench.BenchOptions(
        corpus=tuple(Path(p) for p in args.squad),
        scales=tuple(args.scales),
        server=args.server,
        clients=tuple(c for c in args.clients if c > 0),
        repeats=args.repeats,
        questions=args.questions,
        growth=args.growth,
        growth_batch=args.growth_batch,
    )
    result = bench.run(options, say=lambda line: print(f"askdoc: bench: {line}", file=sys.stderr))
    paths = report.write_bench(args.out, result)
    print(json.dumps(result, indent=1) if args.json else report.format_bench(result))
    print(f"written: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .train import train_reader

    result = train_reader(
        args.files, args.out, hold_out=args.hold_out or (), init=args.init, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, negatives=args.negatives, negative_weight=args.negative_weight,
        near_misses=args.near_misses, max_questions=args.max_questions, max_steps=args.max_steps,
        freeze_layers=args.freeze_layers, seed=args.seed, device=args.device, precision=args.precision,
        hard_negatives=args.hard_negatives, resume=args.resume, checkpoint_every=args.checkpoint_every,
        progress=lambda steps: tqdm(steps, desc="training", unit="step", disable=args.json),
        command="askdoc train-reader " + " ".join(sys.argv[2:]),
    )  # fmt: skip
    summary = {
        "out": str(result.out_dir), "steps": result.steps, "first_loss": result.losses[0],
        "last_loss": result.losses[-1], "heldout": result.heldout, "seconds": round(result.seconds, 1),
        "precision": result.precision, "pairs_per_second": result.pairs_per_second,
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {result.out_dir}/reader.safetensors and MODEL_CARD.md ({result.steps} steps, "
              f"loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}, {result.seconds:.0f} s, "
              f"{result.precision} at {result.pairs_per_second} pairs/s)")  # fmt: skip
        for k, v in result.heldout.items():
            print(f"  held out: {k} {v}")
        print(f"use it with ASKDOC_READER={result.out_dir}")
    return 0
