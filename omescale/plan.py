"""The plan of a pyramid: axes, per-level factors, shapes, chunks and NGFF transforms.

Pure bookkeeping on shapes; nothing here touches pixels. ``plan_pyramid`` is what the writer,
the command line's ``--dry-run`` and ``pyramid()`` share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from omescale.axes import validate_axes
from omescale.errors import InvalidFactorsError
from omescale.geometry import level_shape, step_transform
from omescale.methods import METHOD_SPECS, Methods, output_dtype, to_method
from omescale.validate import check_shape

__all__ = ["LevelPlan", "PyramidPlan", "default_chunks", "plan_pyramid"]

# Default storage chunk: 512 x 512 in y/x and ~8 MiB per chunk.
_CHUNK_XY = 512
_CHUNK_BYTES = 8 * 2**20
# The default level count never stops while an axis being downsampled is larger than this.
SMALL_LEVEL = 256


@dataclass(frozen=True)
class LevelPlan:
    """One level: its shape, step and cumulative factors, storage chunks and NGFF transform."""

    shape: tuple[int, ...]
    factors: tuple[int, ...]
    cumulative: tuple[int, ...]
    chunks: tuple[int, ...]
    scale: tuple[float, ...]
    translation: tuple[float, ...]


@dataclass(frozen=True)
class PyramidPlan:
    """Everything about a pyramid that does not need its pixels."""

    axes: str
    method: Methods
    dtype: np.dtype
    levels: tuple[LevelPlan, ...]
    units: dict[str, str] = field(default_factory=dict)
    order: int | None = None
    why: str = ""  # why it has this many levels (one clause, for the dry run)

    def nbytes(self, level: int) -> int:
        return math.prod(self.levels[level].shape) * self.dtype.itemsize

    @property
    def shrunk_axes(self) -> tuple[int, ...]:
        """Axes some level downsamples, in order."""
        return tuple(a for a, c in enumerate(self.levels[-1].cumulative) if c != 1)


def default_chunks(shape: Sequence[int], axes: str, itemsize: int) -> tuple[int, ...]:
    """512 in y and x, z filled up to ~8 MiB, 1 for t and c; never larger than the shape."""
    chunks = []
    for n, a in zip(shape, axes, strict=True):
        if a in "yx":
            chunks.append(min(n, _CHUNK_XY))
        elif a == "z":
            chunks.append(min(n, max(1, _CHUNK_BYTES // (_CHUNK_XY * _CHUNK_XY * itemsize))))
        else:
            chunks.append(1)
    return tuple(chunks)


def _level_chunks(chunks: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))


def _cumulative_from_spec(spec: object, axes: str, level: int) -> tuple[int, ...]:
    """One level's cumulative factors from an int (y and x) or a dict of axis -> factor."""
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(axes))
        if unknown:
            raise InvalidFactorsError(
                f"scale factor of level {level} names axes {unknown} that are not in {axes!r}"
            )
        values = {a: spec.get(a, 1) for a in axes}
    else:
        values = {a: (spec if a in "yx" else 1) for a in axes}
    out = []
    for a in axes:
        v = values[a]
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise InvalidFactorsError(f"scale factor {v!r} of level {level} is not a number")
        if not float(v).is_integer() or v < 1:
            raise InvalidFactorsError(
                f"scale factor {v!r} on axis {a!r} of level {level} must be an integer >= 1"
            )
        if a in "tc" and v != 1:
            raise InvalidFactorsError(
                f"axis {a!r} is not a space axis and cannot be downsampled (level {level})"
            )
        out.append(int(v))
    return tuple(out)


def _steps_from_scale_factors(
    scale_factors: Sequence[object], axes: str
) -> list[tuple[int, ...]]:
    if isinstance(scale_factors, (str, bytes)) or not isinstance(scale_factors, Sequence):
        raise InvalidFactorsError(
            f"scale_factors must be a list (one entry per level), got {scale_factors!r}"
        )
    steps, previous = [], (1,) * len(axes)
    for level, spec in enumerate(scale_factors, start=1):
        cumulative = _cumulative_from_spec(spec, axes, level)
        step = []
        for a, c, p in zip(axes, cumulative, previous, strict=True):
            if c % p:
                raise InvalidFactorsError(
                    f"scale factor {c} on axis {a!r} of level {level} is not an integer multiple "
                    f"of the previous level's {p}"
                )
            step.append(c // p)
        steps.append(tuple(step))
        previous = cumulative
    return steps


def _default_step(
    shape: Sequence[int], axes: str, sizes: Mapping[str, float] | None, z_told: bool
) -> tuple[int, ...]:
    """Halve y and x; z too when asked, or when z stays no coarser than the next xy size."""
    step = []
    for n, a in zip(shape, axes, strict=True):
        f = 1
        if a in "yx":
            f = 2
        elif a == "z" and sizes is not None:
            xy_next = 2 * min(sizes.get("y", 1.0), sizes.get("x", 1.0))
            f = 2 if 2 * sizes.get("z", 1.0) <= xy_next else 1
        elif a == "z" and z_told:
            f = 2
        step.append(min(f, n))
    return tuple(step)


def _check_max_layer(max_layer: int | None, steps: list[tuple[int, ...]] | None) -> int | None:
    if max_layer is None:
        return None
    if isinstance(max_layer, bool) or not isinstance(max_layer, int | np.integer) \
            or max_layer < 0:
        raise InvalidFactorsError(f"max_layer must be an integer >= 0, got {max_layer!r}")
    if steps is not None and max_layer > len(steps):
        raise InvalidFactorsError(
            f"max_layer={max_layer} asks for {max_layer + 1} levels but scale_factors lists "
            f"{len(steps) + 1} (level 0 included); give one more scale factor per level"
        )
    return int(max_layer)


def _default_done(shape: Sequence[int], step: Sequence[int], axes: str,
                  chunks: Sequence[int]) -> bool:
    """The default rule's stop: y and x fit one chunk and no axis the next step would shrink is
    larger than ``SMALL_LEVEL`` pixels."""
    fits = all(n <= c for n, c, a in zip(shape, chunks, axes, strict=True) if a in "yx")
    small = all(n <= SMALL_LEVEL for n, f in zip(shape, step, strict=True) if f > 1)
    return fits and small


def _next_step(
    levels: Sequence[LevelPlan], steps: Sequence[tuple[int, ...]] | None, axes: str,
    chunks: Sequence[int], space_known: bool, max_layer: int | None,
) -> tuple[int, ...] | None:
    """The step factors of the next level, or ``None`` when the pyramid is complete."""
    k, last = len(levels), levels[-1]
    if steps is not None:
        return steps[k - 1] if k <= len(steps) else None
    if max_layer is not None and k > max_layer:
        return None
    sizes = dict(zip(axes, last.scale, strict=True)) if space_known else None
    step = _default_step(last.shape, axes, sizes, z_told=False)
    if max_layer is not None:
        if all(f == 1 for f in step):
            raise InvalidFactorsError(
                f"{max_layer + 1} levels asked for (level 0 included), but level {k - 1} "
                f"({'x'.join(map(str, last.shape))}, axes {axes}) has no space axis left to "
                f"reduce: at most {k} levels"
            )
        return step
    if all(f == 1 for f in step) or _default_done(last.shape, step, axes, chunks):
        return None
    return step


def _next_level(last: LevelPlan, step: tuple[int, ...], axes: str, kind: str,
                chunks: Sequence[int], k: int) -> LevelPlan:
    """Level ``k`` from level ``k - 1`` (``last``) and the step factors between them."""
    for a, f, n in zip(axes, step, last.shape, strict=True):
        if f > n:
            raise InvalidFactorsError(
                f"scale factor {f} on axis {a!r} of level {k} is larger than that axis "
                f"({n} pixels)"
            )
    new_shape = level_shape(last.shape, step)
    pairs = [
        step_transform(kind, f, n, m, s, t)  # type: ignore[arg-type]
        for f, n, m, s, t in zip(
            step, last.shape, new_shape, last.scale, last.translation, strict=True
        )
    ]
    return LevelPlan(
        shape=new_shape,
        factors=step,
        cumulative=tuple(c * f for c, f in zip(last.cumulative, step, strict=True)),
        chunks=_level_chunks(chunks, new_shape),
        scale=tuple(p[0] for p in pairs),
        translation=tuple(p[1] for p in pairs),
    )


def _why(levels: Sequence[LevelPlan], axes: str, chunks: Sequence[int], given: bool,
         max_layer: int | None) -> str:
    """One clause saying why the pyramid has its number of levels."""
    if given:
        return "one level per scale factor given"
    if max_layer is not None:
        return "as asked"
    yx = [i for i, a in enumerate(axes) if a in "yx"]
    chunk = "x".join(str(chunks[i]) for i in yx)
    fitting = [k for k, lv in enumerate(levels) if all(lv.shape[i] <= chunks[i] for i in yx)]
    if not fitting:
        return "no space axis can be reduced further"
    fit = fitting[0]
    if fit == len(levels) - 1:
        return f"until y and x fit one {chunk} chunk (level {fit})"
    return (f"until every downsampled axis is at most {SMALL_LEVEL} px (y and x already fit "
            f"one {chunk} chunk at level {fit})")


def plan_pyramid(
    shape: Sequence[int],
    dtype: np.dtype,
    *,
    axes: str | None = None,
    scale_factors: Sequence[object] | None = None,
    method: str | Methods = "resize",
    max_layer: int | None = None,
    chunks: Sequence[int] | int | None = None,
    input_chunks: Sequence[int] | None = None,
    physical_sizes: Mapping[str, float] | None = None,
    units: Mapping[str, str] | None = None,
    order: int | None = None,
    translation: Mapping[str, float] | None = None,
) -> PyramidPlan:
    """Plan a pyramid; see ``docs/decisions.md`` for the level rules.

    ``max_layer`` is the index of the last level (ome-zarr's meaning: 4 gives levels 0-4) and
    is honoured exactly: levels may be smaller than a chunk, and a count that would need a
    level after every space axis is down to one pixel is an error. Without it, levels are made
    until y and x fit one chunk and no axis still being downsampled is above 256 pixels.
    ``translation`` (axis -> position of level 0's first pixel centre, default 0) is level 0's
    NGFF translation; every level's translation follows from it.
    """
    method = to_method(method)
    shape = check_shape(shape)
    axes = validate_axes(axes, len(shape))
    out_dtype = output_dtype(method, np.dtype(dtype))
    base_chunks = _chunks_for(chunks, input_chunks, shape, axes, out_dtype.itemsize)
    sizes = {a: float(physical_sizes.get(a, 1.0)) for a in axes} if physical_sizes else None
    # z follows the anisotropy rule only when some space axis has a known size.
    known = physical_sizes or {}
    space_known = any(a in known for a in "zyx" if a in axes)
    for a, s in (sizes or {}).items():
        if not s > 0:
            raise InvalidFactorsError(f"physical size of axis {a!r} must be > 0, got {s}")
    steps = None if scale_factors is None else _steps_from_scale_factors(scale_factors, axes)
    max_layer = _check_max_layer(max_layer, steps)
    if steps is not None and max_layer is not None:
        steps = steps[:max_layer]

    kind = METHOD_SPECS[method].geometry
    scale = tuple(sizes[a] if sizes else 1.0 for a in axes)
    origin = _translation(translation, axes)
    ones = (1,) * len(axes)
    levels = [LevelPlan(shape, ones, ones, _level_chunks(base_chunks, shape), scale, origin)]
    while (step := _next_step(levels, steps, axes, base_chunks, space_known,
                              max_layer)) is not None:
        levels.append(_next_level(levels[-1], step, axes, kind, base_chunks, len(levels)))
    why = _why(levels, axes, base_chunks, steps is not None, max_layer)
    return PyramidPlan(axes, method, out_dtype, tuple(levels), dict(units or {}), order, why)


def _translation(translation: Mapping[str, float] | None, axes: str) -> tuple[float, ...]:
    """Level 0's translation per axis from axis -> offset (0 where not given)."""
    given = dict(translation or {})
    unknown = sorted(set(given) - set(axes))
    if unknown:
        raise InvalidFactorsError(f"translation names axes {unknown} that are not in {axes!r}")
    out = []
    for a in axes:
        t = given.get(a, 0.0)
        if isinstance(t, bool) or not isinstance(t, int | float | np.integer | np.floating) \
                or not math.isfinite(t):
            raise InvalidFactorsError(f"translation of axis {a!r} must be a finite number, "
                                      f"got {t!r}")
        out.append(float(t))
    return tuple(out)


def _chunks_for(
    chunks: Sequence[int] | int | None,
    input_chunks: Sequence[int] | None,
    shape: Sequence[int],
    axes: str,
    itemsize: int,
) -> tuple[int, ...]:
    if chunks is None:
        if input_chunks is not None:
            return _level_chunks(input_chunks, shape)
        return default_chunks(shape, axes, itemsize)
    if isinstance(chunks, int | np.integer) and not isinstance(chunks, bool):
        chunks = tuple(int(chunks) if a in "zyx" else 1 for a in axes)
    if isinstance(chunks, str | bytes) or not isinstance(chunks, Sequence | np.ndarray):
        raise InvalidFactorsError(
            f"chunks must be one positive integer per axis ({axes!r}) or one for z, y and x, "
            f"got {chunks!r}"
        )
    chunks = tuple(chunks)
    if len(chunks) != len(shape) or any(
        isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1 for c in chunks
    ):
        raise InvalidFactorsError(
            f"chunks must be one positive integer per axis ({axes!r}), got {chunks!r}"
        )
    return _level_chunks(chunks, shape)
