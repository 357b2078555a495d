import VigilCore
import VigilFleetCore

/// Where the receiver keeps the fleet: SQLite in one file by default, or PostgreSQL for several receivers —
/// both `FleetDatabase`s (Store/), with the schema's SQL shared (`FleetSchema`) and the same tests.
public protocol FleetStore: AnyObject, Sendable {
    /// The receiver's state as the last commit left it (the ledger of every device included).
    func loadState(decoder: MessageDecoder) throws -> FleetState
    /// Writes one batch in one transaction: all of it or none of it.
    @discardableResult
    func commit(_ changes: ChangeSet) throws -> CommitResult
    /// Deletes events and summaries older than `policy.events`, hourly roll-ups older than `policy.rollups`.
    @discardableResult
    func applyRetention(_ policy: RetentionPolicy, now: Int64) throws -> RetentionResult

    // Alerts: `commit` stores a batch's `ChangeSet.alerts` as pending (once per id, in the batch's transaction).
    /// The oldest pending alerts, in the order they were raised.
    func pendingAlerts(limit: Int) throws -> [FleetAlert]
    /// Ends an alert's delivery after `attempts` tries; an alert already finished stays as it was.
    func finishAlert(id: String, _ delivery: AlertDelivery, attempts: Int, now: Int64) throws
}

/// What a commit found in the store.
public struct CommitResult: Sendable, Equatable {
    /// Rows written to `events`.
    public var inserted: Int
    /// Events the store had already (seqs from before the ledger's history, or forgotten gaps): not written.
    public var conflicts: Int
    public init(inserted: Int, conflicts: Int) { self.inserted = inserted; self.conflicts = conflicts }
}

public struct RetentionPolicy: Sendable, Equatable {
    public var events: ConfigDuration
    public var rollups: ConfigDuration
    public init(events: ConfigDuration = .seconds(30 * 86_400), rollups: ConfigDuration = .seconds(400 * 86_400)) {
        self.events = events; self.rollups = rollups
    }
}

public struct RetentionResult: Sendable, Equatable {
    public var events: Int
    public var summaries: Int
    public var rollups: Int
    public init(events: Int, summaries: Int, rollups: Int) { self.events = events; self.summaries = summaries; self.rollups = rollups }
}

/// What went wrong in the store, naming the file and the step.
public struct FleetStoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One hour's roll-up contribution of a summary: count-weighted sum and sum of squares of the readings.
struct HourlyContribution: Equatable {
    var hourNanos: Int64
    var sum: Double
    var sumSquares: Double

    init(_ s: StoredSummary) {
        let hour: Int64 = 3_600_000_000_000
        hourNanos = s.tsNanos >= 0 ? s.tsNanos / hour * hour : (s.tsNanos - hour + 1) / hour * hour
        let n = Double(s.record.count)
        let mean = s.record.mean ?? 0
        let std = s.record.std ?? 0
        sum = n * mean
        // Σx² over the window from its mean and sample standard deviation.
        sumSquares = n > 1 ? std * std * (n - 1) + n * mean * mean : n * mean * mean
    }
}
