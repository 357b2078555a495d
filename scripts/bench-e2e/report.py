"""What bench.py prints: the side-by-side table (median and range over the rounds), the callgrind
figure, CPU % at paced rates and idle wake-ups."""
import os
import statistics
import time


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def header(s):
    print(f"bench-e2e: {s.lines:,} lines × 3 channels, {s.rounds} rounds (alternating), seed {s.seed}; "
          f"{os.cpu_count()} CPUs; load average at start {load()}", flush=True)


def progress(scenario, r):
    print(f"  {scenario:5} round {r['round']} {r['agent']:6} {r['cpu_per_1m']:6.2f} CPU-s/1M lines "
          f"{r['readings_s']:>10,.0f} readings/s  HWM {r['hwm_mib']:5.1f} MiB  private {r['private_mib']:5.1f} MiB  "
          f"CONNACK {r['connack_ms']:6.1f} ms  events {r['events']}  threads {r['threads']}", flush=True)


def spread(values, fmt):
    m = statistics.median(values)
    return f"{fmt.format(m)} ({fmt.format(min(values))}–{fmt.format(max(values))})" if len(values) > 1 else fmt.format(m)


COLUMNS = (("CPU-s per 1M lines", "cpu_per_1m", "{:.2f}"), ("readings/s", "readings_s", "{:,.0f}"),
           ("peak RSS MiB", "hwm_mib", "{:.1f}"), ("private MiB", "private_mib", "{:.1f}"),
           ("exec→CONNACK ms", "connack_ms", "{:.1f}"), ("events", "events", "{:d}"))


def table(s, results, cg, rates):
    if s.rounds:
        print(f"\nMedian (min–max) over {s.rounds} rounds; load average at end {load()}")
    for scenario, rows in results.items():
        if not rows:
            continue
        share, z_on = s.shares[scenario]
        print(f"\n{scenario}: {share * 100:g} % anomalous lines, z_on {z_on:g}, every event QoS 1 "
              f"(Vigil: through its disk outbox)")
        print("| agent | " + " | ".join(c[0] for c in COLUMNS) + " |")
        print("|---" * (len(COLUMNS) + 1) + "|")
        med = {}
        for agent in ("vigil", "python"):
            mine = [r for r in rows if r["agent"] == agent]
            cells = []
            for _, key, fmt in COLUMNS:
                values = [r[key] for r in mine]
                med[(agent, key)] = statistics.median(values)
                cells.append(spread(values, fmt) if key != "events" else "/".join(str(v) for v in sorted(set(values))))
            print(f"| {agent} | " + " | ".join(cells) + " |")
        ratios = [p["cpu_per_1m"] / v["cpu_per_1m"] for p, v in
                  zip([r for r in rows if r["agent"] == "python"], [r for r in rows if r["agent"] == "vigil"])]
        print(f"| python / vigil | {spread(ratios, '{:.2f}×')} (per round) | "
              f"{med[('python', 'readings_s')] / med[('vigil', 'readings_s')]:.2f}× | "
              f"{med[('python', 'hwm_mib')] / med[('vigil', 'hwm_mib')]:.2f}× | "
              f"{med[('python', 'private_mib')] / med[('vigil', 'private_mib')]:.2f}× | "
              f"{med[('python', 'connack_ms')] / med[('vigil', 'connack_ms')]:.2f}× | |")
    for c in cg:
        print(f"\ncallgrind, {c['agent']}: {c['per_reading']:,.0f} instructions per reading over {c['lines']:,} lines "
              f"({c['total']:,} in all, start-up and stop included); {c['marginal']:,.0f} per reading "
              f"without start-up and stop (difference to a run of {c['lines'] // 5:,} lines)")
    if rates:
        print("\n| agent | lines/s (× 3 channels) | CPU % | wake-ups/s, all threads | threads | seconds |")
        print("|---|---|---|---|---|---|")
        for r in rates:
            label = "idle (pty open, no data)" if r["rate"] == 0 else f"{r['rate']}"
            print(f"| {r['agent']} | {label} | {r['cpu_pct']:.2f} | {r['wakeups']:.1f} | {r['threads']} | {r['seconds']:.0f} |")
    print(f"\nfinished {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; load average {load()}")
