import SystemPackage
import VigilCore
import VigilIO

/// `mqtt.password_file`, read by the same rules for `vigil check` and `vigil run`: one line (the
/// trailing newline is not part of it), from a regular file. The password itself is never logged.
public enum PasswordFile {
    /// A password file is one line; anything larger is not one.
    public static let maxBytes = 4096

    /// A password, and the warnings about its file (others can read it).
    public struct Loaded: Sendable {
        public var password: String
        public var warnings: [ConfigIssue]
    }

    /// Where `file` is: as written when absolute; else in `credentialsDirectory` (systemd's
    /// `$CREDENTIALS_DIRECTORY`, from `LoadCredential=`) when set, else next to the config file.
    public static func path(of file: String, configPath: String, credentialsDirectory: String?) -> String {
        if file.hasPrefix("/") { return file }
        if let credentialsDirectory, !credentialsDirectory.isEmpty { return credentialsDirectory + "/" + file }
        if let slash = configPath.lastIndex(of: "/") { return String(configPath[...slash]) + file }
        return file
    }

    /// The password `config` names, nil when it names none; the problems, each at `mqtt.password_file`,
    /// when the file cannot be used.
    public static func load(_ config: VigilConfig, configPath: String, credentialsDirectory: String?) throws(ConfigIssueList) -> Loaded? {
        guard let file = config.mqtt.passwordFile else { return nil }
        let path = path(of: file, configPath: configPath, credentialsDirectory: credentialsDirectory)
        func issue(_ message: String) -> ConfigIssue { ConfigIssue(["mqtt", "password_file"], message) }
        let read: FileIO.RegularFile
        do { read = try FileIO.readRegularFile(path, maxBytes: maxBytes) } catch {
            switch error.refusal {
            case .notRegularFile(directory: true): throw ConfigIssueList(issues: [issue("'\(path)' is a directory")])
            case .notRegularFile(directory: false): throw ConfigIssueList(issues: [issue("'\(path)' is not a regular file")])
            case .tooLarge: throw ConfigIssueList(issues: [issue("'\(path)' is larger than \(maxBytes) bytes, not a password")])
            case nil: throw ConfigIssueList(issues: [issue("cannot read '\(path)': \(error.reason)")])
            }
        }
        var text = String(decoding: read.bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        if text.hasSuffix("\r") { text.removeLast() }
        if text.isEmpty { throw ConfigIssueList(issues: [issue("'\(path)' is empty")]) }
        var warnings: [ConfigIssue] = []
        let others: FilePermissions = [.groupRead, .otherRead]
        if !read.permissions.intersection(others).isEmpty {
            let octal = String(read.permissions.rawValue, radix: 8)
            let mode = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
            warnings.append(issue("'\(path)' can be read by group or others (mode \(mode)); chmod 600 it"))
        }
        return Loaded(password: text, warnings: warnings)
    }
}
