"""The workload matrix as one Markdown table, and its target checks per cell.

One row per (workload, codec, method): the codec floor of the cell (the in-place one for
``inplace``), omescale's best time and its ratio to that floor, the same ratio in CPU seconds
(user + system of the timed work; on a loaded shared machine the wall ratio is mostly the
scheduler's, the CPU ratio is the code's), omescale's peak RSS, and the fastest peer of the
method's family with its time, CPU and peak RSS. ``python -m
benchmarks.matrix_report run.json [more.json ...]`` prints saved matrix runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_cell", "format_matrix"]

MiB = 2**20
#: omescale's limit against the codec floor, per method
LIMITS = {"local_mean": 1.10, "nearest": 1.10, "resize": 1.15, "gaussian": 1.15}


def _ok(row: dict[str, Any] | None) -> bool:
    return row is not None and not row.get("error") and "seconds" in row


def _floor(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    for name in ("codec_floor_inplace", "codec_floor"):
        found = [r for r in rows if r["contender"] == name and _ok(r)]
        if found:
            return found[0]
    return None


def _ours(rows: list[dict[str, Any]], fam: str) -> dict[str, Any] | None:
    for name in ("omescale_inplace", "omescale"):
        found = [r for r in rows if r["contender"] == name and r["method"] == fam]
        if found:
            return found[0]
    return None


def _peers(rows: list[dict[str, Any]], fam: str) -> list[dict[str, Any]]:
    return [r for r in rows if not r["contender"].startswith(("floor", "codec_floor", "omescale"))
            and fam in r["families"]]


def _fmt_peer(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    return (f"{r['label']} {r['seconds']:.1f} s ({r.get('cpu_seconds', 0):.1f} cpu), "
            f"{r['peak_rss'] / MiB:.0f} MiB")


def _cpu(r: dict[str, Any] | None) -> float | None:
    return r.get("cpu_seconds") if r else None


def _cell_rows(cell: dict[str, Any], families: list[str]) -> list[str]:
    rows = cell["rows"]
    floor = _floor(rows)
    fb = next((r for r in rows if r["contender"] in ("floor_b", "floor_inplace") and _ok(r)),
              None)
    out = []
    for fam in families:
        ours = _ours(rows, fam)
        if ours is None:
            continue
        peers = [p for p in _peers(rows, fam) if _ok(p)]
        failed = [p["label"] for p in _peers(rows, fam) if not _ok(p)]
        fastest = min(peers, key=lambda p: p["seconds"]) if peers else None
        cluster = next((r for r in rows if r["contender"] == "omescale_cluster"
                        and r["method"] == fam and _ok(r)), None)
        if not _ok(ours):
            out.append(f"| {cell['name']} | {cell['codec']} | {fam} | failed: "
                       f"{str(ours.get('error'))[:60]} | | | | | | | |")
            continue
        ratio = f"{ours['seconds'] / floor['seconds']:.2f}x" if floor else "-"
        cf, co = _cpu(floor), _cpu(ours)
        cpu_ratio = f"{co / cf:.2f}x" if cf and co else "-"
        extra = []
        if fastest:
            extra.append(f"{fastest['seconds'] / ours['seconds']:.2f}x")
        if cluster:
            cc = _cpu(cluster)
            cpu_note = f" ({cc:.2f} cpu = {cc / co:.2f}x)" if cc and co else ""
            extra.append(f"cluster {cluster['seconds']:.1f} s{cpu_note} = "
                         f"{cluster['seconds'] / ours['seconds']:.2f}x threads, "
                         f"{cluster['peak_rss'] / MiB:.0f} MiB")
        if failed:
            extra.append("failed: " + ", ".join(failed))
        floor_s = f"{floor['seconds']:.2f} ({cf:.2f})" if floor and cf else "-"
        fb_s = f"{fb['seconds']:.2f}" if fb else "-"
        out.append(f"| {cell['name']} | {cell['codec']} | {fam} | {floor_s} | {fb_s} "
                   f"| {ours['seconds']:.2f} ({co:.2f}) | {ratio} | {cpu_ratio} "
                   f"| {ours['peak_rss'] / MiB:.0f} "
                   f"| {_fmt_peer(fastest)} | {'; '.join(extra)} | {ours.get('load', 0):.1f} |")
    return out


def format_matrix(result: dict[str, Any]) -> str:
    """The matrix as one Markdown table (one row per cell and method)."""
    lines = ["| workload | codec | method | codec floor s (cpu) | floor (b) s | omescale s (cpu) "
             "| / codec floor | cpu / floor cpu | omescale MiB | fastest peer of the family "
             "| peer / omescale, notes | load |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|"]
    for cell in result["workloads"]:
        lines += _cell_rows(cell, result["families"])
    return "\n".join(lines)


def check_cell(cell: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """The matrix targets on one cell: (target, met or None if unmeasured, detail)."""
    rows = cell["rows"]
    floor = _floor(rows)
    out: list[tuple[str, bool | None, str]] = []
    for fam, limit in LIMITS.items():
        ours = _ours(rows, fam)
        if ours is None:
            continue
        if not _ok(ours):
            out.append((f"{fam} runs", False, str(ours.get("error"))))
            continue
        t, rss = ours["seconds"], ours["peak_rss"]
        if floor:
            cf, co = _cpu(floor), _cpu(ours)
            cpu = f"; cpu {co / cf:.2f}x" if cf and co else ""
            out.append((f"{fam} <= {limit:.2f}x codec floor", t / floor["seconds"] <= limit,
                        f"{t / floor['seconds']:.2f}x ({t:.2f} s / {floor['seconds']:.2f} s)"
                        f"{cpu}"))
        peers = [p for p in _peers(rows, fam) if _ok(p)]
        if peers:
            fastest = min(peers, key=lambda p: p["seconds"])
            lean = min(peers, key=lambda p: p.get("cpu_seconds", 0))
            out.append((f"{fam} faster than every peer", t < fastest["seconds"],
                        f"{t:.2f} s vs {fastest['label']} {fastest['seconds']:.2f} s; cpu "
                        f"{ours.get('cpu_seconds', 0):.2f} vs {lean['label']} "
                        f"{lean.get('cpu_seconds', 0):.2f}"))
            low = min(peers, key=lambda p: p["peak_rss"])
            out.append((f"{fam} RSS below every peer's", rss < low["peak_rss"],
                        f"{rss / MiB:.0f} MiB vs {low['label']} {low['peak_rss'] / MiB:.0f} MiB"))
        out.append((f"{fam} RSS <= 1 GiB", rss <= 2**30, f"{rss / MiB:.0f} MiB"))
        cluster = next((r for r in rows if r["contender"] == "omescale_cluster"
                        and r["method"] == fam), None)
        if cluster is not None and _ok(cluster):
            c = cluster["seconds"]
            cc, tc = _cpu(cluster), _cpu(ours)
            cpu_note = f"; CPU {cc / tc:.2f}x ({cc:.2f} s / {tc:.2f} s)" if cc and tc else ""
            out.append((f"{fam} cluster <= 1.15x threads", c <= 1.15 * t,
                        f"{c / t:.2f}x ({c:.2f} s / {t:.2f} s){cpu_note}"))
        elif cluster is not None:
            out.append((f"{fam} cluster runs", False, str(cluster.get("error"))))
    return out


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    runs = [json.loads(Path(p).read_text()) for p in sys.argv[1:]]
    data = {**runs[0], "workloads": [wl for r in runs for wl in r["workloads"]]}
    print(format_matrix(data))
    for cell in data["workloads"]:
        marks = [f"{'met' if met else 'n/a' if met is None else 'MISSED'}: {name} ({detail})"
                 for name, met, detail in check_cell(cell)]
        print(f"\n{cell['name']} {cell['codec']} (load {cell['load_start'][0]:.1f} -> "
              f"{cell['load_end'][0]:.1f}):\n" + "\n".join(f"- {m}" for m in marks))
