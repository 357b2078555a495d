/// Vigil-shaped payloads for the fleet tests (the agent's own wording, field for field).
public enum FleetPayloads {
    public static let ts = "2026-11-23T11:40:00.123Z"
    public static func birth(_ d: String, first: UInt64, version: String = "0.1.0") -> String {
        #"{"v":1,"device":"\#(d)","type":"status","state":"online","version":"\#(version)","first_seq":\#(first),"started":"\#(ts)"}"#
    }
    public static func will(_ d: String) -> String { #"{"v":1,"device":"\#(d)","type":"status","state":"offline","clean":false}"# }
    public static func cleanStop(_ d: String, last: UInt64) -> String {
        #"{"v":1,"device":"\#(d)","type":"status","state":"offline","clean":true,"last_seq":\#(last),"ts":"\#(ts)"}"#
    }
    public static func anomaly(_ d: String, _ seq: UInt64, _ event: String, channel: String = "temperature", episode: Int = 1,
                               at time: String = ts) -> String {
        event == "start"
            ? #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"anomaly","event":"start","channel":"\#(channel)","unit":"°C","detector":"zscore","episode":\#(episode),"ts":"\#(time)","direction":"high","value":31.2,"z":6.104,"mean":22.012346,"std":0.5}"#
            : #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"anomaly","event":"end","channel":"\#(channel)","unit":"°C","episode":\#(episode),"ts":"\#(time)","started":"\#(ts)","duration_ms":4000,"peak_z":-8.25,"peak_value":12.5,"anomalous":4,"readings":9,"reason":"recovered"}"#
    }
    public static func health(_ d: String, _ seq: UInt64, _ event: String, channel: String = "temperature", check: String = "stuck",
                              at time: String = ts) -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"health","event":"\#(event)","check":"\#(check)","channel":"\#(channel)","unit":"°C","ts":"\#(time)","started":"\#(ts)"}"#
    }
    public static func summary(_ d: String, _ seq: UInt64, channel: String = "temperature", count: Int = 60, mean: Double = 22.5,
                               at time: String = ts, from: String = "2026-11-23T11:39:00.123Z") -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"summary","channel":"\#(channel)","unit":"°C","ts":"\#(time)","from":"\#(from)","count":\#(count),"min":21.5,"max":31.2,"mean":\#(mean),"std":1.5,"anomalies":1,"episodes":1,"dropped":0,"unhealthy":0}"#
    }
    public static func agent(_ d: String, _ seq: UInt64, outbox: Int) -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"health","ts":"\#(ts)","uptime_s":60,"readings":600,"outbox_events":\#(outbox),"outbox_bytes":0,"outbox_storage":"disk","dropped_summaries":0,"dropped_events":0,"dropped_total":0,"mqtt":"connected","mqtt_connects":1}"#
    }
    public static func source(_ d: String, _ seq: UInt64, up: Bool, path: String = "/dev/ttyUSB0", reason: String? = nil) -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"health","event":"\#(up ? "source_up" : "source_down")","ts":"\#(ts)","path":"\#(path)","reason":"\#(reason ?? (up ? "open" : "hang-up"))","source":"esp8266","source_lines":1}"#
    }
}
