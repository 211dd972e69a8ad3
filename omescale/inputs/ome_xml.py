"""What an OME-XML document says about its first image: pixel sizes, units, channels.

OME-TIFF files carry it (``tifffile.TiffFile.ome_metadata``). Units are OME symbols (``µm``,
``nm``, ``s`` ...); NGFF wants UDUNITS-2 names (``micrometer`` ...). A unit with no NGFF name
(``pixel``, ``reference frame``) is left out; its size is kept.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from omescale.inputs.image import Channel
from omescale.ngff.metadata import SPACE_UNITS, TIME_UNITS

__all__ = ["OmeImage", "ngff_unit", "ome_color", "parse_ome_xml"]

_PREFIXES = {"Y": "yotta", "Z": "zetta", "E": "exa", "P": "peta", "T": "tera", "G": "giga",
             "M": "mega", "k": "kilo", "h": "hecto", "d": "deci", "c": "centi", "m": "milli",
             "µ": "micro", "μ": "micro", "u": "micro", "n": "nano", "p": "pico", "f": "femto",
             "a": "atto", "z": "zepto", "y": "yocto"}
_WHOLE = {"m": "meter", "s": "second", "Å": "angstrom", "in": "inch", "ft": "foot",
          "yd": "yard", "mi": "mile", "pc": "parsec", "min": "minute", "h": "hour", "d": "day"}
# OME's default units when an attribute gives a size but no unit.
_DEFAULT_UNITS = {"x": "µm", "y": "µm", "z": "µm", "t": "s"}
_SIZE_ATTRIBUTES = {"x": "PhysicalSizeX", "y": "PhysicalSizeY", "z": "PhysicalSizeZ",
                    "t": "TimeIncrement"}


@dataclass(frozen=True)
class OmeImage:
    """Pixel sizes (axis -> size), NGFF units (axis -> unit) and channels of one OME image."""

    physical_sizes: dict[str, float]
    units: dict[str, str]
    channels: tuple[Channel, ...]


def ngff_unit(symbol: str) -> str | None:
    """The NGFF (UDUNITS-2) name of an OME unit symbol: ``µm`` -> ``micrometer``; else None."""
    name = _WHOLE.get(symbol)
    if name is None and len(symbol) == 2 and symbol[0] in _PREFIXES and symbol[1] in "ms":
        name = _PREFIXES[symbol[0]] + _WHOLE[symbol[1]]
    return name if name in SPACE_UNITS | TIME_UNITS else None


def ome_color(value: str | None) -> str | None:
    """OME's signed 32-bit RGBA integer as an ``RRGGBB`` hex string (None stays None)."""
    if value is None:
        return None
    try:
        rgba = int(value) & 0xFFFFFFFF
    except ValueError:
        return None
    return f"{rgba >> 8:06X}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _channels(pixels: ET.Element) -> tuple[Channel, ...]:
    found = []
    for k, ch in enumerate(e for e in pixels if _local(e.tag) == "Channel"):
        found.append(Channel(label=ch.get("Name") or f"channel {k}",
                             color=ome_color(ch.get("Color"))))
    return tuple(found)


def parse_ome_xml(xml: str, image: int = 0) -> OmeImage | None:
    """Sizes, units and channels of image ``image`` of an OME-XML document (None if absent)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    images = [e for e in root if _local(e.tag) == "Image"]
    if len(images) <= image:
        return None
    pixels = next((e for e in images[image] if _local(e.tag) == "Pixels"), None)
    if pixels is None:
        return None
    sizes, units = {}, {}
    for axis, name in _SIZE_ATTRIBUTES.items():
        text = pixels.get(name)
        if text is None:
            continue
        try:
            sizes[axis] = float(text)
        except ValueError:
            continue
        unit = ngff_unit(pixels.get(name + "Unit") or _DEFAULT_UNITS[axis])
        if unit is not None:
            units[axis] = unit
    return OmeImage(sizes, units, _channels(pixels))
