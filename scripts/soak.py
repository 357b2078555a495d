#!/usr/bin/env python3
"""Soak: the real agent on the simulator at a high rate, through a real mosquitto restarted every few
minutes, for DURATION seconds. Samples the agent's RSS, open fds and threads (and the outbox depth its
health messages report) into soak.csv, draws soak.svg, and checks the pass rule:

  lost     every sequence number from the run's first to the last_seq of its clean stop arrived (0 lost)
  threads  the same count in every sample after the warm-up
  fds      no growth: the most open after the warm-up equals the most open in its first quarter (the
           count dips while the broker is away: the connection's socket and its wake pipe are closed)
  rss      (--rss-limit-kib) anonymous RSS (heap and stacks; shared-library pages the kernel evicts
           and faults back in under memory pressure would be noise): median of the last tenth minus
           median of the first tenth after the warm-up

Stdlib only. Writes summary.json next to the CSV; exits 0 on pass, 1 on fail, 2 when it could not run.
Usage: scripts/soak.py --vigil .build/release/vigil --duration 3600 --out .build/soak
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))


def stop(proc, grace):
    """SIGTERM, then SIGKILL after `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agent_config(port, rate, spikes):
    return f"""device: soak
mqtt:
  broker: mqtt://127.0.0.1:{port}
  keepalive: 5s
  reconnect_min: 200ms
  reconnect_max: 2s
  health_interval: 5s
  outbox: {{ sync: batch }}
detector: {{ window: 120, warmup: 60, z_on: 6, z_off: 3, end_after: 5 }}
summary: {{ interval: 1s }}
log_level: notice
sources:
  - kind: simulator
    name: sim
    rate: {rate}
    seed: 17
    channels:
      - {{ name: temperature, unit: "°C",  mean: 22, std: 0.3, walk_points: 30, resolution: 0.01 }}
      - {{ name: humidity,    unit: "%RH", mean: 45, std: 1.0, walk_points: 30, resolution: 0.1 }}
      - {{ name: pressure,    unit: "hPa", mean: 1013, std: 0.5, resolution: 0.1 }}
    faults:
      - {{ kind: spike, channel: temperature, rate_per_hour: {spikes}, magnitude: 20 }}
      - {{ kind: spike, channel: humidity, rate_per_hour: {max(1, spikes // 10)}, magnitude: 15 }}
"""


class Broker:
    """mosquitto with persistence, so the subscriber's session and queued messages survive restarts."""

    def __init__(self, work, port, logdir):
        self.port, self.proc = port, None
        db = os.path.join(work, "db")
        os.makedirs(db, exist_ok=True)
        os.chmod(db, 0o777)
        self.conf = os.path.join(work, "mosquitto.conf")
        self.log = open(os.path.join(logdir, "broker.log"), "ab")
        with open(self.conf, "w") as f:
            f.write(f"max_queued_messages 0\nmax_inflight_messages 100\nlistener {port} 127.0.0.1\n"
                    f"allow_anonymous true\npersistence true\npersistence_location {db}/\nautosave_interval 0\n")

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen within 30 s")

    def stop(self):
        if self.proc:
            stop(self.proc, 30)
        self.proc = None


class Subscriber:
    """mosquitto_sub with a persistent session: records every seq, the clean stop, the latest health."""

    def __init__(self, port):
        self.lock = threading.Lock()
        self.seqs, self.offline, self.health, self.probed = set(), None, {}, False
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-c",
                                      "-i", "soak-sub", "-t", "vigil/soak/#", "-t", "soak/probe", "-F", "%t %p"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 30
        while not self.probed and time.time() < deadline:
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "soak/probe", "-m", "p", "-q", "1"],
                           stderr=subprocess.DEVNULL, timeout=10)
            time.sleep(0.1)
        if not self.probed:
            raise RuntimeError("mosquitto_sub did not subscribe within 30 s")

    def _read(self):
        for line in self.proc.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            if topic == "soak/probe":
                self.probed = True
                continue
            try:
                m = json.loads(payload)
            except ValueError:
                continue
            with self.lock:
                if "seq" in m:
                    self.seqs.add(m["seq"])
                if m.get("type") == "status" and m.get("state") == "offline" and m.get("clean"):
                    self.offline = m
                if m.get("type") == "health" and "outbox_events" in m:
                    self.health = m

    def stop(self):
        stop(self.proc, 10)


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    kib = lambda name: int(fields[name].split()[0])
    return kib("VmRSS"), kib("RssAnon"), int(fields["Threads"]), len(os.listdir(f"/proc/{pid}/fd"))


def spread(values):
    return max(values) - min(values) if values else 0


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if v else 0


def judge(rows, args, lost, last_seq):
    after = [r for r in rows if r["t"] >= args.warmup]
    tenth = max(1, len(after) // 10)
    anon_growth = median([r["anon_kib"] for r in after[-tenth:]]) - median([r["anon_kib"] for r in after[:tenth]])
    # Least-squares slope of anonymous RSS after the warm-up, KiB per hour.
    n = len(after)
    slope = 0.0
    if n >= 2:
        mt = sum(r["t"] for r in after) / n
        mr = sum(r["anon_kib"] for r in after) / n
        den = sum((r["t"] - mt) ** 2 for r in after)
        slope = (sum((r["t"] - mt) * (r["anon_kib"] - mr) for r in after) / den * 3600) if den else 0.0
    s = {"duration_s": args.duration, "samples": len(rows), "samples_after_warmup": n,
         "broker_restarts": sum(1 for r in rows if r.get("restart")), "last_seq": last_seq, "lost": lost,
         "threads_min": min((r["threads"] for r in after), default=0), "threads_spread": spread([r["threads"] for r in after]),
         "fds_min": min((r["fds"] for r in after), default=0), "fds_max": max((r["fds"] for r in after), default=0),
         "fds_growth": max((r["fds"] for r in after), default=0) - max((r["fds"] for r in after[:max(1, n // 4)]), default=0),
         "rss_first_kib": after[0]["rss_kib"] if after else 0, "rss_max_kib": max((r["rss_kib"] for r in after), default=0),
         "anon_first_kib": after[0]["anon_kib"] if after else 0, "anon_max_kib": max((r["anon_kib"] for r in after), default=0),
         "anon_growth_kib": anon_growth, "anon_slope_kib_per_h": round(slope, 1),
         "outbox_max": max((r["outbox"] for r in rows), default=0)}
    failures = []
    if last_seq is None:
        failures.append("no clean stop (offline status with last_seq) arrived")
    if lost != 0:
        failures.append(f"{lost} sequence number(s) lost")
    if n < 2:
        failures.append("fewer than 2 samples after the warm-up")
    if s["threads_spread"] != 0:
        failures.append(f"threads varied by {s['threads_spread']}")
    if s["fds_growth"] != 0:
        failures.append(f"open fds grew by {s['fds_growth']}")
    if args.rss_limit_kib is not None and anon_growth > args.rss_limit_kib:
        failures.append(f"anonymous RSS grew {anon_growth} KiB after the warm-up (limit {args.rss_limit_kib})")
    s["failures"], s["pass"] = failures, not failures
    return s


def run(args):
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="vigil-soak-")
    # mosquitto started as root drops to its own user, which must reach its database in here.
    os.chmod(work, 0o755)
    port = free_port()
    broker = Broker(work, port, args.out)
    broker.start()
    sub = Subscriber(port)
    config = os.path.join(work, "vigil.yaml")
    with open(config, "w") as f:
        f.write(agent_config(port, args.rate, args.spikes_per_hour))
    log = open(os.path.join(args.out, "agent.log"), "wb")
    agent = subprocess.Popen([args.vigil, "run", "--config", config], stderr=log,
                             env=dict(os.environ, STATE_DIRECTORY=os.path.join(work, "state")))
    rows, start = [], time.monotonic()
    next_restart, back_at = args.restart_every, None
    csv = open(os.path.join(args.out, "soak.csv"), "w")
    csv.write("t_s,rss_kib,anon_kib,threads,fds,outbox_events,broker_up,received\n")
    try:
        # The first sample one interval in: the agent has started its threads and connected by then.
        while True:
            time.sleep(max(0.0, min(args.sample_every, args.duration - (time.monotonic() - start))))
            t = time.monotonic() - start
            if t >= args.duration:
                break
            if agent.poll() is not None:
                raise RuntimeError(f"the agent exited with {agent.returncode} at {t:.0f} s")
            restart = False
            if back_at is None and t >= next_restart and t + args.outage < args.duration - args.sample_every:
                broker.stop()
                back_at, restart = t + args.outage, True
            elif back_at is not None and t >= back_at:
                broker.start()
                back_at, next_restart = None, t + args.restart_every
            rss, anon, threads, fds = sample(agent.pid)
            with sub.lock:
                outbox, received = sub.health.get("outbox_events", 0), len(sub.seqs)
            row = {"t": round(t, 1), "rss_kib": rss, "anon_kib": anon, "threads": threads, "fds": fds, "outbox": outbox,
                   "up": int(back_at is None), "received": received, "restart": restart}
            rows.append(row)
            csv.write(f"{row['t']},{rss},{anon},{threads},{fds},{outbox},{row['up']},{received}\n")
            csv.flush()
        if back_at is not None:
            broker.start()
        agent.send_signal(signal.SIGTERM)
        agent.wait(60)
        deadline = time.time() + 120
        last_seq = None
        while time.time() < deadline:
            with sub.lock:
                last_seq = sub.offline.get("last_seq") if sub.offline else None
                if last_seq is not None and all(s in sub.seqs for s in range(1, last_seq + 1)):
                    break
            time.sleep(0.2)
        with sub.lock:
            missing = [s for s in range(1, last_seq + 1) if s not in sub.seqs] if last_seq is not None else []
        lost = len(missing) if last_seq is not None else -1
    finally:
        if agent.poll() is None:
            agent.kill()
        sub.stop()
        broker.stop()
        csv.close()
        shutil.rmtree(work, ignore_errors=True)
    summary = judge(rows, args, lost, last_seq)
    summary["agent_exit"] = agent.returncode
    summary["missing_seqs"] = missing[:50]
    if agent.returncode != 0:
        summary["failures"].append(f"the agent exited with {agent.returncode}")
        summary["pass"] = False
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    subprocess.run([sys.executable, os.path.join(HERE, "soak-plot.py"), os.path.join(args.out, "soak.csv"),
                    os.path.join(args.out, "soak.svg")], check=False)
    return summary


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vigil", required=True)
    p.add_argument("--duration", type=float, default=3600)
    p.add_argument("--rate", type=int, default=720, help="readings/s per channel (3 channels); 720 for 1 h = 24 h at 10 Hz")
    p.add_argument("--spikes-per-hour", type=int, default=3600, help="temperature spikes (each an anomaly start and end)")
    p.add_argument("--restart-every", type=float, default=300, help="seconds between broker restarts")
    p.add_argument("--outage", type=float, default=15, help="seconds the broker stays down")
    p.add_argument("--sample-every", type=float, default=10)
    p.add_argument("--warmup", type=float, default=300)
    p.add_argument("--rss-limit-kib", type=int, default=None)
    p.add_argument("--out", default=".build/soak")
    args = p.parse_args()
    # A parent (a test runner) may block SIGTERM; the brokers and the agent started here must get it.
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    try:
        s = run(args)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    print(json.dumps(s, indent=1))
    print(f"soak: {'PASS' if s['pass'] else 'FAIL: ' + '; '.join(s['failures'])} ({args.out}/soak.csv, soak.svg)")
    return 0 if s["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
