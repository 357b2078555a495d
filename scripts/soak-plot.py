#!/usr/bin/env python3
"""Draws soak.csv (from scripts/soak.py) as an SVG: RSS, anonymous RSS, open fds and threads, outbox depth, against time,
with the broker's outages shaded. Stdlib only. Usage: scripts/soak-plot.py soak.csv soak.svg"""
import csv, sys

W, PANEL, GAP, LEFT, RIGHT, TOP = 900, 150, 40, 70, 20, 30


def load(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def panel(out, rows, y0, title, series, tmax):
    values = [r[key] for key, _, _ in series for r in rows]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.1
    lo, hi = lo - pad, hi + pad
    x = lambda t: LEFT + (W - LEFT - RIGHT) * t / tmax
    y = lambda v: y0 + PANEL - PANEL * (v - lo) / (hi - lo)
    out.append(f'<rect x="{LEFT}" y="{y0}" width="{W - LEFT - RIGHT}" height="{PANEL}" fill="none" stroke="#999"/>')
    # Outages: samples with the broker down.
    for a, b in zip(rows, rows[1:]):
        if a["broker_up"] == 0:
            out.append(f'<rect x="{x(a["t_s"]):.1f}" y="{y0}" width="{max(1, x(b["t_s"]) - x(a["t_s"])):.1f}" height="{PANEL}" fill="#f3d9d9"/>')
    out.append(f'<text x="{LEFT}" y="{y0 - 6}" font-size="13">{title}</text>')
    for v in (lo + pad, hi - pad):
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.1f}</text>')
    legend = W - RIGHT - 90 * len(series)
    for key, label, color in series:
        pts = " ".join(f"{x(r['t_s']):.1f},{y(r[key]):.1f}" for r in rows)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        out.append(f'<text x="{legend}" y="{y0 - 6}" font-size="12" fill="{color}">{label}</text>')
        legend += 90


def main():
    rows = load(sys.argv[1])
    if not rows:
        sys.exit("soak-plot: no samples")
    for r in rows:
        r["rss_mib"] = r["rss_kib"] / 1024
        r["anon_mib"] = r.get("anon_kib", 0) / 1024
    tmax = max(rows[-1]["t_s"], 1)
    panels = [("RSS (MiB)", [("rss_mib", "RSS", "#1f77b4")]),
              ("Anonymous RSS: heap and stacks (MiB)", [("anon_mib", "anon", "#ff7f0e")]),
              ("Open fds and threads", [("fds", "fds", "#2ca02c"), ("threads", "threads", "#9467bd")]),
              ("Outbox depth (events, from the health messages)", [("outbox_events", "outbox", "#d62728")])]
    height = TOP + len(panels) * (PANEL + GAP) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" font-family="sans-serif">',
           f'<rect width="{W}" height="{height}" fill="white"/>']
    for i, (title, series) in enumerate(panels):
        panel(out, rows, TOP + i * (PANEL + GAP), title, series, tmax)
    out.append(f'<text x="{W / 2}" y="{height - 8}" font-size="12" text-anchor="middle">time (s), 0 … {tmax:.0f}; shaded: broker down</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
