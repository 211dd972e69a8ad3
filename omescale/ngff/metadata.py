"""OME-NGFF metadata: build it (0.4 on zarr 2, 0.5 on zarr 3) and read it back.

Builders take plain values (axes string, per-level scale and translation lists), so they know
nothing of how a level was computed. Readers accept both versions and return
:class:`ImageMetadata`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from omescale.axes import AXIS_TYPES
from omescale.errors import InputNotFoundError, InvalidAxesError
from omescale.ngff.omero import read_omero

__all__ = [
    "AXIS_TYPES",
    "NGFF_KEYS",
    "ImageMetadata",
    "ZarrFormat",
    "attributes",
    "axes_metadata",
    "check_units",
    "image_attributes",
    "label_attributes",
    "labels_group_attributes",
    "multiscale_metadata",
    "ngff_version",
    "read_image_metadata",
]

# Units the OME-NGFF specification allows (UDUNITS-2 names), per axis type.
SPACE_UNITS = frozenset(
    "angstrom attometer centimeter decimeter exameter femtometer foot gigameter hectometer inch "
    "kilometer megameter meter micrometer mile millimeter nanometer parsec petameter picometer "
    "terameter yard yoctometer yottameter zeptometer zettameter".split()
)
TIME_UNITS = frozenset(
    "attosecond centisecond day decisecond exasecond femtosecond gigasecond hectosecond hour "
    "kilosecond megasecond microsecond millisecond minute nanosecond petasecond picosecond second "
    "terasecond yoctosecond yottasecond zeptosecond zettasecond".split()
)
_UNITS = {"space": SPACE_UNITS, "time": TIME_UNITS}

# Attribute keys that belong to NGFF (or to omescale's own bookkeeping), not to the user.
NGFF_KEYS = frozenset({"ome", "multiscales", "omero", "image-label", "labels", "omescale"})


# The zarr formats omescale writes: 2 (NGFF 0.4) and 3 (NGFF 0.5).
ZarrFormat = Literal[2, 3]


def attributes(node: Any) -> dict[str, Any]:
    """A zarr group's or array's attributes as a plain dict (zarr types them as JSON values,
    which every NGFF reader here then navigates as dicts and lists)."""
    return dict(node.attrs)


def ngff_version(zarr_format: int) -> str:
    """The NGFF version written on a zarr format: 0.5 on zarr 3, 0.4 on zarr 2."""
    if zarr_format == 3:
        return "0.5"
    if zarr_format == 2:
        return "0.4"
    raise ValueError(f"zarr_format must be 2 or 3, not {zarr_format!r}")


def check_units(axes: str, units: Mapping[str, str] | None) -> dict[str, str]:
    """Return ``units`` restricted to known axes, refusing names NGFF does not allow.

    Raises
    ------
    InvalidAxesError
        A unit names an axis not in ``axes``, is given for the channel axis, or is not an
        OME-NGFF unit for the axis type.
    """
    units = dict(units or {})
    for axis, unit in units.items():
        if axis not in axes:
            raise InvalidAxesError(f"unit given for axis {axis!r}, which is not in axes {axes!r}")
        allowed = _UNITS.get(AXIS_TYPES[axis])
        if allowed is None:
            raise InvalidAxesError(f"axis {axis!r} is a channel axis and takes no unit")
        if unit not in allowed:
            raise InvalidAxesError(
                f"unit {unit!r} of axis {axis!r} is not an OME-NGFF {AXIS_TYPES[axis]} unit "
                f"(e.g. {'micrometer' if AXIS_TYPES[axis] == 'space' else 'second'})"
            )
    return units


def axes_metadata(axes: str, units: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """NGFF ``axes``: name, type and (when known) unit of each axis."""
    units = check_units(axes, units)
    out = []
    for name in axes:
        entry = {"name": name, "type": AXIS_TYPES[name]}
        if name in units:
            entry["unit"] = units[name]
        out.append(entry)
    return out


def _dataset(path: str, scale: Sequence[float], translation: Sequence[float]) -> dict[str, Any]:
    return {
        "path": path,
        "coordinateTransformations": [
            {"type": "scale", "scale": [float(s) for s in scale]},
            {"type": "translation", "translation": [float(t) for t in translation]},
        ],
    }


def multiscale_metadata(
    axes: str,
    scales: Sequence[Sequence[float]],
    translations: Sequence[Sequence[float]],
    *,
    units: Mapping[str, str] | None = None,
    method: str,
    provenance: Mapping[str, Any] | None = None,
    name: str | None = None,
    paths: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One ``multiscales`` entry: axes, datasets ``0, 1, ...`` (scale then translation), type.

    ``method`` goes to ``type``; ``provenance`` (function, arguments, version) to ``metadata``.
    """
    if len(scales) != len(translations):
        raise ValueError("one scale and one translation per level")
    paths = [str(k) for k in range(len(scales))] if paths is None else list(paths)
    entry: dict[str, Any] = {}
    if name is not None:
        entry["name"] = name
    entry["axes"] = axes_metadata(axes, units)
    entry["datasets"] = [
        _dataset(p, s, t) for p, s, t in zip(paths, scales, translations, strict=True)
    ]
    entry["type"] = str(method)
    if provenance is not None:
        entry["metadata"] = dict(provenance)
    return entry


def image_attributes(multiscale: Mapping[str, Any], version: str) -> dict[str, Any]:
    """Group attributes of an image: ``ome`` (0.5) or top-level ``multiscales`` (0.4)."""
    if version == "0.5":
        return {"ome": {"version": "0.5", "multiscales": [dict(multiscale)]}}
    return {"multiscales": [{"version": "0.4", **multiscale}]}


def label_attributes(
    multiscale: Mapping[str, Any],
    version: str,
    *,
    colors: Sequence[Mapping[str, Any]] | None = None,
    properties: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Group attributes of ``labels/<name>``: the image's plus ``image-label``."""
    label: dict[str, Any] = {"source": {"image": "../../"}}
    if colors:
        label["colors"] = [dict(c) for c in colors]
    if properties:
        label["properties"] = [dict(p) for p in properties]
    attrs = image_attributes(multiscale, version)
    if version == "0.5":
        attrs["ome"]["image-label"] = label
    else:
        attrs["image-label"] = {"version": "0.4", **label}
    return attrs


def labels_group_attributes(names: Sequence[str], version: str) -> dict[str, Any]:
    """Attributes of the ``labels`` group listing every label image."""
    if version == "0.5":
        return {"ome": {"version": "0.5", "labels": list(names)}}
    return {"labels": list(names)}


@dataclass(frozen=True)
class ImageMetadata:
    """What omescale needs from an OME-Zarr image's group attributes."""

    version: str
    axes: str | None
    paths: tuple[str, ...]
    scales: tuple[tuple[float, ...] | None, ...]
    translations: tuple[tuple[float, ...] | None, ...]
    units: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    user_attributes: dict[str, Any] = field(default_factory=dict)
    omero: dict[str, Any] | None = None  # rendering metadata, version-free (ngff/omero.py)

    @property
    def physical_sizes(self) -> dict[str, float] | None:
        """Level-0 pixel size per space/time axis, when the axes and scale are known.

        Scale 1.0 on every space axis with no space unit is what a writer puts when it knows no
        sizes, so the space sizes are then unknown (left out; ``None`` when nothing remains):
        the default level rule treats such an image like a bare array.
        """
        if self.axes is None or not self.scales or self.scales[0] is None:
            return None
        sizes = {a: s for a, s in zip(self.axes, self.scales[0], strict=True) if a != "c"}
        space = [a for a in sizes if AXIS_TYPES[a] == "space"]
        if all(sizes[a] == 1.0 and a not in self.units for a in space):
            sizes = {a: s for a, s in sizes.items() if a not in space}
            if all(s == 1.0 and a not in self.units for a, s in sizes.items()):
                return None
        return sizes


def _axes_string(axes: Sequence[Any] | None) -> str | None:
    if axes is None:
        return None
    names = [a["name"] if isinstance(a, Mapping) else a for a in axes]
    if all(isinstance(n, str) and n in AXIS_TYPES for n in names):
        return "".join(names)
    return None


def _transform(dataset: Mapping[str, Any], kind: str) -> tuple[float, ...] | None:
    for t in dataset.get("coordinateTransformations", ()):
        if t.get("type") == kind and kind in t:
            return tuple(float(v) for v in t[kind])
    return None


def read_image_metadata(attrs: Mapping[str, Any], where: str = "group") -> ImageMetadata:
    """Parse NGFF 0.4 or 0.5 image attributes.

    Raises
    ------
    InputNotFoundError
        The attributes hold no ``multiscales`` (the group is not an OME-Zarr image).
    """
    ome = attrs.get("ome")
    if isinstance(ome, Mapping) and "multiscales" in ome:
        version, multiscales = str(ome.get("version", "0.5")), ome["multiscales"]
    elif "multiscales" in attrs:
        multiscales = attrs["multiscales"]
        version = str(multiscales[0].get("version", "0.4")) if multiscales else "0.4"
    else:
        raise InputNotFoundError(f"{where} is a zarr group but not an OME-Zarr image")
    if not multiscales or not multiscales[0].get("datasets"):
        raise InputNotFoundError(f"{where} has empty OME-Zarr multiscales metadata")
    ms = multiscales[0]
    axes = ms.get("axes")
    units = {
        a["name"]: a["unit"]
        for a in axes or ()
        if isinstance(a, Mapping) and a.get("unit") is not None
    }
    datasets = ms["datasets"]
    return ImageMetadata(
        version=version,
        axes=_axes_string(axes),
        paths=tuple(str(d["path"]) for d in datasets),
        scales=tuple(_transform(d, "scale") for d in datasets),
        translations=tuple(_transform(d, "translation") for d in datasets),
        units=units,
        method=ms.get("type"),
        user_attributes={k: v for k, v in attrs.items() if k not in NGFF_KEYS},
        omero=read_omero(attrs),
    )
