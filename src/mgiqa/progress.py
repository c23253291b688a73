"""Progress of long loops a person waits for: a tqdm bar on a terminal, plain log lines in log files.

The bar shows when stderr is a terminal (as the Trainer's, `disable_tqdm = not sys.stderr.isatty()`); under
Snakemake or DVC, whose logs are files, about twenty INFO lines per loop say how far it got instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
LOG_LINES = 20  # lines per loop without a terminal (and always the last item)


def progress(iterable: Iterable[T], *, total: int, desc: str, unit: str = "batch") -> Iterator[T]:
    """Yield the items of `iterable` (`total` of them), showing how many are done."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        yield from tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True)
        return
    every = max(1, -(-total // LOG_LINES))
    for done, item in enumerate(iterable, 1):
        yield item
        if done % every == 0 or done == total:
            log.info("%s: %d/%d %s done", desc, done, total, _plural(unit))


def _plural(unit: str) -> str:
    return f"{unit}es" if unit.endswith(("s", "sh", "ch", "x")) else f"{unit}s"
