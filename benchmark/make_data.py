"""Seeded generator of the benchmark's KLOT-like radar archive (run by scripts/bench_data.sh).

A tree shaped like a NEXRAD radar archive converted by xradar and written as a DataTree:
root -> /VCP-<n> (one per volume coverage pattern) -> /VCP-<n>/sweep_<k>, each sweep holding six float32
moments (DBZH, ZDR, RHOHV, PHIDP, VRADH, WRADH) over (vcp_time, azimuth, range), one volume per chunk,
with CF-encoded `vcp_time`/`time` datetimes, `azimuth`, `range`, `elevation` and scalar
latitude/longitude/altitude.

Values are radar-like (see `moments`): a textured precipitation shield over about 45% of the area with
convective cells, weak clear-air echo elsewhere, spatially correlated fields with gate-to-gate noise, NaN
where the echo is below the radar's sensitivity (and, for the moments other than DBZH, 6 dB above it), each
moment quantised at its level-II step. Compression ratios of the `small` profile's moment chunks (decoded
144,000 bytes / stored bytes, all 210 chunks of each moment; NaN share in brackets), measured 2026-11-24:

  moment          zstd-3   blosc-lz4-5   gzip-5
  DBZH  (19% NaN)  4.5:1    3.3:1         4.2:1
  ZDR   (31% NaN)  4.5:1    3.3:1         4.2:1
  RHOHV (31% NaN)  4.8:1    1.6:1         4.8:1
  PHIDP (31% NaN)  3.9:1    1.8:1         4.1:1
  VRADH (31% NaN)  5.7:1    3.5:1         5.5:1
  WRADH (31% NaN)  5.9:1    3.8:1         5.7:1

(blosc-lz4 has no entropy coder: after the shuffle, the two low bytes of moments with power-of-two steps
are zero runs, while those of RHOHV and PHIDP, whose steps are not, vary.) The `large` profile reaches
250 km, where most beams are above the storms and clear air is not detected: about 63-67% NaN and
9.5-12:1 with zstd (two of its VCPs measured). The earlier generator (one storm, 89.5% NaN) gave 18-39:1
with zstd.

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
    # name: (level-II quantisation step, value of code 0, highest code); PHIDP has 10-bit codes, the rest 8-bit.
    "DBZH": (0.5, -32.0, 254),
    "ZDR": (0.0625, -8.0, 254),
    "RHOHV": (0.00333, 0.2, 254),
    "PHIDP": (0.35, 0.0, 1023),
    "VRADH": (0.5, -63.5, 254),
    "WRADH": (0.5, 0.0, 254),
}
CODECS = {
    "zstd": (zc.ZstdCodec(level=3),),
    "blosc": (zc.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),),
    "gzip": (zc.GzipCodec(level=5),),
}
GATE_M = 250.0


def box(x: np.ndarray, width: int, axis: int, wrap: bool) -> np.ndarray:
    """Moving average over `width` samples along `axis`, same shape (circular when `wrap`, else reflected)."""
    if width <= 1:
        return x
    pad = [(0, 0)] * x.ndim
    pad[axis] = (width // 2 + 1, width - 1 - width // 2)
    c = np.pad(x, pad, mode="wrap" if wrap else "reflect").cumsum(axis=axis)
    n = x.shape[axis]
    return (np.take(c, np.arange(width, width + n), axis=axis) - np.take(c, np.arange(n), axis=axis)) / width


def texture(rng: np.random.Generator, shape: tuple, az_deg: float, range_m: float, az_step: float) -> np.ndarray:
    """Unit-variance Gaussian noise correlated over about `az_deg` of azimuth and `range_m` of range."""
    x = rng.standard_normal(shape)
    wa, wr = max(1, round(az_deg / az_step)), max(1, round(range_m / GATE_M))
    for _ in range(2):  # two box passes: a smooth (triangular) kernel
        x = box(box(x, wa, 1, wrap=True), wr, 2, wrap=False)
    return x / x.std()


def quantise(x: np.ndarray, name: str) -> np.ndarray:
    """Values as level-II codes decode to (offset + code * step, clipped to the codes), as float32."""
    step, offset, top = MOMENTS[name]
    return (offset + np.clip(np.round((x - offset) / step), 0, top) * step).astype("float32")


def moments(
    rng: np.random.Generator, shape: tuple, az_step: float, az: np.ndarray, rng_m: np.ndarray, elevation: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The six moments (unquantised) and their echo masks for one sweep of `shape` (volume, azimuth, range).

    A precipitation shield (about 45% of the area, textured at several scales, with convective cells) and
    clear-air echo elsewhere (weak, detected near the radar and low in the beam); gate-to-gate noise on every
    moment. Reflectivity is kept where it exceeds the radar's sensitivity (about -7.5 dBZ at 50 km), the
    other moments where the signal is 6 dB stronger (their SNR thresholds are higher), as in level-II data.
    """
    r_km = (rng_m / 1000.0)[None, None, :]
    a = np.deg2rad(az)[None, :, None]
    el = np.deg2rad(elevation)
    height_km = r_km * np.sin(el) + r_km**2 / (2 * 8494.0)  # 4/3-earth beam height
    shield = texture(rng, shape, 90, 60_000, az_step) + 0.6 * texture(rng, shape, 20, 8_000, az_step)
    rain = shield > 0.15
    cells = np.zeros(shape)
    per_volume = (shape[0], 1, 1)
    for _ in range(4):
        ca, cr = rng.uniform(0, 2 * np.pi, per_volume), rng.uniform(0.1, 1.0, per_volume) * r_km.max()
        width_km = rng.uniform(2, 6, per_volume)
        d2 = (r_km * np.cos(a) - cr * np.cos(ca)) ** 2 + (r_km * np.sin(a) - cr * np.sin(ca)) ** 2
        cells += rng.uniform(10, 25, per_volume) * np.exp(-d2 / (2 * width_km**2))
    z_rain = 24 + 6 * shield + cells + 2 * texture(rng, shape, 3, 1_000, az_step)
    z_rain -= 2.5 * np.maximum(height_km - 5, 0)  # above the storms
    z_clear = -14 + 7 * texture(rng, shape, 10, 2_000, az_step) - 8 * np.maximum(height_km - 1.5, 0)
    z_true = np.where(rain, z_rain, z_clear)
    dbz = z_true + rng.normal(0, 1.3, shape)
    sensitivity = -41.5 + 20 * np.log10(r_km)
    echo, strong = dbz > sensitivity, dbz > sensitivity + 6
    zdr = np.where(
        rain,
        0.2 + 0.04 * np.clip(z_true - 20, 0, 40) + 0.3 * texture(rng, shape, 5, 2_000, az_step)
        + rng.normal(0, 0.25, shape),
        2.5 + 1.5 * texture(rng, shape, 5, 1_000, az_step) + rng.normal(0, 1.2, shape),  # insects, birds
    )
    rhohv = np.where(
        rain,
        0.985 - 0.006 * np.abs(texture(rng, shape, 5, 2_000, az_step)) + rng.normal(0, 0.008, shape),
        0.6 + 0.12 * texture(rng, shape, 5, 1_000, az_step) + rng.normal(0, 0.1, shape),
    )
    kdp = np.where(rain, 0.05 * np.maximum(z_true - 30, 0), 0.0)  # deg/km
    phidp = 80 + 2 * np.cumsum(kdp, axis=2) * (GATE_M / 1000)  # system phase + two-way propagation
    phidp += np.where(rain, rng.normal(0, 1.5, shape), rng.normal(0, 10, shape))
    wind = 8 + 3 * height_km  # m/s from 240 degrees, veering ignored
    vradh = wind * np.cos(a - np.deg2rad(240)) * np.cos(el) + 1.5 * texture(rng, shape, 4, 1_500, az_step)
    vradh += rng.normal(0, 1.2, shape)
    wradh = np.where(rain, 1.5, 2.5) + 0.6 * texture(rng, shape, 4, 1_500, az_step) + rng.gamma(2.0, 1.2, shape)
    values = {"DBZH": dbz, "ZDR": zdr, "RHOHV": rhohv, "PHIDP": np.mod(phidp, 358), "VRADH": vradh, "WRADH": wradh}
    return {name: (x, echo if name == "DBZH" else strong) for name, x in values.items()}


def sweep(rng: np.random.Generator, p: dict, vcp_index: int, k: int, t0: pd.Timestamp) -> xr.Dataset:
    n_t, n_az, n_r = p["volumes"], p["azimuths"], p["gates"]
    az_step = 360.0 / n_az
    az = (np.arange(n_az) * az_step).astype("float32")
    rng_m = (2125.0 + GATE_M * np.arange(n_r)).astype("float32")
    elevation = np.float32(0.5 + 1.3 * k)
    data = {}
    for name, (x, echo) in moments(rng, (n_t, n_az, n_r), az_step, az, rng_m, float(elevation)).items():
        values = quantise(x, name)
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
