"""Object storage through fsspec options: a real S3 API (moto in server mode), no environment.

Credentials and the endpoint reach omescale only as storage options (CLI ``--storage-options``
/ ``--input-storage-options``, API ``storage_options`` / ``input_storage_options``); nothing is
set in the environment, so a worker process can only reach the server if the options travel
with the tasks.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import zarr
from ome_zarr_models import v05
from references import expected
from zarr.storage import FsspecStore

import omescale
from omescale.cli import main
from omescale.errors import InvalidOptionError

X = np.random.default_rng(5).integers(1, 60000, (2, 64, 96), dtype=np.uint16)
KW = {"method": "local_mean", "chunks": (1, 32, 32), "scale_factors": [2, 4]}
CLI_KW = ["--method", "local_mean", "--chunks", "1,32,32", "--scale-factors", "2", "4"]


@pytest.fixture(autouse=True)
def _no_aws_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)


def put_input(bucket, path="in.zarr"):
    """``X`` as a zarr array on the bucket; its URL."""
    store = FsspecStore.from_url(f"{bucket.url}/{path}", storage_options=bucket.options)
    zarr.create_array(store, data=X, chunks=(1, 32, 32))
    return f"{bucket.url}/{path}"


def _store(bucket, path):
    return FsspecStore.from_url(f"{bucket.url}/{path}", storage_options=bucket.options,
                                read_only=True)


def check_pyramid(bucket, path):
    """Read the image back with zarr and with ome-zarr-py's reader; compare with skimage's
    downscale_local_mean chained level by level; validate with ome-zarr-models."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    group = zarr.open_group(_store(bucket, path), mode="r")
    v05.Image.from_zarr(group)
    refs = [X]
    for _ in range(2):
        refs.append(expected("local_mean", refs[-1], (1, 2, 2)))
    for k, ref in enumerate(refs):
        np.testing.assert_array_equal(group[str(k)][:], ref)
    nodes = list(Reader(parse_url(_store(bucket, path)))())
    levels = [np.asarray(level) for level in nodes[0].data]
    assert len(levels) == 3
    for level, ref in zip(levels, refs, strict=True):
        np.testing.assert_array_equal(level, ref)


def test_cli_and_api_write_to_s3(s3_bucket, tmp_path, capsys):
    npy = tmp_path / "x.npy"
    np.save(npy, X)
    out = f"{s3_bucket.url}/cli.ome.zarr"
    assert main([str(npy), out, *CLI_KW, "--storage-options",
                 json.dumps(s3_bucket.options)]) == 0
    assert f"wrote {out}: 3 levels" in capsys.readouterr().out
    options = ["--storage-options", json.dumps(s3_bucket.options)]
    assert main(["info", out, *options]) == 0
    assert "2x16x24" in capsys.readouterr().out
    assert main([str(npy), f"{s3_bucket.url}/dry.ome.zarr", "--dry-run", *options]) == 0
    assert "nothing written" in capsys.readouterr().out
    assert not s3_bucket.keys("dry.ome.zarr")
    check_pyramid(s3_bucket, "cli.ome.zarr")
    # API: input on S3 too, with its own options object.
    source = put_input(s3_bucket)
    omescale.write_pyramid(source, f"{s3_bucket.url}/api.ome.zarr", **KW,
                           storage_options=s3_bucket.options,
                           input_storage_options=dict(s3_bucket.options))
    check_pyramid(s3_bucket, "api.ome.zarr")


def test_interrupted_s3_write_resumes_from_the_cli(s3_bucket, tmp_path, capsys):
    source = put_input(s3_bucket)
    out = f"{s3_bucket.url}/out.ome.zarr"
    pending = omescale.write_pyramid(source, out, **KW, storage_options=s3_bucket.options,
                                     compute=False)
    group = zarr.open_group(FsspecStore.from_url(out, storage_options=s3_bucket.options),
                            mode="r+")
    started = dict(group.attrs)  # the "incomplete" marker with this job's record
    pending.compute()
    chunks = [k for k in s3_bucket.keys("out.ome.zarr") if "/c/" in k]
    # What a killed run leaves: the marker instead of the metadata, and some chunk objects
    # never written.
    group.attrs.put(started)
    for key in chunks[::3]:
        s3_bucket.fs.rm(f"{s3_bucket.url.removeprefix('s3://')}/{key}")
    assert len(s3_bucket.keys("out.ome.zarr")) < len(chunks)
    options = tmp_path / "s3.json"
    options.write_text(json.dumps(s3_bucket.options))
    # Without --resume the partial output is refused.
    assert main([source, out, *CLI_KW, "--storage-options", f"@{options}"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([source, out, *CLI_KW, "--storage-options", f"@{options}",
                 "--input-storage-options", json.dumps(s3_bucket.options), "--resume"]) == 0
    assert [k for k in s3_bucket.keys("out.ome.zarr") if "/c/" in k] == chunks
    check_pyramid(s3_bucket, "out.ome.zarr")


@pytest.mark.parametrize("key", ["storage_options", "input_storage_options"])
def test_storage_options_must_be_a_dict(tmp_path, key):
    out = tmp_path / "out.zarr"
    with pytest.raises(InvalidOptionError, match=f"{key} must be a dict"):
        omescale.write_pyramid(X, out, **{key: '{"anon": true}'})
    assert not out.exists()
