#!/usr/bin/env python3
"""`make bench-e2e`: Vigil and a reference Python agent (pyagent.py) side by side on the same serial
kv lines, through socat pty pairs, into one loopback mosquitto. Run by run.sh inside the venv.

Settings (environment): LINES, ROUNDS, SEED, SCENARIOS (few, many), FEW_SHARE, MANY_SHARE,
CALLGRIND_LINES (0: skip), CALLGRIND_AGENTS, PACED_AGENTS, RATES, RATE_SECONDS, IDLE_SECONDS, RUN_TIMEOUT,
VIGIL_LOG_LEVEL. What each figure is and how it is taken: docs/performance.md.
"""
import os
import signal
import sys
import time

import gen_lines
import harness as h
import report

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = os.environ.get


class Settings:
    def __init__(self, vigil, work):
        self.vigil, self.work = vigil, work
        self.lines = int(ENV("LINES", "1000000"))
        self.rounds = int(ENV("ROUNDS", "3"))
        self.seed = int(ENV("SEED", "13"))
        self.scenarios = ENV("SCENARIOS", "few many").split()
        # scenario: (share of anomalous lines, z_on)
        self.shares = {"few": (float(ENV("FEW_SHARE", "0.001")), 6.0), "many": (float(ENV("MANY_SHARE", "0.04")), 3.0)}
        self.callgrind_lines = int(ENV("CALLGRIND_LINES", "50000"))
        self.callgrind_agents = ENV("CALLGRIND_AGENTS", "vigil python").split()
        self.paced_agents = ENV("PACED_AGENTS", "vigil python").split()
        self.rates = [int(r) for r in ENV("RATES", "10 100").split()]
        self.rate_seconds = float(ENV("RATE_SECONDS", "30"))
        self.idle_seconds = float(ENV("IDLE_SECONDS", "20"))
        self.run_timeout = float(ENV("RUN_TIMEOUT", "600"))
        self.vigil_log_level = ENV("VIGIL_LOG_LEVEL", "info")


def input_file(s, scenario, lines):
    share = s.shares[scenario][0]
    path = os.path.join(s.work, f"lines-{scenario}-{lines}-{share}-{s.seed}.txt")
    if not os.path.exists(path):
        gen_lines.generate(lines, share, s.seed, path + ".tmp")
        os.rename(path + ".tmp", path)
    return path


class Run:
    """One agent process on one pty pair: started, made ready, measured, stopped."""

    def __init__(self, s, feed, broker_port, agent, device, z_on, summary_interval, wrapper=(), vigil=None):
        self.s, self.feed, self.agent, self.device = s, feed, agent, device
        self.dir = os.path.join(s.work, "runs", device)
        os.makedirs(self.dir, exist_ok=True)
        self.pty = h.PtyPair(self.dir, "tty")
        if agent == "vigil":
            config = os.path.join(self.dir, "vigil.yaml")
            with open(config, "w") as f:
                f.write(f"""device: {device}
mqtt: {{ broker: "mqtt://127.0.0.1:{broker_port}", outbox: {{ dir: "{self.dir}/outbox" }} }}
detector: {{ z_on: {z_on} }}
summary: {{ interval: {summary_interval}s }}
log_level: {s.vigil_log_level}
sources:
  - kind: serial
    name: esp
    path: {self.pty.agent_path}
    format: kv
    fields:
      - {{ field: t, channel: temperature }}
      - {{ field: h, channel: humidity }}
      - {{ field: s, channel: sound }}
""")
            cmd = [vigil or s.vigil, "run", "--config", config]
        else:
            cmd = [sys.executable, os.path.join(HERE, "pyagent.py"), "--port", self.pty.agent_path,
                   "--broker", f"127.0.0.1:{broker_port}", "--device", device, "--z-on", str(z_on),
                   "--summary-interval", str(summary_interval),
                   "--field", "t:temperature", "--field", "h:humidity", "--field", "s:sound"]
        self.log = os.path.join(self.dir, "agent.log")
        self.exec_at = time.time()
        self.proc = h.start(list(wrapper) + cmd, self.log)

    def alive(self):
        if self.proc.poll() is not None:
            with open(self.log, "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            raise h.BenchError(f"{self.agent} exited with {self.proc.returncode}; its log ends:\n{tail}")
        return True

    def wait_ready(self, timeout):
        """Status `online` at the subscriber (so CONNACK happened) and the pty open."""
        d = self.feed.device(self.device)
        h.wait_for(f"{self.agent}: `online` at the broker and {self.pty.agent_tty} open",
                   lambda: self.alive() and self.feed.poll() and d["online"] and h.has_open(self.proc.pid, self.pty.agent_tty),
                   timeout)
        return (d["online"] - self.exec_at) * 1000

    def wait_lines(self, lines, timeout):
        d = self.feed.device(self.device)
        try:
            h.wait_for(f"{self.agent} to read {lines} lines", lambda: self.alive() and self.feed.poll() and d["lines"] >= lines,
                       timeout)
        except h.BenchError as e:
            raise h.BenchError(f"{e}: its summaries counted {d['lines']} lines") from None

    def finish(self, timeout=120):
        """Stops the agent (SIGTERM), waits for its `offline`; returns (rusage, feed counts)."""
        usage = h.stop(self.proc, timeout)
        if usage is None or self.proc.returncode != 0:
            raise h.BenchError(f"{self.agent} exited with {self.proc.returncode} after SIGTERM (log: {self.log})")
        d = self.feed.device(self.device)
        h.wait_for(f"{self.agent}'s `offline` at the broker", lambda: self.feed.poll() and d["offline"], 60)
        self.pty.close()
        return usage, d


def throughput(s, feed, port, agent, scenario, rnd):
    share, z_on = s.shares[scenario]
    data = open(input_file(s, scenario, s.lines), "rb").read()
    r = Run(s, feed, port, agent, f"{agent}-{scenario}-r{rnd}", z_on, 1)
    connack_ms = r.wait_ready(60)
    t0 = time.monotonic()
    r.pty.write_all(data, timeout=120)
    written = time.monotonic() - t0
    r.wait_lines(s.lines, s.run_timeout)
    mem = h.memory(r.proc.pid)
    usage, d = r.finish()
    cpu = usage.ru_utime + usage.ru_stime
    return {"agent": agent, "round": rnd, "cpu_per_1m": cpu * 1e6 / s.lines, "readings_s": 3 * s.lines / written,
            "hwm_mib": mem["VmHWM"] / 1024, "private_mib": mem["Private_Dirty"] / 1024, "threads": mem["Threads"],
            "connack_ms": connack_ms, "events": d["anomaly"], "summaries": d["summary"]}


def callgrind(s, feed, port, agent):
    """Instructions per reading under callgrind, over CALLGRIND_LINES lines and a fifth of them: the
    difference is the cost of the readings without start-up and shutdown. Valgrind 3.19 cannot read
    the DWARF 5 debug info of Swift 6 binaries, so Vigil runs as a copy without it (same code)."""
    out = {}
    vigil = os.path.join(s.work, "vigil-nodebug")
    h.subprocess.run(["objcopy", "--strip-debug", s.vigil, vigil], check=True)
    for lines in (s.callgrind_lines // 5, s.callgrind_lines):
        data = open(input_file(s, "few", s.callgrind_lines), "rb").read()
        data = b"".join(data.splitlines(keepends=True)[:lines])
        device = f"{agent}-callgrind-{lines}"
        cg_out = os.path.join(s.work, "runs", device + ".callgrind")
        r = Run(s, feed, port, agent, device, s.shares["few"][1], 1,
                wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg_out}"], vigil=vigil)
        r.wait_ready(300)
        r.pty.write_all(data, timeout=600)
        r.wait_lines(lines, s.run_timeout)
        r.finish(timeout=300)
        with open(cg_out) as f:
            total = next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))
        out[lines] = total
    small, big = s.callgrind_lines // 5, s.callgrind_lines
    return {"agent": agent, "lines": big, "per_reading": out[big] / (3 * big),
            "marginal": (out[big] - out[small]) / (3 * (big - small)), "total": out[big]}


def paced(s, feed, port, agent, rate, seconds):
    """CPU % and wake-ups/s of all the agent's threads while RATE lines/s arrive (0: idle).
    Default settings (summary every 60 s, z_on 4) but the broker, pty and outbox."""
    lines = open(input_file(s, "few", s.lines), "rb").read().splitlines(keepends=True) if rate else []
    r = Run(s, feed, port, agent, f"{agent}-paced-{rate}", 4.0, 60)
    r.wait_ready(60)
    time.sleep(2)  # let start-up settle before the interval is measured
    cpu0, sw0 = h.cpu_and_switches(r.proc.pid)
    start = time.monotonic()
    n = int(rate * seconds)
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        r.pty.write_all(lines[i % len(lines)], timeout=10)
    remaining = start + seconds - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    cpu1, sw1 = h.cpu_and_switches(r.proc.pid)
    wall = time.monotonic() - start
    threads = h.memory(r.proc.pid)["Threads"]
    r.alive()
    r.finish()
    return {"agent": agent, "rate": rate, "cpu_pct": (cpu1 - cpu0) / 1e9 / wall * 100, "wakeups": (sw1 - sw0) / wall,
            "threads": threads, "seconds": wall}


def main():
    vigil, work = sys.argv[1], sys.argv[2]
    s = Settings(os.path.abspath(vigil), os.path.abspath(work))
    os.makedirs(os.path.join(s.work, "runs"), exist_ok=True)
    for old in os.listdir(os.path.join(s.work, "runs")):
        h.subprocess.run(["rm", "-rf", os.path.join(s.work, "runs", old)], check=True)
    report.header(s)
    for scenario in s.scenarios:
        input_file(s, scenario, s.lines)
    broker, port = h.start_broker(s.work)
    feed = h.Feed(s.work, port)
    results = {scenario: [] for scenario in s.scenarios}
    for rnd in range(1, s.rounds + 1):
        order = ("vigil", "python") if rnd % 2 else ("python", "vigil")
        for scenario in s.scenarios:
            for agent in order:
                row = throughput(s, feed, port, agent, scenario, rnd)
                results[scenario].append(row)
                report.progress(scenario, row)
    cg = [callgrind(s, feed, port, agent) for agent in s.callgrind_agents] if s.callgrind_lines else []
    rates = [paced(s, feed, port, agent, rate, s.rate_seconds) for rate in s.rates for agent in s.paced_agents]
    if s.idle_seconds > 0:
        rates += [paced(s, feed, port, agent, 0, s.idle_seconds) for agent in s.paced_agents]
    report.table(s, results, cg, rates)


def on_term(signum, frame):
    raise SystemExit(f"bench-e2e: stopped by signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    try:
        main()
    except h.BenchError as e:
        print(f"bench-e2e: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        h.stop_all()
