import Foundation
import VigilFleet

/// Which store the options name: `--db FILE` (SQLite, the default) or `--store postgres://…` with its
/// password from `--store-password-file`.
enum StoreChoice {
    case sqlite(path: String)
    case postgres(PostgresStoreURL, password: String?)

    static let defaultDB = "/var/lib/vigil-fleet/fleet.db"

    func open() throws -> any FleetDatabase {
        switch self {
        case .sqlite(let path): return try SQLiteFleetStore(path: path)
        case .postgres(let url, let password): return try PostgresFleetStore(url: url, password: password)
        }
    }
}

extension VigilFleetCommand {
    /// `db` is the SQLite file from --db or the config file, nil when neither gives one.
    func storeChoice(db: String?) -> Result<StoreChoice, OptionError> {
        guard let store else {
            if storePasswordFile != nil { return .failure(OptionError("--store-password-file: only with --store postgres://…")) }
            return .success(.sqlite(path: db ?? StoreChoice.defaultDB))
        }
        if db != nil { return .failure(OptionError("--db and --store: one store, not both")) }
        // The URL is echoed only when it cannot hold a password.
        guard PostgresStoreURL.isPostgres(store) else {
            return .failure(OptionError("--store: \(store.contains("@") ? "the URL" : "'\(store)'") is not postgres://USER@HOST[:PORT]/DATABASE"))
        }
        let url: PostgresStoreURL
        switch PostgresStoreURL.parse(store) {
        case .success(let u): url = u
        case .failure(let why): return .failure(OptionError("--store: \(why)"))
        }
        guard let file = storePasswordFile else { return .success(.postgres(url, password: nil)) }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            return .failure(OptionError("--store-password-file: cannot read \(file)"))
        }
        let password = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !password.isEmpty else { return .failure(OptionError("--store-password-file: \(file) is empty")) }
        return .success(.postgres(url, password: password))
    }
}
