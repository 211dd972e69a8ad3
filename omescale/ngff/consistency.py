"""Do a pyramid's levels agree with each other and with their NGFF transforms?

Pure checks on shapes, dtypes and ``coordinateTransformations`` (SPEC section 5), used by
``omescale.ngff.verify``. Two strengths:

- **known method** (a pyramid omescale wrote): every level ``M = ceil(N / f)`` with the step
  factor ``f`` omescale recorded, and scale and translation exactly as
  ``omescale.geometry.step_transform`` derives them for the method's geometry;
- **unknown method** (any other writer): only what is determinable. The scale never shrinks;
  its step ratio ``r`` is an integer ``f`` (a writer's nominal factor), ``N/M`` (resize
  family) or ``(N-1)/(M-1)`` (zoom); ``M`` is ``ceil`` or ``floor`` of ``N / f`` for an
  integer ``f``; the translation step is 0, ``s(r-1)/2`` or ``s(f-1)/2``.

Each problem is ``(level path, description)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omescale.geometry import GeometryKind, step_transform

__all__ = ["LevelInfo", "derived_factors", "level_problems"]

_RTOL = 1e-9  # transforms are written from float64 arithmetic; JSON round-trips them exactly
_LOOSE = 1e-6  # other writers may round their transforms


@dataclass(frozen=True)
class LevelInfo:
    """What the checks need of one level: path, array shape and dtype, NGFF transforms."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: tuple[float, ...] | None
    translation: tuple[float, ...] | None


def _close(a: float, b: float, unit: float, rtol: float = _RTOL) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=rtol * abs(unit))


def derived_factors(n_in: int, n_out: int) -> list[int]:
    """Integer factors ``f`` with ``n_out`` = ``ceil(n_in / f)`` or ``floor(n_in / f)``."""
    if n_out < 1:
        return []
    out = []
    for f in sorted({max(1, n_in // n_out), max(1, -(-n_in // n_out))}):
        if n_out in (-(-n_in // f), n_in // f):
            out.append(f)
    return out


def _known_axis(axis: str, kind: GeometryKind, f: int, n: int, m: int, s0: float, t0: float,
                s1: float, t1: float) -> str | None:
    if m != -(-n // f):
        return f"axis {axis}: {m} pixels, but ceil({n} / {f}) = {-(-n // f)} (SPEC shape rule)"
    s, t = step_transform(kind, f, n, m, s0, t0)
    if not (_close(s1, s, s) and _close(t1, t, s)):
        return (f"axis {axis}: scale {s1:g} translation {t1:g}, but the {kind} geometry of "
                f"{n} -> {m} pixels gives scale {s:g} translation {t:g}")
    return None


def _unknown_axis(axis: str, n: int, m: int, s0: float, t0: float, s1: float,
                  t1: float | None) -> str | None:
    r = s1 / s0
    if r < 1 - _LOOSE:
        return f"axis {axis}: scale {s1:g} is finer than the previous level's {s0:g}"
    nominal = round(r)
    integer = _close(r, nominal, 1, _LOOSE)
    sampled = [q for q in (n / m, (n - 1) / (m - 1) if m > 1 else None)
               if q is not None and _close(r, q, r, _LOOSE)]
    if not integer and not sampled:
        return (f"axis {axis}: scale ratio {r:g} is neither an integer nor the size ratio of "
                f"{n} -> {m} pixels")
    fits = integer and m in (-(-n // nominal), n // nominal)
    if not (fits or (sampled and derived_factors(n, m))):
        return (f"axis {axis}: {n} -> {m} pixels does not fit scale ratio {r:g} (not ceil or "
                "floor of N over an integer factor)")
    if t1 is not None:
        steps = (0.0, s0 * (r - 1) / 2, s0 * (nominal - 1) / 2)
        if not any(_close(t1 - t0, d, s0, _LOOSE) for d in steps):
            return (f"axis {axis}: translation {t1:g} is not that of any sampling geometry "
                    f"(previous level {t0:g}, scale ratio {r:g})")
    return None


def _level_header(axes: str, lv: LevelInfo, first: LevelInfo) -> list[str]:
    out = []
    if len(lv.shape) != len(axes):
        out.append(f"{len(lv.shape)} dimensions, but the metadata names {len(axes)} axes "
                   f"({axes!r})")
    if lv.dtype != first.dtype:
        out.append(f"dtype {lv.dtype}, but level 0 ({first.path}) is {first.dtype}")
    if lv.scale is None:
        out.append("no scale transform")
    elif len(lv.scale) != len(axes) or not all(s > 0 for s in lv.scale):
        out.append(f"scale {list(lv.scale)} is not one positive number per axis")
    elif lv.translation is not None and len(lv.translation) != len(axes):
        out.append(f"translation {list(lv.translation)} is not one number per axis")
    return out


def _step_problems(axes: str, prev: LevelInfo, lv: LevelInfo, kind: GeometryKind | None,
                   factors: Sequence[int] | None) -> list[str]:
    assert prev.scale is not None and lv.scale is not None
    t_prev = prev.translation or (0.0,) * len(axes)
    out = []
    for i, a in enumerate(axes):
        n, m = prev.shape[i], lv.shape[i]
        s0, s1, t0 = prev.scale[i], lv.scale[i], t_prev[i]
        t1 = None if lv.translation is None else lv.translation[i]
        if kind is not None and factors is not None:
            problem = _known_axis(a, kind, factors[i], n, m, s0, t0, s1,
                                  t0 if t1 is None else t1)
        else:
            problem = _unknown_axis(a, n, m, s0, t0, s1,
                                    None if prev.translation is None else t1)
        if problem is not None:
            out.append(problem)
    return out


def level_problems(
    axes: str, levels: Sequence[LevelInfo], *, kind: GeometryKind | None = None,
    factors: Sequence[Sequence[int]] | None = None,
) -> list[tuple[str, str]]:
    """Problems of ``levels`` (level 0 first) as ``(path, description)``.

    Parameters
    ----------
    axes
        The NGFF axes of the image.
    levels
        Every level in metadata order.
    kind, factors
        The method's geometry and the step factor of every level after level 0 (per axis),
        when the writer is known; otherwise only what any writer must satisfy is checked.
    """
    out: list[tuple[str, str]] = []
    headers = [_level_header(axes, lv, levels[0]) for lv in levels]
    for lv, problems in zip(levels, headers, strict=True):
        out += [(lv.path, p) for p in problems]
    for k in range(1, len(levels)):
        if headers[k - 1] or headers[k]:
            continue
        step = None if factors is None else factors[k - 1]
        out += [(levels[k].path, p)
                for p in _step_problems(axes, levels[k - 1], levels[k], kind, step)]
    return out
