"""One measurement of a Python contender in a fresh process (the counterpart of run-one.mts).

Usage: run_one.py '<job json>' with the same job fields as run-one.mts; prints {"ms", "rssMb"} as JSON.

Contenders:
  xarray            xarray.open_datatree(engine="zarr") through s3fs (anonymous, the benchmark endpoint)
  rustytree-xarray  xarray.open_datatree(engine="rustytree"), the Python project rustytree is modelled on.
                    0.5.2 opens only stores at a bucket's root (it drops an s3:// URL's key prefix), so the
                    harness serves each store as a bucket of its own and passes store = "".
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

    url = f"s3://{job['bucket']}/{job['store']}".rstrip("/")
    t0 = time.perf_counter()
    if job["contender"] == "xarray":
        options = {"anon": True, "client_kwargs": {"endpoint_url": job["endpoint"]}}
        tree = xr.open_datatree(url, engine="zarr", storage_options=options)
    elif job["contender"] == "rustytree-xarray":
        options = {"endpoint": job["endpoint"], "anon": "true", "allow_http": "true", "region": "us-east-1"}
        tree = xr.open_datatree(url, engine="rustytree", storage_options=options)
    else:
        sys.exit(f"unknown contender {job['contender']!r}")
    values = 0
    layout = job["layout"]
    wanted = layout["coords"] if job["task"] == "coords" else layout["reads"] if job["task"] == "read" else []
    for path in wanted:
        group, name = path.rsplit("/", 1)
        values += tree[group or "/"][name].values.size
    ms = (time.perf_counter() - t0) * 1000
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ms": ms, "rssMb": rss_mb, "detail": {"nodes": len(list(tree.subtree)), "values": values}}))


if __name__ == "__main__":
    main()
