/// One Vigil message as the receiver understands it, after the topic and payload were checked.
public enum FleetMessage: Sendable, Equatable {
    /// `<prefix>/<device>/status`: no sequence number.
    case status(device: String, Status)
    /// Everything else carries the device's sequence number.
    case sequenced(SequencedMessage)

    public var device: String {
        switch self {
        case .status(let d, _): return d
        case .sequenced(let m): return m.device
        }
    }
}

/// What a status message says. The JSON forms (schema 1) and the legacy plain strings are both accepted.
public enum Status: Sendable, Equatable {
    /// Retained on every connect: where this run's sequence numbers start.
    case birth(Birth)
    /// The legacy plain string `online` (no first_seq: no skip can be declared).
    case legacyOnline
    /// The last will: the connection died without a goodbye (`"clean":false`).
    case lastWill
    /// A clean stop; `lastSeq` is the last sequence number the run used.
    case cleanStop(lastSeq: UInt64?, tsNanos: Int64?)
    /// The legacy plain string `offline` (a will or a stop, it does not say).
    case legacyOffline

    public var isOnline: Bool {
        switch self {
        case .birth, .legacyOnline: return true
        case .lastWill, .cleanStop, .legacyOffline: return false
        }
    }

    /// For an offline status: whether the agent stopped cleanly (nil: the legacy string does not say).
    public var clean: Bool? {
        switch self {
        case .cleanStop: return true
        case .lastWill: return false
        case .birth, .legacyOnline, .legacyOffline: return nil
        }
    }
}

public struct Birth: Sendable, Equatable {
    public var version: String?
    /// The first sequence number this run uses.
    public var firstSeq: UInt64
    public var startedNanos: Int64?
    public init(version: String?, firstSeq: UInt64, startedNanos: Int64?) {
        self.version = version; self.firstSeq = firstSeq; self.startedNanos = startedNanos
    }
}

/// A message with a sequence number: anomaly, sensor health, summary, source up/down, agent health.
public struct SequencedMessage: Sendable, Equatable {
    public var device: String
    public var seq: UInt64
    /// The device's `ts` (Unix-epoch nanoseconds).
    public var tsNanos: Int64
    public var body: Body
    /// The payload as received (valid UTF-8 JSON, at most the size limit).
    public var payload: String

    public init(device: String, seq: UInt64, tsNanos: Int64, body: Body, payload: String) {
        self.device = device; self.seq = seq; self.tsNanos = tsNanos; self.body = body; self.payload = payload
    }

    public enum Body: Sendable, Equatable {
        case anomalyStart(EpisodeKey, detector: String, z: Double?)
        case anomalyEnd(EpisodeKey, reason: String)
        case healthStart(HealthKey)
        case healthEnd(HealthKey)
        case summary(SummaryRecord)
        case sourceChange(SourceChange)
        /// The agent's own health (`type: health` without `event`).
        case agentHealth(outboxEvents: Int)
    }

    /// The `type` column: anomaly, health, summary, source, agent.
    public var kind: String {
        switch body {
        case .anomalyStart, .anomalyEnd: return "anomaly"
        case .healthStart, .healthEnd: return "health"
        case .summary: return "summary"
        case .sourceChange: return "source"
        case .agentHealth: return "agent"
        }
    }

    /// start, end, up, down, or empty for summaries and agent health.
    public var event: String {
        switch body {
        case .anomalyStart, .healthStart: return "start"
        case .anomalyEnd, .healthEnd: return "end"
        case .sourceChange(let c): return c.up ? "up" : "down"
        case .summary, .agentHealth: return ""
        }
    }

    /// The channel or source the message is about (empty for agent health).
    public var subject: String {
        switch body {
        case .anomalyStart(let k, _, _), .anomalyEnd(let k, _): return k.subject
        case .healthStart(let k), .healthEnd(let k): return k.channel
        case .summary(let s): return s.channel
        case .sourceChange(let c): return c.source
        case .agentHealth: return ""
        }
    }
}

/// An anomaly episode: per channel (or, for the multivariate detector, per source) and episode id.
public struct EpisodeKey: Sendable, Hashable, Comparable {
    public var device: String
    /// The channel, or the source for `"detector":"t2"`.
    public var subject: String
    public var episode: Int64
    public init(device: String, subject: String, episode: Int64) {
        self.device = device; self.subject = subject; self.episode = episode
    }
    public static func < (a: Self, b: Self) -> Bool {
        (a.device, a.subject, a.episode) < (b.device, b.subject, b.episode)
    }
}

/// A sensor health problem: per channel and check (stuck, dropout, out_of_range, rate_of_change).
public struct HealthKey: Sendable, Hashable, Comparable {
    public var device: String
    public var channel: String
    public var check: String
    public init(device: String, channel: String, check: String) {
        self.device = device; self.channel = channel; self.check = check
    }
    public static func < (a: Self, b: Self) -> Bool {
        (a.device, a.channel, a.check) < (b.device, b.channel, b.check)
    }
}

/// A summary's numbers (null statistics of an empty window are nil).
public struct SummaryRecord: Sendable, Equatable {
    public var channel: String
    public var unit: String
    public var fromNanos: Int64
    public var count: Int64
    public var min: Double?
    public var max: Double?
    public var mean: Double?
    public var std: Double?
    public var anomalies: Int64
    public var episodes: Int64
    public init(channel: String, unit: String, fromNanos: Int64, count: Int64, min: Double?, max: Double?,
                mean: Double?, std: Double?, anomalies: Int64, episodes: Int64) {
        self.channel = channel; self.unit = unit; self.fromNanos = fromNanos; self.count = count
        self.min = min; self.max = max; self.mean = mean; self.std = std
        self.anomalies = anomalies; self.episodes = episodes
    }
}

/// A source went down or came back.
public struct SourceChange: Sendable, Equatable {
    public var source: String
    public var up: Bool
    public var path: String
    public var reason: String
    public init(source: String, up: Bool, path: String, reason: String) {
        self.source = source; self.up = up; self.path = path; self.reason = reason
    }
}
