"""The decode → features → PCA → maps → clusters walk for catalogues of any size.

:func:`warm` takes the same subsample as :func:`core.pipeline.warm` and picks
the engine (:func:`core.scale.cluster.choose_route`): small catalogues keep
today's in-process route; large ones, or ``FASHION_DASK=local`` /
``FASHION_DASK_SCHEDULER``, run on a Dask cluster, with every step stored in
the feature store so a second call, or a killed one run again, continues
where it stopped.
"""
from __future__ import annotations

import time
from typing import Optional


from .. import clustering, config, manifold
from ..progress import ProgressFn, report, scaled
from . import cluster, groups, maps, pca, store
from .progress import dashboard_link

#: Map methods and their relative cost on a cold run.
MAP_COSTS = {"pca": 1, "tsne": 8, "umap": 8, "lle": 2, "mds": 3}
#: k of the sweep on the cluster (each k is a full Lloyd run).
K_RANGE = (2, 10)


def warm(sub, random_state: int = config.DEFAULT_RANDOM_STATE, *, client=None,
         route: Optional[str] = None, methods=manifold.METHODS, k_range=K_RANGE,
         map_sample: int = maps.MAP_SAMPLE, progress: Optional[ProgressFn] = None) -> dict:
    """Compute every result the pages show for ``sub``, on the engine its size calls for.

    Parameters
    ----------
    sub : core.subsample.Subsample
    random_state : int, default 42
    client : distributed.Client, optional
        Use this cluster; default: :func:`core.scale.cluster.connect` with the
        chosen route (a local cluster started here is shut down on return).
    route : {"memory", "local", "remote"}, optional
        Default :func:`core.scale.cluster.choose_route` of the row count.
    methods : sequence of str
        Maps to compute.
    k_range : (int, int)
        k of the k-means sweep, inclusive.
    map_sample : int
        Rows t-SNE and UMAP are fitted on.
    progress : callable, optional
        ``progress(fraction, message)``; on the cluster the first message of
        every step holds the Dask dashboard link.

    Returns
    -------
    dict
        ``route``; on the cluster also ``dashboard``, ``rows``, ``readable``,
        ``n_components_95`` with ``n_components_95_range``, ``variance_2d``,
        ``explained_variance_ratio`` (the first 50 components),
        ``pca_route``, ``embeddings`` (per method ``trustworthiness``,
        ``sample_only``, ``n_fitted``, ``route``, ``seconds``), ``elbow_k``,
        ``kmeans`` (k, ARI, NMI against masterCategory, route), ``mixture``,
        ``store_bytes``, ``seconds`` and ``steps`` (seconds per step).
        On the in-memory route, :func:`core.pipeline.warm`'s result.
    """
    rows = store.catalogue_rows(sub.dataset, float(sub.fraction), int(sub.seed))
    route = route or ("remote" if client is not None else cluster.choose_route(len(rows)))
    if route == "memory" and client is None:
        from .. import pipeline

        out = pipeline.warm(sub, random_state, progress=progress)
        return {"route": "memory", **out}
    if client is not None:
        return _warm_on(client, sub, rows, route, random_state, methods, k_range, map_sample,
                        progress)
    with cluster.connect(route) as own:
        return _warm_on(own, sub, rows, route, random_state, methods, k_range, map_sample,
                        progress)


def _warm_on(client, sub, rows, route, random_state, methods, k_range, map_sample, progress):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    t_start = time.perf_counter()
    result: dict = {"route": route, "dashboard": dashboard_link(client),
                    "cluster": cluster.describe(client)}
    steps: dict = {}
    plan = [("features", 6), ("pca", 6), ("kmeans", 2), ("mixture", 1)]
    plan += [(f"map: {m}", MAP_COSTS.get(m, 3)) for m in methods]
    total = float(sum(c for _, c in plan))
    state = {"done": 0.0}

    def step(label):
        cost = dict(plan)[label]
        p = scaled(progress, state["done"] / total, (state["done"] + cost) / total)
        state["done"] += cost
        state["t"] = time.perf_counter()
        return p

    def finish(label):
        steps[label] = round(time.perf_counter() - state["t"], 2)

    report(progress, 0.0, f"{len(rows):,} products on {result['cluster']}")
    p = step("features")
    st = store.build_store(client, sub.dataset, rows["id"].to_numpy(), sub.image_size, sub.color,
                           sub.resample, progress=p)
    finish("features")
    valid = st.valid()
    labels = rows["label"].to_numpy()[valid]
    result.update(rows=int(len(rows)), readable=int(valid.sum()))

    p = step("pca")
    res = pca.fit(client, st, random_state=random_state, progress=p)
    result.update(n_components_95=res.n_components_95,
                  n_components_95_range=list(res.n_components_95_range),
                  variance_2d=round(100 * float(res.explained_variance_ratio_[:2].sum()), 2),
                  explained_variance_ratio=[float(v) for v in res.explained_variance_ratio_[:50]],
                  pca_route=res.method)
    finish("pca")

    p = step("kmeans")
    lo, hi = int(k_range[0]), int(k_range[1])
    inertia = []
    for k in range(lo, hi + 1):
        km = groups.kmeans(client, st, k, random_state=random_state,
                           progress=scaled(p, (k - lo) / (hi - lo + 1), (k - lo + 1) / (hi - lo + 1)))
        inertia.append(km["inertia"])
    ks = list(range(lo, hi + 1))
    k_best = min(max(int(clustering.elbow(ks, inertia) or 3), 2), 10)
    km = groups.kmeans(client, st, k_best, random_state=random_state)
    result["elbow_k"] = k_best
    result["kmeans"] = {"k": k_best, "ari": round(float(adjusted_rand_score(labels, km["labels"])), 4),
                        "nmi": round(float(normalized_mutual_info_score(labels, km["labels"])), 4),
                        "route": km["route"]}
    finish("kmeans")

    p = step("mixture")
    gm = groups.gaussian_mixture(client, st, k_best, random_state=random_state, progress=p)
    result["mixture"] = {"n_components": k_best,
                         "mean_log_likelihood": round(gm["mean_log_likelihood"], 4),
                         "route": gm["route"]}
    finish("mixture")

    for m in methods:
        label = f"map: {m}"
        p = step(label)
        emb = maps.embed(client, st, m, sample_size=map_sample if m in ("tsne", "umap") else None,
                         random_state=random_state, progress=p)
        result.setdefault("embeddings", {})[m] = {
            "trustworthiness": round(maps.trustworthiness(client, st, emb), 4),
            "sample_only": bool(emb["sample_only"]), "n_fitted": int(emb["n_fitted"]),
            "n_rows": int(len(emb["rows"])), "route": emb["route"],
            "seconds": round(emb["seconds"], 2)}
        finish(label)
    result["store_bytes"] = st.disk_bytes()
    result["seconds"] = round(time.perf_counter() - t_start, 2)
    result["steps"] = steps
    report(progress, 1.0, f"done in {result['seconds']:.1f} s")
    return result

