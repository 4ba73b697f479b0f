"""The local decode limit: the chunk files of a store's arrays decoded with the codec alone.

Usage: codec_limit.py '<job json>' with {"store": <store directory>, "arrays": [<node paths>],
"workers": 2, "runs": 5, "keep": false}; prints {"codec", "chunks", "decodedBytes", "ms", "mbPerS", ...} as
JSON.

Every chunk file of the listed arrays (`<array>/c/...`, the default chunk key encoding) is read from the
page cache and decoded by numcodecs' Zstd, Blosc or GZip in a pool of `workers` processes (one per core:
the same cores the readers get), each worker decoding its share of the files one after another. No Zarr
library, no array assembly, no CF decoding: what is left is the codec and the file read. A warm-up pass
fills the page cache and starts the workers; each run is timed from handing out the work to the last
result; `ms` is the median run.

With "keep": true every decoded chunk is kept until its worker's share is done, as a reader that hands
its output over must keep it: the decoder then writes into memory the process has not touched before
(page faults, pages zeroed by the kernel) instead of reusing the buffer it just freed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numcodecs
from numcodecs.blosc import Blosc
from numcodecs.gzip import GZip
from numcodecs.zstd import Zstd

DECODERS = {"zstd": Zstd, "blosc": Blosc, "gzip": GZip}


def codec_of(array_dir: Path) -> str:
    """The array's one bytes-to-bytes codec, which must be one of DECODERS."""
    codecs = json.loads((array_dir / "zarr.json").read_text())["codecs"]
    names = [c["name"] for c in codecs if c["name"] != "bytes"]
    if len(names) != 1 or names[0] not in DECODERS:
        sys.exit(f"{array_dir}: expected bytes + one of {sorted(DECODERS)}, found {[c['name'] for c in codecs]}")
    return names[0]


def start_worker() -> None:
    # Blosc's own threads would compete with the other worker: one process per core, one thread each.
    numcodecs.blosc.set_nthreads(1)
    numcodecs.blosc.use_threads = False


def decode_files(job: tuple[str, list[str], bool]) -> int:
    codec, files, keep = job
    decoder = DECODERS[codec]()
    decoded = 0
    kept = []
    for name in files:
        with open(name, "rb") as f:
            chunk = decoder.decode(f.read())
        decoded += len(chunk)
        if keep:
            kept.append(chunk)
    return decoded


def main() -> None:
    job = json.loads(sys.argv[1])
    store = Path(job["store"])
    workers = int(job.get("workers", 2))
    runs = int(job.get("runs", 5))
    array_dirs = [store / p.lstrip("/") for p in job["arrays"]]
    codecs = {codec_of(d) for d in array_dirs}
    if len(codecs) != 1:
        sys.exit(f"{store}: the arrays use several codecs: {sorted(codecs)}")
    codec = codecs.pop()
    files = sorted(str(f) for d in array_dirs for f in (d / "c").rglob("*") if f.is_file())
    # Interleaved shares, several per worker, so that one slow share does not leave a core idle.
    keep = bool(job.get("keep", False))
    shares = [(codec, files[i :: workers * 4], keep) for i in range(workers * 4)]
    with Pool(workers, initializer=start_worker) as pool:
        decoded = sum(pool.map(decode_files, shares, chunksize=1))  # warm-up: page cache, workers
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            total = sum(pool.map(decode_files, shares, chunksize=1))
            times.append((time.perf_counter() - t0) * 1000)
            assert total == decoded
    ms = statistics.median(times)
    print(
        json.dumps(
            {
                "codec": codec,
                "chunks": len(files),
                "compressedBytes": sum(os.path.getsize(f) for f in files),
                "decodedBytes": decoded,
                "workers": workers,
                "keep": keep,
                "runs": times,
                "ms": ms,
                "mbPerS": decoded / 1e6 / (ms / 1000),
                "numcodecs": numcodecs.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
