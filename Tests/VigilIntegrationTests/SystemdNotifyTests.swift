import Foundation
import Logging
import Synchronization
import Testing
@testable import VigilAgent

/// sd_notify spoken directly: the notifier against a real datagram socket, and the real agent as
/// systemd runs a Type=notify service — READY, STATUS, periodic WATCHDOG, STOPPING on SIGTERM, and
/// no WATCHDOG once a source loop hangs.
@Suite struct SystemdNotifyTests {
    @Test func socketAddressesForPathsAndAbstractNames() throws {
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let path = try #require(SystemdNotifier.socketAddress(for: "/run/systemd/notify"))
        #expect(path.count == offset + "/run/systemd/notify".utf8.count + 1)
        #expect(Array(path[offset...]) == Array("/run/systemd/notify".utf8) + [0])
        let abstract = try #require(SystemdNotifier.socketAddress(for: "@/org/freedesktop/systemd1/notify/1"))
        // An abstract name: a leading NUL instead of '@', no terminator, the length counts only the name.
        #expect(Array(abstract[offset...]) == [0] + Array("/org/freedesktop/systemd1/notify/1".utf8))
        #expect(SystemdNotifier.socketAddress(for: "relative/path") == nil)
        #expect(SystemdNotifier.socketAddress(for: "@") == nil)
        #expect(SystemdNotifier.socketAddress(for: "/" + String(repeating: "x", count: 200)) == nil)
    }

    @Test(arguments: [false, true])
    func notifierSendsOneDatagramPerMessage(abstract: Bool) throws {
        let listener = try NotifySocketListener(abstract: abstract)
        let n = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.name])
        #expect(n.isEnabled)
        #expect(n.ready(status: "starting\nup"))
        #expect(n.watchdog())
        #expect(n.status("3.0 readings/s"))
        #expect(n.stopping())
        #expect(listener.wait(timeout: 5) { $0.count == 4 })
        #expect(listener.messages.map(\.message) == ["READY=1\nSTATUS=starting up", "WATCHDOG=1", "STATUS=3.0 readings/s", "STOPPING=1"])
    }

    @Test func withoutNotifySocketNothingIsSent() {
        let n = SystemdNotifier(environment: [:])
        #expect(!n.isEnabled)
        #expect(!n.ready())
        #expect(n.problem == nil)
        let bad = SystemdNotifier(environment: ["NOTIFY_SOCKET": "vsock:2:1234"])
        #expect(!bad.isEnabled)
        #expect(bad.problem != nil)
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() {
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == 15_000_000_000)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) == 15_000_000_000)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "soon"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: [:]) == nil)
    }

    @Test func aSourceWhoseCounterStandsStillIsStuck() {
        #expect(SystemdService.stuckSources(before: [("a", 1), ("b", 5)], after: [("a", 2), ("b", 9)]).isEmpty)
        #expect(SystemdService.stuckSources(before: [("a", 1), ("b", 5)], after: [("a", 2), ("b", 5)]) == ["b"])
        // After a reload: a new source is not stuck, a removed one no longer watched.
        #expect(SystemdService.stuckSources(before: [("a", 1)], after: [("a", 2), ("b", 0)]).isEmpty)
        #expect(SystemdService.stuckSources(before: [("a", 1), ("b", 5)], after: [("b", 5)]) == ["b"])
        #expect(SystemdService.describe(ServiceStatus(readings: 10, queued: 3, connected: false), readingsPerSecond: 15)
                == "15.0 readings/s, outbox 3, broker not connected")
        #expect(SystemdService.describe(ServiceStatus(readings: 10, queued: 0, connected: true), readingsPerSecond: 0, stalled: ["sim"])
                == "STALLED source(s) sim; 0.0 readings/s, outbox 0, broker connected")
    }

    /// In-process: the service thread pings while the counters move and stops when one stands still.
    @Test func serviceWithholdsThePingWhileASourceStandsStill() throws {
        let listener = try NotifySocketListener(abstract: true)
        let counters = Mutex<[UInt64]>([0, 0])
        let moving = Mutex<[Bool]>([true, true])
        let service = SystemdService(environment: ["NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": "200000"],
                                     progress: { counters.withLock { c in
                                         let m = moving.withLock { $0 }
                                         for i in c.indices where m[i] { c[i] += 1 }
                                         return [("a", c[0]), ("b", c[1])]
                                     } },
                                     status: { ServiceStatus(readings: 0, queued: 0, connected: false) },
                                     logger: Logger(label: "test"))
        try service.start()
        #expect(listener.wait(timeout: 5) { $0.filter { $0.message == "WATCHDOG=1" }.count >= 3 })
        moving.withLock { $0[1] = false }
        usleep(250_000)  // at most one ping of progress made before the stop
        let before = listener.messages.filter { $0.message == "WATCHDOG=1" }.count
        usleep(600_000)
        let after = listener.messages.filter { $0.message == "WATCHDOG=1" }.count
        #expect(after == before, "pings went on while source b stood still")
        #expect(service.pingsWithheld >= 2)
        _ = service.stop(drainTimeout: 0)
        #expect(listener.wait(timeout: 5) { $0.last?.message.hasPrefix("STOPPING=1") == true })
    }

    static func agentConfig(rate: Int = 20) -> String {
        """
        device: notify-test
        mqtt:
          broker: mqtt://127.0.0.1:1
          reconnect_min: 1s
          outbox: { dir: "@DIR@/outbox" }
        sources:
          - kind: simulator
            name: sim
            rate: \(rate)
        """
    }

    /// The agent under a fake systemd: READY after the sources started (the broker is unreachable, the
    /// uplink retrying), WATCHDOG=1 every half WATCHDOG_USEC, a STATUS line with readings/s and the
    /// outbox depth, and STOPPING=1 on SIGTERM; a clean exit.
    @Test func agentReportsReadyStatusWatchdogAndStopping() throws {
        let listener = try NotifySocketListener(abstract: false)
        let agent = try AgentUnderTest(yaml: Self.agentConfig(),
                                       environment: ["NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": "1000000"])
        #expect(listener.wait(timeout: 15) { $0.contains { $0.message.hasPrefix("READY=1") } }, "no READY=1; log:\n\(agent.stderr)")
        #expect(agent.stderr.contains("source started"), "READY before the sources started")
        #expect(listener.messages.first?.message.hasPrefix("READY=1\nSTATUS=") == true)
        // STATUS comes every 5 s.
        #expect(listener.wait(timeout: 8) { $0.contains { $0.message.hasPrefix("STATUS=") && $0.message.contains("readings/s") } },
                "no STATUS with readings/s: \(listener.messages.map(\.message))")
        let status = try #require(listener.messages.first { $0.message.hasPrefix("STATUS=") && $0.message.contains("readings/s") }).message
        #expect(status.contains("outbox ") && status.contains("broker not connected"), "\(status)")
        // 3 channels at 20 Hz = 60 readings/s.
        let rate = Double(status.dropFirst("STATUS=".count).split(separator: " ").first ?? "") ?? 0
        #expect(rate > 40 && rate < 80, "\(status)")

        let pings = listener.messages.filter { $0.message == "WATCHDOG=1" }.map(\.seconds)
        #expect(pings.count >= 8, "\(pings.count) WATCHDOG=1 in \(listener.elapsed) s")
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }.sorted()
        if !gaps.isEmpty { #expect(abs(gaps[gaps.count / 2] - 0.5) < 0.1, "median ping interval \(gaps[gaps.count / 2]) s, expected 0.5 s") }

        agent.terminate()
        #expect(listener.wait(timeout: 5) { $0.contains { $0.message.hasPrefix("STOPPING=1") } }, "no STOPPING=1")
        #expect(agent.waitForExit(timeout: 15) == 0, "log:\n\(agent.stderr)")
        // Nothing but STATUS after STOPPING: the watchdog thread is gone.
        let stoppingAt = try #require(listener.messages.firstIndex { $0.message.hasPrefix("STOPPING=1") })
        #expect(!listener.messages[stoppingAt...].contains { $0.message == "WATCHDOG=1" })
    }

    /// With VIGIL_TEST_HANG_AFTER the source loop blocks 1.5 s in: the pings stop (so systemd's watchdog
    /// would fire and restart the service), the log says which source, and SIGTERM still stops it.
    @Test func noWatchdogWhileASourceHangs() throws {
        let listener = try NotifySocketListener(abstract: true)
        let agent = try AgentUnderTest(yaml: Self.agentConfig(),
                                       environment: ["NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": "1000000",
                                                     "VIGIL_TEST_HANG_AFTER": "1.5"])
        #expect(listener.wait(timeout: 15) { $0.contains { $0.message.hasPrefix("READY=1") } }, "no READY=1; log:\n\(agent.stderr)")
        let ready = try #require(listener.messages.first { $0.message.hasPrefix("READY=1") }).seconds
        // Wait until 5 s after READY: the loop hangs at about 1.5 s.
        while listener.elapsed < ready + 5.0 { usleep(50_000) }
        let pings = listener.messages.filter { $0.message == "WATCHDOG=1" }.map { $0.seconds - ready }
        #expect(pings.filter { $0 < 1.5 }.count >= 2, "pings before the hang: \(pings)")
        // The check after the hang may still see progress made just before it (one ping, at about 2 s,
        // later on a busy machine); then none for 2.4 s — more than twice WATCHDOG_USEC, so systemd's
        // watchdog would have fired.
        #expect(!pings.contains { $0 > 2.6 }, "pings after the source hung: \(pings)")
        #expect(agent.stderr.contains("source loop made no progress"), "log:\n\(agent.stderr)")
        #expect(agent.stderr.contains("sources=sim"))

        agent.terminate()
        #expect(listener.wait(timeout: 5) { $0.contains { $0.message.hasPrefix("STOPPING=1") } }, "no STOPPING=1")
        #expect(agent.waitForExit(timeout: 15) == 0, "log:\n\(agent.stderr)")
    }

    /// Under systemd stderr is the journal stream: lines carry `<N>` syslog priorities and no timestamp.
    @Test func journalStreamLinesCarrySyslogPriorities() throws {
        let dir = try Repo.temporaryDirectory("journal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let probe = dir + "/probe"
        _ = FileManager.default.createFile(atPath: probe, contents: nil)
        let fd = open(probe, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        #expect(fstat(fd, &st) == 0)
        #expect(StderrLogHandler.isJournal(stream: "\(st.st_dev):\(st.st_ino)", fd: fd))
        #expect(!StderrLogHandler.isJournal(stream: "\(st.st_dev):\(st.st_ino &+ 1)", fd: fd))
        #expect(!StderrLogHandler.isJournal(stream: "garbage", fd: fd))

        // The agent's stderr is a file that JOURNAL_STREAM names, as systemd names the journal's socket.
        // The broker is unreachable: its first failed connect is a warning (<4>).
        let journal = try AgentUnderTest(yaml: Self.agentConfig(rate: 1), environment: ["JOURNAL_STREAM": "@STDERR_STREAM@"],
                                         arguments: ["--duration", "1"])
        #expect(journal.waitForExit(timeout: 20) == 0, "\(journal.stderr)")
        let lines = journal.stderr.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.range(of: #"^<[0-7]>"#, options: .regularExpression) != nil }, "\(journal.stderr)")
        #expect(lines.contains { $0.hasPrefix("<6>vigil starting") }, "\(journal.stderr)")
        #expect(lines.contains { $0.hasPrefix("<4>") && $0.contains("not reachable") }, "\(journal.stderr)")
        #expect(!journal.stderr.contains(" INFO "), "timestamp and level words are the journal's job")

        // JOURNAL_STREAM inherited but naming another file: stderr is not the journal, lines keep timestamps.
        let plain = try AgentUnderTest(yaml: Self.agentConfig(rate: 1), environment: ["JOURNAL_STREAM": "1:1"], arguments: ["--duration", "0.2"])
        #expect(plain.waitForExit(timeout: 20) == 0)
        #expect(plain.stderr.split(separator: "\n").allSatisfy { $0.range(of: #"^\d{4}-\d\d-\d\dT"#, options: .regularExpression) != nil }, "\(plain.stderr)")
    }
}
