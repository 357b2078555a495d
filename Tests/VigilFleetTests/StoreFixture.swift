import Foundation
import Testing
import VigilFleet
import VigilTestSupport

/// The two stores the same tests run against.
enum StoreKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// A fresh, empty store of one kind: a SQLite file in a temporary directory, or a new database on the test
/// process's PostgreSQL (`PostgresServer.shared()`, started on first use).
final class StoreFixture {
    let kind: StoreKind
    let store: any FleetDatabase
    /// Opens the same store again (a receiver restarting).
    let reopen: () throws -> any FleetDatabase
    private let file: TemporaryDatabase?

    init(_ kind: StoreKind) throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            let file = try TemporaryDatabase()
            self.file = file
            reopen = { try SQLiteFleetStore(path: file.path) }
        case .postgres:
            let server = try PostgresServer.shared()
            let url = PostgresStoreURL(user: server.user, host: server.host, port: server.port, database: try server.createDatabase())
            file = nil
            reopen = { try PostgresFleetStore(url: url, password: nil) }
        }
        store = try reopen()
    }

    /// Rows of `sql` as arrays of their columns' text (NULL as "NULL", booleans as 0/1), read through the store.
    func rows(_ sql: String) throws -> [[String]] {
        try store.read { db in try db.fetch(sql, []).map { $0.values.map(\.text) } }
    }
}
