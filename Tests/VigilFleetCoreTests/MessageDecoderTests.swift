import Testing
import VigilCore
@testable import VigilFleetCore

/// Every payload of README's "Topics and payloads", and the bad input a receiver must survive.
@Suite struct MessageDecoderTests {
    let decoder = MessageDecoder()
    static let ts = Timestamp.parse("2026-11-23T11:40:00.123Z")!

    func decode(_ topic: String, _ payload: String) -> Result<FleetMessage, Rejection> {
        decoder.decode(topic: topic, payload: Array(payload.utf8))
    }

    func sequenced(_ topic: String, _ payload: String) throws -> SequencedMessage {
        guard case .success(.sequenced(let m)) = decode(topic, payload) else {
            Issue.record("not decoded: \(decode(topic, payload))")
            throw Rejection.foreignTopic
        }
        #expect(m.payload == payload)
        return m
    }

    @Test func anomalyStartAndEnd() throws {
        let start = try sequenced("vigil/gw-1/anomaly/temperature", #"{"v":1,"device":"gw-1","seq":17,"type":"anomaly","event":"start","channel":"temperature","unit":"°C","detector":"zscore","episode":3,"ts":"2026-11-23T11:40:00.123Z","direction":"high","value":31.2,"z":6.104,"mean":22.012346,"std":0.5}"#)
        #expect(start.seq == 17)
        #expect(start.tsNanos == Self.ts)
        #expect(start.body == .anomalyStart(EpisodeKey(device: "gw-1", subject: "temperature", episode: 3), detector: "zscore", z: 6.104))
        #expect((start.kind, start.event, start.subject) == ("anomaly", "start", "temperature"))
        let end = try sequenced("vigil/gw-1/anomaly/temperature", #"{"v":1,"device":"gw-1","seq":18,"type":"anomaly","event":"end","channel":"temperature","unit":"°C","episode":3,"ts":"2026-11-23T11:40:09.123Z","started":"2026-11-23T11:40:00.123Z","duration_ms":4000,"peak_z":-8.25,"peak_value":12.5,"anomalous":4,"readings":9,"reason":"recovered"}"#)
        #expect(end.body == .anomalyEnd(EpisodeKey(device: "gw-1", subject: "temperature", episode: 3), reason: "recovered"))
        #expect(end.tsNanos == Self.ts + 9_000_000_000)
    }

    @Test func multivariateStartOnTheSourceTopic() throws {
        let m = try sequenced("vigil/gw-1/anomaly/env", #"{"v":1,"device":"gw-1","seq":21,"type":"anomaly","event":"start","source":"env","detector":"t2","episode":1,"ts":"2026-11-23T11:40:00.123Z","t2":812.441,"z":21.307,"contributions":"humidity:0.731,temperature:0.269"}"#)
        #expect(m.body == .anomalyStart(EpisodeKey(device: "gw-1", subject: "env", episode: 1), detector: "t2", z: 21.307))
    }

    @Test func sensorHealthStartAndEnd() throws {
        let s = try sequenced("vigil/gw-1/health/temperature", #"{"v":1,"device":"gw-1","seq":22,"type":"health","event":"start","check":"out_of_range","channel":"temperature","unit":"°C","ts":"2026-11-23T11:40:02.000Z","since":"2026-11-23T11:40:02.000Z","value":85.5,"limit":80}"#)
        #expect(s.body == .healthStart(HealthKey(device: "gw-1", channel: "temperature", check: "out_of_range")))
        let e = try sequenced("vigil/gw-1/health/temperature", #"{"v":1,"device":"gw-1","seq":23,"type":"health","event":"end","check":"out_of_range","channel":"temperature","unit":"°C","ts":"2026-11-23T11:40:09.000Z","started":"2026-11-23T11:40:02.000Z","duration_ms":7000,"readings":7}"#)
        #expect(e.body == .healthEnd(HealthKey(device: "gw-1", channel: "temperature", check: "out_of_range")))
    }

    @Test func summaryWithNumbersAndWithNulls() throws {
        let s = try sequenced("vigil/gw-1/summary/temperature", #"{"v":1,"device":"gw-1","seq":19,"type":"summary","channel":"temperature","unit":"°C","ts":"2026-11-23T11:41:00.123Z","from":"2026-11-23T11:40:00.123Z","count":60,"min":21.5,"max":31.2,"mean":22.161,"std":1.2345,"anomalies":1,"episodes":1,"dropped":0,"unhealthy":0}"#)
        #expect(s.body == .summary(SummaryRecord(channel: "temperature", unit: "°C", fromNanos: Self.ts, count: 60, min: 21.5, max: 31.2,
                                                 mean: 22.161, std: 1.2345, anomalies: 1, episodes: 1)))
        let empty = try sequenced("vigil/gw-1/summary/h", #"{"v":1,"device":"gw-1","seq":20,"type":"summary","channel":"h","unit":"","ts":"2026-11-23T11:41:00.123Z","from":"2026-11-23T11:40:00.123Z","count":0,"min":null,"max":null,"mean":null,"std":null,"anomalies":0,"episodes":0,"dropped":3,"unhealthy":0}"#)
        #expect(empty.body == .summary(SummaryRecord(channel: "h", unit: "", fromNanos: Self.ts, count: 0, min: nil, max: nil,
                                                     mean: nil, std: nil, anomalies: 0, episodes: 0)))
    }

    @Test func agentHealthAndSourceHealth() throws {
        let a = try sequenced("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":40,"type":"health","ts":"2026-11-23T11:41:00.123Z","uptime_s":3600,"readings":36000,"outbox_events":12,"outbox_bytes":3456,"outbox_storage":"disk","dropped_summaries":3,"dropped_events":0,"dropped_total":3,"mqtt":"connected","mqtt_connects":2}"#)
        #expect(a.body == .agentHealth(outboxEvents: 12))
        #expect((a.kind, a.event, a.subject) == ("agent", "", ""))
        let d = try sequenced("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":20,"type":"health","event":"source_down","ts":"2026-11-23T11:42:03.512Z","path":"/dev/ttyUSB0","reason":"hang-up","source":"esp8266","source_lines":1234,"source_readings":3690,"source_bad_lines":2,"source_garbage_lines":5,"source_overlong_lines":0,"source_unknown_fields":0,"source_reconnects":0}"#)
        #expect(d.body == .sourceChange(SourceChange(source: "esp8266", up: false, path: "/dev/ttyUSB0", reason: "hang-up")))
        #expect((d.kind, d.event) == ("source", "down"))
    }

    @Test func statusJSONAndLegacyStrings() {
        #expect(decode("vigil/gw-1/status", #"{"v":1,"device":"gw-1","type":"status","state":"online","version":"0.1.0","first_seq":2001,"started":"2026-11-23T11:40:00.123Z"}"#)
                == .success(.status(device: "gw-1", .birth(Birth(version: "0.1.0", firstSeq: 2001, startedNanos: Self.ts)))))
        #expect(decode("vigil/gw-1/status", #"{"v":1,"device":"gw-1","type":"status","state":"offline","clean":false}"#)
                == .success(.status(device: "gw-1", .lastWill)))
        #expect(decode("vigil/gw-1/status", #"{"v":1,"device":"gw-1","type":"status","state":"offline","clean":true,"last_seq":41,"ts":"2026-11-23T11:40:00.123Z"}"#)
                == .success(.status(device: "gw-1", .cleanStop(lastSeq: 41, tsNanos: Self.ts))))
        #expect(decode("vigil/gw-1/status", "online") == .success(.status(device: "gw-1", .legacyOnline)))
        #expect(decode("vigil/gw-1/status", "offline") == .success(.status(device: "gw-1", .legacyOffline)))
        #expect(decode("vigil/gw-1/status", "Online") == .failure(.malformedJSON(JSONSyntaxError(offset: 0, reason: "unexpected character"))))
    }

    @Test func aConfiguredPrefixWithSlashes() {
        let d = MessageDecoder(prefix: "plant-a/vigil")
        #expect(d.decode(topic: "plant-a/vigil/gw-1/status", payload: Array("online".utf8)) == .success(.status(device: "gw-1", .legacyOnline)))
        #expect(d.decode(topic: "vigil/gw-1/status", payload: Array("online".utf8)) == .failure(.foreignTopic))
    }

    @Test(arguments: [
        "other/gw-1/status", "vigil", "vigil/", "vigil/gw-1", "vigil/gw-1/status/x", "vigil/gw-1/anomaly",
        "vigil/gw-1/summary", "vigil/gw-1/telemetry/t", "vigil/gw-1/anomaly/t/x", "vigilx/gw-1/status", "Vigil/gw-1/status",
    ])
    func foreignTopics(_ topic: String) {
        #expect(decode(topic, "online") == .failure(.foreignTopic))
    }

    @Test(arguments: ["vigil/gw 1/status", "vigil/<script>/status", "vigil/gw';DROP TABLE events;--/status",
                      "vigil//status", "vigil/gw\"1/status", "vigil/gw-ü/status", "vigil/\(String(repeating: "a", count: 129))/status"])
    func badDeviceIDsInTopics(_ topic: String) {
        #expect(decode(topic, "online") == .failure(.badName(field: "device")))
    }

    @Test func badChannelInTopicAndPayload() {
        #expect(decode("vigil/gw-1/summary/<b>", "{}") == .failure(.badName(field: "channel")))
        // The topic's channel is fine but the payload's says something else.
        #expect(decode("vigil/gw-1/anomaly/t", #"{"v":1,"device":"gw-1","seq":1,"type":"anomaly","event":"start","channel":"<t>","episode":1,"ts":"2026-11-23T11:40:00.123Z"}"#)
                == .failure(.badName(field: "channel")))
        #expect(decode("vigil/gw-1/anomaly/t", #"{"v":1,"device":"gw-1","seq":1,"type":"anomaly","event":"start","channel":"u","episode":1,"ts":"2026-11-23T11:40:00.123Z"}"#)
                == .failure(.topicMismatch))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":1,"type":"health","event":"source_down","source":"a/b","ts":"2026-11-23T11:40:00.123Z"}"#)
                == .failure(.badName(field: "source")))
    }

    @Test func payloadDeviceMustBeTheTopics() {
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-2","seq":1,"type":"health","ts":"2026-11-23T11:40:00.123Z","outbox_events":0}"#)
                == .failure(.deviceMismatch))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1/x","seq":1,"type":"health","ts":"2026-11-23T11:40:00.123Z","outbox_events":0}"#)
                == .failure(.deviceMismatch))
    }

    @Test func versionsAndFields() {
        let base = #""device":"gw-1","seq":5,"type":"health","ts":"2026-11-23T11:40:00.123Z","outbox_events":0"#
        #expect(decode("vigil/gw-1/health", "{\"v\":2,\(base)}") == .failure(.unsupportedVersion("2")))
        #expect(decode("vigil/gw-1/health", "{\"v\":0,\(base)}") == .failure(.unsupportedVersion("0")))
        #expect(decode("vigil/gw-1/health", "{\"v\":\"1\",\(base)}") == .failure(.badField("v")))
        #expect(decode("vigil/gw-1/health", "{\(base)}") == .failure(.missingField("v")))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1","type":"health","ts":"2026-11-23T11:40:00.123Z","outbox_events":0}"#) == .failure(.missingField("seq")))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":-1,"type":"health","ts":"2026-11-23T11:40:00.123Z","outbox_events":0}"#) == .failure(.badField("seq")))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":1.5,"type":"health","ts":"2026-11-23T11:40:00.123Z","outbox_events":0}"#) == .failure(.badField("seq")))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":1,"type":"health","ts":"yesterday","outbox_events":0}"#) == .failure(.badField("ts")))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":1,"type":"health","ts":"2026-11-23T11:40:00.123Z"}"#) == .failure(.missingField("outbox_events")))
        #expect(decode("vigil/gw-1/health", #"{"v":1,"device":"gw-1","seq":1,"type":"telemetry","ts":"2026-11-23T11:40:00.123Z"}"#) == .failure(.unknownType("telemetry")))
        #expect(decode("vigil/gw-1/anomaly/t", #"{"v":1,"device":"gw-1","seq":1,"type":"anomaly","event":"pause","channel":"t","episode":1,"ts":"2026-11-23T11:40:00.123Z"}"#) == .failure(.unknownType("anomaly/pause")))
        #expect(decode("vigil/gw-1/anomaly/t", #"{"v":1,"device":"gw-1","seq":1,"type":"summary","channel":"t","ts":"2026-11-23T11:40:00.123Z"}"#) == .failure(.topicMismatch))
        #expect(decode("vigil/gw-1/status", #"{"v":1,"device":"gw-1","type":"status","state":"sleeping"}"#) == .failure(.badField("state")))
        #expect(decode("vigil/gw-1/status", #"{"v":1,"device":"gw-1","type":"status","state":"online"}"#) == .failure(.missingField("first_seq")))
        #expect(decode("vigil/gw-1/status", #"[1,2]"#) == .failure(.badField("payload")))
    }

    @Test func oversizedPayloadsAreNotParsed() {
        let big = [UInt8](repeating: UInt8(ascii: "{"), count: 10 * 1024 * 1024)
        #expect(decoder.decode(topic: "vigil/gw-1/health", payload: big) == .failure(.oversized(bytes: 10 * 1024 * 1024)))
        let limit = [UInt8](repeating: 0x20, count: 64 * 1024)
        #expect(decoder.decode(topic: "vigil/gw-1/health", payload: limit) == .failure(.malformedJSON(JSONSyntaxError(offset: 65536, reason: "unexpected end"))))
    }

    @Test func malformedJSONNeverTraps() {
        let bad = ["", "{", "{\"v\":1", "{\"v\":1,}", "{\"v\" 1}", "{\"v\":01}", "{\"v\":1e999}", "{\"a\":\"\\ud800\"}",
                   "{\"a\":\"\u{01}\"}", "{\"a\":tru}", "{\"a\":1}x", "{\"a\":1,\"a\":2}",
                   String(repeating: "[", count: 100), "{\"a\":\"\\x\"}", "nul", "-", "1.", "1e"]
        for text in bad {
            guard case .failure(.malformedJSON) = decode("vigil/gw-1/health", text) else {
                Issue.record("accepted \(text.prefix(40))"); continue
            }
        }
        // Invalid UTF-8 inside a string.
        let bytes: [UInt8] = Array("{\"device\":\"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8)
        #expect(decoder.decode(topic: "vigil/gw-1/health", payload: bytes) == .failure(.malformedJSON(JSONSyntaxError(offset: 14, reason: "invalid UTF-8 in string"))))
    }

    @Test func jsonParserValues() throws {
        #expect(try JSONParser.parse(Array(#" {"a":[1,-2.5e1,true,false,null,"x\"\u00e9\ud83d\ude00"],"b":{}} "#.utf8))
                == .object(["a": .array([.number(1), .number(-25), .bool(true), .bool(false), .null, .string("x\"é😀")]), "b": .object([:])]))
        #expect(JSONValue.number(1e17).integer == nil && JSONValue.number(1.5).integer == nil)
        #expect(JSONValue.number(42).integer == 42)
    }
}
