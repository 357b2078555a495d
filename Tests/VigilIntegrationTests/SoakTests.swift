import Foundation
import Testing
import VigilTestSupport

/// The soak (`make soak`, scripts/soak.py) for two minutes: the real agent on the simulator through a real
/// mosquitto restarted every 30 s. Asserts what must hold however loaded the machine is: nothing lost by
/// seq, the thread count constant and no fd leaked. (RSS is judged only by the hour-long `make soak`.)
@Suite(.serialized, .timeLimit(.minutes(6)))
struct SoakTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/soak.py").path

    @Test func twoMinutesOfBrokerRestartsLoseNothingAndLeakNoThreadOrFd() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-soak-\(UUID().uuidString.prefix(8))").path
        let soak = Process()
        soak.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        soak.arguments = [Self.script, "--vigil", VigilProcess.binary, "--duration", "120", "--restart-every", "30",
                          "--outage", "5", "--sample-every", "2", "--warmup", "20", "--rate", "200", "--out", out]
        soak.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        soak.standardError = errors
        try soak.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        soak.waitUntilExit()
        #expect(soak.terminationStatus != 2, "\(stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))
        let s = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let log = (try? String(contentsOfFile: out + "/agent.log", encoding: .utf8)) ?? ""
        #expect(soak.terminationStatus == 0, "\(s)")
        #expect(s["agent_exit"] as? Int == 0, "\(log)")
        #expect(s["lost"] as? Int == 0, "missing \(s["missing_seqs"] ?? [])")
        #expect((s["last_seq"] as? Int ?? 0) > 0)
        #expect((s["broker_restarts"] as? Int ?? 0) >= 2, "\(s)")
        #expect(s["threads_spread"] as? Int == 0, "\(s)")
        #expect(s["fds_growth"] as? Int == 0, "\(s)")
        #expect(FileManager.default.fileExists(atPath: out + "/soak.svg"))
    }
}
