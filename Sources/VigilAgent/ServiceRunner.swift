import Logging

/// Starts services in stage order, waits until it is time to stop, and stops them in reverse — the
/// ordering contract of swift-service-lifecycle's `ServiceGroup`, on plain threads:
/// - services start in `ServiceStage` order (within a stage, in the order they were added);
/// - when one cannot start, the failure is logged once, the ones already started are stopped in
///   reverse, and the rest never start;
/// - otherwise the runner waits for its `StopTrigger` (SIGTERM/SIGINT, a duration, a request) and
///   stops every service in reverse, each given its own drain timeout.
public final class ServiceRunner {
    private struct Entry {
        let service: any Service
        let stage: ServiceStage
        let drainTimeout: Double
    }

    private var entries: [Entry] = []
    private let trigger: StopTrigger
    private let logger: Logger

    public init(stopOn trigger: StopTrigger, logger: Logger) {
        self.trigger = trigger
        self.logger = logger
    }

    /// Adds `service` to `stage`. `drainTimeout`: the seconds its `stop` may wait for work to drain.
    public func add(_ service: any Service, stage: ServiceStage, drainTimeout: Double = 0) {
        entries.append(Entry(service: service, stage: stage, drainTimeout: drainTimeout))
    }

    /// Names and stages in start order.
    public var startOrder: [(service: String, stage: ServiceStage)] {
        ordered.map { ($0.service.serviceName, $0.stage) }
    }

    /// Runs every service until the trigger fires. `whenStopping` runs once the trigger fired, before
    /// the first service stops (not when a start failed).
    public func run(whenStopping: (StopReason) -> Void = { _ in }) -> RunOutcome {
        var started: [Entry] = []
        for entry in ordered {
            do {
                try entry.service.start()
            } catch {
                logger.critical("\(entry.service.serviceName) could not start; stopping the services already started",
                                metadata: ["error": "\(error)"])
                return RunOutcome(ending: .startFailed(service: entry.service.serviceName, error: "\(error)"),
                                  stopped: stop(started))
            }
            started.append(entry)
        }
        let reason = trigger.wait()
        whenStopping(reason)
        return RunOutcome(ending: .stopTriggered(reason), stopped: stop(started))
    }

    private var ordered: [Entry] {
        // Stable: services of one stage keep the order they were added in.
        entries.enumerated().sorted { ($0.element.stage, $0.offset) < ($1.element.stage, $1.offset) }.map(\.element)
    }

    private func stop(_ started: [Entry]) -> [StoppedService] {
        started.reversed().map { e in
            StoppedService(service: e.service.serviceName, drained: e.service.stop(drainTimeout: e.drainTimeout))
        }
    }
}

/// How a run ended, and what each service said when it stopped.
public struct RunOutcome: Sendable, Equatable {
    public enum Ending: Sendable, Equatable {
        /// Every service started and ran until the trigger fired.
        case stopTriggered(StopReason)
        /// `service` could not start (`error` says why); the ones before it were stopped.
        case startFailed(service: String, error: String)
    }

    public var ending: Ending
    /// In the order they were stopped.
    public var stopped: [StoppedService]

    /// No service left work undone (every message was acknowledged).
    public var drained: Bool { stopped.allSatisfy(\.drained) }
}

public struct StoppedService: Sendable, Equatable {
    public var service: String
    public var drained: Bool
    public init(service: String, drained: Bool) { self.service = service; self.drained = drained }
}
