"""The notebook's analysis steps, both ways, on the same subsample, in one run.

    python bench/bench_analysis.py [--data DIR] [--fraction F] [--skip-notebook] [--skip-warm]
    python bench/bench_analysis.py --full [--data DIR]

Steps, as the notebook ran them with scikit-learn (1.3 defaults, passed
explicitly where scikit-learn 1.9 changed them), against the project's
``core`` functions:

=================  =========================================  ==================================
step               notebook (scikit-learn)                    project (core)
=================  =========================================  ==================================
PCA 95% count      ``PCA().fit(X)``, cumulative ratio          ``pca.spectrum`` (Gram matrix,
                                                               subspace iteration)
reconstruction     ``PCA(n95)`` fit, transform, inverse        ``pca.reconstruct`` of 10 images
PCA 2-D            ``PCA(2).fit_transform(X)``                 ``pca.projection_2d``
t-SNE              ``TSNE(2)`` on X (1,000 iterations)         ``manifold.embed("tsne")``
LLE                ``LocallyLinearEmbedding(2)`` on X          ``manifold.embed("lle")``
MDS                ``MDS(2, n_init=4, max_iter=300)`` on X     ``manifold.embed("mds")``
k-means sweep      ``KMeans(k, init="random", n_init=10)``,    ``clustering.kmeans_sweep``
                   k=1..10 on PCA 2-D, silhouettes k>=2
mixture BIC        ``GaussianMixture(n, "full")`` n=1..10      ``mixture.bic_sweep``
=================  =========================================  ==================================

Both sides start from the same standardized feature matrix (float64 on the
notebook's side, as its ``StandardScaler`` returned it): decoding the
images is timed and printed but counted on neither side. The project side runs
cold, in this process, on an empty temporary cache folder; imports (and so
module loading) are done before the clock starts on both sides, and the
project's numba kernels are compiled before it too, as ``python -m core
compile`` does once per install (the time is printed). UMAP and the quality
figures are reported but not counted.

Then the same scope question for the whole product: ``python -m core warm``
(every figure the dashboard shows, UMAP, quality figures and generated images
included) runs cold in a child process on another empty cache, and its wall
time is printed against the notebook's total, with its steps and the child's
peak memory (``--skip-warm`` leaves it out). Quality is measured the same way for every
embedding (``manifold.evaluate_subsample``): trustworthiness k=10 against the
standardized features, 5-fold k-NN accuracy of masterCategory, silhouette of
the true labels.

The machine's load average is printed: wall times on a busy machine are
noisy; each step's CPU time (all threads) is printed beside its wall time.

``--full`` runs the project side alone on the whole dataset (fraction 1.0;
the notebook's side is infeasible there) and prints the peak resident memory,
then the whole ``warm`` cold at fraction 1.0.

Targets: the counted steps at least 30x faster than the notebook's calls,
every map's trustworthiness no more than 0.005 below the notebook's.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fashion-small"


class Timer:
    """Wall and CPU seconds of a block."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        return False


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def printer(step: str):
    """A progress callback printing each new message of a step on stderr."""
    state = {"last": None, "t0": time.perf_counter()}

    def progress(fraction: float, message: str) -> None:
        if message != state["last"]:
            state["last"] = message
            log(f"  [{time.perf_counter() - state['t0']:6.1f}s] {step}: {message}")

    return progress


# ----------------------------------------------------------------------------
# The notebook's side
# ----------------------------------------------------------------------------
def notebook_side(X, labels, random_state: int, mds_inits: int) -> dict:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.manifold import MDS, TSNE, LocallyLinearEmbedding
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture

    out = {}
    with Timer() as t:
        full = PCA().fit(X)
        n95 = int(np.argmax(np.cumsum(full.explained_variance_ratio_) >= 0.95)) + 1
    out["pca95"] = (t, {"n_components_95": n95})
    del full
    with Timer() as t:
        p = PCA(n_components=n95)
        rec = p.inverse_transform(p.fit_transform(X))
        err = float(np.mean((X - rec) ** 2))
    out["reconstruction"] = (t, {"mean_error": err})
    del rec
    with Timer() as t:
        p2 = PCA(2)
        coords_pca = p2.fit_transform(X)
    out["pca2"] = (t, {"variance_2d": float(p2.explained_variance_ratio_.sum()),
                       "coords": coords_pca})
    with Timer() as t:
        # scikit-learn 1.3's TSNE defaults: 1,000 iterations, PCA init, auto learning rate
        coords = TSNE(n_components=2, random_state=random_state).fit_transform(X)
    out["tsne"] = (t, {"coords": coords})
    with Timer() as t:
        coords = LocallyLinearEmbedding(n_components=2, random_state=random_state).fit_transform(X)
    out["lle"] = (t, {"coords": coords})
    with Timer() as t:
        # scikit-learn 1.3: metric MDS from random starts, eps=1e-3 on a criterion
        # (stress / sum of norms) that in practice never stopped before max_iter.
        # 1.9 normalizes its criterion differently, so a tiny eps keeps the 300
        # iterations the notebook ran.
        model = MDS(n_components=2, n_init=mds_inits, max_iter=300, metric_mds=True,
                    metric="euclidean", init="random", eps=1e-12, normalized_stress=False,
                    random_state=random_state)
        coords = model.fit_transform(X)
    out["mds"] = (t, {"coords": coords, "n_iter": int(getattr(model, "n_iter_", -1))})
    with Timer() as t:
        inertia, sil = [], []
        for k in range(1, 11):
            km = KMeans(n_clusters=k, init="random", n_init=10, random_state=random_state)
            lab = km.fit_predict(coords_pca)
            inertia.append(km.inertia_)
            if k >= 2:
                sil.append(silhouette_score(coords_pca, lab))
    out["kmeans"] = (t, {"silhouette_k": int(np.argmax(sil)) + 2})
    with Timer() as t:
        bic = [GaussianMixture(n, covariance_type="full", random_state=random_state)
               .fit(coords_pca).bic(coords_pca) for n in range(1, 11)]
    out["bic"] = (t, {"bic_k": int(np.argmin(bic)) + 1})
    return out


# ----------------------------------------------------------------------------
# The project's side
# ----------------------------------------------------------------------------
def project_side(sub, random_state: int, with_umap: bool = True) -> dict:
    from core import clustering, manifold, mixture, pca

    out = {}
    with Timer() as t:
        spec = pca.spectrum(sub, progress=printer("pca"))
    out["pca95"] = (t, {"n_components_95": spec["n_components_95"], "route": spec["method"]})
    with Timer() as t:
        rec = pca.reconstruct(sub, range(10), spec["n_components_95"], random_state,
                              progress=printer("reconstruction"))
    out["reconstruction"] = (t, {"mean_error": rec["mean_error"]})
    with Timer() as t:
        coords, var2 = pca.projection_2d(sub, random_state)
    out["pca2"] = (t, {"variance_2d": var2, "coords": coords})
    for method in ("tsne", "lle", "mds"):
        with Timer() as t:
            emb = manifold.embed(sub, method, random_state=random_state, progress=printer(method))
        out[method] = (t, {"coords": emb.coords, "route": emb.route, **(
            {"n_iter": emb.extra["n_iter"]} if "n_iter" in emb.extra else {})})
    with Timer() as t:
        sweep = clustering.kmeans_sweep(sub, "pca2", (1, 10), random_state,
                                       progress=printer("k-means"))
    out["kmeans"] = (t, {"silhouette_k": sweep.get("silhouette_k"), "elbow_k": sweep.get("elbow_k")})
    with Timer() as t:
        bic = mixture.bic_sweep(sub, "pca2", (1, 10), random_state, progress=printer("mixture"))
    out["bic"] = (t, {"bic_k": bic.get("bic_k", bic.get("best_bic"))})
    if with_umap:
        with Timer() as t:
            emb = manifold.embed(sub, "umap", random_state=random_state, progress=printer("umap"))
        out["umap"] = (t, {"coords": emb.coords, "route": emb.route})
    return out


def whole_warm(data: str, fraction: float, random_state: int, numba_dir: str) -> dict:
    """``python -m core warm --json`` in a child process on an empty cache.

    The compiled kernels come from ``numba_dir`` (filled before any clock),
    as after ``python -m core compile``. Returns the wall seconds, the steps
    ``warm`` reported and the child's peak resident memory in GB.
    """
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as folder:
        env = dict(os.environ, FASHION_CACHE_DIR=folder, NUMBA_CACHE_DIR=numba_dir)
        cmd = [sys.executable, "-m", "core", "warm", "--data", str(data), "--fraction", str(fraction),
               "--random-state", str(random_state), "--json"]
        with Timer() as t:
            done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"warm failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    # the largest child so far: this is the only one
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return {"wall": t.wall, "steps": result.get("steps", {}), "seconds": result.get("seconds"),
            "peak_gb": peak}


STEPS = ("pca95", "reconstruction", "pca2", "tsne", "lle", "mds", "kmeans", "bic")
EMBEDDINGS = ("pca2", "tsne", "lle", "mds", "umap")


def _show(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def fmt_s(t) -> str:
    return f"{t.wall:8.2f}s" if t is not None else "       --"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="dataset folder (default: ../shared/data/fashion-small beside the repo)")
    parser.add_argument("--fraction", type=float, default=0.1, help="subsample fraction (default 0.1)")
    parser.add_argument("--random-state", type=int, default=42)
    parser.add_argument("--full", action="store_true",
                        help="fraction 1.0, project side only, with peak memory")
    parser.add_argument("--skip-notebook", action="store_true", help="project side only")
    parser.add_argument("--mds-inits", type=int, default=4,
                        help="n_init of the notebook's MDS (default 4, as the notebook)")
    parser.add_argument("--no-umap", action="store_true", help="skip UMAP")
    parser.add_argument("--skip-warm", action="store_true",
                        help="leave out the whole `warm` run in a child process")
    args = parser.parse_args(argv)
    if args.full:
        args.fraction, args.skip_notebook = 1.0, True

    cache_folder = tempfile.TemporaryDirectory(prefix="bench-analysis-")
    os.environ["FASHION_CACHE_DIR"] = cache_folder.name

    # Imports first: module loading is not part of any step.
    import numpy as np

    import numba  # noqa: F401
    import openTSNE  # noqa: F401
    import sklearn.cluster  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.manifold  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.mixture  # noqa: F401
    from core import clustering, compiled, manifold, mixture  # noqa: F401  (loads pca and spaces too)
    from core.subsample import Subsample
    from core.dataset import open_dataset

    if not args.no_umap:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manifold.import_umap()  # as the project imports it: without TensorFlow

    # Compiled once per install (`python -m core compile`), not per run.
    kernels = manifold.compile_kernels()
    log("numba kernels compiled before the clock: " + ", ".join(f"{k} {v:.1f}s" for k, v in kernels.items()))

    dataset = open_dataset(args.data)
    sub = Subsample(dataset, fraction=args.fraction)
    print(f"data: {Path(args.data).name}, fraction {args.fraction}, cores {compiled.n_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    with Timer() as t_feat:
        X = np.asarray(sub.features())
        labels = sub.labels()
    print(f"features: {X.shape[0]} x {X.shape[1]} standardized, decoded cold in {t_feat.wall:.1f}s "
          "(shared by both sides, counted on neither)")

    if args.skip_notebook:
        del X  # the project side reads its own copy; keep the peak memory its own
    log("project side (cold cache)...")
    with Timer() as t_proj:
        proj = project_side(sub, args.random_state, with_umap=not args.no_umap)
    peak = peak_rss_gb()

    nb = {}
    if not args.skip_notebook:
        log("notebook side (scikit-learn)...")
        # StandardScaler hands the notebook float64; the project works in float32.
        nb = notebook_side(X.astype(np.float64), labels, args.random_state, args.mds_inits)

    log("quality figures...")
    quality = {}
    for side, res in (("project", proj), ("notebook", nb)):
        for step in EMBEDDINGS:
            if step in res:
                quality[side, step] = manifold.evaluate_subsample(sub, res[step][1]["coords"])

    # ------------------------------------------------------------------ table
    print()
    head = f"{'step':<15}{'notebook':>10}{'project':>10}{'ratio':>8}{'proj cpu':>10}   quality / figures"
    print(head)
    print("-" * len(head))
    total_nb = total_proj = 0.0
    for step in STEPS + ("umap",):
        if step not in proj:
            continue
        tp, info_p = proj[step]
        tn, info_n = nb.get(step, (None, {}))
        counted = step != "umap"
        if counted:
            total_proj += tp.wall
            total_nb += tn.wall if tn is not None else 0.0
        ratio = f"{tn.wall / tp.wall:7.1f}x" if tn is not None and tp.wall > 0 else "      --"
        figs = []
        if step in EMBEDDINGS:
            qp = quality["project", step]
            text = f"trust {qp['trustworthiness']:.4f}"
            if ("notebook", step) in quality:
                qn = quality["notebook", step]
                text += f" (nb {qn['trustworthiness']:.4f}, diff {qp['trustworthiness'] - qn['trustworthiness']:+.4f})"
            text += f", knn {qp['knn_accuracy']:.3f}"
            if ("notebook", step) in quality:
                text += f" (nb {quality['notebook', step]['knn_accuracy']:.3f})"
            text += f", silhouette {qp['silhouette']:+.3f}"
            figs.append(text)
        for key in ("n_components_95", "variance_2d", "mean_error", "silhouette_k", "bic_k", "n_iter"):
            vp, vn = info_p.get(key), info_n.get(key)
            if vp is None and vn is None:
                continue
            figs.append(f"{key} {_show(vp)}" + (f" (nb {_show(vn)})" if vn is not None else ""))
        label = step + ("" if counted else " *")
        print(f"{label:<15}{fmt_s(tn)}{fmt_s(tp)}{ratio}{tp.cpu:9.1f}s   {'; '.join(figs)}")
    print("-" * len(head))
    print("* reported, not counted in the total")
    for step in ("pca95", "tsne", "lle", "mds", "umap"):
        if step in proj and "route" in proj[step][1]:
            print(f"  route {step}: {proj[step][1]['route']}")
    print(f"project side: peak resident memory {peak:.2f} GB (whole process), "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    if nb:
        worst = min((quality["project", s]["trustworthiness"] - quality["notebook", s]["trustworthiness"], s)
                    for s in ("pca2", "tsne", "lle", "mds"))
        print(f"worst trustworthiness difference (project - notebook): {worst[0]:+.4f} ({worst[1]}); "
              f"target >= -0.005: {'met' if worst[0] >= -0.005 else 'NOT met'}")
        ratio = total_nb / total_proj
        print(f"TOTAL notebook {total_nb:.1f}s, project {total_proj:.1f}s cold: "
              f"{ratio:.1f}x faster (target 30x: {'met' if ratio >= 30 else 'NOT met'})")
    else:
        print(f"TOTAL project {total_proj:.1f}s cold (counted steps), "
              f"{t_proj.wall:.1f}s with UMAP")
        with Timer() as t_warm:
            project_side(sub, args.random_state, with_umap=not args.no_umap)
        print(f"warm (everything again, from the cache, same process): {t_warm.wall:.2f}s")

    if not args.skip_warm:
        log("the whole `python -m core warm`, cold, in a child process...")
        w = whole_warm(args.data, args.fraction, args.random_state, str(Path(cache_folder.name) / "numba"))
        print()
        print(f"whole `python -m core warm --fraction {args.fraction}` cold (child process, empty cache, "
              f"compiled kernels): {w['wall']:.1f}s wall, peak {w['peak_gb']:.2f} GB")
        for step, sec in w["steps"].items():
            print(f"  {sec:7.1f}s  {step}")
        if nb:
            print(f"the notebook's calls {total_nb:.1f}s against the whole warm {w['wall']:.1f}s: "
                  f"{total_nb / w['wall']:.1f}x (warm also computes UMAP, every map's quality figures, "
                  "the k-means diagrams and regions, the mixture's density and generated images)")
    cache_folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
