"""Choosing the engine and reaching a cluster."""
from __future__ import annotations

import time

import pytest

from core.scale import cluster


@pytest.mark.parametrize("env, rows, expected", [
    ({}, 1000, "memory"),
    ({}, cluster.SCALE_MIN_ROWS, "local"),
    ({"FASHION_DASK": "local"}, 10, "local"),
    ({"FASHION_DASK": "off"}, 10**7, "memory"),
    ({"FASHION_DASK_SCHEDULER": "tcp://10.0.0.1:8786"}, 10, "remote"),
    ({"FASHION_DASK_MIN_ROWS": "50"}, 60, "local"),
])
def test_route_by_size_and_configuration(monkeypatch, env, rows, expected):
    for name in ("FASHION_DASK", "FASHION_DASK_SCHEDULER", "FASHION_DASK_MIN_ROWS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cluster.choose_route(rows) == expected


def test_an_unreachable_scheduler_fails_clearly_within_seconds():
    t0 = time.monotonic()
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with cluster.connect(address="tcp://127.0.0.1:9", timeout=2):
            pass
    assert time.monotonic() - t0 < 15


def test_a_local_cluster_started_here_is_closed_on_exit():
    with cluster.connect("local", n_workers=1, processes=False) as client:
        assert client.submit(lambda x: x + 1, 1).result() == 2
        assert "dashboard" in cluster.describe(client)
    assert client.status == "closed"


def test_local_layout_fits_the_memory_budget(monkeypatch):
    monkeypatch.setenv("FASHION_MEMORY_GB", "4")
    layout = cluster.local_layout(2)
    assert layout["n_workers"] == 2 and layout["memory_limit"] <= 2 * 2**30
