"""What a pyramid's metadata records about its writer: function, method, order, factors.

omescale writes ``multiscales[].metadata`` as ``{"function", "method", "args": {"scale_factors",
"axes", "order"}, ...}`` (``omescale.ngff.writer.provenance``). ``omescale verify`` trusts the
method and factors only for the writers listed in ``OWN_WRITERS``; the Scaler (ome-zarr's
shapes) and other libraries count as unknown.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omescale.methods import Methods
from omescale.ngff.consistency import derived_factors

__all__ = ["OWN_WRITERS", "RecordedWriter", "recorded_writer", "step_factors"]

# Writer function -> first level it wrote itself, storing every object (add_levels keeps the
# user's level 0).
OWN_WRITERS = {"omescale.write_pyramid": 0, "omescale.write_labels": 0,
               "omescale.add_levels": 1}


@dataclass(frozen=True)
class RecordedWriter:
    """Who wrote the pyramid and how; ``method`` only when it is one of ``OWN_WRITERS``."""

    function: str | None = None
    method: Methods | None = None
    order: int | None = None
    cumulative: list[tuple[int, ...]] | None = None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _cumulative(factors: Any, axes: str) -> list[tuple[int, ...]] | None:
    if not isinstance(factors, list) or not all(isinstance(f, Mapping) for f in factors):
        return None
    try:
        return [tuple(int(f.get(a, 1)) for a in axes) for f in factors]
    except (TypeError, ValueError):
        return None


def recorded_writer(ms: Mapping[str, Any], axes: str) -> RecordedWriter:
    """The writer recorded in one ``multiscales`` entry."""
    prov = _mapping(ms.get("metadata"))
    function = prov.get("function") if isinstance(prov.get("function"), str) else None
    if function not in OWN_WRITERS:
        return RecordedWriter(function)
    try:
        method = Methods(str(prov.get("method") or ms.get("type")))
    except ValueError:
        return RecordedWriter(function)
    args = _mapping(prov.get("args"))
    order = args.get("order") if isinstance(args.get("order"), int) else None
    return RecordedWriter(function, method, order, _cumulative(args.get("scale_factors"), axes))


def step_factors(writer: RecordedWriter,
                 shapes: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Step factor of every level after level 0: from the recorded cumulative factors, else
    the smallest factor giving each level's shape by the ceil rule."""
    cumulative = writer.cumulative
    if cumulative is not None and len(cumulative) == len(shapes) - 1:
        chain = [(1,) * len(shapes[0]), *cumulative]
        pairs = list(itertools.pairwise(chain))
        if all(a > 0 and b % a == 0 for p, q in pairs for a, b in zip(p, q, strict=True)):
            return [tuple(b // a for a, b in zip(p, q, strict=True)) for p, q in pairs]
    return [tuple(next((f for f in derived_factors(n, m) if -(-n // f) == m),
                       max(1, round(n / max(m, 1)))) for n, m in zip(p, q, strict=True))
            for p, q in itertools.pairwise(shapes)]
