"""Which runs a benchmark makes: contenders, their own method names, and our method families.

A *family* is one of omescale's methods; each peer run is compared with the omescale run of every
family it belongs to. Peers are run once per (peer, method) even when several families share it
(ome-zarr has no working gaussian for integer images, so its ``resize`` stands for both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FAMILIES", "FLOORS", "PEERS", "Run", "matrix_runs", "plan_runs"]

FAMILIES = ("local_mean", "nearest", "resize", "gaussian")
FLOORS = ("codec_floor", "codec_floor_inplace", "floor_a", "floor_b", "floor_inplace",
          "floor_b_direct", "floor_inplace_direct")

#: peer -> family -> the peer's method names in that family (first = the headline one).
PEERS: dict[str, dict[str, tuple[str, ...]]] = {
    "ome-zarr": {
        "local_mean": ("local_mean",),
        "nearest": ("nearest",),
        "resize": ("resize",),
        "gaussian": ("resize",),
    },
    "ngff-zarr": {
        "local_mean": ("itkwasm_bin_shrink", "dask_bin_shrink"),
        "nearest": ("dask_image_nearest",),
        "resize": ("itkwasm_gaussian", "dask_image_gaussian"),
        "gaussian": ("itkwasm_gaussian", "dask_image_gaussian"),
    },
    # block means and strides only: no smoothing method
    "tensorstore": {"local_mean": ("mean",), "nearest": ("stride",)},
    "ome-zarr-pyramid": {"local_mean": ("mean",), "nearest": ("simple",)},
}
#: the peers' runs in the matrix: ngff-zarr's dask_image_* methods are the dask-image peer.
MATRIX_PEERS: dict[str, dict[str, tuple[str, ...]]] = {
    "ome-zarr": {"local_mean": ("local_mean",), "nearest": ("nearest",),
                 "resize": ("resize",), "gaussian": ("resize",)},
    # itkwasm_gaussian (3x slower than dask_image_gaussian in the quick runs) is left out of
    # the matrix to keep it to its hour; the volume/plane runs keep it.
    "ngff-zarr": {"local_mean": ("itkwasm_bin_shrink",), "nearest": ("dask_image_nearest",),
                  "resize": ("dask_image_gaussian",), "gaussian": ("dask_image_gaussian",)},
    "tensorstore": PEERS["tensorstore"],
    "ome-zarr-pyramid": PEERS["ome-zarr-pyramid"],
}
#: peers that can write shards with the same layout (the sharded cell)
SHARDING_PEERS = ("tensorstore", "ome-zarr-pyramid")

#: the Python module a contender needs (checked before running it).
IMPORTS = {"omescale": "omescale", "omescale_inplace": "omescale",
           "omescale_cluster": "distributed", "ome-zarr": "ome_zarr", "ngff-zarr": "ngff_zarr",
           "tensorstore": "tensorstore", "ome-zarr-pyramid": "ome_zarr_pyramid"}


@dataclass
class Run:
    """One contender with one of its methods, and the families it is compared in."""

    contender: str
    method: str
    families: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``contender:method`` (floors have no method)."""
        return f"{self.contender}:{self.method}" if self.method else self.contender


def _selected(run: Run, only: list[str] | None) -> bool:
    if not only:
        return True
    return run.contender in only or run.label in only


def plan_runs(families: list[str], only: list[str] | None = None,
              inplace: bool = True) -> list[Run]:
    """The runs for ``families``, floors first, filtered by ``only`` (contender or label)."""
    runs: dict[str, Run] = {}

    def add(contender: str, method: str, family: str | None) -> None:
        run = runs.setdefault(f"{contender}:{method}", Run(contender, method))
        if family and family not in run.families:
            run.families.append(family)

    for floor in FLOORS:
        add(floor, "", None)
        runs[f"{floor}:"].families = list(families)
    for fam in families:
        add("omescale", fam, fam)
        if inplace:
            add("omescale_inplace", fam, fam)
        for peer, table in PEERS.items():
            for method in table.get(fam, ()):
                add(peer, method, fam)
    return [r for r in runs.values() if _selected(r, only)
            and r.contender not in ("codec_floor_inplace",)]


def matrix_runs(kind: str, families: list[str], only: list[str] | None = None,
                history: bool = False) -> list[Run]:
    """The runs of one matrix cell: ``kind`` is ``plain``, ``sharded``, ``cluster`` or
    ``inplace``. Floors first, then omescale, then the peers of each family; ``history`` adds
    the zarr floor (b) (or the zarr in-place floor) that earlier runs were measured against."""
    runs: dict[str, Run] = {}

    def add(contender: str, method: str, family: str | None) -> None:
        run = runs.setdefault(f"{contender}:{method}", Run(contender, method))
        if family and family not in run.families:
            run.families.append(family)

    floors = {"inplace": ("codec_floor_inplace", "floor_inplace")}.get(
        kind, ("codec_floor", "floor_b"))[:2 if history else 1]
    for floor in floors:
        add(floor, "", None)
        runs[f"{floor}:"].families = list(families)
    ours = {"inplace": ("omescale_inplace",), "cluster": ("omescale", "omescale_cluster")}
    for fam in families:
        for contender in ours.get(kind, ("omescale",)):
            add(contender, fam, fam)
        if kind in ("inplace", "cluster"):
            continue
        for peer, table in MATRIX_PEERS.items():
            if kind == "sharded" and peer not in SHARDING_PEERS:
                continue
            for method in table.get(fam, ()):
                add(peer, method, fam)
    return [r for r in runs.values() if _selected(r, only)]
