#if canImport(Glibc)
import Glibc
#endif

/// systemd's service notification protocol (`sd_notify(3)`), spoken directly: each message is one
/// datagram of `KEY=VALUE` lines sent to the `AF_UNIX` socket named by `$NOTIFY_SOCKET` — a file
/// system path, or an abstract socket name when it starts with `@`.
///
/// Without `$NOTIFY_SOCKET` (not started by systemd, or not `Type=notify`) every call does nothing,
/// so `vigil run` behaves the same in a shell, in a container and under systemd.
public final class SystemdNotifier: Sendable {
    /// The socket's address as given (`/run/systemd/notify`, `@/org/freedesktop/…`), or nil.
    public let socketName: String?
    /// Why notifications are off although `$NOTIFY_SOCKET` is set (an address this code cannot use).
    public let problem: String?
    private let fd: Int32
    private let address: [UInt8]

    /// Reads `$NOTIFY_SOCKET` from `environment`.
    public init(environment: [String: String]) {
        let name = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketName = name
        guard let name else { fd = -1; address = []; problem = nil; return }
        guard let addr = Self.socketAddress(for: name) else {
            fd = -1; address = []
            problem = "NOTIFY_SOCKET '\(name)' is neither an absolute path nor an abstract name (@…) of at most \(Self.maxPath) bytes"
            return
        }
        let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if s < 0 {
            fd = -1; address = []
            problem = "socket(AF_UNIX, SOCK_DGRAM): \(String(cString: strerror(errno)))"
            return
        }
        fd = s
        address = addr
        problem = nil
    }

    /// Reads `$NOTIFY_SOCKET` from the process environment.
    public convenience init() {
        self.init(environment: processEnvironment(["NOTIFY_SOCKET"]))
    }

    deinit { if fd >= 0 { close(fd) } }

    /// True when messages go somewhere.
    public var isEnabled: Bool { fd >= 0 }

    /// Sends `state` (newline-separated `KEY=VALUE` assignments) as one datagram, like
    /// `sd_notify(0, state)`. Returns false when notifications are off or `sendto(2)` failed.
    @discardableResult
    public func send(_ state: String) -> Bool {
        guard fd >= 0 else { return false }
        var bytes = Array(state.utf8)
        var addr = address
        let sent = addr.withUnsafeMutableBytes { a in
            bytes.withUnsafeMutableBytes { b in
                retryOnInterrupt {
                    sendto(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL),
                           a.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(a.count))
                }
            }
        }
        return sent == bytes.count
    }

    /// `READY=1`: start-up is finished (config loaded, sources started, uplink running or retrying).
    @discardableResult
    public func ready(status: String? = nil) -> Bool { send(Self.join("READY=1", status)) }

    /// `STATUS=…`: one line shown by `systemctl status`.
    @discardableResult
    public func status(_ text: String) -> Bool { send("STATUS=" + Self.oneLine(text)) }

    /// `WATCHDOG=1`: the service is alive; systemd restarts it when these stop for `WatchdogSec=`.
    @discardableResult
    public func watchdog() -> Bool { send("WATCHDOG=1") }

    /// `STOPPING=1`: the service is shutting down (on SIGTERM).
    @discardableResult
    public func stopping(status: String? = nil) -> Bool { send(Self.join("STOPPING=1", status)) }

    private static func join(_ first: String, _ status: String?) -> String {
        guard let status else { return first }
        return first + "\nSTATUS=" + oneLine(status)
    }

    private static func oneLine(_ s: String) -> String {
        String(s.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }

    /// Longest name that fits `sockaddr_un.sun_path` (108 bytes on Linux) with its terminator.
    static let maxPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// The bytes of a `sockaddr_un` for `name` and their length: a path is NUL-terminated; an
    /// abstract name (`@x`) starts with a NUL byte instead of `@` and is not terminated.
    static func socketAddress(for name: String) -> [UInt8]? {
        let utf8 = Array(name.utf8)
        let abstract = utf8.first == UInt8(ascii: "@")
        guard abstract || utf8.first == UInt8(ascii: "/"), utf8.count >= 2 || !abstract, utf8.count <= maxPath,
              !utf8.contains(0) else { return nil }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        var out = [UInt8](repeating: 0, count: pathOffset)
        withUnsafeBytes(of: sa_family_t(AF_UNIX)) { out.replaceSubrange(0..<$0.count, with: $0) }
        if abstract {
            out.append(0)
            out += utf8.dropFirst()
        } else {
            out += utf8
            out.append(0)
        }
        return out
    }

    /// The interval at which `WATCHDOG=1` should be sent: half of `$WATCHDOG_USEC`, in nanoseconds.
    /// Nil when systemd expects no pings: unset or zero, or `$WATCHDOG_PID` names another process.
    public static func watchdogInterval(environment: [String: String], pid: Int32 = getpid()) -> Int64? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let p = environment["WATCHDOG_PID"], !p.isEmpty, Int32(p) != pid { return nil }
        let half = usec / 2
        return half > UInt64(Int64.max / 1000) ? Int64.max : Int64(half) * 1000
    }
}

/// `environment` as a dictionary of the named variables that are set.
func processEnvironment(_ names: [String]) -> [String: String] {
    var out: [String: String] = [:]
    for n in names { if let v = getenv(n) { out[n] = String(cString: v) } }
    return out
}

@inline(__always)
private func retryOnInterrupt(_ body: () -> Int) -> Int {
    while true {
        let r = body()
        if r >= 0 || errno != EINTR { return r }
    }
}
