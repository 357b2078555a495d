/// `postgres://USER@HOST[:PORT]/DATABASE` (or `postgresql://`): where the shared store is. A password never
/// belongs here (command lines are visible to every user of the machine): it comes from a file.
public struct PostgresStoreURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String

    public init(user: String, host: String, port: Int = 5432, database: String) {
        self.user = user; self.host = host; self.port = port; self.database = database
    }

    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }

    /// Whether `text` names a PostgreSQL store at all (its errors are then the URL's).
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The URL, or why it is not one. Errors never repeat what follows a ':' in the user part (a password).
    public static func parse(_ text: String) -> Result<PostgresStoreURL, FleetStoreError> {
        let form = "postgres://USER@HOST[:PORT]/DATABASE"
        guard let scheme = ["postgresql://", "postgres://"].first(where: { text.hasPrefix($0) }) else {
            return .failure(FleetStoreError("not \(form)"))
        }
        let rest = text.dropFirst(scheme.count)
        guard let at = rest.lastIndex(of: "@") else { return .failure(FleetStoreError("no user: \(form)")) }
        let user = String(rest[..<at])
        if user.contains(":") {
            return .failure(FleetStoreError("a password does not belong in the URL: put it in a file named by --store-password-file"))
        }
        guard !user.isEmpty else { return .failure(FleetStoreError("no user: \(form)")) }
        let afterUser = rest[rest.index(after: at)...]
        guard !afterUser.contains("?") else { return .failure(FleetStoreError("'\(afterUser)': options (?…) are not supported: \(form)")) }
        guard let slash = afterUser.firstIndex(of: "/") else { return .failure(FleetStoreError("no database: \(form)")) }
        let database = String(afterUser[afterUser.index(after: slash)...])
        guard !database.isEmpty, !database.contains("/") else { return .failure(FleetStoreError("'\(database)' is not a database name: \(form)")) }
        var hostPort = afterUser[..<slash]
        let host: Substring
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return .failure(FleetStoreError("'\(hostPort)': no ']' after an IPv6 host")) }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            hostPort = hostPort[hostPort.index(after: close)...]
        } else {
            host = hostPort.prefix { $0 != ":" }
            hostPort = hostPort.dropFirst(host.count)
        }
        guard !host.isEmpty else { return .failure(FleetStoreError("no host: \(form)")) }
        var port = 5432
        if !hostPort.isEmpty {
            guard hostPort.hasPrefix(":"), let p = Int(hostPort.dropFirst()), (1...65535).contains(p) else {
                return .failure(FleetStoreError("port '\(hostPort.dropFirst())' is not 1 to 65535"))
            }
            port = p
        }
        return .success(PostgresStoreURL(user: user, host: String(host), port: port, database: database))
    }
}
