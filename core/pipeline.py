"""Warming the cache: compute everything the dashboard shows for one set of settings.

:func:`warm` walks the analysis in the order the pages need it: the dataset
summary, the features and PCA (spectrum, 2-D projection, the reconstructions the
PCA page opens with), the five 2-D embeddings with their quality figures,
k-means (the sweep, then the diagrams, regions and table of the default k) and
the Gaussian mixtures (the BIC sweep, the density of the chosen count, and
generated images for both routes). Every step goes through the disk cache with
the same arguments the pages use, so a page opened afterwards is served from
the cache, and a second :func:`warm` is a series of cache reads that never
loads the feature matrix.

The defaults a page opens with live in the module that computes them
(:data:`core.spaces.DEFAULT_SPACE`, :data:`core.spaces.GRID`,
:func:`core.clustering.default_k`, :data:`core.clustering.DIAGRAM_KS`,
:data:`core.mixture.N_GENERATED`...), and both the pages and this warm-up
read them there, so the warm-up covers what the pages ask for.

Heavy libraries (TensorFlow, UMAP, openTSNE) are imported only inside the
steps that need them, and only on a cache miss.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

from . import clustering, config, manifold, mixture, pca, spaces, summary
from .progress import ProgressFn, report


def _step_progress(progress: Optional[ProgressFn], start: float, stop: float,
                   label: str) -> Optional[ProgressFn]:
    """A sub-step callback that moves the bar but always reports the step's own label.

    The CLI prints one line per new message, so this keeps it to one line per
    step; a step made of several calls each reporting 0..1 never moves the bar
    backwards.
    """
    if progress is None:
        return None
    seen = [start]

    def _inner(fraction: float, _message: str) -> None:
        seen[0] = max(seen[0], start + (stop - start) * min(1.0, max(0.0, fraction)))
        progress(seen[0], label)

    return _inner


def warm(sub, random_state: int = config.DEFAULT_RANDOM_STATE,
         progress: Optional[ProgressFn] = None) -> dict:
    """Compute and cache every result the dashboard shows for ``sub``.

    Parameters
    ----------
    sub : core.subsample.Subsample
    random_state : int, default 42
        Seed of the algorithms, as the pages' setting.
    progress : callable, optional
        Receives the overall fraction and one message per step.

    Returns
    -------
    dict
        Headline figures, all JSON-serializable: ``dataset`` (source, kind,
        rows, fraction, synthetic), ``n_components_95``, ``variance_2d`` (percent
        of the variance the PCA 2-D projection keeps), ``embeddings`` (per
        method: ``seconds`` of the cold embedding, ``trustworthiness``,
        ``knn_accuracy``, ``silhouette``, ``route``), ``elbow_k`` with
        ``elbow_rule``, ``silhouette_k``, ``bic_k``, ``aic_k``, ``kmeans`` (the
        default k with its ARI and NMI), ``generated`` (per route: mixture
        size, dimensions and distances to the nearest real image), ``seconds``
        (this call) and ``steps`` (seconds per step in this call).
    """
    t_start = time.perf_counter()
    result: dict = {}
    steps: dict[str, float] = {}
    state: dict = {}

    def pca_basis(p):
        spec = pca.spectrum(sub, progress=p)
        result["n_components_95"] = int(spec["n_components_95"])
        result["pca_route"] = str(spec.get("method", ""))
        _, variance = pca.projection_2d(sub, random_state, progress=p)
        result["variance_2d"] = round(100.0 * float(variance), 2)
        state["n95"] = result["n_components_95"]

    def reconstructions(p):
        # What pca.reconstruct reads from the cache for the page's opening
        # slider (n95 components); the call itself slices the feature matrix,
        # which is left out so that a warm run never loads it.
        n = min(state["n95"], len(pca.spectrum(sub)["cumulative"]))
        pca.fit(sub, int(n), random_state, progress=p)
        pca.pixel_scale(sub)
        # The 50-component scores behind k-means on "pca50" and the detail
        # card's neighbours (fewer on a set too small to have 50).
        pca.transform(sub, min(spaces.DEFAULT_PCA_DIMS, len(sub.ids) - 1), random_state, progress=p)

    def embedding(method):
        def run(p):
            emb = manifold.embed(sub, method, random_state=random_state, progress=p)
            q = manifold.quality(sub, method, random_state=random_state, progress=p)
            result.setdefault("embeddings", {})[method] = {
                "seconds": round(float(q.get("seconds", emb.seconds)), 2),
                "trustworthiness": round(float(q["trustworthiness"]), 4),
                "knn_accuracy": round(float(q["knn_accuracy"]), 4),
                "silhouette": round(float(q["silhouette"]), 4),
                "route": str(emb.route),
            }
        return run

    def kmeans(p):
        space = spaces.DEFAULT_SPACE
        sweep = clustering.kmeans_sweep(sub, space, clustering.DEFAULT_K_RANGE, random_state,
                                        progress=p)
        result["elbow_k"] = sweep["elbow_k"]
        result["elbow_rule"] = sweep["elbow_rule"]
        result["silhouette_k"] = sweep["silhouette_k"]
        k = clustering.default_k(sweep)
        for kk in sorted(set(clustering.DIAGRAM_KS) | {k}):
            clustering.silhouette_by_cluster(sub, kk, space, random_state)
        clustering.decision_regions(sub, k, space, spaces.GRID, random_state)
        table = clustering.contingency(sub, k, space, random_state)
        result["kmeans"] = {"space": space, "k": k,
                            "ari": round(table["ari"], 4), "nmi": round(table["nmi"], 4)}

    def mixtures(p):
        sweep = mixture.bic_sweep(sub, spaces.DEFAULT_SPACE, mixture.DEFAULT_N_RANGE, random_state,
                                  progress=p)
        result["bic_k"] = sweep["bic_k"]
        result["aic_k"] = sweep["aic_k"]
        mixture.density_grid(sub, sweep["bic_k"], spaces.DEFAULT_SPACE, spaces.GRID, random_state)

    def generated(route):
        def run(p):
            real = mixture.realism(sub, mixture.N_GENERATED, route, None, mixture.DEFAULT_SAMPLE_DIMS,
                                   random_state, progress=p)
            result.setdefault("generated", {})[route] = {
                "n_components": int(real["n_components"]), "dims": int(real["dims"]),
                "mean_distance": round(real["mean_distance"], 2),
                "mean_euclidean": round(real["mean_euclidean"], 2),
            }
        return run

    def dataset(p):
        info = summary.dataset_info(sub.dataset, progress=p)
        frame = sub.frame()
        result["dataset"] = {"source": sub.dataset.describe(), "kind": sub.dataset.kind,
                             "synthetic": bool(sub.dataset.is_demo), "fraction": float(sub.fraction),
                             "rows": int(len(frame)), "readable_images": info.get("readable_images")}

    # (label, relative cost on a cold cache, function)
    plan: list[tuple[str, float, Callable]] = [
        ("dataset summary", 1, dataset),
        ("features, PCA spectrum and 2-D projection", 8, pca_basis),
        ("PCA reconstructions and 50-component scores", 1, reconstructions),
    ]
    costs = {"pca": 1, "tsne": 8, "lle": 3, "mds": 10, "umap": 8}
    for method in manifold.METHODS:
        plan.append((f"embedding: {method}", costs.get(method, 5), embedding(method)))
    plan += [
        ("k-means sweep, diagrams, regions and table", 3, kmeans),
        ("Gaussian mixture sweep and density", 2, mixtures),
    ]
    for route in mixture.ROUTES:
        plan.append((f"generated images: {route} route", 3 if route == "pca" else 1, generated(route)))

    total = sum(cost for _, cost, _ in plan)
    done = 0.0
    for i, (label, cost, func) in enumerate(plan, 1):
        message = f"[{i}/{len(plan)}] {label}"
        report(progress, done / total, message)
        t0 = time.perf_counter()
        func(_step_progress(progress, done / total, (done + cost) / total, message))
        steps[label] = round(time.perf_counter() - t0, 2)
        done += cost
    result["seconds"] = round(time.perf_counter() - t_start, 2)
    result["steps"] = steps
    report(progress, 1.0, f"done in {result['seconds']:.1f} s")
    order = ["dataset", "n_components_95", "variance_2d", "pca_route", "embeddings", "elbow_k",
             "elbow_rule", "silhouette_k", "bic_k", "aic_k", "kmeans", "generated", "seconds", "steps"]
    return {key: result[key] for key in order if key in result}
