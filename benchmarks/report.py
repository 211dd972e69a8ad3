"""Tables and target checks from benchmark results (plain dicts, as saved with ``--json``).

``python -m benchmarks.report run.json [more.json ...]`` prints saved runs as Markdown with
their targets; several files (e.g. a 1x and a 4x run) are merged, which gives the peak-RSS
figure across sizes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_targets", "flatness", "format_markdown", "format_tables"]

MiB = 2**20


def _by_label(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["label"]: r for r in rows}


def _secs(row: dict[str, Any] | None) -> float | None:
    if row is None or row.get("error"):
        return None
    return row["seconds"]


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:6.2f}x" if a is not None and b else "      -"


def _reads(row: dict[str, Any]) -> str:
    """How many times the stored base was read (read syscall bytes / stored input bytes)."""
    if not row.get("input_bytes") or row.get("bytes_read") is None:
        return "-"
    return f"{row['bytes_read'] / row['input_bytes']:.2f}x"


def _family_rows(rows: list[dict[str, Any]], family: str) -> list[dict[str, Any]]:
    floors = [r for r in rows if r["contender"].startswith("floor")]
    ours = [r for r in rows if r["contender"].startswith("omescale") and family in r["families"]]
    peers = [r for r in rows if not r["contender"].startswith(("floor", "omescale"))
             and family in r["families"]]
    return floors + ours + peers


def format_tables(result: dict[str, Any]) -> str:
    """One table per workload and family: seconds, peak RSS, base MB/s, ratios to omescale."""
    lines = []
    for wl in result["workloads"]:
        rows = wl["rows"]
        head = (f"== {wl['name']} {'x'.join(map(str, wl['shape']))} uint16, chunks "
                f"{'x'.join(map(str, wl['chunks']))}, {wl['nbytes'] / 2**30:.2f} GiB, "
                f"codec {result['codec']} (size x{wl['size']})")
        lines.append(head)
        families = [f for f in result["families"]
                    if any(f in r["families"] for r in rows)]
        for fam in families:
            ours = _secs(_by_label(rows).get(f"omescale:{fam}"))
            ours_rss = _by_label(rows).get(f"omescale:{fam}", {}).get("peak_rss")
            lines.append(f"-- {fam}")
            lines.append(f"  {'contender':34s} {'wall s':>8s} {'peak MiB':>9s} {'MB/s':>7s}"
                         f" {'t/omescale':>10s} {'rss/omescale':>12s} {'cpu s':>7s}"
                         f" {'proc s':>7s} {'reads':>6s}")
            for r in _family_rows(rows, fam):
                if r.get("error"):
                    lines.append(f"  {r['label']:34s} FAILED: {r['error'][:90]}")
                    continue
                mbs = wl["nbytes"] / 1e6 / r["seconds"]
                lines.append(
                    f"  {r['label']:34s} {r['seconds']:8.2f} {r['peak_rss'] / MiB:9.0f}"
                    f" {mbs:7.0f} {_ratio(r['seconds'], ours):>10s}"
                    f" {_ratio(r['peak_rss'], ours_rss):>12s}"
                    f" {r.get('cpu_seconds', float('nan')):7.1f} {r['process_seconds']:7.1f}"
                    f" {_reads(r):>6s}")
        lines.append("")
    return "\n".join(lines)


def _fastest_peer(rows: list[dict[str, Any]], family: str, peer: str,
                  method: str | None = None) -> float | None:
    times = [r["seconds"] for r in rows if r["contender"] == peer and family in r["families"]
             and not r.get("error") and (method is None or r["method"] == method)]
    return min(times) if times else None


def check_targets(wl: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """The speed issue's targets on one workload: (target, met or None if unmeasured, detail)."""
    rows = wl["rows"]
    by = _by_label(rows)
    fb = _secs(by.get("floor_b"))
    fin = _secs(by.get("floor_inplace"))
    out: list[tuple[str, bool | None, str]] = []

    def add(name: str, value: float | None, limit: float | None, detail: str,
            le: bool = True) -> None:
        if value is None or limit is None:
            out.append((name, None, "not measured"))
            return
        met = value <= limit if le else value >= limit
        out.append((name, met, detail.format(value=value, limit=limit)))

    for fam in ("local_mean", "nearest"):
        ours = _secs(by.get(f"omescale:{fam}"))
        add(f"{fam} <= 1.10x floor(b)", ours / fb if ours and fb else None, 1.10,
            "{value:.2f}x floor(b)")
        peers = [t for p in ("ome-zarr", "ngff-zarr")
                 if (t := _fastest_peer(rows, fam, p)) is not None]
        add(f"{fam} faster than every peer", ours, min(peers) if peers else None,
            "{value:.1f} s vs fastest peer {limit:.1f} s")
    for fam in ("resize", "gaussian"):
        ours = _secs(by.get(f"omescale:{fam}"))
        add(f"{fam} <= 1.4x floor(b)", ours / fb if ours and fb else None, 1.4,
            "{value:.2f}x floor(b)")
        oz = _fastest_peer(rows, fam, "ome-zarr", "resize")
        add(f"{fam} >= 1.5x faster than ome-zarr resize", oz / ours if oz and ours else None,
            1.5, "{value:.2f}x faster", le=False)
        nz = _fastest_peer(rows, fam, "ngff-zarr", "itkwasm_gaussian")
        add(f"{fam} >= 2.5x faster than ngff-zarr gaussian", nz / ours if nz and ours else None,
            2.5, "{value:.2f}x faster", le=False)
    for r in rows:
        if r["contender"] != "omescale_inplace" or r.get("error"):
            continue
        add(f"in place {r['method']} <= 1.3x in-place floor",
            r["seconds"] / fin if fin else None, 1.3, "{value:.2f}x in-place floor")
        # "any peer's full write" of the same family: the fastest such peer must be 2.5x slower.
        peer_full = [p["seconds"] for p in rows if not p.get("error")
                     and p["contender"] in ("ome-zarr", "ngff-zarr")
                     and r["method"] in p["families"]]
        add(f"in place {r['method']} >= 2.5x faster than any peer's full write",
            min(peer_full) / r["seconds"] if peer_full else None, 2.5,
            "{value:.2f}x faster than the fastest peer of the family", le=False)
    ours_rss = [r["peak_rss"] for r in rows if r["contender"].startswith("omescale")
                and not r.get("error")]
    add("omescale peak RSS <= 1 GiB", max(ours_rss) / 2**30 if ours_rss else None, 1.0,
        "max {value:.2f} GiB")
    return out


def flatness(result: dict[str, Any]) -> list[str]:
    """Peak RSS of each omescale run across the sizes measured in one run (growth in %)."""
    peaks: dict[tuple[str, str], dict[float, int]] = {}
    for wl in result["workloads"]:
        for r in wl["rows"]:
            if r["contender"].startswith("omescale") and not r.get("error"):
                peaks.setdefault((wl["name"], r["label"]), {})[wl["size"]] = r["peak_rss"]
    lines = []
    for (name, label), by_size in sorted(peaks.items()):
        if len(by_size) < 2:
            continue
        sizes = sorted(by_size)
        lo, hi = by_size[sizes[0]], by_size[sizes[-1]]
        cells = ", ".join(f"x{s:g}: {by_size[s] / MiB:.0f} MiB" for s in sizes)
        lines.append(f"  {name} {label}: {cells}  (growth {100 * (hi - lo) / lo:+.1f} %)")
    return lines


def format_markdown(result: dict[str, Any]) -> str:
    """The tables as Markdown (for docs/benchmarks.md), one per workload and family."""
    out = []
    for wl in result["workloads"]:
        rows = wl["rows"]
        out.append(f"#### {wl['name']} {' x '.join(map(str, wl['shape']))} uint16, "
                   f"{wl['nbytes'] / 2**30:.2f} GiB (size x{wl['size']:g})\n")
        out.append("| family | contender | wall s | cpu s | peak MiB | MB/s | t/omescale "
                   "| rss/omescale | base reads |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for fam in result["families"]:
            ours = _by_label(rows).get(f"omescale:{fam}", {})
            for r in _family_rows(rows, fam):
                if r.get("error"):
                    out.append(f"| {fam} | {r['label']} | failed: {r['error'][:60]} "
                               "| | | | | | |")
                    continue
                out.append(
                    f"| {fam} | {r['label']} | {r['seconds']:.1f} "
                    f"| {r.get('cpu_seconds', float('nan')):.1f} | {r['peak_rss'] / MiB:.0f} "
                    f"| {wl['nbytes'] / 1e6 / r['seconds']:.0f} "
                    f"| {_ratio(r['seconds'], _secs(ours) if ours else None).strip()} "
                    f"| {_ratio(r['peak_rss'], ours.get('peak_rss')).strip()} | {_reads(r)} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    runs = [json.loads(Path(p).read_text()) for p in sys.argv[1:]]
    data = {**runs[0], "workloads": [wl for r in runs for wl in r["workloads"]]}
    print(format_markdown(data))
    for wl in data["workloads"]:
        print(f"\nTargets on {wl['name']} x{wl['size']:g}:\n")
        for name, met, detail in check_targets(wl):
            print(f"- {'met' if met else 'not measured' if met is None else 'MISSED'}: "
                  f"{name} ({detail})")
    flat = flatness(data)
    if flat:
        print("\nPeak RSS across sizes:\n")
        print("\n".join(f"- {line.strip()}" for line in flat))
