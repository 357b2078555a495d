import Testing
import VigilCore
import VigilFleet
import VigilFleetCore
import VigilTestSupport

/// Alerts in both stores: written with their batch, once per id, handed out in order, finished once.
extension FleetStoreTests {
    @Test(arguments: FleetStoreTests.kinds) mutating func pendingInOrderOncePerIdThenDelivered(_ kind: StoreKind) throws {
        try use(kind)
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "start"))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 3, "end"))
        let changes = state.takeChanges()
        try store.commit(changes)
        try store.commit(changes)   // the same batch again (a retried commit): no second copy
        let pending = try store.pendingAlerts(limit: 10)
        #expect(pending == changes.alerts)
        #expect(pending.map(\.id) == ["gw-1/anomaly/temperature/1/1/start", "gw-1/health/temperature/stuck/2/start", "gw-1/anomaly/temperature/1/1/end"])
        #expect(try store.pendingAlerts(limit: 1).map(\.id) == ["gw-1/anomaly/temperature/1/1/start"])

        try store.finishAlert(id: pending[0].id, .delivered, attempts: 3, now: 77)
        try store.finishAlert(id: pending[1].id, .rejected, attempts: 1, now: 78)
        try store.finishAlert(id: pending[0].id, .rejected, attempts: 9, now: 79)   // already finished: unchanged
        #expect(try store.pendingAlerts(limit: 10).map(\.id) == ["gw-1/anomaly/temperature/1/1/end"])
        #expect(try db.rows("SELECT id, delivery, attempts, done_ns FROM alerts ORDER BY queued") == [
            ["gw-1/anomaly/temperature/1/1/start", "delivered", "3", "77"],
            ["gw-1/health/temperature/stuck/2/start", "rejected", "1", "78"],
            ["gw-1/anomaly/temperature/1/1/end", "pending", "0", "NULL"],
        ])
        #expect(try store.alertCounts() == ["delivered": 1, "rejected": 1, "pending": 1])

        // Retention removes finished alerts with the events, never pending ones.
        try store.applyRetention(RetentionPolicy(events: .seconds(1), rollups: .seconds(1)), now: 2_000_000_000)
        #expect(try store.alertCounts() == ["pending": 1])
    }

    @Test(arguments: FleetStoreTests.kinds) mutating func aLaterBatchQueuesAfterAnEarlierOne(_ kind: StoreKind) throws {
        try use(kind)
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        try store.commit(state.takeChanges())
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 2, "end"))
        try store.commit(state.takeChanges())
        #expect(try store.pendingAlerts(limit: 10).map(\.phase) == [.start, .end])
        #expect(try db.rows("SELECT queued FROM alerts ORDER BY queued") == [["1"], ["2"]])
    }
}
