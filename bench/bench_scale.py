"""The scale route (core.scale) at 42k real and 100k / 200k synthetic images, 1 and 2 workers.

Prints per-step wall time, the peak memory of the scheduler, each worker and
this (app) process, the bytes of the feature store, the scaling from the
smallest to the largest synthetic size, and a projection for 1M and 10M
products on N workers from the measured per-row costs. With ``--compare`` it
also runs the in-memory route at 42k (exact PCA; t-SNE and UMAP fitted on every row) and
prints the agreement.

Usage::

    nice -n 10 python bench/bench_scale.py                       # everything (hours on 2 cores)
    python bench/bench_scale.py --sizes 20000 --workers 1 --maps pca,lle   # a quick look

Sizes: ``real`` is the shared dataset (``../shared/data/fashion-small``);
numbers are synthetic catalogues written by ``core.demo.write_catalogue``
under the cache (kept between runs).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core import config, demo  # noqa: E402
from core.dataset import open_dataset  # noqa: E402
from core.scale import cluster, pipeline, store  # noqa: E402
from core.subsample import Subsample  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "fashion-small"
GB = 2**30


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class Peaks:
    """Samples the RSS of the scheduler and every worker twice a second; keeps the peaks."""

    def __init__(self, client):
        self.client, self.peaks, self.stop = client, {}, threading.Event()
        #: the step running when each process reached its peak
        self.step, self.at = "start", {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                seen = {"scheduler": self.client.run_on_scheduler(_rss), "app": _rss()}
                for addr, rss in self.client.run(_rss).items():
                    seen[f"worker {addr.rsplit(':', 1)[-1]}"] = rss
                for k, v in seen.items():
                    if v > self.peaks.get(k, 0):
                        self.peaks[k], self.at[k] = v, self.step
            except Exception:
                pass
            self.stop.wait(0.5)

    def close(self) -> dict:
        self.stop.set()
        self.thread.join(2)
        return self.peaks


def dataset_for(size: str):
    if size == "real":
        return open_dataset(SHARED)
    n = int(size)
    folder = config.cache_dir() / "data" / f"synthetic-{n}"
    t0 = time.perf_counter()
    demo.write_catalogue(folder, n)
    print(f"  catalogue of {n:,}: {time.perf_counter() - t0:.0f} s", flush=True)
    return open_dataset(folder)


def run(size: str, workers: int, methods, map_sample: int) -> dict:
    from distributed import Client, LocalCluster
    import logging

    ds = dataset_for(size)
    sub = Subsample(ds, fraction=1.0)
    layout = cluster.local_layout(workers)
    lc = LocalCluster(processes=True, dashboard_address=":0", silence_logs=logging.ERROR, **layout)
    client = Client(lc)
    peaks = Peaks(client)
    try:
        # a fresh store per run, so each run decodes and fits from scratch
        import shutil

        where = config.cache_dir() / "scale-bench" / f"{size}-w{workers}"
        shutil.rmtree(where, ignore_errors=True)
        os.environ[store.STORE_ENV] = str(where)
        last = [None]

        def progress(f, m):
            peaks.step = m.split(":")[0]
            if m != last[0]:
                last[0] = m
                if m.endswith("tasks") is False or "0/" in m:
                    print(f"    {f:5.1%} {m}", flush=True)

        out = pipeline.warm(sub, client=client, route="local", methods=methods,
                            map_sample=map_sample, progress=progress)
    finally:
        mem = peaks.close()
        client.close()
        lc.close()
    # the LocalCluster's scheduler runs in this process: "app" includes it; the sampled
    # peak says during which step, the kernel's high-water mark catches what sampling missed
    mem["app"] = max(mem.get("app", 0), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    out["peak_memory"], out["peak_step"] = mem, dict(peaks.at)
    out["size"], out["workers"] = size, workers
    return out


def compare_exact(sub_real, scale_out):
    """The in-memory route on the same 42k images: PCA spectrum, and t-SNE / UMAP fitted whole."""
    import numpy as np

    from core import manifold
    from core import pca as core_pca

    t0 = time.perf_counter()
    spec = core_pca.spectrum(sub_real)
    ratio = np.asarray(spec["explained_variance_ratio"][:50])
    diff = 100 * float(np.abs(ratio - np.asarray(scale_out["explained_variance_ratio"][:50])).max())
    n_exact, n_scale = spec["n_components_95"], scale_out["n_components_95"]
    print(f"  exact core.pca at {len(sub_real.ids):,} ({time.perf_counter() - t0:.0f} s): "
          f"n95 {n_exact}, scale route {n_scale} (range {scale_out['n_components_95_range']}), "
          f"{100 * abs(n_scale - n_exact) / n_exact:.2f}% apart; explained variance of the first 50 "
          f"components at most {diff:.4f} points apart", flush=True)
    scale_out["compare"] = {"n95_exact": n_exact, "max_ratio_diff_points_50": diff}
    for m in ("tsne", "umap"):
        if m not in scale_out.get("embeddings", {}):
            continue
        t0 = time.perf_counter()
        q = manifold.quality(sub_real, m)
        whole = q["trustworthiness"]
        sampled = scale_out["embeddings"][m]["trustworthiness"]
        print(f"  {m} fitted on all {len(sub_real.ids):,} in memory ({time.perf_counter() - t0:.0f} s): "
              f"trustworthiness {whole:.4f}; fitted on a sample and transformed: {sampled:.4f} "
              f"({sampled - whole:+.4f})", flush=True)
        scale_out["compare"][m] = {"whole_fit": whole, "sample_transform": sampled}


def project(results: list, workers_list=(1, 8, 64)) -> None:
    """Time at 1M and 10M from the per-row cost of the largest run, per worker."""
    big = max((r for r in results if r["size"] != "real"), key=lambda r: (int(r["size"]), r["workers"]),
              default=None)
    if big is None:
        return
    n, w = big["readable"], big["workers"]
    print(f"\nprojection from {n:,} rows on {w} worker(s) (per-row cost x rows / workers;"
          f" the fitted samples of t-SNE/UMAP are fixed costs):")
    per_row = {k: v * w / n for k, v in big["steps"].items()}
    for N in (1_000_000, 10_000_000):
        for W in workers_list:
            t = sum(per_row.values()) * N / W
            print(f"  {N:>10,} products, {W:>3} workers: ~{t / 3600:6.1f} h "
                  f"(store ~{big['store_bytes'] / n * N / 1e9:,.0f} GB)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="real,100000,200000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--maps", default="pca,tsne,umap,lle,mds")
    ap.add_argument("--map-sample", type=int, default=20000)
    ap.add_argument("--compare", action="store_true", help="the in-memory route at 42k too: exact PCA, t-SNE and UMAP fitted whole")
    ap.add_argument("--json", help="write every result here")
    args = ap.parse_args(argv)
    results = []
    for size in args.sizes.split(","):
        for w in [int(x) for x in args.workers.split(",")]:
            print(f"\n== {size} images, {w} worker(s) ==", flush=True)
            out = run(size, w, tuple(args.maps.split(",")), args.map_sample)
            results.append(out)
            print(f"  total {out['seconds']:.0f} s; steps: " +
                  ", ".join(f"{k} {v:.0f} s" for k, v in out["steps"].items()))
            print("  peak memory: " + ", ".join(
                f"{k} {v / GB:.2f} GB ({out['peak_step'].get(k, 'between samples')})"
                for k, v in sorted(out["peak_memory"].items())))
            print(f"  store {out['store_bytes'] / 1e9:.2f} GB; n95 {out['n_components_95']} "
                  f"(range {out['n_components_95_range']}); k-means {out['kmeans']}")
            for m, e in out.get("embeddings", {}).items():
                print(f"  {m}: trustworthiness {e['trustworthiness']}, fitted on {e['n_fitted']:,}"
                      f"{' (sample only)' if e['sample_only'] else ''}")
            if size == "real" and args.compare and not any("compare" in r for r in results):
                compare_exact(Subsample(open_dataset(SHARED), fraction=1.0), out)
    synth = sorted((r for r in results if r["size"] != "real"), key=lambda r: int(r["size"]))
    for w in {r["workers"] for r in synth}:
        runs = [r for r in synth if r["workers"] == w]
        if len(runs) >= 2:
            a, b = runs[0], runs[-1]
            print(f"\nscaling {int(a['size']):,} -> {int(b['size']):,} on {w} worker(s): "
                  f"x{b['seconds'] / a['seconds']:.2f} time for x{int(b['size']) / int(a['size']):.2f} rows")
    project(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
