import Foundation

/// The real `vigil-fleet` binary as a child process, stopped by its pid. The binary is `$VIGIL_FLEET_BIN`,
/// else the newest of .build/release/vigil-fleet and .build/debug/vigil-fleet.
public final class FleetReceiverProcess: Sendable {
    private let child: ChildProcess
    private let errors = LineCollector()

    public static var binary: String { BuiltBinary.path("vigil-fleet", environment: "VIGIL_FLEET_BIN") }

    /// Starts `vigil-fleet ARGUMENTS…` and, with `waitForSubscription`, returns once it logged its
    /// subscription (the broker then holds the session: nothing published afterwards is missed).
    public init(_ arguments: [String], waitForSubscription: Bool = true, timeout: Double = 10) throws {
        let stderr = Pipe()
        child = try ChildProcess(Self.binary, arguments, stderr: stderr)
        try? stderr.fileHandleForWriting.close()
        errors.collect(from: stderr.fileHandleForReading)
        guard waitForSubscription else { return }
        let deadline = Date().addingTimeInterval(timeout)
        while !errors.snapshot.contains(where: { $0.contains("subscribed to") }) {
            guard child.isRunning else { throw TestSupportError("vigil-fleet exited (\(child.exitStatus)): \(self.stderr)") }
            guard Date() < deadline else { throw TestSupportError("vigil-fleet did not subscribe within \(timeout) s: \(self.stderr)") }
            usleep(10_000)
        }
    }

    public var pid: Int32 { child.pid }
    public var stderr: String { errors.snapshot.joined(separator: "\n") }
    public var exitStatus: Int32 { child.exitStatus }
    public var isRunning: Bool { child.isRunning }

    @discardableResult
    public func waitForExit(timeout: Double) -> Bool {
        guard child.waitForExit(timeout: timeout) else { return false }
        errors.waitUntilFinished(timeout: 5)
        return true
    }

    /// SIGTERM, then (bounded) SIGKILL.
    public func stop() { child.stop(grace: 5); errors.waitUntilFinished(timeout: 5) }
    /// SIGKILL: nothing is flushed.
    public func kill() {
        Foundation.kill(child.pid, SIGKILL)
        child.waitForExit(timeout: 5)
    }

    deinit { child.stop(grace: 2) }
}

/// `mosquitto_pub` at QoS 1 to 127.0.0.1: returns once the broker acknowledged the message.
public func mqttPublish(port: Int, topic: String, payload: String, retain: Bool = false) throws {
    let status = try runTool(MQTTSubscriber.publisher, ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-t", topic, "-m", payload]
                             + (retain ? ["-r"] : []), timeout: 10)
    guard status == 0 else { throw TestSupportError("mosquitto_pub to \(topic) exited with \(status)") }
}

/// `mosquitto_pub` of a file's content as one message (a payload too large for an argument).
public func mqttPublishFile(port: Int, topic: String, file: String) throws {
    let status = try runTool(MQTTSubscriber.publisher, ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-t", topic, "-f", file], timeout: 20)
    guard status == 0 else { throw TestSupportError("mosquitto_pub -f \(file) exited with \(status)") }
}

/// `mosquitto_pub -l` started in the background: every line of `file` is one QoS 1 message on `topic`.
public final class LinePublisher: Sendable {
    private let child: ChildProcess
    public init(port: Int, topic: String, file: String) throws {
        child = try ChildProcess("/bin/sh", ["-c", "exec \(MQTTSubscriber.publisher) -h 127.0.0.1 -p \(port) -q 1 -t '\(topic)' -l < '\(file)'"])
    }
    public var isRunning: Bool { child.isRunning }
    /// Waits for every line to be acknowledged by the broker; returns the exit status.
    public func wait(timeout: Double) throws -> Int32 {
        guard child.waitForExit(timeout: timeout) else { throw TestSupportError("mosquitto_pub -l did not finish in \(timeout) s") }
        return child.exitStatus
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass; returns whether it held.
@discardableResult
public func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        usleep(10_000)
    }
}
