/// Whether a device is connected, as its retained status says.
public enum ConnectionState: String, Sendable {
    /// Seen only through sequenced messages, no status yet.
    case unknown
    case online
    case offline
}

/// The registry's row for one device.
public struct DeviceRecord: Sendable, Equatable {
    public var device: String
    public var state: ConnectionState = .unknown
    public var stateSinceNanos: Int64
    /// The last offline status was a clean stop (nil: no offline yet, or the legacy string).
    public var cleanOffline: Bool?
    public var firstSeenNanos: Int64
    public var lastSeenNanos: Int64
    public var version: String?
    public var lastBirth: Birth?
    public var lastBirthReceivedNanos: Int64?
    public var births: Int64 = 0
    /// Sequenced messages received, duplicates included.
    public var messages: Int64 = 0
    /// Messages handed to the store (each (device, seq) once).
    public var stored: Int64 = 0
    public var ledger = SeqLedger()

    public init(device: String, now: Int64) {
        self.device = device; stateSinceNanos = now; firstSeenNanos = now; lastSeenNanos = now
    }
}

/// An anomaly episode that started and has not ended.
public struct OpenEpisode: Sendable, Equatable {
    public var key: EpisodeKey
    public var startSeq: UInt64
    public var startedNanos: Int64
    public var detector: String
    public var z: Double?
    public init(key: EpisodeKey, startSeq: UInt64, startedNanos: Int64, detector: String, z: Double?) {
        self.key = key; self.startSeq = startSeq; self.startedNanos = startedNanos; self.detector = detector; self.z = z
    }
}

/// A sensor health problem that started and has not ended.
public struct OpenHealthProblem: Sendable, Equatable {
    public var key: HealthKey
    public var startSeq: UInt64
    public var startedNanos: Int64
    public init(key: HealthKey, startSeq: UInt64, startedNanos: Int64) {
        self.key = key; self.startSeq = startSeq; self.startedNanos = startedNanos
    }
}

public struct SourceKey: Sendable, Hashable, Comparable {
    public var device: String
    public var source: String
    public init(device: String, source: String) { self.device = device; self.source = source }
    public static func < (a: Self, b: Self) -> Bool { (a.device, a.source) < (b.device, b.source) }
}

/// A source's last reported up/down.
public struct SourceStatus: Sendable, Equatable {
    public var key: SourceKey
    public var up: Bool
    public var sinceNanos: Int64
    public var path: String
    public var reason: String
    /// The seq of the message that said so (an older one arriving late does not override it).
    public var seq: UInt64
    public init(key: SourceKey, up: Bool, sinceNanos: Int64, path: String, reason: String, seq: UInt64) {
        self.key = key; self.up = up; self.sinceNanos = sinceNanos; self.path = path; self.reason = reason; self.seq = seq
    }
}

/// One sequenced message to store: unique on (device, seq).
public struct StoredEvent: Sendable, Equatable {
    public var device: String
    public var seq: UInt64
    /// anomaly, health, summary, source, agent
    public var kind: String
    /// start, end, up, down, or empty
    public var event: String
    /// The channel or source, empty for agent health.
    public var subject: String
    public var tsNanos: Int64
    public var receivedNanos: Int64
    public var payload: String
}

/// A summary's row for trends (and its hourly roll-up).
public struct StoredSummary: Sendable, Equatable {
    public var device: String
    public var seq: UInt64
    public var tsNanos: Int64
    public var record: SummaryRecord
}

/// Everything a batch changed, as rows: what the store writes in one transaction. Keys map to their new
/// row, or to nil when the row goes (an episode ended, a health problem cleared).
public struct ChangeSet: Sendable, Equatable {
    public var events: [StoredEvent] = []
    public var summaries: [StoredSummary] = []
    public var devices: [DeviceRecord] = []
    public var episodes: [EpisodeKey: OpenEpisode?] = [:]
    public var health: [HealthKey: OpenHealthProblem?] = [:]
    public var sources: [SourceStatus] = []
    /// Rejections by `Rejection.code` in this batch.
    public var rejections: [String: Int64] = [:]
    /// Messages taken in, rejected ones included.
    public var received: Int64 = 0
    /// Alerts the batch raised, in the order of their transitions (stored pending with the batch).
    public var alerts: [FleetAlert] = []

    public init() {}
    public var isEmpty: Bool { self == ChangeSet() }
}
