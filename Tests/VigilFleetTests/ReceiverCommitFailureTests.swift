import Foundation
import Logging
import Synchronization
import Testing
import VigilFleet
import VigilFleetCore
import VigilTestSupport

/// The real SQLite store whose second commit fails (a full disk, a locked file).
final class FailingSecondCommitStore: FleetStore {
    let store: SQLiteFleetStore
    let commits = Mutex(0)
    init(_ store: SQLiteFleetStore) { self.store = store }

    func loadState(decoder: MessageDecoder) throws -> FleetState { try store.loadState(decoder: decoder) }
    func commit(_ changes: ChangeSet) throws -> CommitResult {
        let n = commits.withLock { $0 += 1; return $0 }
        if n == 2 { throw FleetStoreError("disk I/O error (injected)") }
        return try store.commit(changes)
    }
    func applyRetention(_ policy: RetentionPolicy, now: Int64) throws -> RetentionResult {
        try store.applyRetention(policy, now: now)
    }
    func pendingAlerts(limit: Int) throws -> [FleetAlert] { try store.pendingAlerts(limit: limit) }
    func finishAlert(id: String, _ delivery: AlertDelivery, attempts: Int, now: Int64) throws {
        try store.finishAlert(id: id, delivery, attempts: attempts, now: now)
    }
}

/// A failed commit: the receiver drops the connection without acknowledging, reloads its state from the
/// store and reconnects; the broker sends the unacknowledged messages again. Nothing lost, nothing twice.
@Suite struct ReceiverCommitFailureTests {
    @Test func aFailedCommitLosesNothing() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let store = FailingSecondCommitStore(try SQLiteFleetStore(path: db.path))
        let settings = ReceiverSettings(host: "127.0.0.1", port: broker.port, clientID: "fleet-commit-failure")
        let receiver = try FleetReceiver(settings: settings, store: store, logger: Logger(label: "test"))
        let stop = StopFlag()
        let done = DispatchSemaphore(value: 0)
        // Only the new thread touches the receiver from here on.
        nonisolated(unsafe) let receiving = receiver
        Thread.detachNewThread { receiving.run(until: stop); done.signal() }
        defer { stop.raise(); done.wait() }
        // Seq 1 until it is stored: then the subscription is live (commit 1; a repeat copy would be a duplicate).
        let live = try waitUntil(timeout: 10) {
            try mqttPublish(port: broker.port, topic: "vigil/gw-f/summary/t", payload: FleetPayloads.summary("gw-f", 1, channel: "t"))
            return try waitUntil(timeout: 0.5) { try db.rows("SELECT count(*) FROM events") == [["1"]] }
        }
        #expect(live)
        for seq: UInt64 in 2...10 {
            try mqttPublish(port: broker.port, topic: "vigil/gw-f/summary/t", payload: FleetPayloads.summary("gw-f", seq, channel: "t"))
        }
        #expect(try waitUntil(timeout: 20) { try db.rows("SELECT count(*) FROM events") == [["10"]] })
        #expect(store.commits.withLock { $0 } >= 3)
        #expect(try db.rows("SELECT stored, open_seqs, lost FROM devices") == [["10", "0", "0"]])
        #expect(try db.rows("SELECT count(*) FROM counters WHERE name = 'conflicts'") == [["0"]])
        #expect(try db.rows("SELECT summaries FROM summaries_hourly") == [["10"]])
    }
}
