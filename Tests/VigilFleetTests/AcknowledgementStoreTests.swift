import Testing
import VigilFleet
import VigilTestSupport

/// Acknowledgements in both stores: of open episodes only, the first one kept, and tied to the episode's
/// start seq, so an agent that restarts and numbers its episodes again does not inherit one.
extension FleetStoreTests {
    @Test(arguments: FleetStoreTests.kinds) mutating func acknowledgementsBelongToOneOpenEpisode(_ kind: StoreKind) throws {
        try use(kind)
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        try commit()
        #expect(try store.acknowledge(device: "gw-1", subject: "temperature", episode: 2, by: "ann", note: "", now: 5) == nil)
        let first = try store.acknowledge(device: "gw-1", subject: "temperature", episode: 1, by: "ann", note: "seen", now: 1_000_000)
        #expect(first?.acknowledged.map { [$0.by, $0.at, $0.note] } == ["ann", "1970-01-01T00:00:00.001Z", "seen"])
        // The first acknowledgement stays.
        let again = try store.acknowledge(device: "gw-1", subject: "temperature", episode: 1, by: "bob", note: "", now: 9_000_000)
        #expect(again?.acknowledged?.by == "ann")
        #expect(try store.openEpisodes().map(\.acknowledged?.by) == ["ann"])
        #expect(try store.openProblems().first?.acknowledged?.by == "ann")

        // The episode ends (the acknowledgement is kept as a record); a new run starts episode 1 again.
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 2, "end"))
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1001, "start"))
        try commit()
        let reopened = try store.openEpisodes()
        #expect(reopened.map(\.startSeq) == [1001])
        #expect(reopened.first?.acknowledged == nil)
        #expect(try db.rows("SELECT device, subject, episode, start_seq, acknowledged_by FROM acknowledgements")
                == [["gw-1", "temperature", "1", "1", "ann"]])
    }
}
