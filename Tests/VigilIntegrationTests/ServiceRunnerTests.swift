import Foundation
import Logging
import Synchronization
import Testing
import VigilCore
import VigilSources
import VigilUplink
@testable import VigilAgent

/// The runner's ordering contract (swift-service-lifecycle's): start in stage order, stop in reverse,
/// a failed start stops what started and is reported once, each service gets its drain timeout, and
/// SIGTERM/SIGINT, a duration or a request end the run.
@Suite struct ServiceRunnerTests {
    /// What the fake services did, in order.
    final class Recorder: Sendable {
        private let store = Mutex<[String]>([])
        var lines: [String] { store.withLock { $0 } }
        func add(_ line: String) { store.withLock { $0.append(line) } }
    }

    struct StartRefused: Error, CustomStringConvertible { var description: String { "no threads left" } }

    final class FakeService: Service {
        let serviceName: String
        let recorder: Recorder
        let refusesToStart: Bool
        let drains: Bool
        init(_ name: String, _ recorder: Recorder, refusesToStart: Bool = false, drains: Bool = true) {
            serviceName = name; self.recorder = recorder; self.refusesToStart = refusesToStart; self.drains = drains
        }
        func start() throws {
            recorder.add("start \(serviceName)")
            if refusesToStart { throw StartRefused() }
        }
        func stop(drainTimeout: Double) -> Bool {
            recorder.add("stop \(serviceName) within \(drainTimeout)s")
            return drains
        }
    }

    /// Log lines with their level and metadata.
    final class LogLines: Sendable {
        private let store = Mutex<[String]>([])
        var lines: [String] { store.withLock { $0 } }
        var logger: Logger { Logger(label: "test") { _ in Handler(lines: self) } }

        struct Handler: LogHandler {
            let lines: LogLines
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            func log(event: LogEvent) {
                let meta = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                lines.store.withLock { $0.append("\(event.level) \(event.message) \(meta)") }
            }
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
        }
    }

    /// The agent's services, added out of order; the second reporter shows that a stage keeps the order
    /// its services were added in.
    static func agentShaped(_ recorder: Recorder, _ runner: ServiceRunner, refusing: String? = nil, undrained: String? = nil) {
        func fake(_ name: String) -> FakeService { FakeService(name, recorder, refusesToStart: name == refusing, drains: name != undrained) }
        runner.add(fake("systemd"), stage: .notifier)
        runner.add(fake("health"), stage: .reporters)
        runner.add(fake("sources"), stage: .sources)
        runner.add(fake("uplink"), stage: .uplink, drainTimeout: 5)
        runner.add(fake("stats"), stage: .reporters, drainTimeout: 0.5)
        runner.add(fake("outbox"), stage: .outbox)
    }

    @Test func startsInStageOrderAndStopsInReverse() {
        let recorder = Recorder()
        let log = LogLines()
        let runner = ServiceRunner(stopOn: StopTrigger { recorder.add("wait"); return .requested }, logger: log.logger)
        Self.agentShaped(recorder, runner)
        #expect(runner.startOrder.map(\.service) == ["outbox", "uplink", "sources", "health", "stats", "systemd"])
        let outcome = runner.run { reason in recorder.add("stopping: \(reason)") }
        #expect(recorder.lines == [
            "start outbox", "start uplink", "start sources", "start health", "start stats", "start systemd",
            "wait", "stopping: stop requested",
            "stop systemd within 0.0s", "stop stats within 0.5s", "stop health within 0.0s", "stop sources within 0.0s",
            "stop uplink within 5.0s", "stop outbox within 0.0s",
        ])
        #expect(outcome == RunOutcome(ending: .stopTriggered(.requested), stopped: ["systemd", "stats", "health", "sources", "uplink", "outbox"]
            .map { StoppedService(service: $0, drained: true) }))
        #expect(outcome.drained)
        #expect(log.lines.isEmpty)
    }

    @Test func aFailedStartStopsWhatStartedInReverseAndIsReportedOnce() {
        let recorder = Recorder()
        let log = LogLines()
        let runner = ServiceRunner(stopOn: StopTrigger { recorder.add("wait"); return .requested }, logger: log.logger)
        Self.agentShaped(recorder, runner, refusing: "sources")
        let outcome = runner.run { _ in recorder.add("stopping") }
        // The refusing service is not stopped (it left nothing running); later stages never start.
        #expect(recorder.lines == ["start outbox", "start uplink", "start sources", "stop uplink within 5.0s", "stop outbox within 0.0s"])
        #expect(outcome == RunOutcome(ending: .startFailed(service: "sources", error: "no threads left"),
                                      stopped: [StoppedService(service: "uplink", drained: true), StoppedService(service: "outbox", drained: true)]))
        #expect(log.lines == ["critical sources could not start; stopping the services already started error=no threads left"])
    }

    @Test func whenTheFirstServiceCannotStartNothingIsStopped() {
        let recorder = Recorder()
        let runner = ServiceRunner(stopOn: StopTrigger { recorder.add("wait"); return .requested }, logger: LogLines().logger)
        Self.agentShaped(recorder, runner, refusing: "outbox")
        let outcome = runner.run()
        #expect(recorder.lines == ["start outbox"])
        #expect(outcome == RunOutcome(ending: .startFailed(service: "outbox", error: "no threads left"), stopped: []))
    }

    @Test func aServiceThatLeftWorkMakesTheRunUndrained() {
        let recorder = Recorder()
        let runner = ServiceRunner(stopOn: StopTrigger { .durationElapsed }, logger: LogLines().logger)
        Self.agentShaped(recorder, runner, undrained: "uplink")
        let outcome = runner.run()
        #expect(outcome.ending == .stopTriggered(.durationElapsed))
        #expect(outcome.stopped.filter { !$0.drained } == [StoppedService(service: "uplink", drained: false)])
        #expect(!outcome.drained)
    }

    /// The real outbox and uplink, the broker unreachable: the uplink waits its drain timeout for an
    /// acknowledgement that cannot come, then gives up; the message stays counted in the outbox.
    @Test func theUplinkWaitsItsDrainTimeoutAndNoLonger() {
        let logger = LogLines().logger
        let outbox = OutboxService(outbox: Outbox.inMemory(maxEvents: 10, logger: logger), sequence: SequenceNumbers())
        let uplink = MQTTUplink(settings: .init(host: "127.0.0.1", port: 1, clientID: "runner-test", statusTopic: "vigil/runner/status",
                                                reconnectMin: 0.05, reconnectMax: 0.05), outbox: outbox.outbox, logger: logger)
        let stopping = Mutex<Int64>(0)
        let runner = ServiceRunner(stopOn: StopTrigger {
            uplink.enqueue(OutboundMessage(topic: "vigil/runner/anomaly/t", payload: Array("x".utf8)))
            return .requested
        }, logger: logger)
        runner.add(uplink, stage: .uplink, drainTimeout: 0.4)
        runner.add(outbox, stage: .outbox)
        let outcome = runner.run { _ in stopping.withLock { $0 = Clock.monotonicNanos() } }
        let stoppedAfter = Double(Clock.monotonicNanos() - stopping.withLock { $0 }) / 1e9
        #expect(outcome.stopped == [StoppedService(service: "uplink", drained: false), StoppedService(service: "outbox", drained: true)])
        #expect(stoppedAfter >= 0.4, "stopped after \(stoppedAfter) s")
        #expect(stoppedAfter < 5, "stopped after \(stoppedAfter) s")
        #expect(outbox.statsAtClose?.events == 1)
        #expect(uplink.stats.connects == 0)
    }

    /// On a thread of its own, so the blocked signals and the one sent stay with that thread.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) throws -> T {
        let result = Mutex<T?>(nil)
        let threads = ThreadGroup()
        try threads.start { let r = body(); result.withLock { $0 = r } }
        threads.join()
        return result.withLock { $0! }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aStopSignalEndsTheRunGracefully(signal: Int32) throws {
        let lines = try Self.onOwnThread { () -> [String] in
            let recorder = Recorder()
            let signals = StopSignals.block()
            let runner = ServiceRunner(stopOn: .signals(signals, after: 60), logger: LogLines().logger)
            runner.add(FakeService("sources", recorder), stage: .sources)
            // Pending until the runner waits: the run ends at once, and gracefully.
            pthread_kill(pthread_self(), signal)
            let outcome = runner.run { reason in recorder.add("stopping: \(reason)") }
            recorder.add(outcome.ending == .stopTriggered(.signal(signal)) ? "ended by the signal" : "ended otherwise")
            return recorder.lines
        }
        let name = String(cString: strsignal(signal))
        #expect(lines == ["start sources", "stopping: \(name)", "stop sources within 0.0s", "ended by the signal"])
    }

    @Test func aRequestOrTheDeadlineEndsTheWait() throws {
        let reasons = try Self.onOwnThread { () -> [StopReason] in
            let signals = StopSignals.block()
            let requested = StopSignal()
            requested.raise()
            return [StopTrigger.signals(signals, after: 60, orWhen: requested).wait(),
                    StopTrigger.signals(signals, after: 0.05).wait(),
                    StopTrigger.signals(signals, after: 0.05, orWhen: StopSignal()).wait()]
        }
        #expect(reasons == [.requested, .durationElapsed, .durationElapsed])
    }
}
