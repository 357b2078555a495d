import Foundation
import Synchronization

/// What went wrong starting or talking to a helper process.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A child process started with `posix_spawn` and stopped by its pid: SIGTERM, a bounded wait, then SIGKILL.
///
/// Not Foundation's `Process`: test threads block most signals and a spawned child inherits that mask,
/// so it would never see SIGTERM. Here the child starts with an empty mask and default handlers.
final class ChildProcess: Sendable {
    let pid: Int32
    let name: String
    /// The raw `waitpid` status once the child has been reaped.
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments`. `stdout`/`stderr` may be a `Pipe` (its write end is given to
    /// the child; close yours afterwards) or a `FileHandle`; nil means /dev/null. Stdin is /dev/null.
    /// `environment` entries are added to (or replace) this process's environment.
    init(_ executable: String, _ arguments: [String], stdout: Any? = nil, stderr: Any? = nil,
         environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestSupportError("\(executable) is not installed")
        }
        // Foundation opens pipes without FD_CLOEXEC: mark ours so later children do not inherit them
        // (an inherited write end would keep a reader from ever seeing end of file).
        func descriptor(_ target: Any?) -> Int32? {
            switch target {
            case let pipe as Pipe:
                _ = fcntl(pipe.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
                _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
                return pipe.fileHandleForWriting.fileDescriptor
            case let handle as FileHandle:
                _ = fcntl(handle.fileDescriptor, F_SETFD, FD_CLOEXEC)
                return handle.fileDescriptor
            default:
                return nil
            }
        }

        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t?
        var attributes: posix_spawnattr_t?
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (target, fd) in [(stdout, Int32(1)), (stderr, Int32(2))] {
            if let source = descriptor(target) {
                posix_spawn_file_actions_adddup2(&actions, source, fd)
            } else {
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            }
        }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] =
            ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw TestSupportError("posix_spawn \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        name = (executable as NSString).lastPathComponent
    }

    /// Reaps the child if it has exited (never blocks).
    var isRunning: Bool {
        reaped.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            let rc = waitpid(pid, &raw, WNOHANG)
            if rc == pid { status = raw; return false }
            // ECHILD: someone else reaped it; treat as gone.
            if rc < 0 && errno == ECHILD { status = 0; return false }
            return true
        }
    }

    /// Exit code, or the signal number if a signal ended it (as Foundation reports it); -1 while running.
    var exitStatus: Int32 {
        guard !isRunning, let raw = reaped.withLock({ $0 }) else { return -1 }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : signal
    }

    /// Waits up to `timeout` seconds for the child to exit by itself.
    @discardableResult
    func waitForExit(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() >= deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// SIGTERM, up to `grace` seconds, then SIGKILL; returns once the child is gone (bounded).
    func stop(grace: Double = 3) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        kill(pid, SIGCONT) // a paused child handles SIGTERM only once resumed
        if waitForExit(timeout: grace) { return }
        kill(pid, SIGKILL)
        waitForExit(timeout: 5)
    }

    deinit {
        stop(grace: 1)
    }
}

/// Runs a short-lived tool to completion, killing it after `timeout` seconds. Returns its exit status.
@discardableResult
func runTool(_ executable: String, _ arguments: [String], timeout: Double = 5) throws -> Int32 {
    let child = try ChildProcess(executable, arguments)
    if !child.waitForExit(timeout: timeout) {
        child.stop(grace: 0.5)
        throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
    }
    return child.exitStatus
}

/// Lines read from a file descriptor on a background thread, kept for the test to inspect.
final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    private let ended = Mutex(false)

    /// The writer closed its end and every line has been read.
    var isFinished: Bool { ended.withLock { $0 } }

    /// Waits up to `timeout` seconds for end of file (after the writing process exited, its last lines).
    @discardableResult
    func waitUntilFinished(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isFinished {
            if Date() >= deadline { return false }
            usleep(2_000)
        }
        return true
    }

    /// Reads `handle` until end of file; closes it then.
    func collect(from handle: FileHandle) {
        let fd = handle.fileDescriptor
        Thread.detachNewThread { [self] in
            var pending = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                pending.append(contentsOf: buffer[0..<n])
                var complete: [String] = []
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    complete.append(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                if !complete.isEmpty { lines.withLock { $0.append(contentsOf: complete) } }
            }
            if !pending.isEmpty { lines.withLock { $0.append(String(decoding: pending, as: UTF8.self)) } }
            try? handle.close()
            ended.withLock { $0 = true }
        }
    }

    var snapshot: [String] { lines.withLock { $0 } }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close).
public func freeLocalPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestSupportError("bind: \(String(cString: strerror(errno)))") }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    guard named == 0 else { throw TestSupportError("getsockname: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
public func localPortAccepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return rc == 0
}

/// Runs a tool to completion with standard output and error going to `outputFile`, killing it after
/// `timeout` seconds. Returns its exit status and the output's lines.
public func runToolCapturing(_ executable: String, _ arguments: [String], outputFile: String,
                             timeout: Double, environment: [String: String] = [:]) throws -> (status: Int32, lines: [String]) {
    FileManager.default.createFile(atPath: outputFile, contents: nil)
    guard let out = FileHandle(forWritingAtPath: outputFile) else { throw TestSupportError("cannot write \(outputFile)") }
    let child = try ChildProcess(executable, arguments, stdout: out, stderr: out, environment: environment)
    try? out.close()
    let finished = child.waitForExit(timeout: timeout)
    if !finished { child.stop(grace: 5) }
    let text = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
    if !finished {
        throw TestSupportError("\(executable) did not finish in \(timeout) s; its output: \(outputFile)")
    }
    return (child.exitStatus, text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
}
