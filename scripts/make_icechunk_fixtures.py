#!/usr/bin/env python
"""Generator for rustytree's icechunk test fixtures (repositories written by icechunk-python).

Run through scripts/make_fixtures.sh (pins icechunk, zarr, xarray, ... via
scripts/requirements-fixtures.txt); `scripts/make_fixtures.sh icechunk` runs only this script.
Reuses the JSON helpers of scripts/make_fixtures.py, so the expected files have exactly the
format of fixtures/expected/nexrad.json (plus "icechunk" keys, see write_expected()).

Outputs (regenerated from scratch on every run; nothing else under fixtures/ is touched):
  fixtures/icechunk/radar.icechunk                   NEXRAD-like DataTree, 4 commits, branch dev, tag v1
  fixtures/icechunk/radar.icechunk.versions.json     snapshot ids / messages / timestamps of radar.icechunk
  fixtures/icechunk/radar_v1.icechunk                commit 1 of radar.icechunk, written in spec version 1
  fixtures/icechunk/small.icechunk                   one int32 array: inline, native and missing chunks
  fixtures/icechunk/empty.icechunk                   freshly created repository, no commits
  fixtures/icechunk/not_a_repo.icechunk              junk (a directory that is not a repository)
  fixtures/icechunk/virtual_remote.icechunk          virtual references into HTTP, GCS and Azure containers
                                                     (regenerate alone: make_icechunk_fixtures.py virtual_remote)
  fixtures/icechunk/<repo>.versions.json             same as for radar, for the other repositories
  fixtures/expected/icechunk_radar.<label>.json      label: main, dev, tag-v1, snapshot-<id of commit 1>
  fixtures/expected/icechunk_radar_v1.main.json
  fixtures/expected/icechunk_small.main.json
  fixtures/expected/icechunk_invalid.json            what icechunk/xarray say about empty & invalid repos

Determinism: the array data, metadata, commit messages and the expected JSON contents are fixed
(seeded RNG).  icechunk itself draws random snapshot/manifest/chunk ids and stamps wall-clock
times, so on every run the repositories' files, the *.versions.json files and the *name* of
icechunk_radar.snapshot-<id>.json (whose "icechunk" key holds the id) change.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("ICECHUNK_NO_LOGS", "1")  # silence the local-filesystem "not safe for concurrency" warnings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (helpers, RNG, JSON format; also pins gzip/blosc determinism)

import icechunk as ic  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
import zarr  # noqa: E402
import zarr.codecs as zc  # noqa: E402
from zarr.core.buffer import default_buffer_prototype  # noqa: E402
from zarr.core.sync import sync  # noqa: E402

ICE = mf.FIX / "icechunk"
EXPECTED = mf.EXPECTED
WRITER = {**mf.WRITER, "icechunk": ic.__version__}

OPEN_OPTIONS = {"engine": "zarr", "zarr_format": 3, "consolidated": False}

# Encoded chunk sizes (zstd level 3): moments (10, 8) int16 -> 63..144 bytes (the smallest are the
# partial corner chunks, padded with fill values); coordinates (8,) and scalars -> 17..52 bytes.
# So with this threshold every coordinate chunk is inline in the manifest and every moment chunk is
# a chunk object; check_chunk_placement() asserts it.
RADAR_INLINE_THRESHOLD = 56
SMALL_INLINE_THRESHOLD = 512  # icechunk's default, set explicitly

# --------------------------------------------------------------------------
# radar tree
# --------------------------------------------------------------------------

RADAR_MOMENTS = ("DBZH", "ZDR")
RADAR_VCPS = {
    # name: (seed, first vcp time, altitude, sweep elevations)
    "VCP-12": (1201, "2024-05-01T00:00:00", 202.0, [0.5, 0.9, 1.3]),  # sweep_2 only on branch dev
    "VCP-212": (21201, "2024-05-01T01:00:00", 203.0, [0.5, 1.8]),
}
MOMENT_CHUNKS = (10, 8)  # 36 x 20 -> 4 x 3 chunks, partial edge chunks in both dimensions
COORD_CHUNKS = (8,)      # 36 -> 5 chunks, 20 -> 3 chunks
ZSTD = (zc.ZstdCodec(level=3),)
ROOT_ATTRS = {
    "Conventions": "CF-1.8, WMO CF-1.0, ACDD-1.3",
    "instrument_name": "KLOT",
    "site_name": "Chicago",
    "version": "2.0",
    "history": "synthetic icechunk fixture for rustytree",
    "platform_is_mobile": False,
    "volume_number": 7,
}


def sweep_ds(seed: int, t0: str, si: int, elev: float) -> xr.Dataset:
    r = mf.rng(seed + si)
    az = (np.arange(mf.N_AZ, dtype=np.float32) * 10.0 + 0.5 + si * 0.25).astype(np.float32)
    rng_m = (np.arange(mf.N_RANGE, dtype=np.float32) * 250.0 + 2125.0).astype(np.float32)
    shape, dims = (mf.N_AZ, mf.N_RANGE), ("azimuth", "range")
    t_start = np.datetime64(t0, "ns") + np.timedelta64(20 * si, "s").astype("m8[ns]")
    az_time = t_start + (np.arange(mf.N_AZ) * 333).astype("m8[ms]").astype("m8[ns]")
    data_vars = {}
    for mname in RADAR_MOMENTS:
        units, lname, lo, hi, scale, offset = mf.MOMENTS[mname]
        vals = r.uniform(lo, hi, size=shape).astype(np.float32)
        vals = (np.round((vals - offset) / scale) * scale + offset).astype(np.float32)  # exact round trip
        vals[r.random(shape) < 0.15] = np.nan
        v = xr.Variable(dims, vals, {"units": units, "long_name": lname, "standard_name": f"radar_{mname.lower()}"})
        v.encoding = {"dtype": "int16", "scale_factor": scale, "add_offset": offset, "_FillValue": -32768,
                      "chunks": MOMENT_CHUNKS, "compressors": ZSTD}
        data_vars[mname] = v
    coords = {
        "azimuth": ("azimuth", az, {"units": "degrees", "standard_name": "sensor_to_target_azimuth_angle"}),
        "range": ("range", rng_m, {"units": "meters", "standard_name": "projection_range_coordinate",
                                   "meters_between_gates": 250.0, "meters_to_center_of_first_gate": 2125.0}),
        "elevation": ("azimuth", (elev + 0.01 * (np.arange(mf.N_AZ) % 3)).astype(np.float32),
                      {"units": "degrees", "standard_name": "sensor_to_target_elevation_angle"}),
        "time": ("azimuth", az_time, {"standard_name": "time"}),
    }
    ds = xr.Dataset(data_vars, coords=coords,
                    attrs={"sweep_number": si, "sweep_fixed_angle": elev, "sweep_mode": "azimuth_surveillance"})
    for c in ("azimuth", "range", "elevation"):
        ds[c].encoding = {"chunks": COORD_CHUNKS, "compressors": ZSTD}
    ds["time"].encoding = {"units": "milliseconds since 2024-05-01 00:00:00", "dtype": "int64",
                           "chunks": COORD_CHUNKS, "calendar": "standard", "compressors": ZSTD}
    return ds


def vcp_nodes(vcp: str, n_sweeps: int = 2) -> dict[str, xr.Dataset]:
    seed, t0, alt, elevs = RADAR_VCPS[vcp]
    vcp_time = np.datetime64(t0, "ns") + np.arange(2) * np.timedelta64(300, "s").astype("m8[ns]")
    vds = xr.Dataset(
        coords={
            "vcp_time": ("vcp_time", vcp_time, {"long_name": "VCP start time"}),
            "latitude": ((), np.float64(41.60444), {"units": "degrees_north", "standard_name": "latitude"}),
            "longitude": ((), np.float64(-88.08472), {"units": "degrees_east", "standard_name": "longitude"}),
            "altitude": ((), np.float64(alt), {"units": "meters", "standard_name": "altitude"}),
        },
        attrs={"scan_name": vcp, "n_sweeps": n_sweeps},
    )
    vds["vcp_time"].encoding = {"units": "seconds since 2024-05-01 00:00:00", "dtype": "int64", "compressors": ZSTD}
    for c in ("latitude", "longitude", "altitude"):
        vds[c].encoding = {"compressors": ZSTD}
    nodes = {f"/{vcp}": vds}
    for si in range(n_sweeps):
        nodes[f"/{vcp}/sweep_{si}"] = sweep_ds(seed, t0, si, elevs[si])
    return nodes


def radar_tree(*vcps: str) -> xr.DataTree:
    nodes = {"/": xr.Dataset(attrs=ROOT_ATTRS)}
    for vcp in vcps:
        nodes.update(vcp_nodes(vcp))
    return xr.DataTree.from_dict(nodes)


def write_subtree(store, tree: xr.DataTree, group: str) -> None:
    """Write the subtree tree[group] into an existing hierarchy, node by node (xarray cannot write a
    DataTree below a root group), the way DataTree.to_zarr would."""
    for node in tree[group].subtree:
        node.to_dataset(inherit=False).to_zarr(store, mode="w-", group=node.path.lstrip("/"), zarr_format=3,
                                               consolidated=False)


# --------------------------------------------------------------------------
# repositories
# --------------------------------------------------------------------------

def create_repo(path: Path, inline_threshold: int, spec_version: int | None = None) -> ic.Repository:
    cfg = ic.RepositoryConfig.default()
    cfg.inline_chunk_threshold_bytes = inline_threshold
    return ic.Repository.create(ic.local_filesystem_storage(str(path)), config=cfg, spec_version=spec_version)


def open_repo(path: Path) -> ic.Repository:
    return ic.Repository.open(ic.local_filesystem_storage(str(path)))


def make_radar() -> dict[str, dict]:
    """Returns {label: {"ref": {...}, "snapshot_id": ...}} for the versions to decode."""
    repo = create_repo(ICE / "radar.icechunk", RADAR_INLINE_THRESHOLD)
    full = radar_tree("VCP-12", "VCP-212")

    s = repo.writable_session("main")
    radar_tree("VCP-12").to_zarr(s.store, mode="w", zarr_format=3, consolidated=False)
    c1 = s.commit("initial")

    s = repo.writable_session("main")
    write_subtree(s.store, full, "VCP-212")
    c2 = s.commit("add VCP-212")

    s = repo.writable_session("main")
    a = zarr.open_array(s.store, path="VCP-12/sweep_0/DBZH", mode="r+", zarr_format=3)
    block = a[0:3, 0:4]  # raw int16 (packed), chunk (0, 0) only
    block[1, :] = np.array([146, 148, 150, 152], dtype=np.int16)  # 40.0, 41.0, 42.0, 43.0 dBZ
    block[2, 0] = -32768                                            # -> NaN
    a[0:3, 0:4] = block
    a[35, 19] = np.int16(200)  # 67.0 dBZ, in the partial corner chunk (3, 2)
    a.attrs["comment"] = "DBZH values edited in commit 3"
    c3 = s.commit("update DBZH")

    repo.create_branch("dev", c2)
    s = repo.writable_session("dev")
    write_subtree(s.store, xr.DataTree.from_dict(vcp_nodes("VCP-12", 3)), "VCP-12/sweep_2")
    g = zarr.open_group(s.store, path="VCP-12", mode="r+", zarr_format=3)
    g.attrs["n_sweeps"] = 3
    zarr.open_group(s.store, mode="r+", zarr_format=3).attrs["history"] = "dev branch: added /VCP-12/sweep_2"
    c_dev = s.commit("dev change")

    repo.create_tag("v1", c2)
    assert repo.lookup_branch("main") == c3 and repo.lookup_tag("v1") == c2
    return {
        "main": {"ref": {"branch": "main"}, "snapshot_id": c3},
        "dev": {"ref": {"branch": "dev"}, "snapshot_id": c_dev},
        "tag-v1": {"ref": {"tag": "v1"}, "snapshot_id": c2},
        f"snapshot-{c1}": {"ref": {"snapshot_id": c1}, "snapshot_id": c1},
    }


def make_radar_v1() -> dict[str, dict]:
    repo = create_repo(ICE / "radar_v1.icechunk", RADAR_INLINE_THRESHOLD, spec_version=1)
    s = repo.writable_session("main")
    radar_tree("VCP-12").to_zarr(s.store, mode="w", zarr_format=3, consolidated=False)
    c1 = s.commit("initial")
    return {"main": {"ref": {"branch": "main"}, "snapshot_id": c1}}


def make_small() -> dict[str, dict]:
    repo = create_repo(ICE / "small.icechunk", SMALL_INLINE_THRESHOLD)
    s = repo.writable_session("main")
    g = zarr.open_group(s.store, mode="w", zarr_format=3,
                        attributes={"title": "small icechunk fixture", "note": "chunk 2 of `values` never written"})
    # 750 int32 in chunks of 200: chunks 0, 1 compress to a few bytes (inline), chunk 3 is random
    # (partial, ~600 bytes -> chunk object), chunk 2 is never written (reads as fill_value -1).
    a = g.create_array("values", shape=(750,), dtype=np.int32, chunks=(200,), fill_value=-1,
                       dimension_names=["x"], compressors=ZSTD, attributes={"units": "counts"})
    a[0:200] = np.full(200, 7, dtype=np.int32)
    a[200:400] = np.arange(200, dtype=np.int32) % 4
    a[600:750] = mf.rng(42).integers(-2**31, 2**31 - 1, size=150, dtype=np.int32)
    c1 = s.commit("initial")
    return {"main": {"ref": {"branch": "main"}, "snapshot_id": c1}}


# Where the local virtual-chunk container of virtual.icechunk points; the test copies
# fixtures/icechunk/virtual-data/ there before reading (a container prefix is an absolute URL).
VIRTUAL_DIR = "/tmp/rustytree-virtual-fixture/"


def make_virtual() -> None:
    """A repository whose arrays are virtual references: `temp` into an S3 container (never fetched by the
    tests: only loopback is reachable), `pressure` into a local-file container. Reads need the reader to
    authorise the container; without it they fail naming the container."""
    path = ICE / "virtual.icechunk"
    data = ICE / "virtual-data"
    for p in (path, data):
        if p.exists():
            shutil.rmtree(p)
    data.mkdir(parents=True)
    pressure = np.array([1000.5, 990.25, 985.0, 970.75, 960.5, 950.0], dtype="<f4")
    (data / "data.bin").write_bytes(b"HEADER16bytes..." + pressure.tobytes())
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(
        ic.VirtualChunkContainer("s3://rustytree-virtual/", ic.s3_store(region="us-east-1", anonymous=True)))
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer("file://" + VIRTUAL_DIR, ic.local_filesystem_store(VIRTUAL_DIR)))
    repo = ic.Repository.create(ic.local_filesystem_storage(str(path)), config=cfg)
    s = repo.writable_session("main")
    g = zarr.open_group(s.store, mode="w", zarr_format=3, attributes={"title": "virtual chunks"})
    g.create_array("temp", shape=(4,), dtype=np.float32, chunks=(2,), fill_value=np.nan,
                   dimension_names=["x"], compressors=None)
    for i in range(2):
        s.store.set_virtual_ref(f"temp/c/{i}", "s3://rustytree-virtual/data.bin", offset=8 * i, length=8)
    g.create_array("pressure", shape=(6,), dtype=np.float32, chunks=(3,), fill_value=np.nan,
                   dimension_names=["level"], compressors=None, attributes={"units": "hPa"})
    for i in range(2):
        s.store.set_virtual_ref(f"pressure/c/{i}", f"file://{VIRTUAL_DIR}data.bin", offset=16 + 12 * i, length=12)
    s.commit("virtual references")


# Hosts of virtual_remote.icechunk's containers: names that never resolve (.invalid), so only a test that
# puts a proxy of its own in front (HTTP_PROXY) reaches them, and nothing else ever does.
VIRTUAL_REMOTE_HOSTS = {"http": "rustytree-virtual-http.invalid", "gcs": "rustytree-virtual-gcs.invalid",
                        "az": "rustytree-virtual-az.invalid"}
# The HTTP container's stored headers: credentials a redirect to another origin must not carry.
VIRTUAL_HTTP_HEADERS = {"authorization": "Bearer fixture-virtual-http-bearer-Wq81",
                        "x-api-key": "fixture-virtual-http-api-key-Jd47"}


def make_virtual_remote() -> None:
    """Virtual references into one container of each remote kind but S3 (virtual.icechunk has S3 and a local
    file): `http_values` into an HTTP container with stored credential headers (references checked by ETag),
    `gcs_values` into a GCS container (checked by last-modified time), `az_values` into an Azure container.
    Every reference points into a copy of virtual-data/data.bin at offset 16 + 8 * i, 8 bytes (two floats)."""
    path = ICE / "virtual_remote.icechunk"
    if path.exists():
        shutil.rmtree(path)
    h = VIRTUAL_REMOTE_HOSTS
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(
        f"http://{h['http']}/", ic.http_store(headers=VIRTUAL_HTTP_HEADERS)))
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(
        "gs://rustytree-virtual/", ic.gcs_store({"google_base_url": f"http://{h['gcs']}", "allow_http": "true"})))
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(
        "az://rustytree-virtual/", ic.storage.azure_store(account="rtacct", config={
            "azure_storage_endpoint": f"http://{h['az']}/rtacct", "azure_allow_http": "true"})))
    repo = ic.Repository.create(ic.local_filesystem_storage(str(path)), config=cfg)
    s = repo.writable_session("main")
    g = zarr.open_group(s.store, mode="w", zarr_format=3, attributes={"title": "remote virtual chunks"})
    refs = {
        "http_values": (f"http://{h['http']}/data/data.bin", "fixture-etag-7f3a"),
        "gcs_values": ("gs://rustytree-virtual/data/data.bin", datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
        "az_values": ("az://rustytree-virtual/data/data.bin", None),
    }
    for name, (location, checksum) in refs.items():
        g.create_array(name, shape=(4,), dtype=np.float32, chunks=(2,), fill_value=np.nan,
                       dimension_names=["x"], compressors=None)
        for i in range(2):
            s.store.set_virtual_ref(f"{name}/c/{i}", location, offset=16 + 8 * i, length=8, checksum=checksum)
    s.commit("remote virtual references")


def make_empty() -> None:
    create_repo(ICE / "empty.icechunk", SMALL_INLINE_THRESHOLD)


def make_not_a_repo() -> None:
    d = ICE / "not_a_repo.icechunk"
    (d / "snapshots").mkdir(parents=True)
    (d / "README.txt").write_text("This directory is not an icechunk repository (no `repo` file, no refs/).\n")
    (d / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}) + "\n")
    (d / "snapshots" / "0000000000000000JUNK").write_bytes(b"ICE\xf0\x9f\xa7\x8aCHUNK junk, not a snapshot\n")


# --------------------------------------------------------------------------
# expected JSON
# --------------------------------------------------------------------------

def store_zarr_meta(store, path: str) -> dict | None:
    """Like make_fixtures.zarr_meta(), but reads the zarr.json document from an icechunk store."""
    key = f"{path.strip('/')}/zarr.json".lstrip("/")
    buf = sync(store.get(key, prototype=default_buffer_prototype()))
    if buf is None:
        return None
    return mf.zarr_meta_facts(json.loads(buf.to_bytes()))


@contextlib.contextmanager
def zarr_meta_from_store():
    """make_fixtures.var_json() reads zarr.json from a directory; point it at the icechunk store."""
    orig = mf.zarr_meta
    mf.zarr_meta = store_zarr_meta
    try:
        yield
    finally:
        mf.zarr_meta = orig


def chunk_types(session: ic.Session) -> dict[str, dict[str, int]]:
    """{array path: {"inline": n, "native": n, "missing": n}} over the whole chunk grid of every array."""
    out = {}
    root = zarr.open_group(session.store, mode="r", zarr_format=3)
    for path, arr in sorted(root.members(max_depth=None), key=lambda kv: kv[0]):
        if not isinstance(arr, zarr.Array):
            continue
        counts = {"inline": 0, "native": 0, "virtual": 0, "missing": 0}
        for idx in np.ndindex(*arr.cdata_shape):
            t = session.chunk_type(f"/{path}", list(idx))
            counts["missing" if t == ic.ChunkType.uninitialized else str(t).split(".")[-1]] += 1
        out[f"/{path}"] = {k: v for k, v in counts.items() if v}
    return out


def write_expected(repo_name: str, label: str, ref: dict, snapshot_id: str) -> dict:
    repo = open_repo(ICE / repo_name)
    session = repo.readonly_session(**ref)
    assert session.snapshot_id == snapshot_id, (ref, session.snapshot_id, snapshot_id)
    store = session.store
    doc = {
        "source": repo_name,
        # the version to check out; "snapshot_id" is only stable within one generation run
        "icechunk": {**ref, "spec_version": int(repo.spec_version)},
        "writer": WRITER,
        "options": OPEN_OPTIONS,
    }
    tree = xr.open_datatree(store, **OPEN_OPTIONS).load()
    with zarr_meta_from_store():
        doc["nodes"] = {n.path: mf.node_json(n, store) for n in sorted(tree.subtree, key=lambda n: n.path)}
    name = f"icechunk_{repo_name.removesuffix('.icechunk')}.{label}.json"
    (EXPECTED / name).write_text(mf.dumps(doc) + "\n")
    return {"expected": f"fixtures/expected/{name}", "chunk_types": chunk_types(session)}


def snapshot_json(info) -> dict:
    return {"id": info.id, "parent_id": info.parent_id, "message": info.message,
            "timestamp": info.written_at.isoformat()}


def layout(repo_dir: Path) -> dict[str, int]:
    """Number of files per directory ("refs/branch.main/": 1, ...); top-level files by name (count 1)."""
    out: dict[str, int] = {}
    for p in sorted(repo_dir.rglob("*")):
        if p.is_file():
            rel = p.relative_to(repo_dir)
            key = f"{rel.parent}/" if rel.parent != Path(".") else str(rel)
            out[key] = out.get(key, 0) + 1
    return out


def write_versions(repo_name: str, versions: dict[str, dict]) -> None:
    repo = open_repo(ICE / repo_name)
    branches = {b: repo.lookup_branch(b) for b in sorted(repo.list_branches())}
    tags = {t: repo.lookup_tag(t) for t in sorted(repo.list_tags())}
    snaps: dict[str, dict] = {}
    for b in branches:
        for info in repo.ancestry(branch=b):
            snaps.setdefault(info.id, snapshot_json(info))
    out_versions = {}
    for label, v in versions.items():
        sid = v["snapshot_id"]
        out_versions[label] = {
            **v["ref"], "snapshot_id": sid, "message": snaps[sid]["message"], "timestamp": snaps[sid]["timestamp"],
            "branches": [b for b, i in branches.items() if i == sid], "tags": [t for t, i in tags.items() if i == sid],
            **{k: v[k] for k in ("expected", "chunk_types") if k in v},
        }
    doc = {
        "repo": f"fixtures/icechunk/{repo_name}",
        "spec_version": int(repo.spec_version),
        "written_by": WRITER,
        "inline_chunk_threshold_bytes": repo.config.inline_chunk_threshold_bytes,
        "branches": branches,
        "tags": tags,
        "versions": out_versions,
        # oldest first; the first one is icechunk's "Repository initialized" snapshot
        "snapshots": sorted(snaps.values(), key=lambda s: s["timestamp"]),
        "layout": layout(ICE / repo_name),
    }
    (ICE / f"{repo_name}.versions.json").write_text(mf.dumps(doc) + "\n")


def check_chunk_placement(versions: dict) -> None:
    """Radar: every coordinate chunk inline, every moment chunk a chunk object; small: 2 inline, 1 native."""
    for label, v in versions.items():
        for path, counts in v["chunk_types"].items():
            name = path.rsplit("/", 1)[1]
            if name in RADAR_MOMENTS:
                assert set(counts) == {"native"}, (label, path, counts)
            elif name == "values":
                assert counts == {"inline": 2, "native": 1, "missing": 1}, (label, path, counts)
            else:
                assert set(counts) == {"inline"}, (label, path, counts)


def describe_invalid() -> None:
    """What icechunk-python and xarray report for the empty and the invalid repository."""
    out = {}
    for name in ("empty.icechunk", "not_a_repo.icechunk", "does_not_exist.icechunk"):
        storage = ic.local_filesystem_storage(str(ICE / name))
        entry: dict = {"exists": ic.Repository.exists(storage)}
        try:
            repo = ic.Repository.open(storage)
            entry["spec_version"] = int(repo.spec_version)
            session = repo.readonly_session(branch="main")
            entry["main"] = [snapshot_json(i)["message"] for i in repo.ancestry(branch="main")]
            try:
                tree = xr.open_datatree(session.store, **OPEN_OPTIONS)
                entry["xarray"] = {n.path: {"attrs": mf.json_safe(dict(n.attrs)), "variables": sorted(n.variables)}
                                   for n in tree.subtree}
            except Exception as e:  # noqa: BLE001
                entry["xarray_error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
        except Exception as e:  # noqa: BLE001
            entry["open_error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        out[name] = entry
    (EXPECTED / "icechunk_invalid.json").write_text(mf.dumps(out) + "\n")


# --------------------------------------------------------------------------

def main() -> None:
    if sys.version_info < (3, 12):
        sys.exit("make_icechunk_fixtures.py needs Python >= 3.12; use scripts/make_fixtures.sh")
    if sys.argv[1:] == ["virtual"]:
        # Only the virtual-chunk repository: the others (and their ids) stay as they are.
        make_virtual()
        return
    if sys.argv[1:] == ["virtual_remote"]:
        make_virtual_remote()
        return
    if ICE.exists():
        shutil.rmtree(ICE)
    ICE.mkdir(parents=True)
    EXPECTED.mkdir(parents=True, exist_ok=True)
    for p in EXPECTED.glob("icechunk_*.json"):
        p.unlink()

    repos = {"radar.icechunk": make_radar(), "radar_v1.icechunk": make_radar_v1(),
             "small.icechunk": make_small()}
    make_empty()
    make_not_a_repo()
    make_virtual()
    make_virtual_remote()
    for repo_name, versions in repos.items():
        for label, v in versions.items():
            v.update(write_expected(repo_name, label, v["ref"], v["snapshot_id"]))
        check_chunk_placement(versions)
        write_versions(repo_name, versions)
    describe_invalid()
    print("icechunk fixtures written to", ICE)


if __name__ == "__main__":
    main()
