import ArgumentParser
import VigilFleet
import VigilFleetCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `vigil-fleet passwd NAME [--role read|write]`: prints a users-file line with the password (read from the
/// terminal without echo, or the first line of standard input) hashed with bcrypt. The password is never an argument.
struct PasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-fleet passwd",
        abstract: "Print a users-file line (NAME:ROLE:BCRYPT) for --users; the password is read from the terminal or stdin.")

    @Argument(help: "The user name: letters, digits, '.', '_', '-'.")
    var name: String
    @Option(help: "read (page and API) or write (may also acknowledge anomalies).")
    var role: String = "read"
    @Option(help: "bcrypt cost: 2^cost rounds, 10 to 16.")
    var cost: UInt8 = 12

    func run() throws {
        guard FleetNames.isValid(name) else { throw ValidationError("NAME must be 1 to 128 letters, digits, '.', '_' or '-'") }
        guard let role = FleetRole(rawValue: role) else { throw ValidationError("--role is read or write") }
        guard (10...16).contains(cost) else { throw ValidationError("--cost is 10 to 16") }
        let password: String
        if isatty(0) == 1 {
            let first = readHidden("Password for \(name): "), second = readHidden("Again: ")
            guard first == second else { throw ValidationError("the two passwords differ") }
            password = first ?? ""
        } else {
            password = readLine(strippingNewline: true) ?? ""
        }
        guard !password.isEmpty else { throw ValidationError("the password is empty") }
        // bcrypt ignores every byte after the 72nd: a longer password would be weaker than it looks.
        guard password.utf8.count <= 72 else { throw ValidationError("the password is longer than 72 bytes (bcrypt's limit)") }
        print(FleetCredentials.userLine(name: name, role: role, password: password, cost: cost))
    }

    /// A line from the terminal with echo off (restored afterwards).
    func readHidden(_ prompt: String) -> String? {
        var bytes = Array(prompt.utf8)
        bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
        var saved = termios()
        tcgetattr(0, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSAFLUSH, &quiet)
        defer { tcsetattr(0, TCSAFLUSH, &saved); _ = write(2, "\n", 1) }
        return readLine(strippingNewline: true)
    }
}
