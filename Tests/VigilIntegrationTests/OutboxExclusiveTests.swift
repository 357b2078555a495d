import Foundation
import Testing
import VigilTestSupport

/// One agent per outbox directory (issue 15, defect 4): a second `vigil run` on the same state directory
/// exits with EX_TEMPFAIL naming the first one's pid, and the first one's numbers are never reissued.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct OutboxExclusiveTests {
    @Test("a second agent on a held outbox directory exits 75 naming the holder; the first runs on and a restart continues its numbers")
    func secondAgentRefused() throws {
        let broker = try MosquittoBroker()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-excl-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let yaml = OutboxAgentTests.config(port: broker.port, device: "excl")
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/excl/#"])
        // The first runs until told to stop, so the second meets it however slow the machine is.
        let first = try VigilProcess(config: yaml, arguments: [], stateDirectory: state)
        _ = sub.waitUntil(timeout: 10) { $0.contains { $0.statusState == "online" } }

        let second = try VigilProcess(config: yaml, arguments: ["--duration", "3"], stateDirectory: state)
        #expect(second.waitForExit(timeout: 10) && second.exitStatus == 75, "\(second.stderr)")
        #expect(second.stderr.contains("is in use by another vigil process (pid \(first.pid)); give each agent its own mqtt.outbox.dir"), "\(second.stderr)")
        #expect(!second.stderr.contains("vigil starting"))

        first.terminate()
        #expect(first.waitForExit(timeout: 20) && first.exitStatus == 0, "\(first.stderr)")
        let firstSeqs = OutboxAgentTests.seqs(sub.waitUntil(timeout: 5) { $0.contains { $0.statusState == "offline" } })
        let third = try VigilProcess(config: yaml, arguments: ["--duration", "2"], stateDirectory: state)
        #expect(third.waitForExit(timeout: 20) && third.exitStatus == 0, "\(third.stderr)")
        #expect(third.stderr.contains("next_seq=\((firstSeqs.max() ?? 0) + 1)"), "\(third.stderr)")
    }
}
