import Foundation

extension FleetCredentials {
    /// Reads the users file and the tokens file (either may be nil). A file others may read or write is
    /// refused: it holds secrets (tokens) or hashes that can be attacked offline (passwords).
    public static func load(users: String?, tokens: String?) throws(FleetCredentialError) -> FleetCredentials {
        var credentials = FleetCredentials()
        if let users { try credentials.addUsers(try text(of: users, option: "--users"), file: users) }
        if let tokens { try credentials.addTokens(try text(of: tokens, option: "--tokens"), file: tokens) }
        if credentials.isEmpty, let file = users ?? tokens {
            throw FleetCredentialError("\(file): no credentials in it (lines NAME:ROLE:SECRET)")
        }
        return credentials
    }

    static func text(of file: String, option: String) throws(FleetCredentialError) -> String {
        var st = stat()
        guard stat(file, &st) == 0 else { throw FleetCredentialError("\(option): cannot read \(file): \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o007 == 0 else {
            throw FleetCredentialError("\(option): \(file) is open to other users (mode \(String(st.st_mode & 0o777, radix: 8))); chmod o-rwx \(file)")
        }
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw FleetCredentialError("\(option): cannot read \(file) as UTF-8 text")
        }
        return text
    }
}
