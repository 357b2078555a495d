import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL from Debian's `postgresql` package (`initdb`, `pg_ctl` under /usr/lib/postgresql/*/bin):
/// a cluster in a temporary directory, on 127.0.0.1 and a free port, unix sockets in that directory, trust
/// authentication for the user `vigil`. Stopped (`pg_ctl stop -m immediate`) and removed by `stop()`, when
/// released, and at the test process's exit. PostgreSQL refuses to run as root: as root (CI containers) the
/// cluster belongs to the `postgres` user Debian's package creates, and its tools run through `runuser`.
/// `VIGIL_POSTGRES_TESTS=required` (set by `make test`) turns a missing PostgreSQL into a failure, not a skip.
public final class PostgresServer: @unchecked Sendable {
    public let host = "127.0.0.1"
    public let port: Int
    public let user = "vigil"
    public let directory: URL
    private let bin: String
    private var stopped = false
    private let lock = NSLock()

    public static var required: Bool { ProcessInfo.processInfo.environment["VIGIL_POSTGRES_TESTS"] == "required" }
    /// Run the PostgreSQL tests: it is installed, or it must be (and its absence fails them).
    public static var shouldRun: Bool { binDirectory != nil || required }
    public static let missing = "PostgreSQL is not installed: apt-get install postgresql (make test installs it and sets VIGIL_POSTGRES_TESTS=required)"

    /// The newest /usr/lib/postgresql/<version>/bin holding initdb (or VIGIL_POSTGRES_BIN).
    public static var binDirectory: String? {
        if let dir = ProcessInfo.processInfo.environment["VIGIL_POSTGRES_BIN"] { return dir }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }

    /// The user the cluster runs as when the tests run as root.
    private static let rootRunsAs = "postgres"

    /// One server for the whole test process, started on first use, stopped at exit.
    public static func shared() throws -> PostgresServer {
        try sharedServer.withLock { server in
            if let server { return server }
            let s = try PostgresServer()
            server = s
            atexit { PostgresServer.stopShared() }
            return s
        }
    }
    private static let sharedServer = SharedBox()
    private static func stopShared() { sharedServer.withLock { $0?.stop() } }

    /// initdb, then pg_ctl start (waiting until it accepts connections); `settings` are extra `-c` options.
    public init(settings: [String: String] = [:]) throws {
        guard let bin = Self.binDirectory else { throw TestSupportError(Self.missing) }
        self.bin = bin
        port = try freeLocalPort()
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("vigil-pg-\(port)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if getuid() == 0 {
            guard let pw = getpwnam(Self.rootRunsAs) else {
                throw TestSupportError("running as root, PostgreSQL needs the '\(Self.rootRunsAs)' user (created by Debian's postgresql package)")
            }
            guard chown(directory.path, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else {
                throw TestSupportError("cannot chown \(directory.path) to \(Self.rootRunsAs): errno \(errno)")
            }
        }
        let data = directory.appendingPathComponent("data").path
        try tool("initdb", ["-D", data, "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], timeout: 120)
        var options = ["listen_addresses='\(host)'", "port=\(port)", "unix_socket_directories='\(directory.path)'",
                       "max_connections=50", "fsync=off"]
        options += settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let o = options.map { "-c \($0)" }.joined(separator: " ")
        try tool("pg_ctl", ["-D", data, "-l", directory.appendingPathComponent("server.log").path, "-o", o, "-w", "-t", "120", "start"],
                 timeout: 150)
    }

    deinit { stop() }

    /// The server's log so far.
    public var log: String { (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    /// A new, empty database; returns its name.
    public func createDatabase(_ prefix: String = "t") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try tool("createdb", ["-h", host, "-p", "\(port)", "-U", user, name], timeout: 60)
        return name
    }

    /// `postgres://vigil@127.0.0.1:PORT/DATABASE`.
    public func url(_ database: String) -> String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// Rows of `sql` in `database`, each as its columns' text (psql's unaligned output: NULL as "NULL").
    public func rows(_ database: String, _ sql: String) throws -> [[String]] {
        let out = directory.appendingPathComponent("psql-\(UUID().uuidString.prefix(6)).out").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (status, _) = try runToolCapturing("\(bin)/psql", ["-h", host, "-p", "\(port)", "-U", user, "-d", database, "-X", "-q", "-A", "-t",
                                                         "-F", "\u{1F}", "-P", "null=NULL", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                          outputFile: out, timeout: 60)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestSupportError("psql \(sql): exit \(status): \(text)") }
        return text.split(separator: "\n").map { $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init) }
    }

    public func stop() {
        lock.lock(); defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        _ = try? tool("pg_ctl", ["-D", directory.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"], timeout: 60)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a PostgreSQL tool, as `postgres` through runuser when root; throws on a non-zero exit with its output.
    private func tool(_ name: String, _ arguments: [String], timeout: Double) throws {
        let (executable, args) = getuid() == 0
            // From the cluster's directory: PostgreSQL's tools fail where `postgres` cannot read the working directory.
            ? ("/usr/sbin/runuser", ["-u", Self.rootRunsAs, "--", "/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory.path,
                                     "\(bin)/\(name)"] + arguments)
            : ("\(bin)/\(name)", arguments)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pg-\(name)-\(UUID().uuidString.prefix(6)).out").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (status, _) = try runToolCapturing(executable, args, outputFile: out, timeout: timeout)
        guard status == 0 else {
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            throw TestSupportError("\(name) \(arguments.joined(separator: " ")) exited with \(status): \(text)\n\(log.suffix(2000))")
        }
    }
}

/// The shared server, behind a lock.
private final class SharedBox: @unchecked Sendable {
    private var server: PostgresServer?
    private let lock = NSLock()
    func withLock<T>(_ body: (inout PostgresServer?) throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body(&server)
    }
}
