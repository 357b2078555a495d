import VigilCore
import VigilIO

/// `mqtt.password_file`, read by the same rules for `vigil check` and `vigil run`: one line (the
/// trailing newline is not part of it), from a regular file. The password itself is never logged.
public enum PasswordFile {
    /// A password file is one line; anything larger is not one.
    public static let maxBytes = PasswordFileReader.maxBytes

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
        do {
            let (password, warning) = try PasswordFileReader.read(path)
            return Loaded(password: password, warnings: warning.map { [issue($0)] } ?? [])
        } catch {
            throw ConfigIssueList(issues: [issue(error.reason)])
        }
    }
}
