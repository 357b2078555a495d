import Testing
import VigilCore

@Suite struct EventEncodingTests {
    let encoder = JSONPayloadEncoder(device: "gw-1")
    let temperature = ChannelInfo(name: "temperature", unit: "°C")
    static let t0: Int64 = 1_795_434_000_123_000_000  // 2026-11-23T11:40:00.123Z

    func text(_ e: Event, seq: UInt64) -> String { String(decoding: encoder.payload(for: e, seq: seq), as: UTF8.self) }

    @Test func anomalyStartPayloadAndTopic() {
        let e = Event.anomalyStart(channel: temperature, EpisodeStart(id: 3, wallNanos: Self.t0, value: 31.2, z: 6.10449, mean: 22.0123456789, std: 0.5))
        #expect(encoder.topic(for: e) == "vigil/gw-1/anomaly/temperature")
        #expect(text(e, seq: 17) == #"{"v":1,"device":"gw-1","seq":17,"type":"anomaly","event":"start","channel":"temperature","unit":"°C","detector":"zscore","episode":3,"ts":"2026-11-23T11:40:00.123Z","direction":"high","value":31.2,"z":6.104,"mean":22.012346,"std":0.5}"#)
        #expect(encoder.message(for: e, seq: 1).qos == 1)
        #expect(encoder.message(for: e, seq: 1).priority == .event)
    }

    @Test func anomalyEndPayload() {
        let ep = Episode(id: 3, startWallNanos: Self.t0, lastWallNanos: Self.t0 + 4_000_000_000, endWallNanos: Self.t0 + 9_000_000_000,
                         peakZ: -8.25, peakValue: 12.5, anomalous: 4, readings: 9, reason: .recovered)
        let e = Event.anomalyEnd(channel: temperature, ep)
        #expect(text(e, seq: 18) == #"{"v":1,"device":"gw-1","seq":18,"type":"anomaly","event":"end","channel":"temperature","unit":"°C","episode":3,"ts":"2026-11-23T11:40:09.123Z","started":"2026-11-23T11:40:00.123Z","duration_ms":4000,"peak_z":-8.25,"peak_value":12.5,"anomalous":4,"readings":9,"reason":"recovered"}"#)
    }

    @Test func summaryPayloadWithEmptyStatsAsNull() {
        let s = Summary(fromWallNanos: Self.t0, toWallNanos: Self.t0 + 60_000_000_000, count: 0, min: .nan, max: .nan,
                        mean: .nan, std: .nan, anomalies: 0, episodes: 0, dropped: 2, unhealthy: 5)
        let e = Event.summary(channel: ChannelInfo(name: "sound", unit: "dB"), s)
        #expect(encoder.topic(for: e) == "vigil/gw-1/summary/sound")
        #expect(encoder.message(for: e, seq: 1).priority == .summary)
        #expect(text(e, seq: 19) == #"{"v":1,"device":"gw-1","seq":19,"type":"summary","channel":"sound","unit":"dB","ts":"2026-11-23T11:41:00.123Z","from":"2026-11-23T11:40:00.123Z","count":0,"min":null,"max":null,"mean":null,"std":null,"anomalies":0,"episodes":0,"dropped":2,"unhealthy":5}"#)
    }

    @Test func stringsAreEscaped() {
        var out: [UInt8] = []
        JSONWriter.appendQuoted("a\"b\\c\nd\u{1}", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\nd\u0001""#)
    }

    @Test func statusAndHealthTopicsFollowThePrefix() {
        let e = JSONPayloadEncoder(device: "pi", topicPrefix: "plant/a")
        #expect(e.statusTopic == "plant/a/pi/status")
        #expect(e.healthTopic == "plant/a/pi/health")
    }
}

@Suite struct TimestampTests {
    @Test func formatsRFC3339WithMilliseconds() {
        #expect(Timestamp.rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(951_782_400_999_999_999) == "2000-02-29T00:00:00.999Z")
        #expect(Timestamp.rfc3339(1_795_434_000_123_000_000) == "2026-11-23T11:40:00.123Z")
        #expect(Timestamp.rfc3339(-1_000_000) == "1969-12-31T23:59:59.999Z")
    }

    @Test func parsesWhatReplayFilesContain() {
        #expect(Timestamp.parse("2020-03-09 10:14:33") == 1_583_748_873_000_000_000)
        #expect(Timestamp.parse("2026-11-23T11:40:00.123Z") == 1_795_434_000_123_000_000)
        #expect(Timestamp.parse("2026-11-23T12:40:00.123+01:00") == 1_795_434_000_123_000_000)
        #expect(Timestamp.parse("1583748873.5") == 1_583_748_873_500_000_000)
        #expect(Timestamp.parse("2020-13-09 10:14:33") == nil)
        #expect(Timestamp.parse("yesterday") == nil)
        #expect(Timestamp.parse("2020-03-09 10:14:33 junk") == nil)
    }

    @Test func timesBeyondInt64NanosecondsAreNotTimes() {
        #expect(Timestamp.parse("2262-04-11T23:47:16.854775807Z") == Int64.max)
        #expect(Timestamp.parse("2262-04-11T23:47:16.854775808Z") == nil)
        #expect(Timestamp.parse("2300-01-01T00:00:00Z") == nil)
        #expect(Timestamp.parse("0000-01-01 00:00:00") == nil)
        #expect(Timestamp.parse("2300-01-01T00:00:00Z", within: Timestamp.recordedRange) == .failure(.outOfRange))
        #expect(Timestamp.parse("2199-12-31T23:59:59.999999999Z", within: Timestamp.recordedRange) == .success(Timestamp.recordedRange.upperBound))
        #expect(Timestamp.parse("2200-01-01T00:00:00Z", within: Timestamp.recordedRange) == .failure(.outOfRange))
        #expect(Timestamp.parse("-1", within: Timestamp.recordedRange) == .failure(.outOfRange))
        #expect(Timestamp.parse("1e10", within: Timestamp.recordedRange) == .failure(.outOfRange))
        #expect(Timestamp.parse("noon", within: Timestamp.recordedRange) == .failure(.malformed))
    }

    @Test func roundTripsDaysFrom1870To2243() {
        var day: Int64 = -36_524
        while day < 100_000 {
            let nanos = day * 86_400_000_000_000 + 45_296_789_000_000  // 12:34:56.789
            #expect(Timestamp.parse(Timestamp.rfc3339(nanos)) == nanos)
            day += 37
        }
    }
}
