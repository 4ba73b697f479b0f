#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets from the repository's fixtures.

usage: make_seeds.py OUT_DIR   (writes OUT_DIR/<target>/<sha1 of the input>)

Each seed is framed the way its target reads input (see the target's doc comment):
  zarr_json      every zarr.json under fixtures/stores and fixtures/broken, as is
  cf_attrs       [dtype][option bits][u16 len][attributes][stored values], per fixture array with attributes
  chunk_decode   [u16 len][zarr.json][bytes of chunk 0], per fixture array (every codec chain we test)
  shard_index    [variant][shard 0/0], per sharded fixture (variant order as in shard_index.rs)
  icechunk_repo  [selector][original bytes of one metadata file], per metadata file of the two repositories
  group_filter   [u16 len][pattern][path], the documented and tested patterns against every fixture group path
  consolidated_tree  [flags][keys, one a line, "@" for arrays], per consolidated fixture (plain, filtered,
                 opened at a group), plus a deep key and many siblings
  selection_plan [rank][shape, chunk, start, stop per dimension], per fixture array: the whole array,
                 its first element, and a box straddling chunk boundaries
Standard library only; file names are content hashes, so rebuilding is idempotent.
"""

import hashlib
import json
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# Dtype order of DTYPES in fuzz_targets/cf_attrs.rs.
CF_DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "string", "fixed_length_utf32", "numpy.datetime64",
    "numpy.timedelta64",
]

# Attribute sets the fixtures do not spell out: calendars, time zones, fractional reference seconds,
# base64 float fills, _Unsigned, packed integers.
EXTRA_ATTRS = [
    ("int64", {"units": "days since 1582-10-04 12:00:00.5 +05:30", "calendar": "standard"}),
    ("float64", {"units": "hours since 2000-1-1", "calendar": "proleptic_gregorian", "_FillValue": "AAAAAAAA+H8="}),
    ("int32", {"units": "seconds since 1970-01-01T00:00:00Z", "calendar": "noleap"}),
    ("float32", {"units": "milliseconds", "dtype": "timedelta64[ms]", "_FillValue": "AAD4fw=="}),
    ("int8", {"_Unsigned": "true", "_FillValue": -1, "scale_factor": 0.5, "add_offset": 10}),
    ("uint16", {"_Unsigned": "false", "missing_value": [65535, 0], "scale_factor": 2}),
    ("int16", {"scale_factor": [0.01], "add_offset": -5.0, "_FillValue": -32768, "coordinates": "lat lon"}),
    ("uint8", {"dtype": "bool", "_FillValue": 255}),
]


def write(out: Path, target: str, data: bytes) -> None:
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def framed(head: bytes, tail: bytes) -> bytes:
    return struct.pack("<H", len(head)) + head + tail


def array_documents():
    for path in sorted(FIXTURES.glob("stores/**/zarr.json")) + sorted(FIXTURES.glob("broken/**/zarr.json")):
        raw = path.read_bytes()
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("node_type") == "array":
            yield path, raw, doc


def chunk_zero(path: Path, doc: dict) -> bytes:
    encoding = doc.get("chunk_key_encoding") or {}
    separator = (encoding.get("configuration") or {}).get("separator", "/")
    ndim = len(doc.get("shape", []))
    zeros = separator.join(["0"] * ndim) if ndim else "0"
    key = ("c" + separator + zeros) if encoding.get("name", "default") == "default" else zeros
    chunk = path.parent / key
    return chunk.read_bytes() if chunk.is_file() else b""


def dtype_name(doc: dict) -> str:
    t = doc.get("data_type")
    return t.get("name", "") if isinstance(t, dict) else str(t)


def cf_seed(dtype: str, options: int, attrs: dict, values: bytes) -> bytes | None:
    if dtype not in CF_DTYPES:
        return None
    head = json.dumps(attrs).encode()
    if len(head) > 0xFFFF:
        return None
    return bytes([CF_DTYPES.index(dtype), options]) + framed(head, values)


def zarr_json(out: Path) -> None:
    for path in sorted(FIXTURES.glob("stores/**/zarr.json")) + sorted(FIXTURES.glob("broken/**/zarr.json")):
        write(out, "zarr_json", path.read_bytes())


def cf_attrs(out: Path) -> None:
    for path, _, doc in array_documents():
        attrs = doc.get("attributes") or {}
        if not attrs:
            continue
        codecs = doc.get("codecs") or []
        plain = len(codecs) == 1 and codecs[0].get("name") == "bytes"
        values = chunk_zero(path, doc)[:512] if plain else bytes(range(64))
        for options in (0, 0b01000):
            seed = cf_seed(dtype_name(doc), options, attrs, values)
            if seed is not None:
                write(out, "cf_attrs", seed)
    for dtype, attrs in EXTRA_ATTRS:
        write(out, "cf_attrs", cf_seed(dtype, 0, attrs, bytes(range(0, 256, 3))))


def chunk_decode(out: Path) -> None:
    for path, raw, doc in array_documents():
        if len(raw) <= 0xFFFF:
            write(out, "chunk_decode", framed(raw, chunk_zero(path, doc)))


def shard_index(out: Path) -> None:
    codecs = FIXTURES / "stores/codecs.zarr"
    def shard(name: str) -> bytes:
        return (codecs / name / "c/0/0").read_bytes()
    # The index of a 20x20 shard of 5x5 chunks: 16 (offset, length) pairs of u64, then a crc32c.
    index_bytes = 16 * 16
    end = shard("i32_sharding")
    start = shard("i32_sharding_index_start")
    # Without the crc32c, the start-index shard's data moves 4 bytes forward.
    entries = struct.unpack("<32Q", start[:index_bytes])
    moved = [e if (i % 2 or e == 2**64 - 1) else e - 4 for i, e in enumerate(entries)]
    start_no_crc = struct.pack("<32Q", *moved) + start[index_bytes + 4:]
    seeds = [
        (0, end), (0, shard("i32_sharding_sparse")), (1, start),
        (2, end[:-4]), (3, start_no_crc),
        (4, shard("i32_sharding_inner_gzip")), (5, shard("f32_sharding_inner_transpose_be")),
    ]
    for variant, data in seeds:
        write(out, "shard_index", bytes([variant]) + data)


def icechunk_repo(out: Path) -> None:
    # Same selection and order as icechunk_repo.rs: metadata files sorted by key.
    for bit, name in ((0, "small.icechunk"), (1, "radar_v1.icechunk")):
        repo = FIXTURES / "icechunk" / name
        keys = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())
        replaceable = [
            k for k in keys
            if k in ("repo", "config.yaml") or k.startswith(("snapshots/", "manifests/", "refs/"))
        ]
        for i, key in enumerate(replaceable):
            write(out, "icechunk_repo", bytes([(bit << 7) | i]) + (repo / key).read_bytes())


# groupFilter patterns from docs/usage.md and the tests, and the corner cases of the segment syntax.
GROUP_FILTERS = [
    "/*/sweep_0", "VCP-2?2/sweep_[1]", "**/sweep_1", "/VCP-12", "sweep_[01]", "/VCP-12/**", "/*/{sweep_0,sweep_2}",
    "[!V]*", "VCP-[0-9]*", "{a,{b,c}}", "{,a}", "a\\,b", "{a\\,**}", "**/**/x", "***", "[]-a]", "[é]",
]


def consolidated_fixtures():
    """(store path, {relative key: document}) for every fixture store whose root consolidates its tree."""
    for path in sorted(FIXTURES.glob("stores/*/zarr.json")):
        try:
            doc = json.loads(path.read_bytes())
        except ValueError:
            continue
        metadata = (doc.get("consolidated_metadata") or {}).get("metadata")
        if isinstance(metadata, dict) and metadata:
            yield path.parent, metadata


def group_paths():
    for path in sorted(FIXTURES.glob("stores/**/zarr.json")):
        try:
            doc = json.loads(path.read_bytes())
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("node_type") == "group":
            store = next(p for p in path.parents if p.parent.name == "stores")
            rel = path.parent.relative_to(store).as_posix()
            yield "/" if rel == "." else "/" + rel


def group_filter(out: Path) -> None:
    paths = sorted(set(group_paths()))
    for pattern in GROUP_FILTERS:
        for path in paths:
            write(out, "group_filter", framed(pattern.encode(), path.encode()))


def consolidated_tree(out: Path) -> None:
    for _, metadata in consolidated_fixtures():
        lines = [("@" if (doc or {}).get("node_type") == "array" else "") + key for key, doc in metadata.items()]
        body = "\n".join(lines).encode()
        write(out, "consolidated_tree", bytes([0]) + body)
        write(out, "consolidated_tree", bytes([1]) + body)
        write(out, "consolidated_tree", bytes([2]) + b"/*/sweep_0\n" + body)
        groups = [key for key, doc in metadata.items() if (doc or {}).get("node_type") == "group"]
        if groups:
            write(out, "consolidated_tree", bytes([4]) + groups[0].encode() + b"\n" + body)
    write(out, "consolidated_tree", bytes([0]) + "/".join(["a"] * 200).encode())
    write(out, "consolidated_tree", bytes([0]) + "\n".join(f"g{i:04}" for i in range(2000)).encode())
def plan_number(n: int) -> bytes:
    """A number as selection_plan.rs reads it: one byte below 0xF0, else 0xF0 and a u64."""
    return bytes([n]) if n < 0xF0 else b"\xf0" + struct.pack("<Q", n)


def selection_plan(out: Path) -> None:
    for _path, _raw, doc in array_documents():
        shape = doc.get("shape")
        chunks = (doc.get("chunk_grid") or {}).get("configuration", {}).get("chunk_shape")
        if not (isinstance(shape, list) and isinstance(chunks, list) and len(shape) == len(chunks) <= 4):
            continue
        if not all(isinstance(n, int) and n >= 0 for n in shape + chunks):
            continue
        boxes = [
            ([0] * len(shape), shape),
            ([0] * len(shape), [min(1, n) for n in shape]),
            ([min(c // 2, n) for c, n in zip(chunks, shape)], [min(c + c // 2 + 1, n) for c, n in zip(chunks, shape)]),
        ]
        for start, stop in boxes:
            data = plan_number(len(shape)) + b"".join(
                plan_number(n) + plan_number(c) + plan_number(a) + plan_number(b)
                for n, c, a, b in zip(shape, chunks, start, stop)
            )
            write(out, "selection_plan", data)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    for build in (
        zarr_json, cf_attrs, chunk_decode, shard_index, icechunk_repo, group_filter, consolidated_tree, selection_plan
    ):
        build(out)
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        print(f"{d.name}: {sum(1 for _ in d.iterdir())} seeds")


if __name__ == "__main__":
    main()
