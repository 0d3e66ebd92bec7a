"""Command line: ``python -m core {info,catalogue,download,cache,warm,train,classify,demo}``.

Every command prints its result on stdout (``--json`` for machines), progress
on stderr, and an error as one clear line on stderr with a non-zero exit code,
never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import config, uploads
from .progress import report


class CommandError(Exception):
    """An error to print as one line, with the exit code to use."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _progress_printer(quiet: bool = False):
    """A progress callback that prints one line per new message on stderr."""
    state = {"last": None, "t0": time.perf_counter()}

    def progress(fraction: float, message: str) -> None:
        if quiet or message == state["last"]:
            return
        state["last"] = message
        print(f"[{time.perf_counter() - state['t0']:6.1f}s] {message}", file=sys.stderr, flush=True)

    return progress


def _emit(result: dict, as_json: bool, human) -> None:
    if as_json:
        print(json.dumps(result, indent=None if as_json == "line" else 2, default=_json_default))
    else:
        human(result)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


#: The description flags and the fields of :class:`core.catalogue.Catalogue` they set.
_DESCRIPTION_FLAGS = (
    ("--table", "table", "the table file (CSV, TSV or Parquet), relative to DIR"),
    ("--id-column", "id_column", "column with each row's unique id"),
    ("--image-column", "image_column", "column with each image's path, relative to the table"),
    ("--image-pattern", "image_pattern",
     "image path relative to the table, with {column} fields, e.g. 'images/{id}.jpg'"),
    ("--name-column", "name_column", "column that names each item"),
    ("--label-columns", "label_columns",
     "comma-separated label columns, the primary one (map colours, the classifier) first"),
)


def _description(args) -> dict:
    """The description fields given as flags (empty when none)."""
    return {field: getattr(args, field) for _, field, _ in _DESCRIPTION_FLAGS
            if getattr(args, field, None)}


def _dataset(args, progress=None):
    from .dataset import resolve_dataset

    return resolve_dataset(getattr(args, "data", None), progress=progress,
                           description=_description(args))


def _subsample(args, progress=None):
    from .subsample import Subsample

    return Subsample(_dataset(args, progress), fraction=args.fraction)


# ----------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------
def cmd_info(args) -> int:
    from .summary import dataset_info

    progress = _progress_printer(args.json)
    info = dataset_info(_dataset(args, progress), progress=progress)
    if args.command == "catalogue":  # ``catalogue check``: the description's view of the same figures
        _emit(_check_result(str(args.data), info), args.json, _print_check)
    else:
        _emit(info, args.json, _print_info)
    return 0


def _print_info(info: dict) -> None:
    def some(items, n=8) -> str:
        items = list(items)
        more = f", ... ({len(items) - n} more)" if len(items) > n else ""
        return ", ".join(str(i) for i in items[:n]) + more

    def lines(rows) -> str:
        return some(f"line {r['line']} (id {r['id'] if r['id'] != '' else 'empty'})" for r in rows)

    src, st, im, cl = info["source"], info["styles"], info["images"], info["cleaning"]
    print(f"source: {src['description']}" + ("  [SYNTHETIC DEMO DATA]" if src["is_demo"] else ""))
    print(f"rows read: {info['rows']:,} ({info['rows_kept']:,} kept)")
    for note in st["notes"]:
        print(f"  file: {note}")
    if st["recovered"]:
        print(f"  recovered {st['recovered']:,} row(s) with unquoted commas in the name: "
              + some(f"line {ln} (id {i})" for ln, i in zip(st["recovered_lines"], st["recovered_ids"])))
    for reason, rows in st["repaired_lines"].items():
        print(f"  repaired ({reason}): {len(rows):,}: {lines(rows)}")
    for reason, rows in st["dropped_lines"].items():
        print(f"  dropped ({reason}): {len(rows):,}: {lines(rows)}")
    for reason, rows in st["flagged_lines"].items():
        print(f"  flagged ({reason}, left out by cleaning): {len(rows):,}: {lines(rows)}")
    print(f"images: {im['files_found']:,} files, {im['readable']:,} readable, "
          f"{im['missing']:,} rows without an image, {im['unreadable']:,} unreadable")
    for name, why in list(im["unreadable_files"].items())[:20]:
        print(f"  unreadable: {name}: {why}")
    if im["unreadable"] > 20:
        print(f"  ... {im['unreadable'] - 20} more unreadable")
    for kind, ids in im["converted_ids"].items():
        print(f"  converted ({kind}): {len(ids):,}: ids {some(ids)}")
    if im["files_without_row"]:
        print(f"  {im['files_without_row']:,} image file(s) without a row in styles.csv (ignored)")
    nulls = {k: v for k, v in cl["nulls_before"].items() if v}
    print(f"cleaning: {cl['dropped_null']:,} row(s) with a null dropped"
          + (f" ({', '.join(f'{k} {v:,}' for k, v in nulls.items())})" if nulls else "")
          + (f", {cl['dropped_unknown_category']:,} of an unknown primary label"
             if cl["dropped_unknown_category"] else "")
          + f"; {info['clean_rows']:,} clean rows, {info['clean_rows_with_image']:,} with an image")
    print("classes (clean rows with an image):")
    for name, n in info["classes"]["clean_rows_with_image"].items():
        print(f"  {name}: {n:,}")


def _check_result(folder: str, info: dict) -> dict:
    """What ``catalogue check`` reports, from :func:`core.summary.dataset_info`."""
    im = info["images"]
    return {
        "folder": folder, **info["catalogue"], "rows": info["rows"], "clean_rows": info["clean_rows"],
        "images": {"found": im["files_found"], "readable": im["readable"], "missing": im["missing"],
                   "unreadable": im["unreadable"], "unreadable_files": im["unreadable_files"],
                   "without_row": im["files_without_row"]},
        "label_cardinality": info["labels"],
        "classes": info["classes"]["clean_rows_with_image"],
        "usable_rows": info["clean_rows_with_image"],
    }


def _print_check(r: dict) -> None:
    im = r["images"]
    print(f"catalogue: {r['folder']} ({r['layout']} layout, described by {r['described_by']})")
    print(f"table: {r['table'] or '(none: one row per image file)'}, {r['rows']:,} rows, "
          f"{r['clean_rows']:,} kept by cleaning")
    if r["image_pattern"]:
        print(f"images: pattern {r['image_pattern']}")
    print("columns:")
    for col in r["columns"]:
        role = r["roles"].get(col)
        card = r["label_cardinality"].get(col)
        print(f"  {col}" + (f": {role}" if role else "")
              + (f" ({card:,} values)" if card is not None else ""))
    print(f"images: {im['found']:,} files found, {im['readable']:,} readable, {im['missing']:,} "
          f"rows without an image, {im['unreadable']:,} unreadable")
    for name, why in list(im["unreadable_files"].items())[:20]:
        print(f"  unreadable: {name}: {why}")
    if im["without_row"]:
        print(f"  {im['without_row']:,} image file(s) without a row (ignored)")
    print(f"{r['primary']} (primary label, in label order):")
    for name, n in r["classes"].items():
        print(f"  {name}: {n:,}")
    print(f"usable: {r['usable_rows']:,} rows")


def cmd_download(args) -> int:
    from .dataset import download

    path = download(progress=_progress_printer())
    print(path)
    return 0


def cmd_cache(args) -> int:
    from .cache import cache_info, clear_cache

    if args.clear:
        freed = clear_cache()
        result = {"cleared": True, "freed_bytes": freed, **cache_info()}
    else:
        result = cache_info()

    def human(r):
        if r.get("cleared"):
            print(f"cleared: freed {r['freed_bytes'] / 1e6:.1f} MB")
        print(f"directory: {r['directory']}")
        print(f"size: {r['size_bytes'] / 1e6:.1f} MB in {r['entries']} entries")
        for kind, n in r["by_kind"].items():
            print(f"  {kind}: {n}")

    _emit(result, args.json, human)
    return 0


def cmd_compile(args) -> int:
    from .manifold import compile_kernels

    import numba

    seconds = compile_kernels(progress=_progress_printer())
    result = {"seconds": seconds, "cache": str(numba.config.CACHE_DIR)}  # where they went

    def human(r):
        print(f"compiled kernels in {r['cache']}: "
              + ", ".join(f"{name} {t:.1f} s" for name, t in r["seconds"].items()))

    _emit(result, args.json, human)
    return 0


def cmd_warm(args) -> int:
    from .scale.pipeline import warm

    progress = _progress_printer()
    sub = _subsample(args, progress)
    # The engine follows the catalogue's size (core.scale.cluster.choose_route):
    # in this process, or on a Dask cluster whose dashboard is printed first.
    result = warm(sub, random_state=args.random_state, progress=progress)
    _emit(result, args.json, _print_warm if result.get("route") == "memory" else _print_warm_scale)
    return 0


def _print_warm(r: dict) -> None:
    d = r.get("dataset", {})
    print(f"data: {d.get('source')}, {d.get('rows')} products (fraction {d.get('fraction')})")
    print(f"PCA: {r['n_components_95']} components for 95% of the variance; "
          f"the 2-D projection keeps {r['variance_2d']:.2f}%")
    print("embeddings:       seconds  trustworthiness  k-NN accuracy  silhouette")
    for method, e in r.get("embeddings", {}).items():
        print(f"  {method:<14} {e['seconds']:8.1f}  {e['trustworthiness']:15.3f}  "
              f"{e['knn_accuracy']:13.3f}  {e['silhouette']:10.3f}")
    print(f"k-means: elbow k = {r['elbow_k']} ({r.get('elbow_rule')}), "
          f"best silhouette k = {r['silhouette_k']}")
    print(f"Gaussian mixture: BIC picks {r['bic_k']} components (AIC {r.get('aic_k')})")
    for route, g in r.get("generated", {}).items():
        print(f"  generated ({route} route, {g['n_components']} components in {g['dims']} dims): "
              f"{g['mean_distance']:.1f} to the nearest real image")
    print(f"done in {r['seconds']:.1f} s")


def _print_warm_scale(r: dict) -> None:
    """The result of :func:`core.scale.pipeline.warm` on a Dask cluster."""
    print(f"route: Dask ({r['route']}), {r['cluster']}")
    print(f"data: {r['rows']:,} products, {r['readable']:,} with a readable image; "
          f"feature store {r['store_bytes'] / 1e6:.1f} MB")
    low, high = r["n_components_95_range"]
    print(f"PCA ({r['pca_route']}): {r['n_components_95']} components for 95% of the variance "
          f"(between {low} and {high}); the 2-D projection keeps {r['variance_2d']:.2f}%")
    print("maps:             seconds  trustworthiness  fitted on")
    for method, e in r.get("embeddings", {}).items():
        fitted = f"{e['n_fitted']:,}" + (" (sample only)" if e["sample_only"] else
                                         f" of {e['n_rows']:,}")
        print(f"  {method:<14} {e['seconds']:8.1f}  {e['trustworthiness']:15.3f}  {fitted}")
    km = r["kmeans"]
    print(f"k-means: elbow k = {r['elbow_k']}, ARI {km['ari']:.3f}, NMI {km['nmi']:.3f} "
          f"against the primary label ({km['route']})")
    gm = r["mixture"]
    print(f"Gaussian mixture: {gm['n_components']} components, mean log-likelihood "
          f"{gm['mean_log_likelihood']:.3f} ({gm['route']})")
    print("steps: " + ", ".join(f"{step} {sec:.1f} s" for step, sec in r.get("steps", {}).items()))
    print(f"done in {r['seconds']:.1f} s")


def cmd_demo(args) -> int:
    from pathlib import Path

    from .demo import CATALOGUE_MARKER, write_catalogue

    if args.rows < 1:
        raise CommandError(f"--rows must be at least 1, got {args.rows}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file, not a folder: choose a new folder for --out")
    if out.is_dir() and any(out.iterdir()) and not (out / CATALOGUE_MARKER).is_file():
        raise CommandError(f"{out} already holds files that are not a catalogue written by "
                           "`python -m core demo`; choose a new or empty folder for --out")
    t0 = time.perf_counter()
    folder = write_catalogue(out, args.rows, progress=_progress_printer())
    result = {"folder": str(folder), "rows": int(args.rows),
              "images": str(folder / "images"), "table": str(folder / "styles.csv"),
              "seconds": round(time.perf_counter() - t0, 2)}

    def human(r):
        print(f"{r['rows']:,} synthetic products in the Kaggle layout at {r['folder']} "
              f"({r['seconds']:.1f} s)")
        print(f"open it with: python -m core info --data {r['folder']}")

    _emit(result, args.json, human)
    return 0


def cmd_train(args) -> int:
    from .classifier import train_summary

    progress = _progress_printer()
    sub = _subsample(args, progress)
    result = train_summary(sub, model=args.model, epochs=args.epochs, seed=args.random_state,
                           progress=progress)
    _emit(result, args.json, _print_train)
    return 0


def _print_train(r: dict) -> None:
    p = r["params"]
    print(f"model: {r['model']}{' (from the cache)' if r['from_cache'] else ''}")
    print(f"validation accuracy: {r['val_accuracy']:.2%} on {r['n_val']} images "
          f"(macro F1 {r['macro_f1']:.3f})")
    print(f"training: {r['training_seconds']:.1f} s, {r['epochs']} epochs on "
          f"{r['n_train'] - r['n_tuning_slice']:,} images ({r['n_tuning_slice']:,} more held out "
          "for tuning)")
    print(f"parameters: {p['total']:,} ({p['biases']:,} biases)")
    print("per attribute (validation part):")
    for column, a in r.get("attributes", {}).items():
        other = f", {len(a['other'])} rare values grouped as other" if a["other"] else ""
        majority = f"{a['majority_rate']:.2%}" if a["majority_rate"] is not None else "n/a"
        print(f"  {column:15s} top-1 {a['val_accuracy']:.2%}  top-5 {a['top5_accuracy']:.2%}  "
              f"majority class {majority}  ({a['n_classes']} classes{other})")
    if r.get("label_issues"):
        print(f"catalogue check over {r['n_checked']:,} held-out products: labels the model "
              "contradicts: " + ", ".join(f"{c} {n}" for c, n in r["label_issues"].items()))
    print("primary attribute per class:")
    for name, c in r["per_class"].items():
        note = f"  ({c['note']})" if c.get("note") else ""
        print(f"  {name:15s} precision {c['precision']:.2f}  recall {c['recall']:.2f}  "
              f"F1 {c['f1']:.2f}  support {c['support']}{note}")


def cmd_classify(args) -> int:
    progress = _progress_printer()
    sub = _subsample(args, progress)
    results = _classify_files(sub, args.images, progress=progress)
    for r in results:
        if args.json:
            print(json.dumps(r, default=_json_default))
        elif "error" in r:
            print(f"{r['path']}: error: {r['error']}")
        else:
            top = ", ".join(f"{label} {p:.1%}" for label, p in r["top"])
            tags = "; ".join(f"{column} {t['label']} {t['confidence']:.0%}"
                             for column, t in list(r.get("tags", {}).items())[1:])
            print(f"{r['path']}: {r['label']} ({top})" + (f" [{tags}]" if tags else ""))
    return 2 if any("error" in r for r in results) else 0


def _read_file(path: str) -> tuple[bytes | None, str | None]:
    """A file's bytes, or None and the gate's one-sentence refusal (:func:`core.uploads.read_file`)."""
    try:
        return uploads.read_file(path, name=path), None
    except uploads.UploadError as exc:
        return None, str(exc)


def _classify_files(sub, paths, model: str = "default", progress=None) -> list[dict]:
    """Classify image files for ``classify``, in the order given.

    A file the CLI cannot read is reported here; one it reads goes through
    :func:`core.classifier.classify_images`, the page's route.

    Returns
    -------
    list of dict
        ``{"path", "label", "confidence", "top", "tags"}``: ``label`` is the
        primary attribute's (masterCategory), ``tags`` maps every attribute to
        its ``{label, confidence, top}``; plus ``warning`` when the image does
        not look like a catalogue product. Or ``{"path", "error"}``.
    """
    paths = [str(p) for p in paths]
    out = []
    # As many files at a time as one upload may hold, so memory stays bounded
    # however many paths are given.
    for start in range(0, len(paths), uploads.MAX_FILES):
        out.extend(_classify_batch(sub, paths[start:start + uploads.MAX_FILES], model, progress))
    return out


def _classify_batch(sub, paths: list[str], model: str, progress) -> list[dict]:
    from .classifier import classify_images, is_trained

    loaded = [(p, *_read_file(p)) for p in paths]
    if any(data is not None for _, data, _ in loaded) and not is_trained(sub, model):
        report(progress, 0.0, f"no trained {model} model is cached for this dataset and fraction: "
                              "training one first")
    answers = iter(classify_images(sub, [(p, data) for p, data, _ in loaded if data is not None],
                                   model=model, progress=progress, allow_training=True))
    out = []
    for p, data, err in loaded:
        if err is not None:
            out.append({"path": p, "error": err})
            continue
        r = next(answers)
        row = {"path": p}
        if "error" in r:
            row["error"] = r["error"]
        else:
            row.update(label=r["label"], confidence=r["confidence"], top=r["top"], tags=r["tags"])
            if "warning" in r:
                row["warning"] = r["warning"]
        out.append(row)
    return out


# ----------------------------------------------------------------------------
# Parser
# ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Explore the Fashion Product Images (Small) catalogue from the command line.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def description_args(p):
        g = p.add_argument_group("catalogue description (wins over catalogue.toml and the "
                                 "FASHION_* variables)")
        for flag, field, text in _DESCRIPTION_FLAGS:
            g.add_argument(flag, dest=field, metavar="COLUMN" if "column" in field else "TEXT",
                           help=text)

    def data_args(p, fraction=False):
        p.add_argument("--data", metavar="DIR",
                       help=f"catalogue folder or table file (default: ${config.DATA_ENV}, "
                            "then a downloaded copy, then the generated demo set)")
        description_args(p)
        if fraction:
            p.add_argument("--fraction", type=float, default=config.DEFAULT_FRACTION,
                           help="share of the cleaned rows to use, in (0, 1] (default: %(default)s)")
            p.add_argument("--random-state", type=int, default=config.DEFAULT_RANDOM_STATE,
                           help="seed of the algorithms (default: %(default)s)")

    def command(name, func, help, description, data=False, fraction=False, json_help="print JSON"):
        """Add a subcommand: ``--data`` when it reads the dataset, the subsample's options with
        ``fraction``, ``--json`` unless ``json_help`` is None."""
        p = sub.add_parser(name, help=help, description=description)
        if data or fraction:
            data_args(p, fraction=fraction)
        if json_help:
            p.add_argument("--json", action="store_true", help=json_help)
        p.set_defaults(func=func)
        return p

    command("info", cmd_info, "rows, images and what cleaning found",
            "Report rows read, recovered and dropped, images found and unreadable, and class counts.",
            data=True)
    p = sub.add_parser("catalogue", help="check a catalogue's description",
                       description="Work with a catalogue's description.")
    verbs = p.add_subparsers(dest="catalogue_command", metavar="VERB", required=True)
    p = verbs.add_parser("check", help="print what was recognised in a catalogue folder",
                         description="Print the columns and their roles, rows, images found, "
                                     "missing and unreadable, and label cardinalities. A "
                                     "description that does not fit exits 1 with what to fix.")
    p.add_argument("data", metavar="DIR", help="catalogue folder or table file")
    description_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)
    command("download", cmd_download, "fetch the real dataset from Kaggle (needs the network)",
            "Download paramaggarwal/fashion-product-images-small with kagglehub into the cache, "
            "where the app then finds it.", json_help=None)
    p = command("cache", cmd_cache, "size of the cache, or clear it",
                "Report the cache's folder, size and entries by kind.")
    p.add_argument("--clear", action="store_true", help="delete every cached result")
    command("compile", cmd_compile, "compile the maps' numba kernels once per install",
            "Compile the MDS and UMAP kernels into numba's disk cache ($NUMBA_CACHE_DIR, "
            "default <cache>/numba), so that no later process pays for compiling them "
            "(about 27 s on 2 cores). 'cache --clear' keeps them.")
    command("warm", cmd_warm, "compute and cache everything the dashboard shows",
            "Compute PCA, embeddings, clustering and mixtures for the settings and print the "
            "headline figures. Large catalogues (FASHION_DASK_MIN_ROWS, default 100,000 rows), "
            "or FASHION_DASK=local / FASHION_DASK_SCHEDULER, run on a Dask cluster: its "
            "dashboard link and each step's progress are printed on stderr.", fraction=True)
    p = command("train", cmd_train, "train the tagger (every label attribute from the photo)",
                "Train (or load from the cache) a classifier on the notebook's 80/20 split and "
                "print its validation accuracy per attribute, with the majority-class rate beside "
                "it, and what the catalogue check found.", fraction=True)
    p.add_argument("--model", choices=("default", "seed"), default="default",
                   help="'default': the model designed for this data; 'seed': the notebook's")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the model's own)")
    p = command("classify", cmd_classify, "tag image files (masterCategory first)",
                "Print the top-3 masterCategory of each image and its other tags, one line each. "
                "Exit 0 when all were classified, 2 when any was rejected.", fraction=True,
                json_help="print one JSON object per line")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p = command("demo", cmd_demo, "write a synthetic catalogue of any size",
                "Write N generated products (the demo set's drawings) in the Kaggle layout: "
                "styles.csv and images/<id>.jpg, for trying the app and the Dask route at scale. "
                "A catalogue of the same size already in DIR is kept; one of another size "
                "written by this command is replaced; any other non-empty folder is refused.")
    p.add_argument("--rows", type=int, required=True, metavar="N", help="products to write (>= 1)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (created)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "json", False) and args.command == "classify":
        args.json = "line"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except (ValueError, OSError, RuntimeError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the CLI's contract: one line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
