"""The real parts the end-to-end benchmark runs on: a loopback mosquitto, a subscriber that stamps
every message with its arrival time, socat pty pairs, and /proc readings of an agent process.
Every wait is bounded in time and fails with a message that says what did not happen."""
import json
import os
import select
import signal
import socket
import subprocess
import time
import tty

STARTED = []  # every process started here, stopped by stop_all() (the script's exit trap)


class BenchError(Exception):
    pass


def start(cmd, log_path, **kw):
    log = open(log_path, "wb")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **kw)
    log.close()
    STARTED.append(p)
    return p


def stop(p, timeout=10.0):
    """SIGTERM, then SIGKILL after `timeout`; returns the rusage when this reaped it."""
    usage = None
    if p.returncode is None:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while p.returncode is None:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                p.kill()
                _, status, usage = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                raise BenchError(f"{p.args[0]} (pid {p.pid}) did not stop within {timeout:.0f} s of SIGTERM; killed")
            time.sleep(0.02)
    if p in STARTED:
        STARTED.remove(p)
    return usage


def stop_all():
    for p in list(STARTED):
        try:
            stop(p, timeout=5.0)
        except (BenchError, ChildProcessError):
            pass


def wait_for(what, predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_broker(work):
    port = free_port()
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        # No per-client queue limit: the subscriber must see every event, also in a burst.
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\n")
    p = start(["mosquitto", "-c", conf], os.path.join(work, "mosquitto.log"))
    wait_for(f"mosquitto on 127.0.0.1:{port}", lambda: port_open(port), 10)
    return p, port


def status_state(payload):
    """`online`/`offline`: the payload itself (the Python agent), or the `state` of Vigil's JSON status."""
    if payload.startswith(b"{"):
        try:
            return json.loads(payload).get("state")
        except ValueError:
            return None
    return payload.decode(errors="replace")


class Feed:
    """`mosquitto_sub -F '%U %t %p'` on vigil/#: per device, when `online` arrived, whether
    `offline` did, the highest `source_lines` in a summary, and anomaly/summary counts."""

    def __init__(self, work, port):
        self.path = os.path.join(work, "received.txt")
        self.proc = start(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", "vigil/#",
                           "-F", "%U %t %p"], self.path)
        self.offset = 0
        self.partial = b""
        self.devices = {}
        wait_for("the subscriber to connect", lambda: self.probe(port), 10, step=0.2)

    def probe(self, port):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", "vigil/probe/status",
                        "-m", "probe"], check=True)
        self.poll()
        return "probe" in self.devices

    def device(self, name):
        return self.devices.setdefault(name, {"online": None, "offline": False, "lines": 0, "anomaly": 0,
                                              "summary": 0})

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            parts = line.split(b" ", 2)
            if len(parts) < 3:
                continue
            stamp, topic, payload = float(parts[0]), parts[1].decode().split("/"), parts[2]
            if len(topic) < 3:
                continue
            d = self.device(topic[1])
            kind = topic[2]
            if kind == "status":
                state = status_state(payload)
                if state == "online" and d["online"] is None:
                    d["online"] = stamp
                elif state == "offline":
                    d["offline"] = True
            elif kind == "anomaly":
                d["anomaly"] += 1
            elif kind == "summary":
                d["summary"] += 1
                i = payload.find(b'"source_lines":')
                if i >= 0:
                    j = i + len(b'"source_lines":')
                    k = j
                    while k < len(payload) and payload[k:k + 1].isdigit():
                        k += 1
                    d["lines"] = max(d["lines"], int(payload[j:k]))
        return self.devices


class PtyPair:
    """socat between two pseudo-terminals: the writer end (raw, non-blocking) and the path the
    agent opens."""

    def __init__(self, work, name):
        self.writer_path = os.path.join(work, f"{name}-w")
        self.agent_path = os.path.join(work, f"{name}-r")
        self.proc = start(["socat", f"pty,raw,echo=0,link={self.writer_path}",
                           f"pty,raw,echo=0,link={self.agent_path}"], os.path.join(work, f"{name}-socat.log"))
        wait_for("socat's pty pair", lambda: os.path.exists(self.writer_path) and os.path.exists(self.agent_path), 10)
        self.fd = os.open(self.writer_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.agent_tty = os.path.realpath(self.agent_path)

    def write_all(self, data, timeout):
        """Writes every byte; fails when the reader stops taking them for `timeout` seconds."""
        view = memoryview(data)
        done = 0
        poller = select.poll()
        poller.register(self.fd, select.POLLOUT)
        deadline = time.monotonic() + timeout
        while done < len(view):
            if not poller.poll(max(0, deadline - time.monotonic()) * 1000):
                raise BenchError(f"the agent stopped reading: nothing taken for {timeout:.0f} s, "
                                 f"{done} of {len(view)} bytes written")
            try:
                done += os.write(self.fd, view[done:done + 65536])
                deadline = time.monotonic() + timeout
            except BlockingIOError:
                pass
        return done

    def close(self):
        os.close(self.fd)
        stop(self.proc)


def has_open(pid, path):
    fd_dir = f"/proc/{pid}/fd"
    try:
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(os.path.join(fd_dir, fd)) == path:
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


def tasks(pid):
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def cpu_and_switches(pid):
    """(CPU ns of all threads from schedstat, voluntary + involuntary context switches of all threads)."""
    cpu = switches = 0
    for t in tasks(pid):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                cpu += int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{t}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
        except OSError:
            pass  # a thread ended meanwhile
    return cpu, switches


def memory(pid):
    """VmHWM, VmRSS and Private_Dirty in KiB, and the thread count."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                out["Private_Dirty"] = int(line.split()[1])
    return out
