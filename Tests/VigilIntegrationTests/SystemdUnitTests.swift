import Foundation
import Testing

/// The shipped unit, sysusers.d and tmpfiles.d files, checked with systemd's own tools.
@Suite struct SystemdUnitTests {
    static let unit = Repo.path("systemd/vigil.service")

    /// The unit with ExecStart= pointing at the binary under test (verify checks that it exists).
    static func unitForVerify() throws -> (dir: String, path: String) {
        let dir = try Repo.temporaryDirectory("unit")
        let text = try #require(Repo.read(unit)).replacingOccurrences(of: "/usr/bin/vigil", with: Vigil.binary)
        let path = dir + "/vigil.service"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    @Test func unitHasTheRequiredSettings() throws {
        let text = try #require(Repo.read(Self.unit))
        let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for required in ["Type=notify", "NotifyAccess=main", "Restart=on-failure", "RestartPreventExitStatus=78",
                         "ExecStart=/usr/bin/vigil run --config /etc/vigil/vigil.yaml",
                         "User=vigil", "SupplementaryGroups=gpio dialout", "DevicePolicy=closed",
                         "DeviceAllow=char-gpiochip rw", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyACM rw",
                         "StateDirectory=vigil", "ConfigurationDirectory=vigil",
                         "LoadCredential=mqtt-password:/etc/vigil/mqtt-password", "NoNewPrivileges=yes",
                         "ProtectSystem=strict", "CapabilityBoundingSet=", "WantedBy=multi-user.target"] {
            #expect(lines.contains(required), "vigil.service lacks \(required)")
        }
        #expect(lines.contains { $0.hasPrefix("WatchdogSec=") })
        // Only these device classes: no PrivateDevices= (it would hide them), nothing else allowed.
        #expect(lines.filter { $0.hasPrefix("DeviceAllow=") }.count == 3)
    }

    @Test func systemdAnalyzeVerifyIsClean() throws {
        let (dir, path) = try Self.unitForVerify()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try #require(try Command.run("systemd-analyze", ["verify", "--man=no", path]), "systemd-analyze is not installed (make deps-packaging)")
        #expect(r.status == 0, "\(r)")
        let complaints = r.output.split(separator: "\n").filter { $0.contains("vigil") }
        #expect(complaints.isEmpty, "\(r)")
    }

    /// The bar: an exposure of at most 1.5 ("OK") from `systemd-analyze security --offline=true`.
    @Test func securityExposureIsAtMostOnePointFive() throws {
        let r = try #require(try Command.run("systemd-analyze", ["security", "--offline=true", Self.unit]), "systemd-analyze is not installed")
        let line = try #require(r.output.split(separator: "\n").first { $0.contains("Overall exposure level for vigil.service") }, "\(r)")
        let tail = line.split(separator: ":").last ?? ""
        let score = try #require(tail.split(separator: " ").first.flatMap { Double($0) }, "\(line)")
        #expect(score <= 1.5, "exposure \(score): \(r.stdout)")
        // The same bar through systemd's own threshold (an integer scale: 15 = 1.5).
        let t = try #require(try Command.run("systemd-analyze", ["security", "--offline=true", "--threshold=15", Self.unit]))
        #expect(t.status == 0, "\(t)")
    }

    /// sysusers.d: a system user vigil whose only other groups are gpio and dialout, without a login shell.
    /// tmpfiles.d: /var/lib/vigil (0750 vigil) and an empty root-only /etc/vigil/mqtt-password.
    @Test(.enabled(if: Repo.isRoot, "creating files owned by another user needs root"))
    func sysusersAndTmpfilesCreateUserGroupsAndFiles() throws {
        let root = try Repo.temporaryDirectory("sysroot")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        let u = try #require(try Command.run("systemd-sysusers", ["--root=\(root)", Repo.path("systemd/vigil.sysusers")]), "systemd-sysusers missing")
        #expect(u.status == 0, "\(u)")
        let passwd = try #require(Repo.read(root + "/etc/passwd"))
        let user = try #require(passwd.split(separator: "\n").first { $0.hasPrefix("vigil:") }).split(separator: ":", omittingEmptySubsequences: false)
        #expect(user[5] == "/var/lib/vigil")
        #expect(user[6].hasSuffix("nologin"))
        let uid = try #require(Int(user[2]))
        #expect(uid < 1000, "a system user")
        let group = try #require(Repo.read(root + "/etc/group"))
        let memberOf = group.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            return f.count == 4 && f[3].split(separator: ",").contains("vigil") ? String(f[0]) : nil
        }
        #expect(Set(memberOf) == ["gpio", "dialout"])

        let t = try #require(try Command.run("systemd-tmpfiles", ["--root=\(root)", "--create", Repo.path("systemd/vigil.tmpfiles")]))
        #expect(t.status == 0, "\(t)")
        let state = try FileManager.default.attributesOfItem(atPath: root + "/var/lib/vigil")
        #expect((state[.posixPermissions] as? Int) == 0o750)
        #expect((state[.ownerAccountID] as? Int) == uid)
        let secret = try FileManager.default.attributesOfItem(atPath: root + "/etc/vigil/mqtt-password")
        #expect((secret[.posixPermissions] as? Int) == 0o600)
        #expect((secret[.ownerAccountID] as? Int) == 0)
        #expect((secret[.size] as? Int) == 0)
    }
}
