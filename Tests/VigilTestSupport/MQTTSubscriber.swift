import Foundation

/// `mosquitto_sub` on 127.0.0.1 as a child process, collecting what arrives.
///
/// The initialiser returns only once the subscription is live: it subscribes to a private probe topic too
/// and publishes to it (with `mosquitto_pub`) until the probe comes back. Probe messages are filtered out.
public final class MQTTSubscriber: Sendable {
    public static let executable = "/usr/bin/mosquitto_sub"
    public static let publisher = "/usr/bin/mosquitto_pub"

    public struct Message: Sendable, Hashable, CustomStringConvertible {
        public var topic: String
        public var payload: String
        /// The retain flag as delivered: set only for messages the broker held before this subscription.
        public var retained: Bool

        public init(topic: String, payload: String, retained: Bool) {
            self.topic = topic; self.payload = payload; self.retained = retained
        }

        public var description: String { "\(retained ? "[retained] " : "")\(topic) \(payload)" }
    }

    public let port: Int
    public let topics: [String]
    private let probeTopic = "vigil-test/probe/\(UUID().uuidString)"
    private let child: ChildProcess
    private let output = LineCollector()
    private let errors = LineCollector()

    /// - Parameters:
    ///   - clientID: with `persistentSession`, the broker keeps the subscription and queues QoS 1 messages
    ///     while this subscriber is disconnected (e.g. across a persistent broker's restart).
    ///   - readyTimeout: how long to wait for the subscription to be live.
    public init(port: Int, topics: [String], qos: Int = 1, clientID: String? = nil,
                persistentSession: Bool = false, readyTimeout: Double = 5) throws {
        self.port = port
        self.topics = topics
        var arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-q", "\(qos)", "-F", "%r %t %p"]
        for topic in topics + [probeTopic] { arguments += ["-t", topic] }
        if let clientID { arguments += ["-i", clientID] }
        if persistentSession { arguments.append("-c") }
        let stdout = Pipe()
        let stderr = Pipe()
        child = try ChildProcess(Self.executable, arguments, stdout: stdout, stderr: stderr)
        // Our copies of the write ends would keep the readers from ever seeing end of file.
        try? stdout.fileHandleForWriting.close()
        try? stderr.fileHandleForWriting.close()
        output.collect(from: stdout.fileHandleForReading)
        errors.collect(from: stderr.fileHandleForReading)

        let deadline = Date().addingTimeInterval(readyTimeout)
        while !output.snapshot.contains(where: { $0.hasSuffix(" \(probeTopic) probe") }) {
            guard child.isRunning else {
                throw TestSupportError("mosquitto_sub exited: \(errors.snapshot.joined(separator: "\n"))")
            }
            guard Date() < deadline else {
                child.stop()
                throw TestSupportError("mosquitto_sub on port \(port) not subscribed within \(readyTimeout) s: \(errors.snapshot.joined(separator: "\n"))")
            }
            _ = try? runTool(Self.publisher, ["-h", "127.0.0.1", "-p", "\(port)", "-t", probeTopic, "-m", "probe", "-q", "1"],
                             timeout: 2)
            usleep(50_000)
        }
    }

    deinit {
        child.stop()
    }

    /// Everything received so far, in arrival order (probes excluded).
    public var messages: [Message] {
        output.snapshot.compactMap(Self.parse).filter { $0.topic != probeTopic }
    }

    /// What mosquitto_sub wrote to stderr.
    public var errorOutput: [String] { errors.snapshot }

    /// Waits until at least `count` messages arrived or `timeout` seconds passed; returns what arrived.
    @discardableResult
    public func waitFor(count: Int, timeout: Double) -> [Message] {
        waitUntil(timeout: timeout) { $0.count >= count }
    }

    /// Waits until `predicate` holds for what arrived, or `timeout` seconds passed; returns what arrived.
    @discardableResult
    public func waitUntil(timeout: Double, _ predicate: ([Message]) -> Bool) -> [Message] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let now = messages
            if predicate(now) || Date() >= deadline { return now }
            usleep(10_000)
        }
    }

    /// Stops mosquitto_sub by pid (SIGTERM, then SIGKILL). What arrived stays readable.
    public func stop() {
        child.stop()
    }

    /// `%r %t %p`: retain flag, topic, payload (which may contain spaces).
    private static func parse(_ line: String) -> Message? {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        return Message(topic: String(parts[1]), payload: parts.count > 2 ? String(parts[2]) : "",
                       retained: parts[0] == "1")
    }
}
