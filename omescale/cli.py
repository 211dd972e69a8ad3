"""The ``omescale`` command: write OME-Zarr pyramids, the built-in example, and inspect images.

::

    omescale INPUT OUTPUT [options]     write the pyramid of INPUT at OUTPUT
    omescale INPUT --in-place           add levels to the OME-Zarr image INPUT
    omescale example OUTPUT [options]   write the pyramid of a synthetic sample (no download)
    omescale info PATH                  print an OME-Zarr image's levels and metadata
    omescale verify PATH [--recompute K]  check that a pyramid on disk is whole

Exit codes: 0 ok, 2 bad usage or input (nothing written), 1 failure (``verify``: not whole),
130 interrupted.
This module only parses, dispatches and reports; all computing lives in the library.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import omescale
from omescale.errors import OmescaleError
from omescale.method_names import Methods
from omescale.ngff.codecs import CODEC_NAMES, DEFAULT_CODEC

if TYPE_CHECKING:  # dask, numpy and zarr are imported when a command runs, not for --help
    from omescale.ngff.metadata import ZarrFormat

__all__ = ["main"]

PROG = "omescale"
_COMMANDS = ("example", "info", "verify")
_LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, raised instead of printed."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# --- parsing option values (strings -> plain Python values) -----------------------------------


def _ints(text: str) -> tuple[int, ...] | int:
    """``512`` -> 512, ``1,256,256`` -> (1, 256, 256)."""
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer or a comma-separated list of integers"
        ) from None
    return values[0] if len(values) == 1 else values


def _shape(text: str) -> tuple[int, ...]:
    """``64x1024x1024`` or ``64,1024,1024``."""
    value = _ints(text)
    return value if isinstance(value, tuple) else (value,)


def _pairs(text: str, convert: Any, what: str) -> dict[str, Any]:
    out = {}
    for item in text.split(","):
        axis, sep, value = item.partition("=")
        if not sep or not axis.strip():
            raise argparse.ArgumentTypeError(f"{text!r}: expected AXIS={what}[,AXIS={what}...]")
        try:
            out[axis.strip()] = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} in {text!r} is not a {what}") from None
    return out


def _factor_spec(text: str) -> int | dict[str, int]:
    """One level of ``--scale-factors``: ``4`` (y and x) or ``z=2,y=4,x=4``."""
    if "=" in text:
        return _pairs(text, int, "integer")
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"scale factor {text!r} is not an integer or AXIS=INT,... list"
        ) from None


def _sizes(text: str) -> dict[str, float]:
    return _pairs(text, float, "number")


def _json_object(text: str) -> dict[str, Any]:
    """``--storage-options``: a JSON object, or ``@file.json`` holding one."""
    where = "JSON"
    if text.startswith("@"):
        where = text[1:]
        try:
            with open(where, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {where}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"{where} must hold a JSON object such as '{{\"anon\": true}}', not {text.strip()!r}"
        )
    return value


# --- the parsers --------------------------------------------------------------------------------


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("--version", action="version", version=f"omescale {omescale.__version__}")


def _add_pyramid_options(parser: argparse.ArgumentParser, *, default_chunks: str | None) -> None:
    methods = ", ".join(m.value for m in Methods)
    g = parser.add_argument_group("pyramid")
    g.add_argument("--method", default="resize", metavar="NAME",
                   help=f"downsampling method: {methods} (default: resize)")
    g.add_argument("--order", type=int, default=None, help="spline order 0-5 (zoom only)")
    levels = g.add_mutually_exclusive_group()
    levels.add_argument("--levels", type=int, default=None, metavar="N",
                        help="number of levels, level 0 included, exactly (levels may be "
                             "smaller than a chunk); default: until y and x fit in one chunk "
                             "and the largest downsampled axis is <= 256 px")
    levels.add_argument("--scale-factors", nargs="+", type=_factor_spec, default=None,
                        metavar="F", help="cumulative factor of each level after level 0: "
                        "'2 4 8' (y and x) or 'z=1,y=2,x=2 z=2,y=4,x=4'")
    g.add_argument("--axes", default=None,
                   help="the input's axes in its own order, e.g. yxc, zcyx, tczyx (letters t, "
                        "c, z, y, x); written in OME-NGFF order. Default: from the input "
                        "(OME-Zarr, TIFF series axes), else inferred from the dimensions")
    g.add_argument("--reader", choices=("tifffile", "bioio"), default=None,
                   help="read INPUT with bioio (the omescale[formats] extra), e.g. an OME-TIFF; "
                        "default: tifffile for TIFF/OME-TIFF, bioio for .czi, .nd2, .lif ...")
    g.add_argument("--physical-size", type=_sizes, default=None, metavar="AXIS=SIZE,...",
                   help="pixel size of level 0, e.g. z=2,y=0.5,x=0.5")
    g.add_argument("--unit", default=None,
                   help="unit of the axes given in --physical-size, e.g. micrometer")
    g.add_argument("--channel-names", default=None, metavar="A,B,...",
                   help="channel labels, one per channel (omero metadata), e.g. DAPI,GFP")
    g.add_argument("--channel-colors", default=None, metavar="RRGGBB,...",
                   help="channel colours as hex RGB, e.g. 0000FF,00FF00 (default: from the "
                        "input, else white for one channel, red, green, blue... for several)")
    out = parser.add_argument_group("output")
    out.add_argument("--chunks", type=_ints, default=default_chunks, metavar="C[,C...]",
                     help="storage chunk shape: one int per axis, or one int for z, y and x")
    out.add_argument("--shards", type=_ints, default=None, metavar="S[,S...]",
                     help="shard shape (zarr 3 / NGFF 0.5 only), a multiple of the chunks")
    out.add_argument("--codec", choices=CODEC_NAMES, default=DEFAULT_CODEC,
                     help=f"compression (default {DEFAULT_CODEC}, byte shuffle)")
    out.add_argument("--ngff", choices=("0.5", "0.4"), default="0.5",
                     help="0.5 on zarr format 3 (default) or 0.4 on zarr format 2")
    out.add_argument("--storage-options", type=_json_object, default=None, metavar="JSON",
                     help="fsspec options of an output URL, a JSON object or @file.json, e.g. "
                          "'{\"endpoint_url\": \"http://host:9000\", \"profile\": \"lab\"}'; "
                          "also used for an input URL unless --input-storage-options is given; "
                          "sent with the tasks to every worker")
    out.add_argument("--overwrite", action="store_true", help="replace an existing output")
    out.add_argument("--resume", action="store_true",
                     help="finish an interrupted write, computing only missing chunks")
    out.add_argument("--dry-run", action="store_true",
                     help="print levels, shapes, chunks, bytes and tasks; write nothing")
    out.add_argument("--stream", choices=("auto", "yes", "no"), default="auto",
                     help="write in a stream of bounded work units (yes), as one dask graph "
                          "(no), or stream large writes only (auto, default)")
    _add_running(parser)
    _add_common(parser)


def _add_running(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("running")
    run.add_argument("--scheduler", default="threads", metavar="NAME|ADDRESS",
                     help="threads (default), processes, synchronous, 'local' (a dask "
                          "distributed LocalCluster), or a scheduler address tcp://host:8786")
    run.add_argument("--workers", type=int, default=None, metavar="N",
                     help="threads / processes / LocalCluster workers (default: one per core)")
    run.add_argument("--no-progress", action="store_true",
                     help="no progress bar even on a terminal")


def _convert_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} INPUT OUTPUT [options]\n       {PROG} INPUT --in-place [options]\n"
              f"       {PROG} example OUTPUT [options]\n       {PROG} info PATH\n"
              f"       {PROG} verify PATH [--recompute K]",
        description="Write a multiscale OME-Zarr pyramid of INPUT (zarr array, OME-Zarr image, "
                    "TIFF, .npy; local path or fsspec URL), exact on any chunking.",
        epilog="commands:\n  example OUTPUT   write the pyramid of a built-in synthetic sample "
               "(no download)\n  info PATH        print an OME-Zarr image's levels and metadata\n"
               "  verify PATH      check that an OME-Zarr pyramid on disk is whole\n"
               "\nexit codes: 0 ok, 2 bad usage or input (nothing written), 1 failure",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", help="image to downsample")
    parser.add_argument("output", metavar="OUTPUT", nargs="?", default=None,
                        help="OME-Zarr image to write (path or URL)")
    parser.add_argument("--in-place", action="store_true",
                        help="add levels to the OME-Zarr image INPUT (level 0 untouched)")
    parser.add_argument("--input-storage-options", type=_json_object, default=None,
                        metavar="JSON", help="fsspec options of an input URL, a JSON object or "
                        "@file.json, e.g. '{\"anon\": true}' (default: --storage-options)")
    parser.add_argument("--labels", metavar="NAME", default=None,
                        help="write INPUT as label image NAME under the OME-Zarr image OUTPUT "
                             "(method nearest unless --method mode/min/max)")
    _add_pyramid_options(parser, default_chunks=None)
    return parser


def _example_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} example",
        description="Write the pyramid of omescale's built-in synthetic sample: uint16 "
                    "nuclei and puncta with noise, generated lazily per chunk (no download).",
    )
    parser.add_argument("output", metavar="OUTPUT", help="OME-Zarr image to write")
    parser.add_argument("--shape", "--size", type=_shape, default=None, metavar="ZxYxX",
                        help="sample shape, 3D or 2D (default: 64x1024x1024, 128 MiB)")
    parser.add_argument("--seed", type=int, default=0, help="layout and noise seed")
    _add_pyramid_options(parser, default_chunks="8,256,256")
    return parser


def _info_parser() -> _Parser:
    parser = _Parser(prog=f"{PROG} info",
                     description="Print what omescale reads from PATH (axes, shape, dtype, "
                                 "chunks, physical sizes, channels), an OME-Zarr image's levels "
                                 "and metadata, or how far an interrupted pyramid got.")
    parser.add_argument("path", metavar="PATH",
                        help="any input (TIFF, OME-TIFF, folder or glob of TIFF/.npy files, "
                             ".npy, zarr array, OME-Zarr image, vendor file) or a pyramid")
    parser.add_argument("--reader", choices=("tifffile", "bioio"), default=None,
                        help="read PATH with bioio (the omescale[formats] extra)")
    parser.add_argument("--storage-options", type=_json_object, default=None, metavar="JSON",
                        help="fsspec options of a URL, a JSON object or @file.json")
    _add_common(parser)
    return parser


def _verify_parser() -> _Parser:
    parser = _Parser(
        prog=f"{PROG} verify",
        description="Check that an OME-Zarr pyramid on disk is whole: metadata valid and final, "
                    "level shapes and transforms consistent, every chunk or shard present and "
                    "decodable, labels consistent with the image. One line per problem, then a "
                    "summary.",
        epilog="exit codes: 0 whole, 1 not whole, 2 bad usage",
    )
    parser.add_argument("path", metavar="PATH", help="OME-Zarr image (path or URL)")
    parser.add_argument("--recompute", type=int, default=0, metavar="K",
                        help="recompute K random chunks of every level >= 1 from the level "
                             "below with the recorded method and compare (omescale pyramids)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random choice of chunks to recompute (default 0)")
    _add_running(parser)
    _add_common(parser)
    return parser


# --- running ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _scheduler(name: str, workers: int | None) -> Iterator[Any]:
    """Yield a distributed ``Client`` or ``None`` for dask's local schedulers."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if name in _LOCAL_SCHEDULERS:
        import dask

        with dask.config.set(scheduler=name, num_workers=workers):
            yield None
        return
    from distributed import Client, LocalCluster

    if name == "local":
        with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                          processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
        return
    if "://" not in name and ":" not in name:
        raise UsageError(
            f"--scheduler {name!r}: use threads, processes, synchronous, local or an address "
            "such as tcp://host:8786"
        )
    with Client(name, timeout="10s") as client:
        yield client


def _unit_bar(p: Any) -> None:
    """One line on stderr: units and bytes done, with the ETA (a streamed job's progress)."""
    from omescale.cli_report import human_bytes

    width = 30
    filled = width * p.units_done // max(1, p.units_total)
    eta = "--:--:--" if p.eta is None else time.strftime("%H:%M:%S", time.gmtime(p.eta))
    sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {p.units_done}/"
                     f"{p.units_total} units, {human_bytes(p.bytes_done)} of "
                     f"{human_bytes(p.bytes_total)}, ETA {eta}")
    if p.units_done == p.units_total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _compute(pending: Any, client: Any, progress: bool) -> Any:
    """Run ``pending`` (a dask collection or a list of them) with a progress bar on stderr when
    asked; return its value."""
    if pending is None:
        return None
    if getattr(pending, "streamed", False):
        return pending.run(client, progress=_unit_bar if progress else None)
    if client is None:
        import dask

        if progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar(out=sys.stderr, dt=0.2):
                return dask.compute(pending)[0]
        return dask.compute(pending)[0]
    future = client.compute(pending)
    if progress:
        from distributed import progress as distributed_progress

        with contextlib.redirect_stdout(sys.stderr):
            distributed_progress(future)
        sys.stderr.write("\n")
    return client.gather(future)


def _show_progress(args: argparse.Namespace) -> bool:
    return not args.no_progress and sys.stderr.isatty()


def _writer_options(args: argparse.Namespace) -> dict[str, Any]:
    units = None
    if args.unit is not None:
        if not args.physical_size:
            raise UsageError("--unit needs --physical-size (it applies to the axes named there)")
        units = {a: args.unit for a in args.physical_size}
    return {
        "method": args.method,
        "scale_factors": args.scale_factors,
        "max_layer": None if args.levels is None else _max_layer(args.levels),
        "axes": args.axes,
        "chunks": args.chunks,
        "order": args.order,
        "physical_sizes": args.physical_size,
        "units": units,
        "codec": args.codec,
        "reader": args.reader,
        "storage_options": args.storage_options,
        "channels": _channels(args),
    }


def _channels(args: argparse.Namespace) -> list[dict[str, str]] | None:
    """``--channel-names`` and ``--channel-colors`` as omero channel entries."""
    names = None if args.channel_names is None else args.channel_names.split(",")
    colors = None if args.channel_colors is None else args.channel_colors.split(",")
    if names is None and colors is None:
        return None
    if names is not None and colors is not None and len(names) != len(colors):
        raise UsageError(f"--channel-names gives {len(names)} names but --channel-colors "
                         f"{len(colors)} colours")
    count = len(names if names is not None else colors)  # type: ignore[arg-type]
    return [
        {**({"label": names[i]} if names else {}), **({"color": colors[i]} if colors else {})}
        for i in range(count)
    ]


def _max_layer(levels: int) -> int:
    if levels < 1:
        raise UsageError(f"--levels must be >= 1 (level 0 included), got {levels}")
    return levels - 1


def _zarr_format(args: argparse.Namespace) -> ZarrFormat:
    return 3 if args.ngff == "0.5" else 2


def _write(args: argparse.Namespace, image: Any, output: str, out: TextIO,
           extra: dict[str, Any] | None = None, name: str | None = None) -> int:
    options = {**_writer_options(args), **(extra or {})}
    options["stream"] = {"auto": None, "yes": True, "no": False}[args.stream]
    inputs = getattr(args, "input_storage_options", None)
    if inputs is not None:
        options["input_storage_options"] = inputs
    if args.dry_run:
        from omescale.cli_report import dry_run

        dry_run(image, output, options, shards=args.shards, zarr_format=_zarr_format(args),
                overwrite=args.overwrite, resume=args.resume, name=name, out=out,
                cluster=args.scheduler not in _LOCAL_SCHEDULERS)
        return 0
    start = time.perf_counter()
    with _scheduler(args.scheduler, args.workers) as client:
        pending = omescale.write_pyramid(
            image, output, shards=args.shards, zarr_format=_zarr_format(args),
            overwrite=args.overwrite, resume=args.resume, compute=False, name=name, **options,
        )
        _compute(pending, client, _show_progress(args))
    from omescale.cli_report import summary

    summary(output, time.perf_counter() - start, out=out, storage_options=args.storage_options)
    return 0


def _convert(args: argparse.Namespace, out: TextIO) -> int:
    if args.in_place:
        return _in_place(args, out)
    if args.output is None:
        raise UsageError("OUTPUT is required (or pass --in-place to add levels to INPUT)")
    if args.labels is not None:
        return _labels(args, out)
    return _write(args, args.input, args.output, out)


def _in_place(args: argparse.Namespace, out: TextIO) -> int:
    if args.output is not None or args.labels is not None:
        raise UsageError("--in-place writes into INPUT: give no OUTPUT and no --labels")
    if args.physical_size or args.axes or args.unit or args.ngff != "0.5":
        raise UsageError("--in-place keeps the image's own axes, sizes, units and NGFF version")
    if args.dry_run:
        raise UsageError("--dry-run is not available with --in-place")
    from omescale.ngff.inplace import add_levels

    options = _writer_options(args)
    for key in ("axes", "physical_sizes", "units", "reader"):
        options.pop(key)
    options["stream"] = {"auto": None, "yes": True, "no": False}[args.stream]
    if args.input_storage_options is not None:
        if args.storage_options not in (None, args.input_storage_options):
            raise UsageError("--in-place reads and writes INPUT: give its fsspec options once "
                             "(--storage-options)")
        options["storage_options"] = args.input_storage_options
    start = time.perf_counter()
    with _scheduler(args.scheduler, args.workers) as client:
        pending = add_levels(args.input, shards=args.shards, overwrite=args.overwrite,
                             resume=args.resume, compute=False, **options)
        _compute(pending, client, _show_progress(args))
    from omescale.cli_report import summary

    summary(args.input, time.perf_counter() - start, out=out,
            storage_options=options["storage_options"])
    return 0


def _labels(args: argparse.Namespace, out: TextIO) -> int:
    if args.physical_size or args.unit or args.order is not None or args.levels is not None:
        raise UsageError("--labels takes the image's sizes and levels; drop --physical-size, "
                         "--unit, --order and --levels")
    if args.channel_names is not None or args.channel_colors is not None:
        raise UsageError("label images have no channel rendering: drop --channel-names and "
                         "--channel-colors")
    if args.dry_run:
        raise UsageError("--dry-run is not available with --labels")
    method = "nearest" if args.method == "resize" else args.method
    start = time.perf_counter()
    with _scheduler(args.scheduler, args.workers) as client:
        pending = omescale.write_labels(
            args.input, args.output, args.labels, method=method,
            scale_factors=args.scale_factors, axes=args.axes, chunks=args.chunks,
            shards=args.shards, overwrite=args.overwrite, resume=args.resume, compute=False,
            codec=args.codec, storage_options=args.storage_options,
            input_storage_options=args.input_storage_options,
        )
        _compute(pending, client, _show_progress(args))
    from omescale.cli_report import summary

    summary(f"{args.output.rstrip('/')}/labels/{args.labels}", time.perf_counter() - start,
            out=out, storage_options=args.storage_options)
    return 0


def _example(args: argparse.Namespace, out: TextIO) -> int:
    from omescale.sample import DEFAULT_SHAPE, sample_image

    shape = args.shape or DEFAULT_SHAPE
    chunks = args.chunks if isinstance(args.chunks, tuple) else None
    if chunks is not None and len(chunks) != len(shape):
        chunks = None  # the writer reports the mismatch against the sample's axes
    sample = sample_image(shape, chunks=chunks, seed=args.seed)
    extra: dict[str, Any] = {}
    if args.axes is None:
        extra["axes"] = sample.axes
    if args.physical_size is None:
        extra["physical_sizes"] = sample.physical_sizes
        extra["units"] = sample.units
    name = f"synthetic sample {'x'.join(map(str, sample.data.shape))} (seed {args.seed})"
    return _write(args, sample.data, args.output, out, extra, name=name)


def _info(args: argparse.Namespace, out: TextIO) -> int:
    from omescale.cli_info import info

    info(args.path, out=out, reader=args.reader, storage_options=args.storage_options)
    return 0


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from omescale.ngff.verify import verify_job

    job = verify_job(args.path, recompute=args.recompute, seed=args.seed)
    with _scheduler(args.scheduler, args.workers) as client:
        results = _compute(job.pending, client, _show_progress(args)) if job.pending else []
    report = job.finish(results)
    for problem in report.problems:
        out.write(f"{problem}\n")
    for note in report.notes:
        out.write(f"note: {note}\n")
    out.write(report.summary() + "\n")
    return 0 if report.ok else 1


# --- entry point --------------------------------------------------------------------------------


def _dispatch(argv: Sequence[str], out: TextIO) -> int:
    if argv and argv[0] == "example":
        return _example(_example_parser().parse_args(argv[1:]), out)
    if argv and argv[0] == "info":
        return _info(_info_parser().parse_args(argv[1:]), out)
    if argv and argv[0] == "verify":
        return _verify(_verify_parser().parse_args(argv[1:]), out)
    # intermixed: options may come between INPUT and OUTPUT (`omescale in.tif --axes yxc out`)
    return _convert(_convert_parser().parse_intermixed_args(argv), out)


# The library speaks Python keywords; on the command line they are flags.
_FLAGS = {"overwrite=True": "--overwrite", "resume=True": "--resume",
          "max_layer": "--levels", "scale_factors": "--scale-factors"}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    for word, flag in _FLAGS.items():
        text = text.replace(word, flag)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (also used by the console script)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _dispatch(argv, sys.stdout)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {_one_line(exc)} (see {PROG} --help)\n")
        return 2
    except OmescaleError as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"{PROG}: error: {_one_line(exc)}\n")
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted; rerun with --resume to finish the output\n")
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(
            f"{PROG}: failed: {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --resume to finish a partly written output; --debug for details)\n"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
