import SystemPackage

/// A password kept in a file of its own (never on a command line): one line (the trailing newline is not
/// part of it), from a regular file. Shared by the agent (`mqtt.password_file`) and the fleet receiver
/// (`--password-file`); each names its own setting in the messages around these reasons.
public enum PasswordFileReader {
    /// A password file is one line; anything larger is not one.
    public static let maxBytes = 4096

    /// Why the file cannot be used; the reason names the path and never holds the password.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// The password in `path`, and a warning when group or others can read the file.
    public static func read(_ path: String) throws(Refusal) -> (password: String, warning: String?) {
        let read: FileIO.RegularFile
        do { read = try FileIO.readRegularFile(path, maxBytes: maxBytes) } catch {
            switch error.refusal {
            case .notRegularFile(directory: true): throw Refusal(reason: "'\(path)' is a directory")
            case .notRegularFile(directory: false): throw Refusal(reason: "'\(path)' is not a regular file")
            case .tooLarge: throw Refusal(reason: "'\(path)' is larger than \(maxBytes) bytes, not a password")
            case nil: throw Refusal(reason: "cannot read '\(path)': \(error.reason)")
            }
        }
        var text = String(decoding: read.bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        if text.hasSuffix("\r") { text.removeLast() }
        if text.isEmpty { throw Refusal(reason: "'\(path)' is empty") }
        let others: FilePermissions = [.groupRead, .otherRead]
        guard !read.permissions.intersection(others).isEmpty else { return (text, nil) }
        let octal = String(read.permissions.rawValue, radix: 8)
        let mode = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
        return (text, "'\(path)' can be read by group or others (mode \(mode)); chmod 600 it")
    }
}
