"""Seeded generator of the benchmark's KLOT-like radar archive (run by scripts/bench_data.sh).

A tree shaped like a NEXRAD radar archive converted by xradar and written as a DataTree:
root -> /VCP-<n> (one per volume coverage pattern) -> /VCP-<n>/sweep_<k>, each sweep holding six float32
moments (DBZH, ZDR, RHOHV, PHIDP, VRADH, WRADH) over (vcp_time, azimuth, range), one volume per chunk,
with CF-encoded `vcp_time`/`time` datetimes, `azimuth`, `range`, `elevation` and scalar
latitude/longitude/altitude. Values are radar-like: quantised the way level-II moments are (so that zstd
compresses them about 5:1) with no-echo regions left as NaN.

Usage: make_data.py <small|large> <output dir>

Writes, under <output dir>:
  klot.zarr               zstd, no consolidated metadata (a listing walk)
  klot_consolidated.zarr  zstd, consolidated metadata
  klot_blosc.zarr         blosc-lz4, consolidated
  klot_gzip.zarr          gzip, consolidated
  klot.icechunk           an icechunk repository (format V2) with one commit on main
  layout.json             groups, arrays, chunk counts and sizes, for the harness
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import icechunk as ic
import numpy as np
import pandas as pd
import xarray as xr
import zarr
import zarr.codecs as zc

PROFILES = {
    # ~15 VCPs x ~7 sweeps = ~105 sweep groups, ~1,300 arrays either way; only array sizes differ.
    "small": {"vcps": 15, "sweeps": 7, "volumes": 2, "azimuths": 360, "gates": 100},
    "large": {"vcps": 15, "sweeps": 7, "volumes": 4, "azimuths": 720, "gates": 1000},
}
MOMENTS = {
    # name: (quantisation step, offset, no-echo masked)
    "DBZH": (0.5, -32.0, True),
    "ZDR": (0.0625, -8.0, True),
    "RHOHV": (0.00333, 0.2, True),
    "PHIDP": (0.35, 0.0, True),
    "VRADH": (0.5, -63.5, True),
    "WRADH": (0.5, 0.0, True),
}
CODECS = {
    "zstd": (zc.ZstdCodec(level=3),),
    "blosc": (zc.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),),
    "gzip": (zc.GzipCodec(level=5),),
}


def sweep(rng: np.random.Generator, p: dict, vcp_index: int, k: int, t0: pd.Timestamp) -> xr.Dataset:
    n_t, n_az, n_r = p["volumes"], p["azimuths"], p["gates"]
    az = (np.arange(n_az) * (360.0 / n_az)).astype("float32")
    rng_m = (2125.0 + 250.0 * np.arange(n_r)).astype("float32")
    elevation = np.float32(0.5 + 1.3 * k)
    # A smooth storm field plus speckle, shared by the moments so they look related.
    a = np.deg2rad(az)[None, :, None]
    r = (np.arange(n_r) / n_r)[None, None, :]
    phase = rng.uniform(0, 2 * np.pi, size=(n_t, 1, 1))
    storm = 35 * np.exp(-((np.sin(a + phase) - 0.3) ** 2) / 0.08 - ((r - 0.4) ** 2) / 0.05)
    field = storm + rng.normal(0, 2.5, size=(n_t, n_az, n_r))
    echo = field > 8
    data = {}
    for name, (step, offset, masked) in MOMENTS.items():
        scale = {"DBZH": 1.0, "ZDR": 0.08, "RHOHV": 0.015, "PHIDP": 2.5, "VRADH": 0.9, "WRADH": 0.15}[name]
        raw = offset + np.clip((field * scale - offset) / step, 0, 254).round() * step
        values = raw.astype("float32")
        if masked:
            values[~echo] = np.nan
        data[name] = (("vcp_time", "azimuth", "range"), values, {"units": "dBZ" if name == "DBZH" else "1"})
    times = t0 + pd.to_timedelta(np.arange(n_t) * 300 + vcp_index, unit="s")
    # One scan takes ~20 s; ray times in whole milliseconds so they encode exactly.
    ray_times = times[0] + pd.to_timedelta(np.arange(n_az) * (20_000 // n_az), unit="ms")
    coords = {
        "vcp_time": ("vcp_time", times.values),
        "azimuth": ("azimuth", az, {"units": "degrees"}),
        "range": ("range", rng_m, {"units": "meters"}),
        "elevation": ((), elevation, {"units": "degrees"}),
        "time": ("azimuth", ray_times.values),
        "latitude": ((), np.float64(41.6044)),
        "longitude": ((), np.float64(-88.0847)),
        "altitude": ((), np.float64(202.0)),
    }
    return xr.Dataset(data, coords=coords, attrs={"sweep_number": k, "sweep_mode": "azimuth_surveillance"})


def tree(profile: str) -> xr.DataTree:
    p = PROFILES[profile]
    rng = np.random.default_rng(20261124)
    t0 = pd.Timestamp("2026-05-20T18:00:00")
    nodes: dict[str, xr.Dataset] = {
        "/": xr.Dataset(attrs={"instrument_name": "KLOT", "Conventions": "CF-1.8", "source": "rustytree benchmark"})
    }
    for v in range(p["vcps"]):
        vcp = f"/VCP-{11 + v}"
        nodes[vcp] = xr.Dataset(attrs={"vcp": 11 + v})
        for k in range(p["sweeps"]):
            nodes[f"{vcp}/sweep_{k}"] = sweep(rng, p, v, k, t0 + pd.Timedelta(hours=v))
    return xr.DataTree.from_dict(nodes)


def encoding(dt: xr.DataTree, codec: str) -> dict[str, dict]:
    """One volume per chunk for the moments; whole arrays otherwise; CF-encoded times."""
    enc: dict[str, dict] = {}
    for node in dt.subtree:
        per = {}
        for name, var in node.dataset.variables.items():
            e: dict = {"compressors": CODECS[codec]}
            if name in MOMENTS:
                e["chunks"] = (1, var.shape[1], var.shape[2])
            if name in ("vcp_time", "time"):
                e["units"] = f"{'seconds' if name == 'vcp_time' else 'milliseconds'} since 1970-01-01T00:00:00"
                e["dtype"] = "int64"
            per[name] = e
        enc[node.path] = per
    return enc


def write_zarr(dt: xr.DataTree, path: Path, codec: str, consolidated: bool) -> None:
    dt.to_zarr(path, mode="w", zarr_format=3, consolidated=consolidated, encoding=encoding(dt, codec))


def write_icechunk(dt: xr.DataTree, path: Path) -> None:
    repo = ic.Repository.create(ic.local_filesystem_storage(str(path)))
    session = repo.writable_session("main")
    dt.to_zarr(session.store, mode="w", zarr_format=3, consolidated=False, encoding=encoding(dt, "zstd"))
    session.commit("KLOT-like archive")


def layout(out: Path, dt: xr.DataTree, profile: str) -> None:
    groups = [n.path for n in dt.subtree]
    arrays = sum(len(n.dataset.variables) for n in dt.subtree)
    p = PROFILES[profile]
    moment_bytes = p["volumes"] * p["azimuths"] * p["gates"] * 4
    info = {
        "profile": profile,
        **p,
        "groups": len(groups),
        "arrays": arrays,
        "depth": 2,
        "sweep_groups": [g for g in groups if "/sweep_" in g],
        "sweep_arrays": sorted(next(n for n in dt.subtree if "/sweep_" in n.path).dataset.variables),
        "index_coords": ["vcp_time", "azimuth", "range"],
        "moments": list(MOMENTS),
        "moment_bytes_decoded": moment_bytes,
        "decoded_bytes_all_moments": moment_bytes * len(MOMENTS) * p["vcps"] * p["sweeps"],
        "writer": {"xarray": xr.__version__, "zarr": zarr.__version__, "icechunk": ic.__version__},
    }
    (out / "layout.json").write_text(json.dumps(info, indent=1) + "\n")


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in PROFILES:
        sys.exit(__doc__)
    profile, out = sys.argv[1], Path(sys.argv[2])
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    dt = tree(profile)
    write_zarr(dt, out / "klot.zarr", "zstd", consolidated=False)
    write_zarr(dt, out / "klot_consolidated.zarr", "zstd", consolidated=True)
    write_zarr(dt, out / "klot_blosc.zarr", "blosc", consolidated=True)
    write_zarr(dt, out / "klot_gzip.zarr", "gzip", consolidated=True)
    write_icechunk(dt, out / "klot.icechunk")
    layout(out, dt, profile)
    print(f"{profile} benchmark data written to {out}")


if __name__ == "__main__":
    main()
