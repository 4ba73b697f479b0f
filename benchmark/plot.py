"""Draws benchmark/plot.png from benchmark/results.json: T versus L per contender.

Usage: plot.py <results.json> <plot.png>  (run by benchmark/bench.ts with the bench venv's python)

One panel per store (columns) and task (rows), one line per contender, log y: the contenders differ by two
orders of magnitude. Dashed grey: the protocol minimum's slope (minimum round trips x L) from rustytree's
time at L = 0, where the minimum is a number.
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {
    "rustytree": "#c0392b",
    "rustytree (maxConcurrency 2048)": "#e59866",
    "zarrita": "#2471a3",
    "icechunk-js": "#17a589",
    "rustytree-xarray": "#d68910",
    "xarray": "#7d3c98",
}
TASKS = ["open", "coords", "read"]


def main() -> None:
    results = json.load(open(sys.argv[1]))
    contenders = results["contenders"]
    measurements = contenders["measurements"]
    stores = list(dict.fromkeys(m["store"] for m in measurements))
    tasks = [t for t in TASKS if any(m["task"] == t for m in measurements)]
    fig, axes = plt.subplots(len(tasks), len(stores), figsize=(4 * len(stores), 2.9 * len(tasks)), squeeze=False, sharex=True)
    for i, task in enumerate(tasks):
        for j, store in enumerate(stores):
            ax = axes[i][j]
            rows = [m for m in measurements if m["store"] == store and m["task"] == task]
            for m in rows:
                xs, ys = zip(*m["points"])
                ax.plot(xs, ys, marker="o", markersize=3, color=COLOURS.get(m["contender"]), label=f"{m['contender']} (b = {m['b']:.1f})")
            ours = next((m for m in rows if m["contender"] == "rustytree"), None)
            if ours and isinstance(ours["minimum"], (int, float)):
                t0 = ours["points"][0][1]
                ls = contenders["latencies"]
                ax.plot(ls, [t0 + ours["minimum"] * latency for latency in ls], "--", color="grey", linewidth=0.8, label=f"minimum ({ours['minimum']} round trips)")
            ax.set_yscale("log")
            ax.grid(True, which="both", linewidth=0.3)
            ax.set_title(f"{store}: {task}", fontsize=9)
            ax.tick_params(labelsize=7)
            if rows:
                ax.legend(fontsize=6, loc="best", framealpha=0.6)
            if i == len(tasks) - 1:
                ax.set_xlabel("latency L (ms)", fontsize=8)
            if j == 0:
                ax.set_ylabel("T (ms, log)", fontsize=8)
    meta = contenders["meta"]
    fig.suptitle(
        f"Time versus simulated latency, KLOT-like archive ({contenders['layout']['profile']} profile), "
        f"median of fresh processes; {meta['date']}, {meta['machine']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=72)


if __name__ == "__main__":
    main()
