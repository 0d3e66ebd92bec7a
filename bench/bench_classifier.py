"""Benchmark of the masterCategory classifier against its targets and the notebook's model.

Measured in one run, on the notebook's split (80/20, random_state=42) of the
subsample:

* the default CNN trained from scratch for each seed: validation accuracy and
  training seconds (target: >= 97% in <= 5 minutes on 2 CPU cores);
* the PCA + RBF SVC baseline: accuracy and fit seconds;
* a few training steps of the notebook's model (``seed`` preset) on the same
  photos, extrapolated to its 10 epochs, for the speed ratio;
* a single-image classification in a warm process (target: < 100 ms);
* with ``--full``: the default CNN trained on the whole dataset (target: >= 98.5%
  on the held-out split within 30 minutes).

Every training runs in a fresh cache folder unless ``--cache`` is given, so the
figures are measured, not read back. Usage::

    python bench/bench_classifier.py --data ../shared/data/fashion-small
    python bench/bench_classifier.py --data ../shared/data/fashion-small --full --seeds 42
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: The notebook's model as it ran: 10 epochs in 4,520 s, 46.6% validation accuracy.
NOTEBOOK_SECONDS, NOTEBOOK_EPOCHS, NOTEBOOK_ACCURACY = 4520.0, 10, 0.466


def _line(msg: str) -> None:
    print(msg, flush=True)


def seed_step_seconds(sub, steps: int = 5, progress=None) -> dict:
    """Time a few training steps of the notebook's model on the subsample's photos.

    The first step (graph tracing) is excluded, so the speed ratio against the
    notebook's model is measured in the same run as the default model's training.

    Returns
    -------
    dict
        ``seconds_per_step``, ``steps_per_epoch`` (notebook split),
        ``seconds_per_epoch`` (extrapolated), ``params``.
    """
    import numpy as np

    from core import classifier
    from core.progress import report

    x = np.asarray(classifier.dataset_images(sub, progress=progress))
    fit, _, _ = classifier.split(len(x), tuning_fraction=0.0)
    model = classifier.build_seed_model()
    batch = classifier.SEED_RECIPE["batch_size"]
    rng = np.random.default_rng(0)
    y = sub.labels()
    times = []
    for i in range(steps + 1):
        pick = rng.choice(fit, batch, replace=len(fit) < batch)
        xb = classifier.seed_input(x[pick])
        t0 = time.perf_counter()
        model.train_on_batch(xb, y[pick])
        if i:
            times.append(time.perf_counter() - t0)
        report(progress, (i + 1) / (steps + 1), f"seed model step {i + 1}/{steps + 1}")
    per_step = float(np.median(times))
    steps_per_epoch = int(np.ceil(len(fit) / batch))
    return {"seconds_per_step": per_step, "steps_per_epoch": steps_per_epoch,
            "seconds_per_epoch": per_step * steps_per_epoch,
            "params": classifier.parameter_counts(model)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "fashion-small"),
                        help="dataset folder (default: ../shared/data/fashion-small)")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--seeds", default="42,43,44", help="comma-separated training seeds")
    parser.add_argument("--epochs", type=int, default=None, help="override the default's epochs")
    parser.add_argument("--seed-steps", type=int, default=5, help="timed steps of the notebook's model")
    parser.add_argument("--full", action="store_true", help="also train on the whole dataset")
    parser.add_argument("--cache", default=None, help="cache folder (default: a fresh temporary one)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    tmp = None
    if args.cache is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-classifier-")
        args.cache = tmp.name
    os.environ["FASHION_CACHE_DIR"] = str(Path(args.cache).resolve())

    import numpy as np
    from PIL import Image

    from core import classifier, dataset, subsample, uploads

    ds = dataset.open_dataset(args.data)
    sub = subsample.Subsample(ds, fraction=args.fraction)
    threads = os.cpu_count()
    _line(f"dataset {ds.root.name}: {len(sub.ids):,} rows in the {args.fraction:.0%} subsample; "
          f"{threads} CPUs visible; load average {os.getloadavg()[0]:.1f}")
    results = {"fraction": args.fraction, "n_rows": int(len(sub.ids)), "cpus": threads,
               "load_average": os.getloadavg()[0], "runs": []}

    t0 = time.perf_counter()
    classifier.dataset_images(sub)
    results["decode_seconds"] = time.perf_counter() - t0
    _line(f"photos decoded in {results['decode_seconds']:.1f} s")

    base = classifier.baseline(sub)
    results["baseline"] = {"val_accuracy": base["val_accuracy"], "seconds": base["seconds"]}
    _line(f"PCA + RBF SVC: {base['val_accuracy']:.2%} in {base['seconds']:.1f} s (fit)")

    for seed in [int(s) for s in args.seeds.split(",") if s]:
        cached = classifier.is_trained(sub, "default", epochs=args.epochs, seed=seed)
        r = classifier.train(sub, "default", epochs=args.epochs, seed=seed)
        if cached:
            results["from_cache"] = True
            _line(f"(seed {seed}: read from --cache: its figures were measured in an earlier run)")
        run = {"seed": seed, "val_accuracy": r["val_accuracy"], "seconds": r["seconds"],
               "cpu_seconds": r.get("cpu_seconds"), "cnn_val_accuracy": r.get("cnn_val_accuracy"),
               "svc_weight": r.get("svc_weight"),
               "epochs": len(r["history"]), "best_epoch": r["best_epoch"],
               "macro_f1": r["evaluation"]["macro_f1"], "params": r["params"]}
        results["runs"].append(run)
        cpu = (f", {run['cpu_seconds']:.0f} CPU-s = {run['cpu_seconds'] / threads:.0f} s on "
               f"{threads} idle cores" if run["cpu_seconds"] else "")
        _line(f"default CNN seed {seed}: {r['val_accuracy']:.2%} (CNN alone "
              f"{run['cnn_val_accuracy']:.2%}, SVC weight {run['svc_weight']}) in {r['seconds']:.0f} s{cpu} "
              f"({run['epochs']} epochs, best {run['best_epoch']}; {r['params']['total']:,} parameters)")
        ideal = run["cpu_seconds"] / threads if run["cpu_seconds"] else None
        _line(f"  target >= 97%: {'met' if r['val_accuracy'] >= 0.97 else 'NOT met'}; "
              f"<= 300 s: {'met' if r['seconds'] <= 300 else 'NOT met'} on the wall clock"
              + (f", {'met' if ideal <= 300 else 'NOT met'} by CPU time ({ideal:.0f} s)" if ideal else ""))
    if results["runs"]:
        accs = np.array([r["val_accuracy"] for r in results["runs"]])
        secs = np.array([r["seconds"] for r in results["runs"]])
        _line(f"default model over {len(accs)} seeds: accuracy {accs.mean():.2%} "
              f"(min {accs.min():.2%}, max {accs.max():.2%}), training {secs.mean():.0f} s mean")
        # Each design measured in this run, so a shortfall says which part earns what.
        cnn = np.array([r["cnn_val_accuracy"] for r in results["runs"]], dtype=float)
        results["designs"] = {
            "PCA(100) + RBF SVC on the notebook's 100x100 grayscale": base["val_accuracy"],
            "CNN 80x60 colour, flip TTA": float(np.nanmean(cnn)),
            "CNN + PCA/SVC partner, weight chosen on the tuning slice (default)": float(accs.mean()),
        }
        _line("designs, mean validation accuracy over the seeds:")
        for name, acc in results["designs"].items():
            _line(f"  {acc:7.2%}  {name}")

    steps = seed_step_seconds(sub, steps=args.seed_steps)
    seed_epochs10 = steps["seconds_per_epoch"] * NOTEBOOK_EPOCHS
    results["seed_model"] = {**steps, "ten_epochs_estimate_s": seed_epochs10}
    _line(f"notebook's model: {steps['seconds_per_step']:.2f} s per step of 32, "
          f"{steps['steps_per_epoch']} steps per epoch -> {seed_epochs10:.0f} s for 10 epochs here "
          f"(the notebook reported {NOTEBOOK_SECONDS:.0f} s); {steps['params']['total']:,} parameters, "
          f"{steps['params']['biases']} biases")
    if results["runs"]:
        mean_s = float(np.mean([r["seconds"] for r in results["runs"]]))
        results["speedup_vs_seed"] = seed_epochs10 / mean_s
        if results.get("from_cache"):
            _line("(the ratio below mixes this run's timing of the notebook's model with cached "
                  "training times from another run and load; run without --cache for a fair one)")
        _line(f"speed: the default CNN's whole training takes 1/{seed_epochs10 / mean_s:.0f} of the "
              f"notebook model's 10 epochs measured in this run; accuracy "
              f"{np.mean([r['val_accuracy'] for r in results['runs']]):.1%} against {NOTEBOOK_ACCURACY:.1%}")

    # A single upload in a warm process, end to end (decode, checks, model, neighbours, PCA map).
    seed0 = results["runs"][0]["seed"] if results["runs"] else 42
    predictor = classifier.load(sub, "default", epochs=args.epochs, seed=seed0)
    buf = io.BytesIO()
    Image.open(ds.image_path(int(sub.ids[0]))).save(buf, "JPEG")
    payload = buf.getvalue()
    x = uploads.model_input(payload, "probe.jpg")
    classifier.classify_arrays(predictor, x[None], map_sub=sub)  # warm up the graph and the PCA
    times = []
    for _ in range(20):
        t = time.perf_counter()
        classifier.classify_arrays(predictor, uploads.model_input(payload, "probe.jpg")[None],
                                   map_sub=sub)
        times.append(time.perf_counter() - t)
    results["single_image_ms"] = 1000 * float(np.median(times))
    _line(f"single image, warm: {results['single_image_ms']:.0f} ms median of 20 "
          f"(target < 100 ms: {'met' if results['single_image_ms'] < 100 else 'NOT met'})")

    if args.full:
        full = subsample.Subsample(ds, fraction=1.0)
        r = classifier.train(full, "default", seed=seed0)
        results["full"] = {"val_accuracy": r["val_accuracy"], "seconds": r["seconds"],
                           "n_rows": r["n_samples"], "epochs": len(r["history"])}
        _line(f"whole dataset ({r['n_samples']:,} rows): {r['val_accuracy']:.2%} in {r['seconds']:.0f} s "
              f"(target >= 98.5% within 1800 s: "
              f"{'met' if r['val_accuracy'] >= 0.985 and r['seconds'] <= 1800 else 'NOT met'})")

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
