/// A value bound to, or read from, a fleet store's SQL: the types both SQLite and PostgreSQL store alike.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case bool(Bool)

    /// As the tests and logs show it: NULL, integers, doubles as Swift prints them, booleans as 0/1 (SQLite's view).
    public var text: String {
        switch self {
        case .null: "NULL"
        case .integer(let i): "\(i)"
        case .real(let d): "\(d)"
        case .text(let s): s
        case .bool(let b): b ? "1" : "0"
        }
    }
}

/// Optional Swift values as SQL values (nil is NULL).
protocol SQLBindable { var sqlValue: SQLValue { get } }
extension Int64: SQLBindable { var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension UInt64: SQLBindable { var sqlValue: SQLValue { .integer(Int64(bitPattern: self)) } }
extension Double: SQLBindable { var sqlValue: SQLValue { .real(self) } }
extension String: SQLBindable { var sqlValue: SQLValue { .text(self) } }
extension Bool: SQLBindable { var sqlValue: SQLValue { .bool(self) } }
extension Optional: SQLBindable where Wrapped: SQLBindable { var sqlValue: SQLValue { self?.sqlValue ?? .null } }

/// One result row: its columns in order, read by name.
public struct SQLRow: Sendable, Equatable {
    public var columns: [String]
    public var values: [SQLValue]
    public init(columns: [String], values: [SQLValue]) { self.columns = columns; self.values = values }

    subscript(_ column: String) -> SQLValue {
        guard let i = columns.firstIndex(of: column) else { return .null }
        return values[i]
    }
    /// Integers; SQLite also hands back booleans and whole doubles this way.
    func int(_ column: String) -> Int64? {
        switch self[column] {
        case .integer(let i): i
        case .bool(let b): b ? 1 : 0
        case .real(let d): Int64(exactly: d)
        default: nil
        }
    }
    func double(_ column: String) -> Double? {
        switch self[column] {
        case .real(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
    func bool(_ column: String) -> Bool? {
        switch self[column] {
        case .bool(let b): b
        case .integer(let i): i != 0
        default: nil
        }
    }
    func string(_ column: String) -> String? {
        if case .text(let s) = self[column] { return s }
        return nil
    }
    /// Columns the schema declares NOT NULL: a NULL or a wrong type there is a broken store, reported as such.
    func required<T>(_ column: String, _ read: (String) -> T?) throws -> T {
        guard let v = read(column) else { throw FleetStoreError("column \(column) holds \(self[column].text), not a \(T.self)") }
        return v
    }
}

/// Statements run inside one `FleetDatabase.read` or `write`; `?` marks each argument.
public protocol SQLSession {
    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    func fetch(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLSession {
    @discardableResult
    func execute(_ sql: String, _ arguments: any SQLBindable...) throws -> Int { try execute(sql, arguments.map { $0.sqlValue }) }
    func fetch(_ sql: String, _ arguments: any SQLBindable...) throws -> [SQLRow] { try fetch(sql, arguments.map { $0.sqlValue }) }
}

/// A fleet store reached through SQL (SQLite or PostgreSQL): the engine gives transactions, and everything
/// else — commit, load, retention, the API's and page's queries — is written once over `SQLSession`
/// (FleetDatabase+Commit.swift, FleetQueries.swift, FleetPageQueries.swift).
public protocol FleetDatabase: FleetStore {
    /// The file or the URL (without a password), for messages.
    var location: String { get }
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// Runs `body` on a consistent view of the store.
    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// The applied migrations' ids, oldest first.
    func appliedMigrations() throws -> [String]
}
