import Foundation
import Synchronization
import VigilTestSupport

/// Helpers of the systemd and packaging tests: the repository, commands run to completion, the agent
/// started with its own environment (NOTIFY_SOCKET …), and a real sd_notify datagram socket.
enum Repo {
    /// The package root (…/Tests/VigilIntegrationTests/ → …/).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func path(_ relative: String) -> String { root + "/" + relative }

    /// A fresh temporary directory, removed by the caller (or left to /tmp's cleaning).
    static func temporaryDirectory(_ tag: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(tag)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    static var isRoot: Bool { getuid() == 0 }
}

/// A command run to completion, its output captured in files (no pipe can fill up).
struct CommandResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }
    var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

enum Command {
    /// Runs `executable` (a path, or a name looked up in PATH) with `arguments`; nil when it is not installed.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: String? = nil) throws -> CommandResult? {
        guard let exe = which(executable) else { return nil }
        let dir = try Repo.temporaryDirectory("cmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let out = FileHandle(forWritingAtPath: dir + "/out")!, err = FileHandle(forWritingAtPath: dir + "/err")!
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        try? out.close(); try? err.close()
        return CommandResult(status: p.terminationStatus, stdout: Repo.read(dir + "/out") ?? "", stderr: Repo.read(dir + "/err") ?? "")
    }

    static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        let dirs: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for d in dirs where FileManager.default.isExecutableFile(atPath: "\(d)/\(name)") {
            return "\(d)/\(name)"
        }
        return nil
    }
}

/// The `vigil` binary under test (`$VIGIL_BIN`, else the newest .build/{release,debug}/vigil).
enum Vigil {
    static var binary: String { VigilProcess.binary }
}

/// `vigil run` as systemd would start it: with extra environment variables (NOTIFY_SOCKET,
/// WATCHDOG_USEC, …), an empty signal mask, stderr into a file. Stopped by its pid.
final class AgentUnderTest: @unchecked Sendable {
    let pid: pid_t
    let directory: String
    private var reaped: Int32?

    /// Starts `vigil run --config <dir>/vigil.yaml` with `yaml`, whose `@DIR@` becomes the directory.
    /// An environment value `@STDERR_STREAM@` becomes `DEVICE:INODE` of the agent's stderr file, as
    /// systemd sets `JOURNAL_STREAM` for the journal's stream socket.
    init(yaml: String, environment: [String: String], arguments: [String] = []) throws {
        directory = try Repo.temporaryDirectory("agent")
        let config = directory + "/vigil.yaml"
        try yaml.replacingOccurrences(of: "@DIR@", with: directory).write(toFile: config, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: directory + "/stderr.log", contents: nil)
        var st = stat()
        stat(directory + "/stderr.log", &st)
        let environment = environment.mapValues { $0 == "@STDERR_STREAM@" ? "\(st.st_dev):\(st.st_ino)" : $0 }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer { posix_spawn_file_actions_destroy(&actions); posix_spawnattr_destroy(&attributes) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/stderr.log", O_WRONLY | O_APPEND, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let exe = Vigil.binary
        let argv: [UnsafeMutablePointer<CChar>?] = ([exe, "run", "--config", config] + arguments).map { strdup($0) } + [nil]
        // The test process's own NOTIFY_SOCKET/WATCHDOG_* (a CI job under systemd) must not leak in.
        var env = ProcessInfo.processInfo.environment.filter { !["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "VIGIL_TEST_HANG_AFTER"].contains($0.key) }
        env.merge(environment) { $1 }
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw TestSupportError("posix_spawn \(exe): \(String(cString: strerror(rc)))") }
        pid = child
    }

    var stderr: String { Repo.read(directory + "/stderr.log") ?? "" }

    func terminate() { kill(pid, SIGTERM) }

    /// Waits up to `timeout` seconds for the exit; returns the exit status (or 128+signal), nil on timeout.
    @discardableResult
    func waitForExit(timeout: Double) -> Int32? {
        if let r = reaped { return r }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                reaped = code
                return code
            }
            usleep(20_000)
        }
        return nil
    }

    deinit {
        if reaped == nil {
            kill(pid, SIGTERM)
            if waitForExit(timeout: 8) == nil { kill(pid, SIGKILL); waitForExit(timeout: 5) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A real `AF_UNIX` datagram socket standing in for systemd's notification socket: a path in a
/// temporary directory, or an abstract name (`@…`). A thread records every datagram with its time.
final class NotifySocketListener: @unchecked Sendable {
    /// What goes into `$NOTIFY_SOCKET`.
    let name: String
    private let fd: Int32
    private let received = Mutex<[(seconds: Double, message: String)]>([])
    private let started = Date()
    private var thread: Thread?
    private let closed = Atomic<Bool>(false)

    init(abstract: Bool) throws {
        let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        fd = s
        let id = UUID().uuidString.prefix(12)
        name = abstract ? "@vigil-test/\(id)" : (try Repo.temporaryDirectory("notify")) + "/notify.sock"
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        var length = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            if abstract {
                p[0] = 0
                for (i, b) in bytes.dropFirst().enumerated() { p[i + 1] = b }
            } else {
                for (i, b) in bytes.enumerated() { p[i] = b }
            }
        }
        length += abstract ? bytes.count : bytes.count + 1
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(length)) } }
        guard rc == 0 else { close(s); throw TestSupportError("bind \(name): \(String(cString: strerror(errno)))") }
        let t = Thread { [unowned self] in self.receiveLoop() }
        thread = t
        t.start()
    }

    private func receiveLoop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !closed.load(ordering: .acquiring) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                let message = String(decoding: buffer[0..<n], as: UTF8.self)
                let t = Date().timeIntervalSince(started)
                received.withLock { $0.append((t, message)) }
            }
        }
    }

    /// Every datagram so far, with seconds since the listener started.
    var messages: [(seconds: Double, message: String)] { received.withLock { $0 } }

    /// Waits until `condition` holds for the messages so far, up to `timeout` seconds.
    @discardableResult
    func wait(timeout: Double, until condition: ([(seconds: Double, message: String)]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(messages) { return true }
            usleep(20_000)
        }
        return condition(messages)
    }

    var elapsed: Double { Date().timeIntervalSince(started) }

    deinit {
        closed.store(true, ordering: .releasing)
        usleep(100_000)
        close(fd)
        if !name.hasPrefix("@") { try? FileManager.default.removeItem(atPath: (name as NSString).deletingLastPathComponent) }
    }
}
