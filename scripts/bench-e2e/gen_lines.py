#!/usr/bin/env python3
"""Serial kv lines for the end-to-end benchmark: `t=…,h=…,s=…` (temperature, humidity, sound),
Gaussian noise around fixed levels, and a share of anomalous lines in which one channel is
8–12 standard deviations off. Fixed seed: the same arguments give the same bytes.

    gen_lines.py LINES SHARE SEED OUT
"""
import random
import sys

# (field, level, noise std, decimals)
CHANNELS = (("t", 21.5, 0.1, 2), ("h", 40.0, 0.5, 2), ("s", 300.0, 10.0, 0))


def generate(lines: int, share: float, seed: int, out_path: str) -> int:
    """Writes the lines; returns how many are anomalous."""
    rng = random.Random(seed)
    anomalous = 0
    with open(out_path, "w", encoding="ascii", newline="\n") as out:
        batch = []
        for _ in range(lines):
            values = [level + rng.gauss(0.0, std) for _, level, std, _ in CHANNELS]
            if rng.random() < share:
                anomalous += 1
                k = rng.randrange(len(CHANNELS))
                values[k] += rng.choice((-1.0, 1.0)) * rng.uniform(8.0, 12.0) * CHANNELS[k][2]
            batch.append(",".join(f"{name}={v:.{d}f}" for (name, _, _, d), v in zip(CHANNELS, values)))
            if len(batch) == 10_000:
                out.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")
    return anomalous


if __name__ == "__main__":
    n, share, seed, path = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    print(generate(n, share, seed, path))
