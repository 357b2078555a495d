import Dispatch
import Synchronization
import HummingbirdBcrypt
import VigilFleetCore

/// What a credential may do: `read` sees the page and the API; `write` may also acknowledge an open anomaly.
public enum FleetRole: String, Sendable, Comparable, CaseIterable {
    case read, write
    public static func < (a: FleetRole, b: FleetRole) -> Bool { a == .read && b == .write }
}

/// Who made a request: a user or token name and its role.
public struct FleetCaller: Sendable, Equatable {
    public var name: String
    public var role: FleetRole
    public init(name: String, role: FleetRole) { self.name = name; self.role = role }
}

/// The page's and API's credentials, read from files (never from the command line): users with bcrypt
/// password hashes (`NAME:ROLE:$2b$…`) and bearer tokens (`NAME:ROLE:TOKEN`), one a line, `#` comments.
/// Nothing here logs or prints a hash, a password or a token.
public struct FleetCredentials: Sendable {
    struct User: Sendable { var role: FleetRole; var hash: String }
    struct Token: Sendable { var name: String; var role: FleetRole; var secret: [UInt8] }
    var users: [String: User] = [:]
    var tokens: [Token] = []

    public static let minimumTokenBytes = 32

    public init() {}
    public var isEmpty: Bool { users.isEmpty && tokens.isEmpty }
    public var count: (users: Int, tokens: Int) { (users.count, tokens.count) }

    /// Adds the users of a users file's text; errors name `file:line` and the field, never the hash.
    public mutating func addUsers(_ text: String, file: String) throws(FleetCredentialError) {
        for (line, (name, role, hash)) in try Self.lines(text, file: file) {
            guard Self.isBcrypt(hash) else {
                throw FleetCredentialError("\(file):\(line): the password hash of '\(name)' is not a bcrypt hash ($2b$…, 60 characters; make one with `vigil-fleet passwd \(name)`)")
            }
            guard users[name] == nil else { throw FleetCredentialError("\(file):\(line): user '\(name)' is listed twice") }
            users[name] = User(role: role, hash: hash)
        }
    }

    /// Adds the tokens of a tokens file's text: each at least `minimumTokenBytes` long and unique.
    public mutating func addTokens(_ text: String, file: String) throws(FleetCredentialError) {
        for (line, (name, role, token)) in try Self.lines(text, file: file) {
            let secret = Array(token.utf8)
            guard secret.count >= Self.minimumTokenBytes, secret.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw FleetCredentialError("\(file):\(line): the token of '\(name)' must be at least \(Self.minimumTokenBytes) printable characters without spaces (e.g. `openssl rand -hex 32`)")
            }
            guard !tokens.contains(where: { $0.name == name || $0.secret == secret }) else {
                throw FleetCredentialError("\(file):\(line): token '\(name)' (or its secret) is listed twice")
            }
            tokens.append(Token(name: name, role: role, secret: secret))
        }
    }

    /// `(line number, [name, role, third field])` of every non-blank, non-comment line.
    static func lines(_ text: String, file: String) throws(FleetCredentialError) -> [(Int, (String, FleetRole, String))] {
        var out: [(Int, (String, FleetRole, String))] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { throw FleetCredentialError("\(file):\(i + 1): expected NAME:ROLE:SECRET") }
            guard FleetNames.isValid(parts[0]) else {
                throw FleetCredentialError("\(file):\(i + 1): name: must be 1 to 128 letters, digits, '.', '_' or '-'")
            }
            guard let role = FleetRole(rawValue: String(parts[1])) else {
                throw FleetCredentialError("\(file):\(i + 1): role: '\(parts[1])' is not read or write")
            }
            out.append((i + 1, (String(parts[0]), role, String(parts[2]))))
        }
        return out
    }

    static func isBcrypt(_ hash: String) -> Bool {
        let u = Array(hash.utf8)
        guard u.count == 60, hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$"), u[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: u[4..<6], as: UTF8.self)), (4...31).contains(cost) else { return false }
        return true
    }

    /// The caller a bearer token belongs to. Every stored token is compared in full, in constant time per
    /// byte, so the time taken does not tell how much of a guess was right.
    public func caller(token: String) -> FleetCaller? {
        let guess = Array(token.utf8)
        var found: FleetCaller?
        for t in tokens where Self.constantTimeEqual(guess, t.secret) { found = FleetCaller(name: t.name, role: t.role) }
        return found
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<b.count { diff |= (i < a.count ? a[i] : 0) ^ b[i] }
        return diff == 0
    }

    /// The caller a user name and password belong to. bcrypt runs on a Dispatch thread (it takes tens of
    /// milliseconds on purpose); an unknown user is checked against a dummy hash so both take about as long.
    /// A password that matched is remembered (per user, compared in constant time), so the page's live
    /// reloads do not pay for bcrypt each time.
    public func caller(user: String, password: String) async -> FleetCaller? {
        let entry = users[user]
        let given = Array(password.utf8)
        if let entry, verified.matches(user, given) { return FleetCaller(name: user, role: entry.role) }
        let hash = entry?.hash ?? Self.dummyHash
        let matches = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async { done.resume(returning: Bcrypt.verify(password, hash: hash)) }
        }
        guard matches, let entry else { return nil }
        verified.remember(user, given)
        return FleetCaller(name: user, role: entry.role)
    }

    let verified = VerifiedPasswords()

    /// A bcrypt hash of a random string nobody knows, made on first use.
    static let dummyHash: String = Bcrypt.hash(String((0..<32).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! }), cost: 12)

    /// A users-file line for `name` with `role`: the password hashed with bcrypt at `cost`.
    public static func userLine(name: String, role: FleetRole, password: String, cost: UInt8 = 12) -> String {
        "\(name):\(role.rawValue):\(Bcrypt.hash(password, cost: cost))"
    }
}

/// Passwords that bcrypt accepted, by user: one each, compared in constant time.
final class VerifiedPasswords: Sendable {
    private let known = Mutex<[String: [UInt8]]>([:])
    func matches(_ user: String, _ password: [UInt8]) -> Bool {
        known.withLock { $0[user].map { FleetCredentials.constantTimeEqual(password, $0) } ?? false }
    }
    func remember(_ user: String, _ password: [UInt8]) { known.withLock { $0[user] = password } }
}

public struct FleetCredentialError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}
