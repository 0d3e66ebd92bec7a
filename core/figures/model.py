"""Figures of a trained model: training curves, confusion matrices, per-class tables, an upload on the map."""
from __future__ import annotations

__all__: list[str] = []
