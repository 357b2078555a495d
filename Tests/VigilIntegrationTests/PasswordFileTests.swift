import Foundation
import Testing
import VigilTestSupport

/// `mqtt.password_file` (issue 15, defect 14): `vigil check` reads it by the same rules as `vigil run`,
/// both name the config line, a directory is called one, and a file others can read is warned about.
@Suite struct PasswordFileTests {
    /// `password_file` is on line 5, column 3 (the key).
    static func config(passwordFile: String) -> String {
        """
        device: gw-1
        mqtt:
          broker: "mqtt://127.0.0.1:1"
          username: gw
          password_file: \(passwordFile)
        sources:
          - kind: simulator
            name: sim

        """
    }

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pw-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func passwordFile(mode: Int) throws -> String {
        let path = try tempDir() + "/mqtt-password"
        try "secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test(arguments: ["check", "run"])
    func aMissingPasswordFileIsAConfigErrorAtItsLine(command: String) throws {
        let missing = try Self.tempDir() + "/no-such-file"
        let p = try VigilProcess(config: Self.config(passwordFile: missing), command: command, arguments: ["--duration", "1"].filter { _ in command == "run" })
        #expect(p.waitForExit(timeout: 20))
        #expect(p.exitStatus == 78)
        #expect(p.stderr == "\(p.configPath):5:3: mqtt.password_file: cannot read '\(missing)': No such file or directory", "\(p.stderr)")
    }

    @Test(arguments: ["check", "run"])
    func aDirectoryIsCalledOne(command: String) throws {
        let dir = try Self.tempDir()
        let p = try VigilProcess(config: Self.config(passwordFile: dir), command: command, arguments: ["--duration", "1"].filter { _ in command == "run" })
        #expect(p.waitForExit(timeout: 20))
        #expect(p.exitStatus == 78)
        #expect(p.stderr == "\(p.configPath):5:3: mqtt.password_file: '\(dir)' is a directory", "\(p.stderr)")
    }

    @Test func checkWarnsAboutAPasswordFileOthersCanRead() throws {
        let path = try Self.passwordFile(mode: 0o666)
        let p = try VigilProcess(config: Self.config(passwordFile: path), command: "check", arguments: [])
        #expect(p.waitForExit(timeout: 20))
        #expect(p.exitStatus == 0, "\(p.stderr)")
        #expect(p.stderr == "\(p.configPath):5:3: mqtt.password_file: warning: '\(path)' can be read by group or others (mode 0666); chmod 600 it", "\(p.stderr)")
    }

    @Test func runWarnsAboutAPasswordFileOthersCanRead() throws {
        let path = try Self.passwordFile(mode: 0o640)
        let p = try VigilProcess(config: Self.config(passwordFile: path), arguments: ["--duration", "1"])
        #expect(p.waitForExit(timeout: 20))
        #expect(p.exitStatus == 0, "\(p.stderr)")
        // The log line without its timestamp.
        let lines = p.stderr.split(separator: "\n").filter { $0.contains("password_file") }.map { $0.split(separator: " ", maxSplits: 1).last ?? "" }
        #expect(lines == ["WARNING \(p.configPath):5:3: mqtt.password_file: '\(path)' can be read by group or others (mode 0640); chmod 600 it"], "\(p.stderr)")
        #expect(!p.stderr.contains("secret"))
    }

    @Test func checkIsSilentAboutAPrivatePasswordFile() throws {
        let path = try Self.passwordFile(mode: 0o600)
        let p = try VigilProcess(config: Self.config(passwordFile: path), command: "check", arguments: [])
        #expect(p.waitForExit(timeout: 20))
        #expect(p.exitStatus == 0)
        #expect(p.stderr == "", "\(p.stderr)")
    }
}
