import VigilIO
import VigilUplink

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// TLS and credentials to the broker, as the agent's (docs/tls.md): `mqtts://` turns TLS on, the CA file
/// (else the system's store) checks the broker's certificate and host name — there is no way to skip that —
/// and the password comes from a file, never from the command line.
struct BrokerAccess {
    var username: String?
    var password: MQTTUplink.Password?
    var tls: MQTTUplink.TLS?
    /// About the files (a password file others can read), logged at startup.
    var warnings: [String] = []

    /// The options, checked: each problem names the option, or the config file's line and key.
    static func check(_ c: VigilFleetCommand, given: GivenSettings, tlsScheme: Bool, problems: inout [String]) -> BrokerAccess {
        var access = BrokerAccess()
        func file(_ option: String, _ cli: String?, _ key: [String], _ fromFile: (FleetConfigFile) -> String?) -> (String?, SettingOrigin) {
            let (path, from) = given.pick(option, cli, key, fromFile)
            if let path, Glibc.access(path, R_OK) != 0 { problems.append(from.problem("cannot read '\(path)': \(String(cString: strerror(errno)))")) }
            return (path, from)
        }
        let (caFile, caFrom) = file("--ca-file", c.caFile, ["tls", "ca_file"], { $0.tls?.caFile })
        let (certFile, certFrom) = file("--cert-file", c.certFile, ["tls", "cert_file"], { $0.tls?.certFile })
        let (keyFile, keyFrom) = file("--key-file", c.keyFile, ["tls", "key_file"], { $0.tls?.keyFile })
        let (version, versionFrom) = given.pick("--tls-version", c.tlsVersion, ["tls", "version"], { $0.tls?.version })
        if let version, !["tlsv1.2", "tlsv1.3"].contains(version) { problems.append(versionFrom.problem("'\(version)' is not tlsv1.2 or tlsv1.3")) }
        if (certFile == nil) != (keyFile == nil) {
            problems.append((certFile == nil ? keyFrom : certFrom).problem("--cert-file and --key-file go together (mutual TLS)"))
        }
        if tlsScheme {
            access.tls = MQTTUplink.TLS(caFile: caFile, certFile: certFile, keyFile: keyFile, minimumVersion: version ?? "tlsv1.2")
        } else if let (_, from) = [(caFile, caFrom), (certFile, certFrom), (keyFile, keyFrom), (version, versionFrom)].first(where: { $0.0 != nil }) {
            problems.append(from.problem("TLS needs an mqtts:// broker"))
        }
        let (username, userFrom) = given.pick("--username", c.username, ["username"], \.username)
        if let username, username.isEmpty || username.utf8.count > 65535 { problems.append(userFrom.problem("must be 1 to 65535 bytes")) }
        access.username = username
        let (passwordFile, passwordFrom) = given.pick("--password-file", c.passwordFile, ["password_file"], \.passwordFile)
        if let passwordFile {
            if username == nil { problems.append(passwordFrom.problem("a password needs --username")) }
            do {
                let (password, warning) = try PasswordFileReader.read(passwordFile)
                access.password = MQTTUplink.Password(password)
                if let warning { access.warnings.append(passwordFrom.problem(warning)) }
            } catch {
                problems.append(passwordFrom.problem(error.reason))
            }
        }
        return access
    }
}
