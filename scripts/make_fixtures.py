#!/usr/bin/env python
"""Deterministic generator for rustytree's Zarr v3 test fixtures.

Run through scripts/make_fixtures.sh (which pins every package via
scripts/requirements-fixtures.txt).  Python >= 3.12 is required because
zarr 3.4.x dropped Python 3.11.

Outputs (all under fixtures/, regenerated from scratch on every run):
  stores/<name>.zarr     Zarr stores (v3 unless stated otherwise)
  expected/<name>.json   what xarray decodes from each store (see to_json())
  broken/...             hand-made malformed stores for error-path tests

Everything is deterministic: fixed RNG seed, fixed timestamps, no wall clock,
single-threaded blosc.  Running twice must give byte-identical trees.
"""
from __future__ import annotations

import base64
import json
import math
import shutil
import sys
import warnings
from pathlib import Path

import numcodecs
import numcodecs.blosc
import numcodecs.gzip
import numpy as np
import pandas as pd
import xarray as xr
import zarr
import zarr.codecs as zc
import zarr.codecs.numcodecs as znc

warnings.filterwarnings("ignore")  # zarr warns about consolidated metadata / numcodecs in v3

numcodecs.blosc.use_threads = False  # deterministic blosc output


class _GzipFileMtime0(__import__("gzip").GzipFile):
    """numcodecs' gzip codec lets GzipFile stamp the wall-clock mtime into each chunk: pin it to 0."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("mtime", 0)
        super().__init__(*args, **kwargs)


numcodecs.gzip._gzip = type("gzip_mtime0", (), {"GzipFile": _GzipFileMtime0})

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
STORES = FIX / "stores"
EXPECTED = FIX / "expected"
BROKEN = FIX / "broken"

WRITER = {
    "zarr": zarr.__version__,
    "xarray": xr.__version__,
    "numcodecs": numcodecs.__version__,
    "numpy": np.__version__,
}

NS = "datetime64[ns]"


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------

def json_float(v: float):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def json_safe(v):
    """Make attrs / encoding values JSON-safe."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        # Beyond 2^53 a JSON number loses precision in JavaScript: record the exact value as a string.
        return int(v) if abs(int(v)) <= 2**53 else str(int(v))
    if isinstance(v, (float, np.floating)):
        return json_float(v)
    if isinstance(v, np.datetime64):
        return str(v)
    if isinstance(v, np.dtype):
        return dtype_name(v)
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, np.ndarray):
        return [json_safe(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    return str(v)


def dtype_name(dt) -> str:
    dt = np.dtype(dt)
    if dt.kind in "OUT":
        return "string"
    return str(dt)


def is_string_array(arr: np.ndarray) -> bool:
    if arr.dtype.kind in "UT":
        return True
    if arr.dtype.kind == "O":
        return all(isinstance(x, str) for x in arr.ravel().tolist())
    return False


def encode_values(arr: np.ndarray):
    """Flat C-order JSON list following the fixture value conventions."""
    arr = np.asarray(arr)
    flat = arr.reshape(-1)
    k = arr.dtype.kind
    if k == "M":
        ns = flat.astype(NS)
        nat = np.isnat(ns)
        return ["NaT" if n else str(int(x)) for n, x in zip(nat.tolist(), ns.view("i8").tolist())]
    if k == "m":
        ns = flat.astype("timedelta64[ns]")
        nat = np.isnat(ns)
        return ["NaT" if n else str(int(x)) for n, x in zip(nat.tolist(), ns.view("i8").tolist())]
    if k == "b":
        return [bool(x) for x in flat.tolist()]
    if k in "iu":
        if arr.dtype.itemsize == 8:
            return [str(int(x)) for x in flat.tolist()]
        return [int(x) for x in flat.tolist()]
    if k == "f":
        return [json_float(x) for x in flat.tolist()]
    if k == "c":
        return [[json_float(x.real), json_float(x.imag)] for x in flat.tolist()]
    if is_string_array(arr):
        return [str(x) for x in flat.tolist()]
    raise TypeError(f"cannot encode values of dtype {arr.dtype}")


ENCODING_KEYS = [
    "dtype", "scale_factor", "add_offset", "_FillValue", "missing_value",
    "_Unsigned", "units", "calendar", "chunks", "shards",
]


def zarr_meta(store: Path, path: str) -> dict | None:
    """Raw zarr.json facts for one array (read straight from disk)."""
    p = store / path.strip("/") / "zarr.json"
    if not p.exists():
        return None
    return zarr_meta_facts(json.loads(p.read_text()))


def zarr_meta_facts(m: dict) -> dict:
    """The facts recorded per array from a parsed zarr.json document."""
    grid = m.get("chunk_grid", {})
    return {
        "data_type": m.get("data_type"),
        "fill_value": m.get("fill_value"),
        "chunk_shape": grid.get("configuration", {}).get("chunk_shape"),
        "codecs": m.get("codecs"),
        "attributes": json_safe(m.get("attributes", {})),
    }


def var_json(name: str, var: xr.Variable, is_coord: bool, store: Path, node_path: str) -> dict:
    out: dict = {
        "dims": list(var.dims),
        "shape": list(var.shape),
        "dtype": dtype_name(var.dtype),
        "is_coord": bool(is_coord),
        "attrs": json_safe(dict(var.attrs)),
        "encoding": {k: json_safe(var.encoding[k]) for k in ENCODING_KEYS
                     if k in var.encoding and var.encoding[k] is not None},
    }
    vals = np.asarray(var.values)
    if vals.dtype.kind == "O" and not is_string_array(vals):
        out["dtype"] = "object"
        out["values"] = None
        out["cftime"] = True
        first = next((x for x in vals.ravel().tolist() if x is not None), None)
        out["cftime_calendar"] = getattr(first, "calendar", None)
        out["cftime_iso"] = [None if x is None else x.isoformat() for x in vals.ravel().tolist()]
    else:
        out["values"] = encode_values(vals)
    out["reader"] = "xarray"
    out["zarr"] = zarr_meta(store, f"{node_path}/{name}")
    return out


def node_json(node: xr.DataTree, store: Path) -> dict:
    own = node.to_dataset(inherit=False)
    variables = {}
    for name in sorted(own.variables, key=str):
        variables[str(name)] = var_json(str(name), own.variables[name], name in own.coords,
                                        store, node.path)
    return {
        "attrs": json_safe(dict(node.attrs)),
        "dims": {str(k): int(v) for k, v in node.sizes.items()},
        "own_dims": {str(k): int(v) for k, v in own.sizes.items()},
        "inherited_coords": sorted(str(c) for c in node.coords if c not in own.coords),
        "variables": variables,
    }


def zarr_array_paths(store: Path) -> list[tuple[str, str]]:
    """(group path, array name) for every array in the store."""
    g = zarr.open_group(str(store), mode="r", zarr_format=3)
    out = []

    def visit(group, path):
        for name, _ in sorted(group.arrays(), key=lambda kv: kv[0]):
            out.append((path or "/", name))
        for name, sub in sorted(group.groups(), key=lambda kv: kv[0]):
            visit(sub, f"{path}/{name}")

    visit(g, "")
    return out


def zarr_python_var(store: Path, group_path: str, name: str, error: str) -> dict:
    """Fallback: raw zarr-python view of one array (no CF decoding)."""
    g = zarr.open_group(str(store), mode="r", zarr_format=3, path=group_path.strip("/") or None)
    arr = g[name]
    vals = np.asarray(arr[...])
    return {
        "dims": list(arr.metadata.dimension_names or [f"dim_{i}" for i in range(arr.ndim)]),
        "shape": list(arr.shape), "dtype": dtype_name(vals.dtype), "is_coord": False,
        "attrs": json_safe(dict(arr.attrs)), "encoding": {}, "values": encode_values(vals),
        "reader": "zarr-python", "xarray_error": error,
        "zarr": zarr_meta(store, f"{group_path.rstrip('/')}/{name}"),
    }


def pruned_copy(store: Path, dest: Path, keep=None, drop=()) -> Path:
    """Copy a store to dest keeping only arrays in `keep` (or all but `drop`), re-consolidated."""
    shutil.copytree(store, dest)
    for group, name in zarr_array_paths(store):
        if (keep is not None and (group, name) not in keep) or (group, name) in drop:
            shutil.rmtree(dest / group.strip("/") / name)
    for zj in dest.rglob("zarr.json"):
        m = json.loads(zj.read_text())
        if m.pop("consolidated_metadata", None) is not None:
            zj.write_text(json.dumps(m))
    zarr.consolidate_metadata(str(dest))
    return dest


def find_xarray_failures(store: Path, options: dict) -> dict[tuple[str, str], str]:
    """Open every array on its own (in a pruned copy) with xarray; {(group, name): error} for failures."""
    import tempfile
    bad = {}
    for group, name in zarr_array_paths(store):
        with tempfile.TemporaryDirectory() as tmp:
            one = pruned_copy(store, Path(tmp) / "one.zarr", keep={(group, name)})
            try:
                xr.open_dataset(str(one), group=None if group == "/" else group.lstrip("/"), **options).load()
            except Exception as e:
                bad[(group, name)] = f"{type(e).__name__}: {e}"
    return bad


def write_expected(store_name: str, out_name: str, **open_kwargs) -> None:
    import tempfile
    store = STORES / f"{store_name}.zarr"
    options = {"engine": "zarr", "zarr_format": 3, **open_kwargs}
    doc = {"source": f"{store_name}.zarr", "writer": WRITER, "options": options}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            tree = xr.open_datatree(str(store), **options).load()
            bad = {}
        except Exception:
            # xarray cannot decode some arrays: open a copy without them, read those with zarr-python
            bad = find_xarray_failures(store, options)
            doc["xarray_failed_variables"] = {f"{g.rstrip('/')}/{n}": e for (g, n), e in sorted(bad.items())}
            tree = xr.open_datatree(str(pruned_copy(store, Path(tmp) / "rest.zarr", drop=set(bad))),
                                    **options).load()
        nodes = {n.path: node_json(n, store) for n in sorted(tree.subtree, key=lambda n: n.path)}
    for (group, name), err in sorted(bad.items()):
        nodes[group]["variables"][name] = zarr_python_var(store, group, name, err)
        nodes[group]["variables"] = dict(sorted(nodes[group]["variables"].items()))
    doc["nodes"] = nodes
    (EXPECTED / f"{out_name}.json").write_text(dumps(doc) + "\n")


def dumps(obj, indent=0) -> str:
    """Pretty JSON, but scalar lists on one line (keeps files small & diffable)."""
    pad = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(obj, list):
        if all(not isinstance(x, dict) for x in obj) and not any(
            isinstance(x, list) and any(isinstance(y, (dict, list)) for y in x) for x in obj
        ):
            return json.dumps(obj, ensure_ascii=False, allow_nan=False)
        items = [pad + dumps(x, indent + 1) for x in obj]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


# --------------------------------------------------------------------------
# a/b. NEXRAD-like DataTree
# --------------------------------------------------------------------------

MOMENTS = {
    # name: (units, long_name, lo, hi, scale, offset)
    "DBZH": ("dBZ", "Equivalent reflectivity factor H", -20.0, 70.0, 0.5, -33.0),
    "ZDR": ("dB", "Log differential reflectivity H/V", -4.0, 8.0, 0.0625, -8.0),
    "RHOHV": ("unitless", "Correlation coefficient HV", 0.2, 1.05, 0.005, 0.0),
    "VRADH": ("m/s", "Radial velocity of scatterers away from instrument H", -30.0, 30.0, 0.5, -64.5),
}
N_AZ, N_RANGE = 36, 20
VCPS = {
    # name: (n_vcp_times, first vcp time, elevations, sweeps that carry vcp_time dim)
    "VCP-12": (2, "2024-05-01T00:00:00", [0.5, 0.9, 1.3], {0, 2}),
    "VCP-212": (2, "2024-05-01T01:00:00", [0.5, 1.8], {1}),
}
NEXRAD_CHUNKS_2D = (10, 8)        # 36x20 -> 4x3 chunks, partial edges
NEXRAD_CHUNKS_3D = (1, 10, 8)


def nexrad_tree() -> xr.DataTree:
    r = rng(12)
    nodes: dict[str, xr.Dataset] = {}
    nodes["/"] = xr.Dataset(attrs={
        "Conventions": "CF-1.8, WMO CF-1.0, ACDD-1.3",
        "instrument_name": "KLOT",
        "site_name": "Chicago",
        "version": "2.0",
        "history": "synthetic fixture for rustytree",
        "platform_is_mobile": False,
        "volume_number": 7,
    })
    for vi, (vcp, (n_t, t0, elevs, time_sweeps)) in enumerate(VCPS.items()):
        vcp_time = np.datetime64(t0, "ns") + np.arange(n_t) * np.timedelta64(300, "s").astype("m8[ns]")
        vds = xr.Dataset(
            coords={
                "vcp_time": ("vcp_time", vcp_time, {"long_name": "VCP start time"}),
                "latitude": ((), np.float64(41.60444), {"units": "degrees_north", "standard_name": "latitude"}),
                "longitude": ((), np.float64(-88.08472), {"units": "degrees_east", "standard_name": "longitude"}),
                "altitude": ((), np.float64(202.0 + vi), {"units": "meters", "standard_name": "altitude"}),
            },
            attrs={"scan_name": vcp, "n_sweeps": len(elevs)},
        )
        vds["vcp_time"].encoding = {"units": "seconds since 2024-05-01 00:00:00", "dtype": "int64"}
        nodes[f"/{vcp}"] = vds
        for si, elev in enumerate(elevs):
            has_t = si in time_sweeps
            az = (np.arange(N_AZ, dtype=np.float32) * 10.0 + 0.5 + si * 0.25).astype(np.float32)
            rng_m = (np.arange(N_RANGE, dtype=np.float32) * 250.0 + 2125.0).astype(np.float32)
            shape = (n_t, N_AZ, N_RANGE) if has_t else (N_AZ, N_RANGE)
            dims = ("vcp_time", "azimuth", "range") if has_t else ("azimuth", "range")
            t_start = np.datetime64(t0, "ns") + np.timedelta64(20 * si, "s").astype("m8[ns]")
            # 1/3 second per ray, with ms resolution after encoding
            az_time = t_start + (np.arange(N_AZ) * 333).astype("m8[ms]").astype("m8[ns]")
            data_vars = {}
            for mi, (mname, (units, lname, lo, hi, scale, offset)) in enumerate(MOMENTS.items()):
                vals = r.uniform(lo, hi, size=shape).astype(np.float32)
                # quantise to the packing grid so decode(encode(x)) == x exactly
                vals = (np.round((vals - offset) / scale) * scale + offset).astype(np.float32)
                mask = r.random(shape) < 0.15
                vals[mask] = np.nan
                v = xr.Variable(dims, vals, {"units": units, "long_name": lname,
                                             "standard_name": f"radar_{mname.lower()}"})
                v.encoding = {
                    "dtype": "int16", "scale_factor": scale, "add_offset": offset, "_FillValue": -32768,
                    "chunks": NEXRAD_CHUNKS_3D if has_t else NEXRAD_CHUNKS_2D,
                    "compressors": (zc.ZstdCodec(level=3),),
                }
                data_vars[mname] = v
            coords = {
                "azimuth": ("azimuth", az, {"units": "degrees", "standard_name": "sensor_to_target_azimuth_angle"}),
                "range": ("range", rng_m, {"units": "meters", "standard_name": "projection_range_coordinate",
                                           "meters_between_gates": 250.0, "meters_to_center_of_first_gate": 2125.0}),
                "elevation": ("azimuth", (elev + 0.01 * (np.arange(N_AZ) % 3)).astype(np.float32),
                              {"units": "degrees", "standard_name": "sensor_to_target_elevation_angle"}),
                "time": ("azimuth", az_time, {"standard_name": "time"}),
            }
            sds = xr.Dataset(data_vars, coords=coords,
                             attrs={"sweep_number": si, "sweep_fixed_angle": elev, "sweep_mode": "azimuth_surveillance"})
            for c in ("azimuth", "range", "elevation"):
                sds[c].encoding = {"chunks": (16,), "compressors": (zc.ZstdCodec(level=3),)}
            sds["time"].encoding = {"units": "milliseconds since 2024-05-01 00:00:00", "dtype": "int64",
                                    "chunks": (16,), "calendar": "standard"}
            nodes[f"/{vcp}/sweep_{si}"] = sds
    return xr.DataTree.from_dict(nodes)


def make_nexrad() -> None:
    tree = nexrad_tree()
    tree.to_zarr(str(STORES / "nexrad.zarr"), zarr_format=3, consolidated=True, mode="w")
    tree.to_zarr(str(STORES / "nexrad_unconsolidated.zarr"), zarr_format=3, consolidated=False, mode="w")


# --------------------------------------------------------------------------
# c. dtypes (plain zarr-python)
# --------------------------------------------------------------------------

def make_dtypes() -> None:
    path = STORES / "dtypes.zarr"
    g = zarr.open_group(str(path), mode="w", zarr_format=3,
                        attributes={"title": "one array per data type", "fixture": "dtypes"})

    def arr(name, data, dims=None, chunks=None, fill_value=None, attrs=None, dtype=None):
        data = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
        kw = {}
        if fill_value is not None:
            kw["fill_value"] = fill_value
        a = g.create_array(name, shape=data.shape, dtype=dtype or data.dtype,
                           chunks=chunks or (data.shape or ()),
                           dimension_names=list(dims) if dims is not None else [f"n_{name}"],
                           attributes=attrs or {}, **kw)
        a[...] = data
        return a

    i8, i16, i32, i64 = (np.iinfo(t) for t in (np.int8, np.int16, np.int32, np.int64))
    u8, u16, u32, u64 = (np.iinfo(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
    arr("bool", np.array([True, False, True, True, False, False, True, False]), chunks=(3,))
    arr("int8", np.array([i8.min, -1, 0, 1, 42, i8.max], dtype=np.int8), chunks=(4,))
    arr("int16", np.array([i16.min, -1234, 0, 1234, i16.max], dtype=np.int16), chunks=(4,))
    arr("int32", np.array([i32.min, -123456789, 0, 123456789, i32.max], dtype=np.int32), chunks=(4,))
    arr("int64", np.array([i64.min, -(2**53) - 1, -1, 0, 2**53, 2**53 + 1, 1234567890123456789, i64.max],
                          dtype=np.int64), chunks=(3,))
    arr("uint8", np.array([0, 1, 127, 128, 255], dtype=np.uint8), chunks=(4,))
    arr("uint16", np.array([0, 1, 32768, 65535], dtype=np.uint16), chunks=(3,))
    arr("uint32", np.array([0, 1, 2**31, 2**32 - 1], dtype=np.uint32), chunks=(3,))
    arr("uint64", np.array([0, 1, 2**53 + 1, 2**63, 2**63 + 12345, u64.max], dtype=np.uint64), chunks=(4,))
    arr("float16", np.array([0.0, -0.0, 1.5, -2.25, 65504.0, 6.1e-05, np.nan, np.inf, -np.inf], dtype=np.float16),
        chunks=(4,))
    arr("float32", np.array([0.0, -0.0, 1.1, -3.4028235e38, 3.4028235e38, 1e-45, np.nan, np.inf, -np.inf],
                            dtype=np.float32), chunks=(4,))
    arr("float64", np.array([0.0, -0.0, 0.1, -1.7976931348623157e308, 1.7976931348623157e308, 5e-324,
                             np.pi, np.nan, np.inf, -np.inf], dtype=np.float64), chunks=(4,))
    strings = np.array(["héllo", "日本", "", "ascii", "emoji 🎉", "tab\tnew\nline", "a" * 40], dtype=object)
    arr("string", strings, chunks=(3,), dtype=str)

    # 2-D with partial edge chunks (23 x 17 in 5 x 4 chunks)
    arr("grid2d", np.arange(23 * 17, dtype=np.int32).reshape(23, 17) * 3 - 500, dims=("gy", "gx"), chunks=(5, 4))
    # missing chunks: only some chunks written -> fill_value elsewhere
    for name, dtype, fill in (("missing_int", np.int32, -999), ("missing_float", np.float64, 42.5),
                              ("missing_float_nan", np.float32, "NaN")):
        a = g.create_array(name, shape=(12, 10), dtype=dtype, chunks=(4, 4), fill_value=fill,
                           dimension_names=["my", "mx"], attributes={"note": "chunks (0,0) and (2,1) only"})
        block = np.arange(16, dtype=dtype).reshape(4, 4) + 1
        a[0:4, 0:4] = block
        a[8:12, 4:8] = block * 10
    # 0-d scalar arrays
    a = g.create_array("scalar", shape=(), dtype=np.float64, dimension_names=[], attributes={"units": "K"})
    a[...] = 273.15
    a = g.create_array("scalar_int", shape=(), dtype=np.int64, dimension_names=[])
    a[...] = -(2**62) - 7
    zarr.consolidate_metadata(str(path))


# --------------------------------------------------------------------------
# d. codecs
# --------------------------------------------------------------------------

def codec_chains() -> dict:
    """name -> kwargs for create_array (filters/serializer/compressors/shards/chunks)."""
    B = zc.BytesCodec
    S = zc.ShardingCodec
    return {
        "bytes_le": dict(serializer=B(endian="little"), compressors=None),
        "bytes_be": dict(serializer=B(endian="big"), compressors=None),
        "transpose": dict(filters=[zc.TransposeCodec(order=(1, 0))], serializer=B(endian="little"), compressors=None),
        "gzip": dict(compressors=[zc.GzipCodec(level=5)]),
        "zstd": dict(compressors=[zc.ZstdCodec(level=3)]),
        "zstd_checksum": dict(compressors=[zc.ZstdCodec(level=1, checksum=True)]),
        "blosc_lz4_shuffle": dict(compressors=[zc.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]),
        "blosc_zstd_bitshuffle": dict(compressors=[zc.BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")]),
        "crc32c": dict(compressors=[zc.Crc32cCodec()]),
        "gzip_crc32c": dict(compressors=[zc.GzipCodec(level=1), zc.Crc32cCodec()]),
        "transpose_be_blosc_crc32c": dict(
            filters=[zc.TransposeCodec(order=(1, 0))], serializer=B(endian="big"),
            compressors=[zc.BloscCodec(cname="lz4", clevel=1, shuffle="noshuffle"), zc.Crc32cCodec()]),
        "sharding": dict(chunks=(20, 20), serializer=S(chunk_shape=(5, 5), codecs=[B(endian="little")],
                                                        index_codecs=[B(endian="little"), zc.Crc32cCodec()],
                                                        index_location="end"), compressors=None),
        "sharding_index_start": dict(chunks=(20, 20), serializer=S(chunk_shape=(5, 5), codecs=[B(endian="little")],
                                                                    index_codecs=[B(endian="little"), zc.Crc32cCodec()],
                                                                    index_location="start"), compressors=None),
        "sharding_inner_gzip": dict(chunks=(20, 20), serializer=S(chunk_shape=(5, 5),
                                                                   codecs=[B(endian="little"), zc.GzipCodec(level=5)],
                                                                   index_codecs=[B(endian="little"), zc.Crc32cCodec()],
                                                                   index_location="end"), compressors=None),
        "sharding_inner_transpose_be": dict(chunks=(20, 20), serializer=S(
            chunk_shape=(10, 4), codecs=[zc.TransposeCodec(order=(1, 0)), B(endian="big"), zc.ZstdCodec(level=1)],
            index_codecs=[B(endian="little")], index_location="end"), compressors=None),
        "numcodecs_zlib": dict(compressors=[znc.Zlib(level=5)]),
        "numcodecs_gzip": dict(compressors=[znc.GZip(level=5)]),
        "numcodecs_bz2": dict(compressors=[znc.BZ2(level=9)]),
        "numcodecs_lzma": dict(compressors=[znc.LZMA()]),
        "numcodecs_lz4": dict(compressors=[znc.LZ4(acceleration=1)]),
        "numcodecs_zstd": dict(compressors=[znc.Zstd(level=3)]),
        "numcodecs_shuffle": dict(compressors=[znc.Shuffle(elementsize=4), znc.Zlib(level=1)]),
        "numcodecs_delta": dict(filters=[None], compressors=[zc.ZstdCodec(level=3)]),  # filled per dtype
        "numcodecs_crc32": dict(compressors=[znc.CRC32()]),
        "numcodecs_adler32": dict(compressors=[znc.Adler32()]),
        "numcodecs_fletcher32": dict(compressors=[znc.Fletcher32()]),
    }


CODEC_SHAPE = (30, 23)
CODEC_CHUNKS = (8, 6)  # -> 4 x 4 chunks with partial edges; shards (20, 20) -> 2 x 2 partial shards


def make_codecs() -> None:
    path = STORES / "codecs.zarr"
    g = zarr.open_group(str(path), mode="w", zarr_format=3,
                        attributes={"title": "same data, one array per codec chain",
                                    "shape": list(CODEC_SHAPE)})
    r = rng(4)
    yy, xx = np.mgrid[0:CODEC_SHAPE[0], 0:CODEC_SHAPE[1]]
    f32 = np.sin(yy / 7.0) * np.cos(xx / 5.0) * 100.0 + r.normal(0, 1, CODEC_SHAPE)
    f32 = (np.round(f32 * 8) / 8).astype(np.float32)  # short decimal reprs keep expected JSON small
    f32[3, 4] = np.nan
    f32[20, 17] = -np.inf
    f32[1, 1] = np.float32(0.1)  # not exactly representable: expected JSON holds float(float32(0.1))
    f32[2, 2] = np.float32(-1e-40)  # subnormal
    i32 = (yy * 1000 + xx - 20000).astype(np.int32)
    i32[0, 0] = np.iinfo(np.int32).min
    i32[-1, -1] = np.iinfo(np.int32).max
    for chain, kw in codec_chains().items():
        for prefix, data in (("f32", f32), ("i32", i32)):
            kw2 = dict(kw)
            if chain == "numcodecs_delta":
                kw2["filters"] = [znc.Delta(dtype=data.dtype.str)]
            if chain == "numcodecs_shuffle":
                kw2["compressors"] = [znc.Shuffle(elementsize=data.dtype.itemsize), znc.Zlib(level=1)]
            kw2.setdefault("chunks", CODEC_CHUNKS)
            a = g.create_array(f"{prefix}_{chain}", shape=data.shape, dtype=data.dtype,
                               dimension_names=["y", "x"], fill_value=0,
                               attributes={"codec_chain": chain, **({"note": "float delta is lossy (NaN/inf poison the running sum): expected values = zarr-python decode, not the source data"} if (chain, prefix) == ("numcodecs_delta", "f32") else {})}, **kw2)
            a[...] = data
    # sharded array with empty inner chunks and one fully-empty shard (no shard file)
    sparse = np.zeros(CODEC_SHAPE, dtype=np.int32)
    sparse[0:5, 0:5] = 7
    sparse[22:27, 3:9] = np.arange(30).reshape(5, 6) + 1  # shard (1, 0), partial
    # shard (0, 1) and (1, 1) stay empty -> no shard file at all
    a = g.create_array("i32_sharding_sparse", shape=CODEC_SHAPE, dtype=np.int32, chunks=(20, 20),
                       dimension_names=["y", "x"], fill_value=0, compressors=None,
                       serializer=zc.ShardingCodec(chunk_shape=(5, 5), codecs=[zc.BytesCodec(endian="little")],
                                                   index_codecs=[zc.BytesCodec(endian="little"), zc.Crc32cCodec()]),
                       attributes={"codec_chain": "sharding, inner chunks equal to fill_value omitted"})
    a[...] = sparse
    zarr.consolidate_metadata(str(path))


# --------------------------------------------------------------------------
# e. cf.zarr (xarray-written, all CF rules)
# --------------------------------------------------------------------------

def make_cf() -> None:
    path = STORES / "cf.zarr"
    r = rng(7)
    n = 8
    x = np.arange(n, dtype=np.int32)
    base = r.uniform(-50, 50, n)
    nanmask = np.array([False, True, False, False, False, True, False, False])

    def with_nan(a):
        a = np.array(a, dtype=np.float64)
        a[nanmask] = np.nan
        return a

    ds = xr.Dataset(coords={"x": ("x", x, {"long_name": "index"})})
    enc: dict[str, dict] = {}

    def add(name, data, encoding=None, attrs=None, dims=("x",)):
        ds[name] = xr.Variable(dims, data, attrs or {})
        enc[name] = encoding or {}

    # --- fill values
    add("float_fill_nan", with_nan(base).astype(np.float32), attrs={"comment": "default NaN _FillValue"})
    add("float_fill_custom", with_nan(base), {"_FillValue": -9999.0})
    add("float32_fill_custom", with_nan(base).astype(np.float32), {"_FillValue": np.float32(1e20)})
    add("float_no_fill", base.copy(), {"_FillValue": None}, {"comment": "_FillValue disabled"})
    add("int_fill", with_nan(np.round(base)), {"dtype": "int16", "_FillValue": -32767})
    add("int_fill_attr_only", np.array([1, -1, 3, 4, -1, 6, 7, 8], dtype=np.int32),
        attrs={"_FillValue": np.int32(-1)})
    add("int_missing_value", with_nan(np.round(base)), {"dtype": "int16", "missing_value": np.int16(-99)})
    # --- scale / offset
    add("scale_only", with_nan(np.round(base * 10) / 10), {"dtype": "int16", "scale_factor": 0.1, "_FillValue": -32768})
    add("offset_only", with_nan(np.round(base) + 1000.0), {"dtype": "int16", "add_offset": 1000.0, "_FillValue": -32768})
    add("packed_int8", with_nan(np.round(base) * 0.5), {"dtype": "int8", "scale_factor": 0.5, "add_offset": 0.0,
                                                        "_FillValue": np.int8(-128)})
    add("packed_int16_f32", with_nan(np.round(base * 100) / 100).astype(np.float32),
        {"dtype": "int16", "scale_factor": np.float32(0.01), "add_offset": np.float32(0.0), "_FillValue": np.int16(-32768)})
    add("packed_int16", with_nan(np.round(base * 100) / 100),
        {"dtype": "int16", "scale_factor": 0.01, "add_offset": 0.0, "_FillValue": np.int16(-32768)})
    add("packed_int32", with_nan(np.round(base * 1e4) / 1e4 + 1e5),
        {"dtype": "int32", "scale_factor": 1e-4, "add_offset": 1e5, "_FillValue": np.int32(-2147483647)})
    add("packed_int64", with_nan(np.round(base * 1e6) / 1e6),
        {"dtype": "int64", "scale_factor": 1e-6, "add_offset": 0.0, "_FillValue": np.int64(-9223372036854775806)})
    add("packed_uint16", with_nan(np.round(base + 50, 1)),
        {"dtype": "uint16", "scale_factor": 0.1, "add_offset": 0.0, "_FillValue": np.uint16(65535)})
    # --- _Unsigned
    # (xarray's zarr writer rejects _Unsigned in encoding, so store packed values + the attribute)
    add("unsigned_int8", np.array([0, 1, 127, 128, 200, 255, 3, 4], dtype=np.uint8).view(np.int8),
        attrs={"_Unsigned": "true"})
    add("unsigned_int16_fill", np.array([0, 1, 32767, 32768, 65000, 65535, 3, 4], dtype=np.uint16).view(np.int16),
        attrs={"_Unsigned": "true", "_FillValue": np.int16(-1)})
    add("signed_uint8", np.array([0, 1, 127, -128, -56, -1, 3, 4], dtype=np.int8).view(np.uint8),
        attrs={"_Unsigned": "false"})
    # --- datetimes
    t = np.datetime64("2024-05-01T12:00:00", "ns") + np.arange(n) * np.timedelta64(90, "m").astype("m8[ns]")
    add("time_seconds", t, {"units": "seconds since 1970-01-01", "dtype": "int64"})
    add("time_minutes", t, {"units": "minutes since 2000-01-01 12:00:00", "calendar": "gregorian", "dtype": "int64"})
    t3h = np.datetime64("2024-05-01T00:00:00", "ns") + np.arange(n) * np.timedelta64(3, "h").astype("m8[ns]")
    add("time_hours", t3h, {"units": "hours since 1900-01-01", "calendar": "standard", "dtype": "int32"})
    add("time_days", t, {"units": "days since 2024-01-01", "calendar": "proleptic_gregorian", "dtype": "float64"},
        attrs={"comment": "float-encoded datetime"})
    add("time_ms", t + np.timedelta64(123, "ms"), {"units": "milliseconds since 2024-05-01", "dtype": "int64"})
    add("time_us", t + np.timedelta64(123456, "us"), {"units": "microseconds since 2024-05-01T00:00:00", "dtype": "int64"})
    add("time_ns", t + np.timedelta64(123456789, "ns"), {"units": "nanoseconds since 2024-05-01", "dtype": "int64"})
    # (a UTC offset in the reference date is normalised away by xarray's encoder -> time_tz is hand-written below)
    t_nat = t.copy()
    t_nat[[2, 5]] = np.datetime64("NaT")
    add("time_nat", t_nat, {"units": "seconds since 2024-05-01", "dtype": "int64"})
    add("time_nat_float", t_nat, {"units": "hours since 2024-05-01", "dtype": "float64"})
    # non-standard calendar via cftime -> decoded back to cftime objects
    import cftime
    nl = np.array([cftime.DatetimeNoLeap(2001, 2, 27 + i % 2, i) if i < 2 else cftime.DatetimeNoLeap(2001, 3, i, 6)
                   for i in range(n)], dtype=object)
    add("time_noleap", nl, {"units": "days since 2001-01-01", "calendar": "noleap", "dtype": "float64"})
    # --- timedeltas
    td = (np.arange(n) * 5400 + 7).astype("m8[s]").astype("m8[ns]")
    add("timedelta_seconds", td, {"units": "seconds", "dtype": "int64"})
    add("timedelta_hours", (np.arange(n) * 3).astype("m8[h]").astype("m8[ns]"), {"units": "hours", "dtype": "int32"})
    td_nat = td.copy()
    td_nat[3] = np.timedelta64("NaT")
    add("timedelta_nat", td_nat, {"units": "seconds", "dtype": "int64"})
    # --- strings
    add("name", np.array(["alpha", "béta", "日本", "", "delta", "ε", "zeta", "eta"], dtype=object),
        attrs={"long_name": "station name"})
    # --- coordinates attribute: non-dimension coordinate promoted via "coordinates"
    ds = ds.assign_coords(lat=("x", np.linspace(40.0, 41.75, n), {"units": "degrees_north"}),
                          station_id=("x", np.array([f"ST{i:03d}" for i in range(n)], dtype=object)))
    enc["lat"] = {}
    enc["station_id"] = {}
    ds["temperature"] = xr.Variable(("x",), with_nan(base + 273.15).astype(np.float32),
                                    {"units": "K", "standard_name": "air_temperature"})
    enc["temperature"] = {"dtype": "int16", "scale_factor": 0.01, "add_offset": 273.15, "_FillValue": np.int16(-32767)}
    # 2-D variable
    ds["field2d"] = xr.Variable(("y", "x"), np.arange(3 * n, dtype=np.float64).reshape(3, n) / 4.0, {"units": "1"})
    ds = ds.assign_coords(y=("y", np.array([10, 20, 30], dtype=np.int64)))
    enc["field2d"] = {"chunks": (2, 3)}
    enc["y"] = {}
    ds.attrs = {
        "title": "CF decoding rules", "Conventions": "CF-1.11",
        "int_attr": 42, "neg_int": -7, "big_int": 2**53 + 1, "float_attr": 3.25, "float_exp": 1.5e-300,
        "bool_true": True, "bool_false": False, "list_int": [1, 2, 3], "list_float": [0.5, 1.5],
        "list_str": ["a", "b"], "list_mixed": [1, "two", 3.0, False], "empty_str": "", "empty_list": [],
        "unicode": "Zürich – 東京",
    }
    ds.to_zarr(str(path), zarr_format=3, consolidated=True, mode="w",
               encoding={k: v for k, v in enc.items() if v})
    # Things xarray's writer will not produce, added by hand with zarr-python afterwards:
    g = zarr.open_group(str(path), mode="r+", zarr_format=3)
    # attrs of JSON types xarray refuses (null, nested objects)
    g.attrs.update({"null_attr": None, "nested": {"a": 1, "b": [True, None, "x"], "c": {"d": 2.5}}})
    # both _FillValue and missing_value, with both sentinels present in the data
    a = g.create_array("fill_and_missing", shape=(n,), dtype=np.int16, chunks=(n,), fill_value=0,
                       dimension_names=["x"], attributes={"_FillValue": -999, "missing_value": -998, "units": "m"})
    a[...] = np.array([1, -999, 3, -998, 5, 6, -999, 8], dtype=np.int16)
    # missing_value given as a list (CF allows a vector)
    a = g.create_array("missing_value_list", shape=(n,), dtype=np.int16, chunks=(n,), fill_value=0,
                       dimension_names=["x"], attributes={"missing_value": [-1, -2]})
    a[...] = np.array([1, -1, 3, -2, 5, 6, 7, 8], dtype=np.int16)
    # datetime whose reference date carries a UTC offset (xarray decodes it to UTC)
    a = g.create_array("time_tz", shape=(n,), dtype=np.int64, chunks=(n,), fill_value=0, dimension_names=["x"],
                       attributes={"units": "hours since 2024-05-01 00:00:00+05:00", "calendar": "standard",
                                   "comment": "reference date has a UTC offset"})
    a[...] = np.arange(n, dtype=np.int64) * 3 - 2
    # datetime with an integer _FillValue (masked -> NaT)
    a = g.create_array("time_int_fill", shape=(n,), dtype=np.int32, chunks=(n,), fill_value=0, dimension_names=["x"],
                       attributes={"units": "days since 1999-12-31", "calendar": "gregorian", "_FillValue": -1})
    a[...] = np.array([0, 1, -1, 366, 9000, -1, 10000, 1], dtype=np.int32)
    # timedelta without the xarray "dtype" attribute (units only): decoding depends on decode_timedelta default
    a = g.create_array("timedelta_units_only", shape=(n,), dtype=np.int64, chunks=(n,), fill_value=0,
                       dimension_names=["x"], attributes={"units": "minutes"})
    a[...] = np.arange(n, dtype=np.int64) * 15
    zarr.consolidate_metadata(str(path))


# --------------------------------------------------------------------------
# f. cf_plain.zarr: third-party writer, plain-number CF attrs
# --------------------------------------------------------------------------

def make_cf_plain() -> None:
    path = STORES / "cf_plain.zarr"
    g = zarr.open_group(str(path), mode="w", zarr_format=3,
                        attributes={"title": "third-party CF attrs (plain numbers, not base64)"})
    n = 6
    a = g.create_array("x", shape=(n,), dtype=np.float64, chunks=(n,), dimension_names=["x"],
                       attributes={"units": "km"})
    a[...] = np.arange(n) * 1.5
    a = g.create_array("float_fill", shape=(n,), dtype=np.float32, chunks=(4,), fill_value=-9999.0,
                       dimension_names=["x"], attributes={"_FillValue": -9999.0, "units": "K"})
    a[...] = np.array([280.5, -9999.0, 281.25, 282.0, -9999.0, 283.5], dtype=np.float32)
    a = g.create_array("float_fill_nan_meta", shape=(n,), dtype=np.float64, chunks=(4,), fill_value="NaN",
                       dimension_names=["x"], attributes={"comment": "NaN fill_value in metadata, no _FillValue attr"})
    a[...] = np.array([1.0, np.nan, 3.0, 4.0, 5.0, np.nan])
    a = g.create_array("int_fill", shape=(n,), dtype=np.int32, chunks=(4,), fill_value=-1,
                       dimension_names=["x"], attributes={"_FillValue": -1})
    a[...] = np.array([10, -1, 30, 40, -1, 60], dtype=np.int32)
    a = g.create_array("packed", shape=(n,), dtype=np.int16, chunks=(4,), fill_value=-32768,
                       dimension_names=["x"],
                       attributes={"_FillValue": -32768, "scale_factor": 0.01, "add_offset": 10.0, "units": "m/s"})
    a[...] = np.array([0, 100, -32768, -100, 32767, 5], dtype=np.int16)
    a = g.create_array("scaled_int_scale", shape=(n,), dtype=np.int16, chunks=(n,), fill_value=0,
                       dimension_names=["x"], attributes={"scale_factor": 2, "add_offset": 1})
    a[...] = np.array([0, 1, 2, 3, 4, 5], dtype=np.int16)
    a = g.create_array("time", shape=(n,), dtype=np.int64, chunks=(n,), fill_value=0, dimension_names=["x"],
                       attributes={"units": "hours since 2020-01-01T00:00:00Z", "calendar": "standard"})
    a[...] = np.arange(n, dtype=np.int64) * 6
    # non-dimension coordinate promoted only through a hand-written "coordinates" attribute
    a = g.create_array("station_elevation", shape=(n,), dtype=np.float32, chunks=(n,), fill_value=0.0,
                       dimension_names=["x"], attributes={"units": "m"})
    a[...] = np.array([100, 110.5, 120, 130.25, 140, 150], dtype=np.float32)
    a = g.create_array("rain", shape=(n,), dtype=np.float32, chunks=(n,), fill_value=0.0, dimension_names=["x"],
                       attributes={"units": "mm", "coordinates": "station_elevation time"})
    a[...] = np.array([0, 0.5, 1.25, 0, 3, 7.75], dtype=np.float32)
    zarr.consolidate_metadata(str(path))


# --------------------------------------------------------------------------
# names*.zarr: node names with characters that need care on a filesystem
# --------------------------------------------------------------------------

def make_names(consolidated: bool) -> None:
    path = STORES / ("names.zarr" if consolidated else "names_unconsolidated.zarr")
    g = zarr.open_group(str(path), mode="w", zarr_format=3, attributes={"title": "special characters in names"})
    a = g.create_array("temp[K]", shape=(3,), dtype=np.int32, chunks=(2,), fill_value=0, dimension_names=["n"])
    a[...] = np.array([280, 281, 282], dtype=np.int32)
    sub = g.create_group("grüße %1", attributes={"k": 1})
    b = sub.create_array("x y#z", shape=(2,), dtype=np.float32, chunks=(2,), fill_value=0.0, dimension_names=["m"])
    b[...] = np.array([7.5, 8.5], dtype=np.float32)
    if consolidated:
        zarr.consolidate_metadata(str(path))


# --------------------------------------------------------------------------
# cf_edge.zarr: CF and JSON edge cases seen in real data (NaN attributes, NCEP-style and Julian-day
# times, compact reference dates, timedelta units with fill values, float timedeltas)
# --------------------------------------------------------------------------

def make_cf_edge() -> None:
    path = STORES / "cf_edge.zarr"
    g = zarr.open_group(str(path), mode="w", zarr_format=3,
                        attributes={"valid_min": float("nan"), "big": 2**60 + 1, "top": float("inf")})
    n = 3

    def arr(name, dtype, values, attrs, dim="t"):
        a = g.create_array(name, shape=(n,), dtype=dtype, chunks=(n,), fill_value=0, dimension_names=[dim],
                           attributes=attrs)
        a[...] = np.array(values, dtype=dtype)

    arr("ncep_time", np.float64, [17067072.0, 17067078.0, 17067084.0], {"units": "hours since 1-1-1 00:00:0.0"}, "a")
    arr("julian", np.int64, [2451545, 2451546, 2451547], {"units": "days since -4713-01-01T12:00:00"}, "b")
    arr("compact_ref", np.int64, [0, 1, 2], {"units": "days since 20000101"}, "c")
    arr("utc_lower", np.int64, [0, 1, 2], {"units": "hours since 2000-01-01 00:00:00 utc"}, "d")
    arr("td_fill", np.int32, [1, -1, 3], {"units": "seconds", "_FillValue": -1}, "e")
    arr("td_float", np.float64, [636.9616873214543, 1.5, 0.1], {"units": "days", "dtype": "timedelta64[ns]"}, "f")
    arr("nan_attr", np.float32, [1.0, 2.0, 3.0], {"valid_min": float("nan"), "valid_max": float("inf")}, "g")
    a = g.create_array("native_dt", shape=(n,), dtype="datetime64[s]", chunks=(n,), dimension_names=["h"],
                       attributes={"units": "seconds since 1970-01-01"})
    a[...] = np.array(["2000-01-01T00:00:00", "2000-01-01T00:00:01", "NaT"], dtype="datetime64[s]")
    zarr.consolidate_metadata(str(path))


# --------------------------------------------------------------------------
# extensions.zarr: zarr-python-specific data types / codecs (not core v3)
# --------------------------------------------------------------------------

def make_extensions() -> None:
    path = STORES / "extensions.zarr"
    g = zarr.open_group(str(path), mode="w", zarr_format=3,
                        attributes={"title": "zarr-python extension dtypes/codecs, outside the core v3 spec"})
    a = g.create_array("fixed_utf32", shape=(4,), dtype="<U6", chunks=(4,), dimension_names=["x"])
    a[...] = np.array(["héllo", "日本", "", "abcdef"])
    a = g.create_array("complex64", shape=(4,), dtype=np.complex64, chunks=(3,), dimension_names=["x"])
    a[...] = np.array([1 + 2j, -0.5j, np.nan + 1j, 3], dtype=np.complex64)
    a = g.create_array("complex128", shape=(4,), dtype=np.complex128, chunks=(3,), dimension_names=["x"])
    a[...] = np.array([1 + 2j, -0.5j, np.inf, 3], dtype=np.complex128)
    a = g.create_array("datetime64_native", shape=(4,), dtype="datetime64[s]", chunks=(4,), dimension_names=["x"])
    a[...] = np.array(["2024-05-01T00:00:00", "NaT", "1969-12-31T23:59:59", "2262-01-01"], dtype="datetime64[s]")
    a = g.create_array("timedelta64_native", shape=(4,), dtype="timedelta64[ms]", chunks=(4,), dimension_names=["x"])
    a[...] = np.array([0, 1500, -1, 86400000], dtype="timedelta64[ms]")
    zarr.consolidate_metadata(str(path))


# --------------------------------------------------------------------------
# g. v2 store
# --------------------------------------------------------------------------

def make_v2() -> None:
    ds = xr.Dataset({"temp": (("y", "x"), np.arange(12, dtype=np.float32).reshape(3, 4), {"units": "K"})},
                    coords={"x": np.arange(4), "y": np.arange(3) * 10}, attrs={"title": "zarr v2 store"})
    ds.to_zarr(str(STORES / "v2.zarr"), zarr_format=2, consolidated=True, mode="w")


# --------------------------------------------------------------------------
# h. broken stores
# --------------------------------------------------------------------------

def array_meta(shape, chunks, dtype="int32", fill=0, codecs=None, dims=None, attrs=None) -> dict:
    return {
        "zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": codecs if codecs is not None else [{"name": "bytes", "configuration": {"endian": "little"}}],
        "attributes": attrs or {}, "dimension_names": dims or ["x"] * len(shape),
    }


def write_json(p: Path, obj) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(obj, indent=2) + "\n")


ROOT_GROUP = {"zarr_format": 3, "node_type": "group", "attributes": {}}


def make_broken() -> None:
    b = BROKEN
    (b / "not_zarr").mkdir(parents=True)
    (b / "not_zarr" / "README.txt").write_text("This directory is not a Zarr store.\n")
    (b / "malformed_json.zarr").mkdir()
    (b / "malformed_json.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group",, }\n')
    full = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {"title": "truncated"}}, indent=2)
    (b / "truncated.zarr").mkdir()
    (b / "truncated.zarr" / "zarr.json").write_text(full[: len(full) // 2])
    write_json(b / "bad_node_type.zarr" / "zarr.json", {"zarr_format": 3, "node_type": "banana", "attributes": {}})

    write_json(b / "unknown_codec.zarr" / "zarr.json", ROOT_GROUP)
    write_json(b / "unknown_codec.zarr" / "a" / "zarr.json",
               array_meta((4,), (4,), codecs=[{"name": "bytes", "configuration": {"endian": "little"}},
                                              {"name": "no_such_codec"}]))
    (b / "unknown_codec.zarr" / "a" / "c").mkdir()
    (b / "unknown_codec.zarr" / "a" / "c" / "0").write_bytes(b"\x00" * 16)

    write_json(b / "unknown_dtype.zarr" / "zarr.json", ROOT_GROUP)
    write_json(b / "unknown_dtype.zarr" / "a" / "zarr.json", array_meta((4,), (4,), dtype="complex_quux"))

    write_json(b / "corrupt_chunk.zarr" / "zarr.json", ROOT_GROUP)
    write_json(b / "corrupt_chunk.zarr" / "a" / "zarr.json",
               array_meta((8,), (4,), codecs=[{"name": "bytes", "configuration": {"endian": "little"}},
                                              {"name": "gzip", "configuration": {"level": 5}}]))
    import gzip as _gz
    (b / "corrupt_chunk.zarr" / "a" / "c").mkdir()
    (b / "corrupt_chunk.zarr" / "a" / "c" / "0").write_bytes(
        _gz.compress(np.arange(4, dtype="<i4").tobytes(), mtime=0))  # chunk 0 is fine
    (b / "corrupt_chunk.zarr" / "a" / "c" / "1").write_bytes(bytes(range(7, 250, 13)) * 2)  # garbage

    # A chunk of 2^42 int32 elements (16 TiB decoded) that was never written: a 2-element read must fill
    # just those 2 elements, not allocate the chunk.
    write_json(b / "huge_chunk.zarr" / "zarr.json", ROOT_GROUP)
    write_json(b / "huge_chunk.zarr" / "a" / "zarr.json", array_meta((2**42,), (2**42,), fill=7))
    # An index coordinate whose data type has no JavaScript form: the open still succeeds.
    write_json(b / "complex_coord.zarr" / "zarr.json", ROOT_GROUP)
    write_json(b / "complex_coord.zarr" / "k" / "zarr.json", array_meta((4,), (4,), dtype="complex64", fill=[0.0, 0.0], dims=["k"]))
    write_json(b / "complex_coord.zarr" / "v" / "zarr.json", array_meta((4,), (4,), fill=3, dims=["k"]))
    # A scale_factor that is not a number: only that variable's reads fail.
    write_json(b / "bad_cf.zarr" / "zarr.json", ROOT_GROUP)
    write_json(b / "bad_cf.zarr" / "bad" / "zarr.json", array_meta((4,), (4,), attrs={"scale_factor": "0.5"}))
    write_json(b / "bad_cf.zarr" / "good" / "zarr.json", array_meta((4,), (4,), fill=2))
    write_json(b / "wrong_size_chunk.zarr" / "zarr.json", ROOT_GROUP)
    write_json(b / "wrong_size_chunk.zarr" / "a" / "zarr.json", array_meta((8,), (4,)))
    (b / "wrong_size_chunk.zarr" / "a" / "c").mkdir()
    (b / "wrong_size_chunk.zarr" / "a" / "c" / "0").write_bytes(np.arange(4, dtype="<i4").tobytes())
    (b / "wrong_size_chunk.zarr" / "a" / "c" / "1").write_bytes(np.arange(2, dtype="<i4").tobytes()[:7])


# --------------------------------------------------------------------------

def main() -> None:
    if sys.version_info < (3, 12):
        sys.exit("make_fixtures.py needs Python >= 3.12 (zarr 3.4); use scripts/make_fixtures.sh")
    for d in (STORES, EXPECTED, BROKEN):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)

    make_nexrad()
    make_dtypes()
    make_codecs()
    make_cf()
    make_cf_plain()
    make_extensions()
    make_names(consolidated=True)
    make_names(consolidated=False)
    make_cf_edge()
    make_v2()
    make_broken()

    write_expected("nexrad", "nexrad")
    write_expected("nexrad", "nexrad.raw", decode_cf=False)
    write_expected("nexrad_unconsolidated", "nexrad_unconsolidated")
    write_expected("dtypes", "dtypes")
    write_expected("codecs", "codecs")
    write_expected("cf", "cf")
    write_expected("cf", "cf.raw", decode_cf=False)
    write_expected("cf", "cf.nomask", mask_and_scale=False)
    write_expected("cf", "cf.notimes", decode_times=False)
    write_expected("cf_plain", "cf_plain")
    write_expected("extensions", "extensions")
    write_expected("names", "names")
    write_expected("names_unconsolidated", "names_unconsolidated")
    write_expected("cf_edge", "cf_edge")
    print("fixtures written to", FIX)


if __name__ == "__main__":
    main()
