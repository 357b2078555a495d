/// A long-running part of the agent: the outbox, the uplink, the sources, the reporters, the systemd
/// notifier. Each runs on its own dedicated threads (where C calls block) between `start` and `stop`;
/// a `ServiceRunner` starts them in stage order and stops them in reverse.
public protocol Service: AnyObject {
    /// How logs name it (`uplink`, `sources`).
    var serviceName: String { get }

    /// Starts the service's threads and returns once it runs. When it throws (a `ThreadStartError`, say),
    /// nothing of the service is left running and `stop` is not called.
    func start() throws

    /// Ends the service's loops and joins its threads, finishing or handing on what it holds. It may
    /// wait up to `drainTimeout` seconds for others (the broker's acknowledgements) before giving up on
    /// that; returns false when it stopped with work left undone (messages not acknowledged).
    func stop(drainTimeout: Double) -> Bool
}

/// Where a service starts. The runner starts the stages in this order, each one's services in the order
/// they were added, and stops them all in exactly the reverse order: every service runs before the
/// ones that feed it start, and after they stopped (sources stop before the uplink drains the outbox).
public enum ServiceStage: Int, Sendable, Comparable, CaseIterable {
    /// Where messages wait for the broker, and the sequence numbers stored next to them.
    case outbox
    /// The MQTT connection that empties the outbox.
    case uplink
    /// Sensor loops, their pipelines and detectors.
    case sources
    /// Periodic reports about the agent itself (health).
    case reporters
    /// Tells the service manager the agent is ready (last) and stopping (first).
    case notifier

    public static func < (a: ServiceStage, b: ServiceStage) -> Bool { a.rawValue < b.rawValue }
}
