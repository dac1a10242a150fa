"""The in-memory unit the models consume: per-source stacks of single-band maps.

Both the aligned real stack (engine.data.stack) and the synthetic generator (engine.data.synthetic)
produce this, so pretraining, fine-tuning and tests share one format.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SourceArray:
    """Layers of one data source on a common grid.

    data: (C, H, W) float32, already normalised (robust z-score); NaN marks invalid pixels.
    layers: one layer-type name per channel (see engine.data.vocab), e.g. "magnetic", "Cu".
    """

    data: np.ndarray
    layers: list

    def __post_init__(self):
        if self.data.ndim != 3 or self.data.shape[0] != len(self.layers):
            raise ValueError(f"data shape {self.data.shape} does not match {len(self.layers)} layer names")


@dataclass
class Scene:
    """All sources of one area; `labels` holds optional truth maps (synthetic data only)."""

    sources: dict
    labels: dict = field(default_factory=dict)

    @property
    def shape(self):
        first = next(iter(self.sources.values()))
        return first.data.shape[1:]
