import Foundation

/// The real `vigil` binary run as a child process with a config written to a temporary file.
/// The binary is `$VIGIL_BIN`, else the newest of .build/release/vigil and .build/debug/vigil.
public final class VigilProcess: Sendable {
    private let child: ChildProcess
    private let errors = LineCollector()
    public let configPath: String

    public static var binary: String {
        if let b = ProcessInfo.processInfo.environment["VIGIL_BIN"] { return b }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = ["release", "debug"].map { root.appendingPathComponent(".build/\($0)/vigil").path }
        let existing = candidates.filter { FileManager.default.isExecutableFile(atPath: $0) }
        func modified(_ p: String) -> Date {
            (try? FileManager.default.attributesOfItem(atPath: p)[.modificationDate] as? Date) ?? .distantPast
        }
        return existing.max { modified($0) < modified($1) } ?? candidates[0]
    }

    /// Starts `vigil COMMAND --config FILE ARGUMENTS…`.
    public init(config yaml: String, command: String = "run", arguments: [String]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("vigil.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        configPath = path
        let stderr = Pipe()
        child = try ChildProcess(Self.binary, [command, "--config", path] + arguments, stderr: stderr)
        try? stderr.fileHandleForWriting.close()
        errors.collect(from: stderr.fileHandleForReading)
    }

    public var pid: Int32 { child.pid }
    /// Everything the agent logged so far.
    public var stderr: String { errors.snapshot.joined(separator: "\n") }
    public var exitStatus: Int32 { child.exitStatus }

    @discardableResult
    public func waitForExit(timeout: Double) -> Bool { child.waitForExit(timeout: timeout) }
    /// SIGTERM, as systemd stops a service.
    public func terminate() { Foundation.kill(child.pid, SIGTERM) }
    /// SIGKILL: no chance to say goodbye.
    public func kill() {
        Foundation.kill(child.pid, SIGKILL)
        child.waitForExit(timeout: 5)
    }

    deinit { child.stop(grace: 5) }
}
