#!/usr/bin/env python3
"""The reference Python agent of the end-to-end benchmark: what a competent Python developer would
write for Vigil's job on a serial source, with the usual libraries (pyserial, paho-mqtt).

Same work per line as `vigil run` with a `kind: serial`, `format: kv` source and the default
`zscore` detector (docs/detection.md): kv parsing (`key=value`/`key:value`, separated by `,` `;`
space or tab; NaN is a dropped reading), per channel a window of `window` readings with running
sums around a shift recomputed every `window` pushes (the same arithmetic as RollingWindow.swift),
z against the window without the reading, warm-up, z_on/z_off hysteresis, `end_after`, a bounded
hold-out, summaries (Welford) every `summary_interval` with the source counters. Anomaly start/end
and summaries are published with QoS 1 (paho keeps them in memory: no disk outbox, which makes this
agent cheaper than Vigil, not dearer). Status `online` (retained) after the CONNACK, `offline` as
the will and at a clean stop. SIGTERM: end open episodes (`reason: shutdown`), last summaries,
`offline`, wait for the PUBACKs, exit.

Left out, because they never fire in the benchmark: the sensor health checks (stuck after 10 min,
dropout after 2 min), garbage/overlong-line detection beyond a length limit, reconnects.
"""
import argparse
import json
import logging
import math
import re
import signal
import time

import paho.mqtt.client as mqtt
import serial

log = logging.getLogger("pyagent")
PAIR = re.compile(rb"([^\s,;=:]+)\s*[=:]\s*([^\s,;]+)")


class Window:
    """Ring buffer with running sums around a shift (RollingWindow.swift, line by line)."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.values = [0.0] * capacity
        self.head = 0
        self.count = 0
        self.shift = 0.0
        self.sum = 0.0
        self.sum_squares = 0.0
        self.since_recompute = 0

    def mean(self):
        return self.shift + self.sum / self.count if self.count else math.nan

    def push(self, x):
        if self.count == self.capacity:  # the oldest leaves
            d = self.values[self.head] - self.shift
            self.sum -= d
            self.sum_squares -= d * d
            self.head += 1
            if self.head == self.capacity:
                self.head = 0
            self.count -= 1
        if self.count == 0:
            self.shift, self.sum, self.sum_squares = x, 0.0, 0.0
        tail = self.head + self.count
        if tail >= self.capacity:
            tail -= self.capacity
        self.values[tail] = x
        self.count += 1
        d = x - self.shift
        self.sum += d
        self.sum_squares += d * d
        self.since_recompute += 1
        if self.since_recompute >= self.capacity:
            self.since_recompute = 0
            self.shift = self.mean()
            s = s2 = 0.0
            i = self.head
            for _ in range(self.count):
                d = self.values[i] - self.shift
                s += d
                s2 += d * d
                i += 1
                if i == self.capacity:
                    i = 0
            self.sum, self.sum_squares = s, s2


class Channel:
    def __init__(self, name, a):
        self.name = name
        self.a = a
        self.window = Window(a.window)
        self.episodes_total = 0
        self.episode = None  # dict while an episode is open
        self.held = 0
        self.new_summary(None)

    def new_summary(self, start_ns):
        self.s_from, self.s_count, self.s_min, self.s_max = start_ns, 0, math.inf, -math.inf
        self.s_mean = self.s_m2 = 0.0
        self.s_anomalies = self.s_episodes = self.s_dropped = 0

    def process(self, x, now_ns, agent):
        """One reading: returns nothing; publishes start/end events through `agent`."""
        if not math.isfinite(x):
            self.s_dropped += 1
            return
        a, w = self.a, self.window
        anomalous = started = False
        n = w.count
        if n >= a.warmup:
            mean = w.shift + w.sum / n
            std = math.sqrt(max(0.0, (w.sum_squares - w.sum * w.sum / n) / (n - 1)))
            z = (x - mean) / max(std, a.std_floor)
            mag = abs(z)
            e = self.episode
            if e is None:
                if mag >= a.z_on:
                    self.episodes_total += 1
                    self.episode = {"id": self.episodes_total, "start": now_ns, "last": now_ns, "peak": mag,
                                    "peak_z": z, "peak_value": x, "anomalous": 1, "readings": 1, "calm": 0}
                    anomalous = started = True
                    self.held = 0
                    agent.publish_start(self, now_ns, x, z, mean, std)
            else:
                e["readings"] += 1
                if mag >= a.z_off:
                    anomalous = True
                    e["anomalous"] += 1
                    e["calm"] = 0
                    e["last"] = now_ns
                    if mag > e["peak"]:
                        e["peak"], e["peak_z"], e["peak_value"] = mag, z, x
                else:
                    e["calm"] += 1
                    if e["calm"] >= a.end_after:
                        self.episode = None
                        agent.publish_end(self, e, now_ns, "recovered")
        if anomalous and self.held < a.hold_out:
            self.held += 1
        else:
            w.push(x)
        if self.s_from is None:
            self.s_from = now_ns
        self.s_count += 1
        if x < self.s_min:
            self.s_min = x
        if x > self.s_max:
            self.s_max = x
        d = x - self.s_mean
        self.s_mean += d / self.s_count
        self.s_m2 += d * (x - self.s_mean)
        if anomalous:
            self.s_anomalies += 1
        if started:
            self.s_episodes += 1


def rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + ".%03dZ" % (ns // 1_000_000 % 1000)


def number(x, places):
    return None if not math.isfinite(x) else round(x, places)


class Agent:
    def __init__(self, a):
        self.a = a
        self.prefix = f"vigil/{a.device}"
        self.seq = 0
        self.published = self.acked = 0
        self.stop = False
        self.counters = {"source_lines": 0, "source_readings": 0, "source_bad_lines": 0, "source_garbage_lines": 0,
                         "source_overlong_lines": 0, "source_unknown_fields": 0, "source_reconnects": 0}
        self.fields = {}
        for spec in a.field:
            field, channel = spec.split(":")
            self.fields[field.encode()] = Channel(channel, a)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vigil-{a.device}",
                                  protocol=mqtt.MQTTv311)
        self.client.will_set(f"{self.prefix}/status", "offline", qos=1, retain=True)
        self.client.on_connect = self.on_connect
        self.client.on_publish = self.on_publish

    def on_connect(self, client, userdata, flags, reason_code, properties):
        self.send("status", "online", retain=True)

    def on_publish(self, client, userdata, mid, reason_code, properties):
        self.acked += 1

    def send(self, topic, payload, retain=False):
        self.published += 1
        self.client.publish(f"{self.prefix}/{topic}", payload, qos=1, retain=retain)

    def event(self, topic, body):
        self.seq += 1
        doc = {"v": 1, "device": self.a.device, "seq": self.seq}
        doc.update(body)
        self.send(topic, json.dumps(doc, separators=(",", ":")))

    def publish_start(self, ch, now_ns, x, z, mean, std):
        log.info("anomaly started channel=%s episode=%d value=%s z=%.2f seq=%d", ch.name, ch.episodes_total, x, z,
                 self.seq + 1)
        self.event(f"anomaly/{ch.name}", {
            "type": "anomaly", "event": "start", "channel": ch.name, "detector": "zscore",
            "episode": ch.episodes_total, "ts": rfc3339(now_ns), "direction": "high" if z > 0 else "low",
            "value": x, "z": number(z, 3), "mean": number(mean, 6), "std": number(std, 6)})

    def publish_end(self, ch, e, now_ns, reason):
        log.info("anomaly ended channel=%s episode=%d peak_z=%.2f reason=%s seq=%d", ch.name, e["id"], e["peak_z"],
                 reason, self.seq + 1)
        self.event(f"anomaly/{ch.name}", {
            "type": "anomaly", "event": "end", "channel": ch.name, "episode": e["id"], "ts": rfc3339(now_ns),
            "started": rfc3339(e["start"]), "duration_ms": (e["last"] - e["start"]) // 1_000_000,
            "peak_z": number(e["peak_z"], 3), "peak_value": e["peak_value"], "anomalous": e["anomalous"],
            "readings": e["readings"], "reason": reason})

    def publish_summaries(self, now_ns):
        for ch in self.fields.values():
            n = ch.s_count
            body = {"type": "summary", "channel": ch.name, "ts": rfc3339(now_ns),
                    "from": rfc3339(ch.s_from if ch.s_from is not None else now_ns), "count": n,
                    "min": ch.s_min if n else None, "max": ch.s_max if n else None,
                    "mean": number(ch.s_mean, 6) if n else None,
                    "std": number(math.sqrt(ch.s_m2 / (n - 1)), 6) if n > 1 else None,
                    "anomalies": ch.s_anomalies, "episodes": ch.s_episodes, "dropped": ch.s_dropped, "unhealthy": 0}
            body.update(self.counters)
            self.event(f"summary/{ch.name}", body)
            ch.new_summary(now_ns)

    def line(self, line, now_ns):
        c = self.counters
        if len(line) > self.a.max_line_length:
            c["source_overlong_lines"] += 1
            return
        c["source_lines"] += 1
        mapped = 0
        fields = self.fields
        for key, raw in PAIR.findall(line):
            ch = fields.get(key)
            if ch is None:
                c["source_unknown_fields"] += 1
                continue
            try:
                x = float(raw)
            except ValueError:
                continue
            mapped += 1
            ch.process(x, now_ns, self)
        if mapped:
            c["source_readings"] += mapped
        else:
            c["source_bad_lines"] += 1

    def run(self):
        a = self.a
        port = serial.Serial(a.port, baudrate=a.baud, timeout=1.0)
        host, _, p = a.broker.rpartition(":")
        self.client.connect(host, int(p), keepalive=30)
        self.client.loop_start()
        next_summary = time.monotonic() + a.summary_interval
        pending = b""
        while not self.stop:
            chunk = port.read(port.in_waiting or 1)
            if chunk:
                now_ns = time.time_ns()
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for raw in lines:
                    raw = raw.rstrip(b"\r")
                    if raw:
                        self.line(raw, now_ns)
            if time.monotonic() >= next_summary:
                self.publish_summaries(time.time_ns())
                next_summary += a.summary_interval
        now_ns = time.time_ns()
        for ch in self.fields.values():
            if ch.episode is not None:
                e, ch.episode = ch.episode, None
                self.publish_end(ch, e, now_ns, "shutdown")
        self.publish_summaries(now_ns)
        self.send("status", "offline", retain=True)
        deadline = time.monotonic() + 60
        while self.acked < self.published and time.monotonic() < deadline:
            time.sleep(0.01)
        self.client.disconnect()
        self.client.loop_stop()
        port.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", required=True)
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--broker", default="127.0.0.1:1883")
    p.add_argument("--device", required=True)
    p.add_argument("--field", action="append", default=[], help="FIELD:CHANNEL")
    p.add_argument("--window", type=int, default=600)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--z-on", type=float, default=4.0)
    p.add_argument("--z-off", type=float, default=2.5)
    p.add_argument("--end-after", type=int, default=5)
    p.add_argument("--hold-out", type=int, default=300)
    p.add_argument("--std-floor", type=float, default=1e-9)
    p.add_argument("--summary-interval", type=float, default=60.0)
    p.add_argument("--max-line-length", type=int, default=512)
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    agent = Agent(args)

    def on_term(signum, frame):
        agent.stop = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    agent.run()


if __name__ == "__main__":
    main()
