import Testing
import VigilCore

/// Topics and payloads of sensor health and multivariate events, as docs/payloads.md shows them.
@Suite struct HealthEventEncodingTests {
    let encoder = JSONPayloadEncoder(device: "gw-1")
    let temperature = ChannelInfo(name: "temperature", unit: "°C")
    static let t0: Int64 = 1_795_434_000_000_000_000  // 2026-11-23T11:40:00.000Z

    func text(_ e: Event, seq: UInt64) -> String { String(decoding: encoder.payload(for: e, seq: seq), as: UTF8.self) }

    @Test func healthStartAndEnd() {
        let start = Event.healthStart(channel: temperature, HealthStart(check: .outOfRange, wallNanos: Self.t0 + 2_000_000_000,
                                                                         sinceWallNanos: Self.t0 + 2_000_000_000, value: 85.5, detail: 80))
        #expect(encoder.topic(for: start) == "vigil/gw-1/health/temperature")
        #expect(encoder.message(for: start, seq: 1).priority == .event)
        #expect(text(start, seq: 22) == #"{"v":1,"device":"gw-1","seq":22,"type":"health","event":"start","check":"out_of_range","channel":"temperature","unit":"°C","ts":"2026-11-23T11:40:02.000Z","since":"2026-11-23T11:40:02.000Z","value":85.5,"limit":80}"#)
        let end = Event.healthEnd(channel: temperature, HealthEnd(check: .outOfRange, startWallNanos: Self.t0 + 2_000_000_000,
                                                                   endWallNanos: Self.t0 + 9_000_000_000, readings: 7))
        #expect(text(end, seq: 23) == #"{"v":1,"device":"gw-1","seq":23,"type":"health","event":"end","check":"out_of_range","channel":"temperature","unit":"°C","ts":"2026-11-23T11:40:09.000Z","started":"2026-11-23T11:40:02.000Z","duration_ms":7000,"readings":7}"#)
        let dropout = Event.healthStart(channel: temperature, HealthStart(check: .dropout, wallNanos: Self.t0, sinceWallNanos: Self.t0 - 120_500_000_000, value: .nan, detail: 120.5))
        #expect(text(dropout, seq: 1).hasSuffix(#""check":"dropout","channel":"temperature","unit":"°C","ts":"2026-11-23T11:40:00.000Z","since":"2026-11-23T11:37:59.500Z","value":null,"silent_s":120.5}"#))
    }

    @Test func multivariateStartAndEnd() {
        let channels = [temperature, ChannelInfo(name: "humidity", unit: "%RH")]
        let s = MultivariateStart(id: 1, wallNanos: Self.t0, t2: 812.4412, z: 21.30712, contributions: [0.2691, 0.7309], values: [23, 45])
        let start = Event.multivariateStart(source: "env", channels: channels, s)
        #expect(encoder.topic(for: start) == "vigil/gw-1/anomaly/env")
        #expect(text(start, seq: 21) == #"{"v":1,"device":"gw-1","seq":21,"type":"anomaly","event":"start","source":"env","detector":"t2","episode":1,"ts":"2026-11-23T11:40:00.000Z","t2":812.441,"z":21.307,"contributions":"humidity:0.731,temperature:0.269"}"#)
        let e = Episode(id: 1, startWallNanos: Self.t0, lastWallNanos: Self.t0 + 4_000_000_000, endWallNanos: Self.t0 + 9_000_000_000,
                        peakZ: 25.5, peakValue: 1200.25, anomalous: 5, readings: 10, reason: .recovered)
        #expect(text(.multivariateEnd(source: "env", e), seq: 24) == #"{"v":1,"device":"gw-1","seq":24,"type":"anomaly","event":"end","source":"env","detector":"t2","episode":1,"ts":"2026-11-23T11:40:09.000Z","started":"2026-11-23T11:40:00.000Z","duration_ms":4000,"peak_z":25.5,"peak_t2":1200.25,"anomalous":5,"readings":10,"reason":"recovered"}"#)
    }
}
