"""Catalogues beyond one machine: decode → features → PCA → maps and clusters on Dask.

One module per concern:

* :mod:`core.scale.cluster`: which engine (in-process, a local Dask cluster,
  an existing one) and the client; how workers reach the data.
* :mod:`core.scale.store`: the chunked Zarr feature store (uint8 pixels,
  per-pixel mean and std, resumable), read as standardized float32 blocks.
* :mod:`core.scale.pca`: covariance or randomized PCA on the cluster, with
  error bounds on the eigenvalues and the 95% component count.
* :mod:`core.scale.groups`: k-means (Lloyd over every row) and the Gaussian
  mixture on the stored scores.
* :mod:`core.scale.maps`: t-SNE and UMAP fitted on a sample, the rest placed by
  their transforms; LLE and MDS sample-only.
* :mod:`core.scale.progress`: Dask futures to ``progress(fraction, message)``.
* :mod:`core.scale.pipeline`: :func:`~core.scale.pipeline.warm`, the whole walk.

Nothing here imports Dask at import time, so ``core`` stays cheap to import.
"""
