import Foundation
import Testing
import VigilTestSupport

/// SIGHUP (issue 15, defect 13): until the agent reloads its config on it, a hangup stops it
/// exactly as SIGTERM does — closing status, exit 0 — instead of killing it (exit 129, no `offline`).
@Suite(.serialized) struct HangupTests {
    @Test func sighupStopsTheAgentCleanly() throws {
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/itest/status"])
        let agent = try VigilProcess(config: AgentEndToEndTests.config(port: broker.port), arguments: [])
        let online = sub.waitUntil(timeout: 10) { $0.contains { $0.statusState == "online" } }
        #expect(online.map(\.statusState) == ["online"], "\(agent.stderr)")
        kill(agent.pid, SIGHUP)
        #expect(agent.waitForExit(timeout: 15))
        #expect(agent.exitStatus == 0, "\(agent.stderr)")
        let all = sub.waitUntil(timeout: 5) { $0.contains { $0.statusState == "offline" } }
        let status = all.compactMap(\.status)
        #expect(status.map { $0["state"] as? String } == ["online", "offline"])
        #expect(status.last?["clean"] as? Bool == true, "\(status)")
        #expect(agent.stderr.contains("vigil stopping signal=Hangup"), "\(agent.stderr)")
        #expect(agent.stderr.contains("vigil stopped"), "\(agent.stderr)")
    }
}
