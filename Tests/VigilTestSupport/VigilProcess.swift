import Foundation

/// The real `vigil` binary run as a child process with a config written to a temporary file.
/// The binary is `$VIGIL_BIN`, else the newest of .build/release/vigil and .build/debug/vigil.
///
/// Each process gets its own state directory (`STATE_DIRECTORY`, where the outbox and the sequence file
/// live unless the config names `mqtt.outbox.dir`): the config's temporary folder, or `stateDirectory`
/// to share one between runs (a restart after a kill).
public final class VigilProcess: Sendable {
    private let child: ChildProcess
    private let errors = LineCollector()
    public let configPath: String
    /// `STATE_DIRECTORY` of the process.
    public let stateDirectory: String

    public static var binary: String { BuiltBinary.path("vigil", environment: "VIGIL_BIN") }

    /// Starts `vigil COMMAND --config FILE ARGUMENTS…`.
    public init(config yaml: String, command: String = "run", arguments: [String],
                stateDirectory: String? = nil, environment: [String: String] = [:]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("vigil.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        configPath = path
        self.stateDirectory = stateDirectory ?? dir.appendingPathComponent("state").path
        let stderr = Pipe()
        child = try ChildProcess(Self.binary, [command, "--config", path] + arguments, stderr: stderr,
                                 environment: ["STATE_DIRECTORY": self.stateDirectory].merging(environment) { $1 })
        try? stderr.fileHandleForWriting.close()
        errors.collect(from: stderr.fileHandleForReading)
    }

    public var pid: Int32 { child.pid }
    /// Everything the agent logged so far.
    public var stderr: String { errors.snapshot.joined(separator: "\n") }
    public var exitStatus: Int32 { child.exitStatus }

    /// Waits until the log contains `text`, or `timeout` seconds passed; returns whether it does.
    @discardableResult
    public func waitForLog(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !stderr.contains(text) {
            if Date() >= deadline { return false }
            usleep(20_000)
        }
        return true
    }

    /// Waits for the process to exit, then (briefly) for the last lines it wrote to stderr.
    @discardableResult
    public func waitForExit(timeout: Double) -> Bool {
        guard child.waitForExit(timeout: timeout) else { return false }
        errors.waitUntilFinished(timeout: 5)
        return true
    }
    /// SIGTERM, as systemd stops a service.
    public func terminate() { Foundation.kill(child.pid, SIGTERM) }
    /// SIGKILL: no chance to say goodbye.
    public func kill() {
        Foundation.kill(child.pid, SIGKILL)
        if child.waitForExit(timeout: 5) { errors.waitUntilFinished(timeout: 5) }
    }

    deinit { child.stop(grace: 5) }
}
