import Foundation

/// Debian's Chromium, headless, as a child process per page: `--dump-dom` gives the DOM after the page's
/// scripts ran, `--screenshot` a PNG. Each call gets a fresh profile in a temporary directory.
/// `VIGIL_BROWSER_TESTS=required` (set by `make test`) turns a missing browser into a failure, not a skip.
public enum HeadlessChromium {
    public static var binary: String? {
        let candidates = [ProcessInfo.processInfo.environment["VIGIL_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    public static var required: Bool { ProcessInfo.processInfo.environment["VIGIL_BROWSER_TESTS"] == "required" }
    /// Run the browser tests: chromium is there, or it must be (and its absence fails them).
    public static var shouldRun: Bool { binary != nil || required }

    /// The serialized DOM of `url` once loaded.
    public static func dumpDOM(_ url: String) throws -> String {
        try run(["--dump-dom", url], name: "dom")
    }

    /// A `width`×`height` PNG of `url` at `path`.
    public static func screenshot(_ url: String, to path: String, width: Int = 1280, height: Int = 900) throws {
        try run(["--screenshot=\(path)", "--window-size=\(width),\(height)", "--hide-scrollbars", url], name: "shot")
        guard FileManager.default.fileExists(atPath: path) else { throw TestSupportError("chromium wrote no screenshot at \(path)") }
    }

    @discardableResult
    private static func run(_ arguments: [String], name: String) throws -> String {
        guard let binary else {
            throw TestSupportError("chromium is not installed (apt-get install chromium, or make deps-test) and VIGIL_BROWSER_TESTS=required")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-chromium-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outPath = dir.appendingPathComponent("\(name).out").path, errPath = dir.appendingPathComponent("\(name).err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            throw TestSupportError("cannot write in \(dir.path)")
        }
        // Root (CI containers) needs --no-sandbox; the profile stays in the temporary directory.
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                     "--user-data-dir=\(dir.appendingPathComponent("profile").path)"]
        let child = try ChildProcess(binary, flags + arguments, stdout: out, stderr: err)
        try? out.close()
        try? err.close()
        guard child.waitForExit(timeout: 60) else {
            child.stop(grace: 2)
            throw TestSupportError("chromium \(arguments.joined(separator: " ")) did not finish in 60 s")
        }
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        guard child.exitStatus == 0 else {
            let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw TestSupportError("chromium exited with \(child.exitStatus): \(errors.suffix(2000))")
        }
        return text
    }
}

/// `curl -sN URL` in the background, its output in a file: a long-lived response (server-sent events) as it arrives.
public final class StreamingGet: Sendable {
    private let child: ChildProcess
    public let outputPath: String

    public init(_ url: String) throws {
        outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-stream-\(UUID().uuidString.prefix(8)).txt").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        guard let out = FileHandle(forWritingAtPath: outputPath) else { throw TestSupportError("cannot write \(outputPath)") }
        child = try ChildProcess("/usr/bin/curl", ["-sN", url], stdout: out)
        try? out.close()
    }

    public var text: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    public var isRunning: Bool { child.isRunning }
    public func waitForExit(timeout: Double) -> Bool { child.waitForExit(timeout: timeout) }

    deinit {
        child.stop(grace: 2)
        try? FileManager.default.removeItem(atPath: outputPath)
    }
}
