#!/usr/bin/env python3
"""Writes the committed seed corpus Fuzz/corpus/<target>/ (run from the repository root).

Seeds are real inputs: sample serial lines, the example configs and each kind's sample.yaml, outbox
segments laid out as OutboxFormat writes them, w1_slave/IIO attribute text, a DHT22 edge trace,
replay CSVs and the payload examples of docs/payloads.md."""
import glob, os, struct

OUT = "Fuzz/corpus"

def put(target, name, data):
    os.makedirs(f"{OUT}/{target}", exist_ok=True)
    with open(f"{OUT}/{target}/{name}", "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)

# serial: byte 0 = parser index (0 kv, 1 json, 2 csv by header, 3 semicolon by header, 4 csv fixed,
# 5 semicolon fixed) | (chunk size - 1) << 3.
put("serial", "kv", b"\x00" + b"t=21.5,h=40.1,snd=550\r\nt=21.6 h=40.0 snd=548\nboot ok\nt=nan,h=,snd=1e3\n")
put("serial", "kv-chunked", b"\x38" + b"t:21.5;h:40.1;snd:550\nx=1,t=-4.25e1\n\x1b[0mgarbage\xff\xfe\n")
put("serial", "json", b"\x01" + b'{"t":21.5,"h":40.1,"snd":550}\n{"t":null,"h":"x","snd":[1,2],"extra":{"a":1}}\n{"t":1e400}\n')
put("serial", "json-escapes", b"\x11" + b'{"t\\u0041":1,"h":2.5e-3,"snd":-0}\r\n{"t":21.5,\n')
put("serial", "csv-header", b"\x02" + b"ts,t,h,snd\n1,21.5,40.1,550\n2,21.6,,549\n3,a,b,c\n")
put("serial", "semicolon-header", b"\x03" + b"t;h;snd\n21,5;40;550\n21.5;40.1;550\n")
put("serial", "csv-fixed", b"\x04" + b"1,21.5,40.1,550\n2,21.6,40.2\n")
put("serial", "semicolon-fixed", b"\x05" + b"21.5;550;40.1\n;;\n")

# config: the examples and every kind's sample.
for path in sorted(glob.glob("examples/*.yaml")):
    put("config", f"example-{os.path.basename(path)}", open(path, "rb").read())
for path in sorted(glob.glob("Sources/VigilSources/*/sample.yaml")):
    put("config", f"sample-{path.split('/')[2].lower()}.yaml", open(path, "rb").read())

# outbox: byte 0 bit 0 = fix checksums in the harness; the rest is a segment file.
POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

def frame(body):
    length = struct.pack("<I", len(body))
    return struct.pack("<I", 0x52454356) + length + struct.pack("<I", crc32c(body, crc32c(length))) + body

def entry(id, topic, payload, event=True, qos=1, retain=False):
    t = topic.encode()
    return frame(bytes([1]) + struct.pack("<Q", id) + bytes([1 if event else 0, qos, 1 if retain else 0])
                 + struct.pack("<H", len(t)) + t + payload.encode())

def removal(reason, ranges):
    return frame(bytes([2, reason]) + struct.pack("<I", len(ranges)) + b"".join(struct.pack("<QQ", a, b) for a, b in ranges))

header = b"VIGILOB1" + struct.pack("<Q", 1)
anomaly = '{"v":1,"device":"gw-1","seq":17,"type":"anomaly","event":"start","channel":"temperature"}'
segment = (header + entry(1, "vigil/gw-1/anomaly/temperature", anomaly)
           + entry(2, "vigil/gw-1/summary/temperature", '{"v":1,"type":"summary"}', event=False, qos=0)
           + removal(1, [(1, 1)]) + entry(3, "vigil/gw-1/health", '{"v":1,"type":"health"}', retain=True)
           + removal(2, [(2, 3)]))
put("outbox", "segment", b"\x00" + segment)
put("outbox", "torn-tail", b"\x00" + segment[:-7])
put("outbox", "flipped-header", b"\x00" + segment[:3] + bytes([segment[3] ^ 0x10]) + segment[4:])
damaged = bytearray(segment); damaged[60] ^= 0xFF
put("outbox", "damaged-middle", b"\x00" + bytes(damaged))
put("outbox", "fix-crc-unknown-type", b"\x01" + header + frame(bytes([9, 1, 2, 3])) + entry(4, "t", "p"))

# w1slave: the driver's two lines and the plain temperature attribute.
put("w1slave", "ok", "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n")
put("w1slave", "crc-no", "72 01 4b 46 7f ff 0e 10 58 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n")
def crc8(data):  # Dallas/Maxim
    crc = 0
    for b in data:
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if (crc ^ b) & 1 else crc >> 1
            b >>= 1
    return crc
def w1(pad, t):
    text = " ".join(f"{b:02x}" for b in pad + [crc8(pad)])
    return f"{text} : crc={crc8(pad):02x} YES\n{text} t={t}\n"
put("w1slave", "reset", w1([0x50, 0x05, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10], 85000))
pad = [0x5E, 0xFF, 0x4B, 0x46, 0x7F, 0xFF, 0x02, 0x10]
hexpad = " ".join(f"{b:02x}" for b in pad + [crc8(pad)])
put("w1slave", "negative", f"{hexpad} : crc={crc8(pad):02x} YES\n{hexpad} t=-10125\n")
put("w1slave", "temperature-attr", "23125\n")

# iio: in_*_input values and device names.
for name, text in [("temp", "23100\n"), ("negative", "-4200\n"), ("name", "dht11@4\n"), ("name-prefix", "4.dht11\n")]:
    put("iio", name, text)

# dht: byte 0 = model (0 dht22, 1 dht11); then 5-byte edges: int32 LE delta ns, type (1 rising).
def dht_trace(frame_bytes):
    edges, t = [], 0
    def edge(delta, rising):
        edges.append(struct.pack("<i", delta) + bytes([1 if rising else 0]))
    edge(0, False); edge(1_000_000, True)      # host start pulse, release
    edge(30_000, False); edge(80_000, True); edge(80_000, False)  # response low/high
    for byte in frame_bytes:
        for bit in range(7, -1, -1):
            edge(50_000, True); edge(70_000 if byte >> bit & 1 else 27_000, False)
    edge(50_000, True)
    return b"".join(edges)
h, tmp = 452, 231  # 45.2 %RH, 23.1 °C
frame22 = [h >> 8, h & 0xFF, tmp >> 8, tmp & 0xFF]
put("dht", "dht22", b"\x00" + dht_trace(frame22 + [sum(frame22) & 0xFF]))
frame11 = [45, 0, 23, 1]
put("dht", "dht11", b"\x01" + dht_trace(frame11 + [sum(frame11) & 0xFF]))

# replay: byte 0 = options (0 plain, 1 label column "anomaly" and no time, 2 multivariate with ';').
skab = sorted(glob.glob("../shared/data/skab/valve1/*.csv")) + sorted(glob.glob("/work/shared/data/skab/valve1/*.csv"))
if skab:
    with open(skab[0]) as f:
        put("replay", "skab-head", b"\x02" + "".join(f.readlines()[:25]).encode())
put("replay", "iso-times", b"\x00" + b"timestamp,temperature,humidity\n2026-01-01T00:00:00Z,21.5,40\n2026-01-01T00:00:01.5Z,21.6,\n2026-01-01T00:00:02Z,35,41\n")
put("replay", "labels", b"\x01" + b"a,b,anomaly\n1,2,0\n1.5,2,0\n9,2,1\n1,2,0\r\n")
put("replay", "semicolon-times", b"\x02" + b"time;a;b\n2026-01-01 00:00:00;1;10\n2026-01-01 00:00:01;2;10\n2026-01-01 00:00:03;2;\n")

# fleet: byte 0 = topic (0 status, 1 health, 2 health/temperature, 3 anomaly/temperature,
# 4 summary/temperature, 5 anomaly/t2); payloads from docs/payloads.md.
fleet = {
    "status-online": (0, '{"v":1,"device":"gw-1","type":"status","state":"online","version":"0.1.0","first_seq":2001,"started":"2026-11-23T11:40:00.123Z"}'),
    "status-offline": (0, '{"v":1,"device":"gw-1","type":"status","state":"offline","clean":true,"last_seq":41,"ts":"2026-11-23T12:10:00.456Z"}'),
    "status-legacy": (0, "online"),
    "anomaly-start": (3, '{"v":1,"device":"gw-1","seq":17,"type":"anomaly","event":"start","channel":"temperature","unit":"\u00b0C","detector":"zscore","episode":3,"ts":"2026-11-23T11:40:00.123Z","direction":"high","value":31.2,"z":6.104,"mean":22.012346,"std":0.5}'),
    "anomaly-end": (3, '{"v":1,"device":"gw-1","seq":18,"type":"anomaly","event":"end","channel":"temperature","unit":"\u00b0C","episode":3,"ts":"2026-11-23T11:40:09.123Z","started":"2026-11-23T11:40:00.123Z","duration_ms":4000,"peak_z":-8.25,"peak_value":12.5,"anomalous":4,"readings":9,"reason":"recovered"}'),
    "anomaly-t2": (5, '{"v":1,"device":"gw-1","seq":21,"type":"anomaly","event":"start","source":"env","detector":"t2","episode":1,"ts":"2026-11-23T11:40:00.123Z","t2":812.441,"z":21.307,"contributions":"humidity:0.731,temperature:0.269"}'),
    "health-check": (2, '{"v":1,"device":"gw-1","seq":22,"type":"health","event":"start","check":"out_of_range","channel":"temperature","unit":"\u00b0C","ts":"2026-11-23T11:40:02.000Z","since":"2026-11-23T11:40:02.000Z","value":85.5,"limit":80}'),
    "summary": (4, '{"v":1,"device":"gw-1","seq":19,"type":"summary","channel":"temperature","unit":"\u00b0C","ts":"2026-11-23T11:41:00.123Z","from":"2026-11-23T11:40:00.123Z","count":60,"min":21.5,"max":31.2,"mean":22.161,"std":1.2345,"anomalies":1,"episodes":1,"dropped":0,"unhealthy":0}'),
    "health": (1, '{"v":1,"device":"gw-1","seq":40,"type":"health","ts":"2026-11-23T11:41:00.123Z","uptime_s":3600,"readings":36000,"outbox_events":12,"outbox_bytes":3456,"outbox_storage":"disk","dropped_summaries":3,"dropped_events":0,"dropped_total":3,"mqtt":"connected","mqtt_connects":2}'),
    "source-down": (1, '{"v":1,"device":"gw-1","seq":20,"type":"health","event":"source_down","ts":"2026-11-23T11:42:03.512Z","path":"/dev/ttyUSB0","reason":"hang-up","source":"esp8266","source_lines":1234,"source_readings":3690,"source_bad_lines":2,"source_garbage_lines":5,"source_overlong_lines":0,"source_unknown_fields":0,"source_reconnects":0}'),
}
for name, (topic, payload) in fleet.items():
    put("fleet", name, bytes([topic]) + payload.encode())
