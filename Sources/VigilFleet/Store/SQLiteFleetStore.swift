import GRDB

/// The embedded store: one SQLite file in WAL mode through GRDB, one transaction per batch,
/// `synchronous = FULL` so that a committed batch survives a power cut (the receiver acknowledges
/// messages to the broker only after their batch is committed).
public final class SQLiteFleetStore: FleetDatabase {
    public let path: String
    let pool: DatabasePool
    public var location: String { path }

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            for m in FleetSchema.migrations {
                migrator.registerMigration(m.id) { db in
                    for statement in m.statements { try db.execute(sql: statement) }
                }
            }
            try migrator.migrate(pool)
        } catch {
            throw FleetStoreError("cannot open the fleet database \(path): \(error)")
        }
    }

    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") }
    }

    public func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try pool.write { db in try body(SQLiteSession(db: db)) }
    }

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try pool.read { db in try body(SQLiteSession(db: db)) }
    }
}

/// Statements through GRDB's statement cache (the same few statements run for every message).
private struct SQLiteSession: SQLSession {
    let db: Database

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func fetch(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: Self.arguments(arguments)).map { row in
            SQLRow(columns: Array(row.columnNames), values: row.databaseValues.map { v in
                switch v.storage {
                case .null: .null
                case .int64(let i): .integer(i)
                case .double(let d): .real(d)
                case .string(let s): .text(s)
                case .blob(let b): .text(String(decoding: b, as: UTF8.self))
                }
            })
        }
    }

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { v -> (any DatabaseValueConvertible)? in
            switch v {
            case .null: nil
            case .integer(let i): i
            case .real(let d): d
            case .text(let s): s
            case .bool(let b): b
            }
        })
    }
}
