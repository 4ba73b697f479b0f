"""One measurement of a Python contender in a fresh process (the counterpart of run-one.mts).

Usage: run_one.py '<job json>' with the same job fields as run-one.mts, plus `icechunk` (true when the store
is an icechunk repository); prints {"ms", "rssMb", "detail"} as JSON.

Contenders, on a Zarr store:
  xarray            xarray.open_datatree(engine="zarr") through s3fs (anonymous, the benchmark endpoint)
  rustytree-xarray  xarray.open_datatree(engine="rustytree"), the Python project rustytree is modelled on.
                    0.5.2 opens only stores at a bucket's root (it drops an s3:// URL's key prefix), so the
                    harness serves each store as a bucket of its own and passes store = "".
On an icechunk repository (s3://<bucket>/<store>), both open a read-only session of branch main with
icechunk-python (s3_storage: the benchmark endpoint, plain HTTP, unsigned, path style) and pass its store:
  xarray            xarray.open_datatree(session.store, engine="zarr", consolidated=False)
  rustytree-xarray  xarray.open_datatree(session.store, engine="rustytree") (0.5.2 hands the session over
                    to its Rust core as bytes; the repository's prefix stays in the session's storage)
The clock includes opening the repository and the session.
Tasks: open (the tree; xarray loads index coordinates while opening), coords (open + every index
coordinate's values), read (open + the values of every array in `layout.reads`).
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main() -> None:
    job = json.loads(sys.argv[1])
    import xarray as xr  # imported before the clock starts, as Node loads its modules before run-one's

    if job.get("icechunk"):
        import icechunk as ic

        t0 = time.perf_counter()
        tree = open_icechunk(ic, xr, job)
    else:
        t0 = time.perf_counter()
        tree = open_zarr(xr, job)
    values = 0
    layout = job["layout"]
    wanted = layout["coords"] if job["task"] == "coords" else layout["reads"] if job["task"] == "read" else []
    for path in wanted:
        group, name = path.rsplit("/", 1)
        values += tree[group or "/"][name].values.size
    ms = (time.perf_counter() - t0) * 1000
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ms": ms, "rssMb": rss_mb, "detail": {"nodes": len(list(tree.subtree)), "values": values}}))


def open_zarr(xr, job: dict):
    """The tree of the Zarr store at s3://<bucket>/<store>."""
    url = f"s3://{job['bucket']}/{job['store']}".rstrip("/")
    if job["contender"] == "xarray":
        options = {"anon": True, "client_kwargs": {"endpoint_url": job["endpoint"]}}
        return xr.open_datatree(url, engine="zarr", storage_options=options)
    if job["contender"] == "rustytree-xarray":
        options = {"endpoint": job["endpoint"], "anon": "true", "allow_http": "true", "region": "us-east-1"}
        return xr.open_datatree(url, engine="rustytree", storage_options=options)
    sys.exit(f"unknown contender {job['contender']!r}")


def open_icechunk(ic, xr, job: dict):
    """The tree of branch main of the icechunk repository at s3://<bucket>/<store>."""
    storage = ic.s3_storage(
        bucket=job["bucket"],
        prefix=job["store"],
        region="us-east-1",
        endpoint_url=job["endpoint"],
        allow_http=True,
        anonymous=True,
        force_path_style=True,
    )
    session = ic.Repository.open(storage).readonly_session(branch="main")
    if job["contender"] == "xarray":
        return xr.open_datatree(session.store, engine="zarr", consolidated=False)
    if job["contender"] == "rustytree-xarray":
        return xr.open_datatree(session.store, engine="rustytree")
    sys.exit(f"unknown contender {job['contender']!r}")


if __name__ == "__main__":
    main()
