import VigilCore

/// Why a message was refused. Every refusal is counted by its `code`; none is stored.
public enum Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not `<prefix>/<device>/<status|health|anomaly|summary>[/<name>]`.
    case foreignTopic
    /// Larger than the receiver's payload limit (not parsed).
    case oversized(bytes: Int)
    case malformedJSON(JSONSyntaxError)
    /// A JSON payload whose `v` is not a schema this receiver knows.
    case unsupportedVersion(String)
    /// A device, channel or source name outside the agent's rule (letters, digits, `.`, `_`, `-`; 1–128 bytes).
    case badName(field: String)
    /// The payload's device is not the topic's.
    case deviceMismatch
    case missingField(String)
    case badField(String)
    /// A `type`/`event` this receiver does not know.
    case unknownType(String)
    /// A known payload on a topic where it does not belong (a summary on `anomaly/…`, a channel that is not the topic's).
    case topicMismatch

    /// The counter name: `foreign_topic`, `oversized`, `malformed_json`, …
    public var code: String {
        switch self {
        case .foreignTopic: return "foreign_topic"
        case .oversized: return "oversized"
        case .malformedJSON: return "malformed_json"
        case .unsupportedVersion: return "unsupported_version"
        case .badName: return "bad_name"
        case .deviceMismatch: return "device_mismatch"
        case .missingField: return "missing_field"
        case .badField: return "bad_field"
        case .unknownType: return "unknown_type"
        case .topicMismatch: return "topic_mismatch"
        }
    }

    public var description: String {
        switch self {
        case .foreignTopic: return "not a Vigil topic"
        case .oversized(let n): return "payload of \(n) bytes is over the limit"
        case .malformedJSON(let e): return "malformed JSON: \(e)"
        case .unsupportedVersion(let v): return "unsupported schema version \(v)"
        case .badName(let f): return "\(f) is not a valid name"
        case .deviceMismatch: return "payload device differs from the topic's"
        case .missingField(let f): return "missing field '\(f)'"
        case .badField(let f): return "field '\(f)' has the wrong type or value"
        case .unknownType(let t): return "unknown message type '\(t)'"
        case .topicMismatch: return "payload does not belong on this topic"
        }
    }
}

/// Names as the agent allows them in topics: letters, digits, `.`, `_`, `-`, 1–128 bytes. Anything else
/// (a `/`, `<script>`, a quote, a space) is refused here, so no such text reaches the store or a page.
public enum FleetNames {
    public static let maxLength = 128

    public static func isValid<S: StringProtocol>(_ s: S) -> Bool {
        let u = s.utf8
        guard !u.isEmpty, u.count <= maxLength else { return false }
        return u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}

/// Turns (topic, payload) into a `FleetMessage`, or says why not. Pure: no I/O, never traps on input.
public struct MessageDecoder: Sendable {
    public static let schemaVersion: Int64 = 1
    public var prefix: String
    /// Larger payloads are refused unread (the agent's are under 1 KB).
    public var maxPayloadBytes: Int

    public init(prefix: String = "vigil", maxPayloadBytes: Int = 64 * 1024) {
        self.prefix = prefix; self.maxPayloadBytes = maxPayloadBytes
    }

    /// The topic's parts below the prefix: device, kind (`status`, `health`, `anomaly`, `summary`), name.
    struct TopicParts: Equatable { var device: Substring; var kind: Substring; var name: Substring? }

    func parseTopic(_ topic: String) -> Result<TopicParts, Rejection> {
        guard topic.hasPrefix(prefix + "/") else { return .failure(.foreignTopic) }
        let rest = topic.dropFirst(prefix.count + 1)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return .failure(.foreignTopic) }
        let kind = parts[1]
        switch (kind, parts.count) {
        case ("status", 2), ("health", 2), ("health", 3), ("anomaly", 3), ("summary", 3): break
        default: return .failure(.foreignTopic)
        }
        guard FleetNames.isValid(parts[0]) else { return .failure(.badName(field: "device")) }
        if parts.count == 3, !FleetNames.isValid(parts[2]) { return .failure(.badName(field: "channel")) }
        return .success(TopicParts(device: parts[0], kind: kind, name: parts.count == 3 ? parts[2] : nil))
    }

    public func decode(topic: String, payload: [UInt8]) -> Result<FleetMessage, Rejection> {
        let parts: TopicParts
        switch parseTopic(topic) {
        case .success(let p): parts = p
        case .failure(let r): return .failure(r)
        }
        guard payload.count <= maxPayloadBytes else { return .failure(.oversized(bytes: payload.count)) }
        let device = String(parts.device)
        if parts.kind == "status", payload == Array("online".utf8) { return .success(.status(device: device, .legacyOnline)) }
        if parts.kind == "status", payload == Array("offline".utf8) { return .success(.status(device: device, .legacyOffline)) }
        let root: [String: JSONValue]
        do {
            guard case .object(let o) = try JSONParser.parse(payload) else { return .failure(.badField("payload")) }
            root = o
        } catch {
            return .failure(.malformedJSON(error))
        }
        do {
            var f = Fields(root)
            let v = try f.int("v")
            guard v == Self.schemaVersion else { return .failure(.unsupportedVersion(String(v))) }
            guard try f.string("device") == device else { return .failure(.deviceMismatch) }
            let type = try f.string("type")
            if parts.kind == "status" {
                guard type == "status" else { return .failure(.topicMismatch) }
                return .success(.status(device: device, try status(&f)))
            }
            let seq = try f.int("seq")
            guard seq >= 0 else { throw Rejection.badField("seq") }
            let ts = try f.time("ts")
            let body = try self.body(&f, type: type, device: device, topic: parts)
            let message = SequencedMessage(device: device, seq: UInt64(seq), tsNanos: ts, body: body,
                                           payload: String(decoding: payload, as: UTF8.self))
            return .success(.sequenced(message))
        } catch let r as Rejection {
            return .failure(r)
        } catch {
            return .failure(.badField("payload"))
        }
    }

    private func status(_ f: inout Fields) throws -> Status {
        switch try f.string("state") {
        case "online":
            let first = try f.int("first_seq")
            guard first >= 0 else { throw Rejection.badField("first_seq") }
            return .birth(Birth(version: try f.optionalString("version"), firstSeq: UInt64(first),
                                startedNanos: try f.optionalTime("started")))
        case "offline":
            guard try f.optionalBool("clean") == true else { return .lastWill }
            let last = try f.optionalInt("last_seq")
            if let last, last < 0 { throw Rejection.badField("last_seq") }
            return .cleanStop(lastSeq: last.map { UInt64($0) }, tsNanos: try f.optionalTime("ts"))
        default: throw Rejection.badField("state")
        }
    }

    private func body(_ f: inout Fields, type: String, device: String, topic: TopicParts) throws -> SequencedMessage.Body {
        let event = try f.optionalString("event")
        /// The payload's channel (or source) must be the topic's last segment.
        func named(_ key: String) throws -> String {
            let n = try f.string(key)
            guard FleetNames.isValid(n) else { throw Rejection.badName(field: key) }
            guard topic.name.map(String.init) == n else { throw Rejection.topicMismatch }
            return n
        }
        switch (type, topic.kind, event) {
        case ("anomaly", "anomaly", "start"?), ("anomaly", "anomaly", "end"?):
            let subject = try f.has("source") ? named("source") : named("channel")
            let key = EpisodeKey(device: device, subject: subject, episode: try f.int("episode"))
            if event == "start" {
                return .anomalyStart(key, detector: try f.optionalString("detector") ?? "", z: try f.optionalNumber("z"))
            }
            return .anomalyEnd(key, reason: try f.string("reason"))
        case ("health", "health", "start"?), ("health", "health", "end"?):
            guard topic.name != nil else { throw Rejection.topicMismatch }
            let key = HealthKey(device: device, channel: try named("channel"), check: try f.string("check"))
            return event == "start" ? .healthStart(key) : .healthEnd(key)
        case ("health", "health", "source_up"?), ("health", "health", "source_down"?):
            guard topic.name == nil else { throw Rejection.topicMismatch }
            let source = try f.string("source")
            guard FleetNames.isValid(source) else { throw Rejection.badName(field: "source") }
            return .sourceChange(SourceChange(source: source, up: event == "source_up",
                                              path: try f.optionalString("path") ?? "", reason: try f.optionalString("reason") ?? ""))
        case ("health", "health", nil):
            guard topic.name == nil else { throw Rejection.topicMismatch }
            let depth = try f.int("outbox_events")
            guard depth >= 0 else { throw Rejection.badField("outbox_events") }
            return .agentHealth(outboxEvents: Int(depth))
        case ("summary", "summary", nil):
            return .summary(SummaryRecord(
                channel: try named("channel"), unit: try f.optionalString("unit") ?? "", fromNanos: try f.time("from"),
                count: try f.int("count"), min: try f.optionalNumber("min"), max: try f.optionalNumber("max"),
                mean: try f.optionalNumber("mean"), std: try f.optionalNumber("std"),
                anomalies: try f.optionalInt("anomalies") ?? 0, episodes: try f.optionalInt("episodes") ?? 0))
        case ("anomaly", _, _), ("health", _, _), ("summary", _, _):
            if topic.kind != type { throw Rejection.topicMismatch }
            throw Rejection.unknownType("\(type)/\(event ?? "")")
        default:
            throw Rejection.unknownType(type)
        }
    }
}

/// Typed access to a payload's fields; a wrong or missing field throws the `Rejection` naming it.
struct Fields {
    let o: [String: JSONValue]
    init(_ o: [String: JSONValue]) { self.o = o }

    func has(_ k: String) -> Bool { o[k] != nil }

    func string(_ k: String) throws -> String {
        guard let v = o[k] else { throw Rejection.missingField(k) }
        guard let s = v.string else { throw Rejection.badField(k) }
        return s
    }
    func optionalString(_ k: String) throws -> String? {
        guard let v = o[k], !v.isNull else { return nil }
        guard let s = v.string else { throw Rejection.badField(k) }
        return s
    }
    func int(_ k: String) throws -> Int64 {
        guard let v = o[k] else { throw Rejection.missingField(k) }
        guard let n = v.integer else { throw Rejection.badField(k) }
        return n
    }
    func optionalInt(_ k: String) throws -> Int64? {
        guard let v = o[k], !v.isNull else { return nil }
        guard let n = v.integer else { throw Rejection.badField(k) }
        return n
    }
    func optionalNumber(_ k: String) throws -> Double? {
        guard let v = o[k], !v.isNull else { return nil }
        guard let n = v.number else { throw Rejection.badField(k) }
        return n
    }
    func optionalBool(_ k: String) throws -> Bool? {
        guard let v = o[k], !v.isNull else { return nil }
        guard let b = v.bool else { throw Rejection.badField(k) }
        return b
    }
    func time(_ k: String) throws -> Int64 {
        guard let t = Timestamp.parse(try string(k)) else { throw Rejection.badField(k) }
        return t
    }
    func optionalTime(_ k: String) throws -> Int64? {
        guard let s = try optionalString(k) else { return nil }
        guard let t = Timestamp.parse(s) else { throw Rejection.badField(k) }
        return t
    }
}
