import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The shared store: one PostgreSQL database that several receivers (one `--group`) write at once.
///
/// The receiver is synchronous on its own thread, so this store is too: each call sends its queries on a
/// connection of the store's own event loop and waits for the answers (never on that loop's thread).
/// One connection writes (the receiver's, one transaction per batch, committed before any PUBACK), one
/// reads (the API and the page); each is used by one caller at a time and reopened when it broke.
public final class PostgresFleetStore: FleetDatabase, @unchecked Sendable {
    public let url: PostgresStoreURL
    public var location: String { url.description }
    private let password: String?
    private let events: MultiThreadedEventLoopGroup
    private let writer: Connection
    private let reader: Connection
    /// Any fixed number: receivers starting together migrate one at a time.
    static let migrationLock: Int64 = 0x5649_4749_4C5F_4D31

    /// Connects and applies the migrations the database lacks (`fleet_migrations` lists the applied ones).
    public init(url: PostgresStoreURL, password: String?) throws {
        self.url = url
        self.password = password
        events = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        writer = Connection(); reader = Connection()
        do {
            try migrate()
        } catch {
            throw FleetStoreError("cannot open the fleet database \(url): \(Self.describe(error))")
        }
    }

    deinit {
        for c in [writer, reader] { if let open = c.open { _ = try? open.close().wait() } }
        try? events.syncShutdownGracefully()
    }

    private func migrate() throws {
        try writer.use(self) { s in
            try s.execute("SELECT pg_advisory_lock(?)", [.integer(Self.migrationLock)])
            defer { _ = try? s.execute("SELECT pg_advisory_unlock(?)", [.integer(Self.migrationLock)]) }
            try s.execute("CREATE TABLE IF NOT EXISTS fleet_migrations (id TEXT PRIMARY KEY, applied_ns BIGINT NOT NULL)", [])
            let applied = Set(try s.fetch("SELECT id FROM fleet_migrations", []).map { $0["id"].text })
            for m in FleetSchema.migrations where !applied.contains(m.id) {
                try s.transaction {
                    for statement in m.statements { try s.execute(statement, []) }
                    try s.execute("INSERT INTO fleet_migrations (id, applied_ns) VALUES (?, ?)", [.text(m.id), .integer(Clock.wallNanos())])
                }
            }
        }
    }

    public func appliedMigrations() throws -> [String] {
        try read { db in try db.fetch("SELECT id FROM fleet_migrations ORDER BY applied_ns, id", []).map { $0["id"].text } }
    }

    public func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try writer.use(self) { s in try s.transaction { try body(s) } }
    }

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try reader.use(self) { s in
            try s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [])
            do {
                let value = try body(s)
                try s.execute("COMMIT", [])
                return value
            } catch {
                _ = try? s.execute("ROLLBACK", [])
                throw error
            }
        }
    }

    fileprivate func connect() throws -> PostgresConnection {
        let config = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: password,
                                                      database: url.database, tls: .disable)
        return try PostgresConnection.connect(on: events.next(), configuration: config, id: 1,
                                              logger: Logger(label: "vigil-fleet.postgres")).wait()
    }

    /// The server's code and message for a PostgreSQL error (postgres-nio's own text hides them).
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let info = e.serverInfo {
                return "PostgreSQL \(info[.sqlState] ?? "?"): \(info[.message] ?? "")"
            }
            return "\(e.code)" + (e.underlying.map { ": \($0)" } ?? "")
        }
        if let e = error as? FleetStoreError { return e.description }
        return "\(error)"
    }

    /// One connection, used by one caller at a time, opened on first use and again after it broke.
    fileprivate final class Connection: @unchecked Sendable {
        private let gate = DispatchGate()
        var open: PostgresConnection?

        func use<T>(_ store: PostgresFleetStore, _ body: (PostgresSession) throws -> T) throws -> T {
            gate.lock(); defer { gate.unlock() }
            if open?.isClosed ?? true { open = try store.connect() }
            return try body(PostgresSession(connection: open!))
        }
    }
}

/// A pthread mutex: blocking is what the callers (the receiver's thread, the API's reads) expect.
private final class DispatchGate: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
}

/// Statements on one connection; errors carry PostgreSQL's code and message.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    private static let logger = Logger(label: "vigil-fleet.postgres")

    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN", [])
        do {
            let value = try body()
            try execute("COMMIT", [])
            return value
        } catch {
            if !connection.isClosed { _ = try? execute("ROLLBACK", []) }
            throw error
        }
    }

    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.count)
        for a in arguments {
            switch a {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let d): binds.append(d)
            case .text(let s): binds.append(s)
            case .bool(let b): binds.append(b)
            }
        }
        do {
            return try connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds), logger: Self.logger).wait()
        } catch {
            throw FleetStoreError(PostgresFleetStore.describe(error))
        }
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func fetch(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try run(sql, arguments).rows.map { row in
            var columns: [String] = [], values: [SQLValue] = []
            for cell in row {
                columns.append(cell.columnName)
                values.append(try Self.value(cell))
            }
            return SQLRow(columns: columns, values: values)
        }
    }

    private static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8, .int4, .int2: return .integer(try cell.decode(Int64.self))
        case .float8, .float4: return .real(try cell.decode(Double.self))
        case .bool: return .bool(try cell.decode(Bool.self))
        default: return .text(try cell.decode(String.self))
        }
    }

    /// The shared SQL marks arguments with `?`; PostgreSQL numbers them ($1, $2, …). No statement of the
    /// store has a `?` inside a string literal, but quotes are honoured anyway.
    static func numbered(_ sql: String) -> String {
        var out = "", n = 0, quoted = false
        out.reserveCapacity(sql.utf8.count + 16)
        for c in sql {
            if c == "'" { quoted.toggle() }
            if c == "?" && !quoted { n += 1; out += "$\(n)" } else { out.append(c) }
        }
        return out
    }
}
