"""What every demo recipe produces: samples (an image, its defects, its scene) and the seeded context."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mgiqa.data.demo.scenes import stream_code


@dataclass(frozen=True)
class Context:
    """One dataset being generated: its key, size, image side, scene pool and master seed."""

    key: str
    count: int
    size: int
    seed: int
    pool: str

    def rng(self, *parts: int | str) -> np.random.Generator:
        """An independent generator for one purpose (`parts` name it), stable across runs."""
        codes = [p if isinstance(p, int) else stream_code(p) for p in parts]
        return np.random.default_rng((int(self.seed), stream_code(self.key), *codes))


@dataclass
class Sample:
    """One image file. `name` is relative to the dataset's image folder; `labelled` is False for reference
    or input images that the real datasets ship beside the rated ones (KADID's I01.png, a group's input)."""

    name: str
    image: np.ndarray
    defects: list[tuple[str, float]]
    scene: str
    labelled: bool = True
    jpeg_quality: int | None = None
    meta: dict = field(default_factory=dict)


def group_sizes(total: int, low: int, high: int, rng: np.random.Generator) -> list[int]:
    """Group sizes in [low, high] summing to `total`; only the last group may be smaller than `low` (but never
    a single image), or one larger than `high` where that is the only way to avoid a single-image group."""
    sizes: list[int] = []
    left = total
    while left > 0:
        if left <= high:
            size = left
        elif left < 2 * low:
            size = high
        else:
            size = int(rng.integers(low, min(high, left - low) + 1))
        sizes.append(size)
        left -= size
    if len(sizes) > 1 and sizes[-1] == 1:  # a group of one compares nothing: join it to the one before
        last = sizes.pop()
        sizes[-1] += last
    return sizes
