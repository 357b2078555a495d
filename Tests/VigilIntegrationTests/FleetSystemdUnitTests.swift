import Foundation
import Testing
import VigilTestSupport

/// The fleet receiver's unit, sysusers.d and tmpfiles.d files and its install script, checked with systemd's own tools.
@Suite struct FleetSystemdUnitTests {
    static let unit = Repo.path("systemd/vigil-fleet.service")

    @Test func unitHasTheRequiredSettings() throws {
        let text = try #require(Repo.read(Self.unit))
        let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for required in ["ExecStart=/usr/bin/vigil-fleet --config /etc/vigil/fleet.yaml", "Restart=on-failure",
                         "RestartPreventExitStatus=78", "User=vigil-fleet", "StateDirectory=vigil-fleet", "ConfigurationDirectory=vigil",
                         "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateDevices=yes", "CapabilityBoundingSet=",
                         "WantedBy=multi-user.target"] {
            #expect(lines.contains(required), "vigil-fleet.service lacks \(required)")
        }
        #expect(!lines.contains { $0.hasPrefix("SupplementaryGroups=") || $0.hasPrefix("DeviceAllow=") })
    }

    @Test func systemdAnalyzeVerifyIsClean() throws {
        let dir = try Repo.temporaryDirectory("fleet-unit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/vigil-fleet.service"
        try #require(Repo.read(Self.unit)).replacingOccurrences(of: "/usr/bin/vigil-fleet", with: FleetReceiverProcess.binary)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try #require(try Command.run("systemd-analyze", ["verify", "--man=no", path]), "systemd-analyze is not installed (make deps-packaging)")
        #expect(r.status == 0, "\(r)")
        #expect(r.output.split(separator: "\n").filter { $0.contains("vigil-fleet") }.isEmpty, "\(r)")
    }

    /// At most 1.5 ("OK"), the agent's bar, through systemd's own threshold (an integer scale: 15 = 1.5).
    @Test func securityExposureIsAtMostOnePointFive() throws {
        let r = try #require(try Command.run("systemd-analyze", ["security", "--offline=true", "--threshold=15", Self.unit]), "systemd-analyze is not installed")
        #expect(r.status == 0, "\(r)")
        #expect(r.output.contains("Overall exposure level for vigil-fleet.service: 1.1 OK"), "\(r)")
    }

    /// scripts/install-fleet.sh into a staging root: binary, unit with the paths rewritten, config, sysusers, tmpfiles.
    @Test func installScriptStagesEveryFile() throws {
        let root = try Repo.temporaryDirectory("fleet-install")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try #require(try Command.run(Repo.path("scripts/install-fleet.sh"), [FleetReceiverProcess.binary],
                                             environment: ["DESTDIR": root, "PREFIX": "/usr", "UNITDIR": "/lib/systemd/system"]))
        #expect(r.status == 0, "\(r)")
        for file in ["/usr/bin/vigil-fleet", "/lib/systemd/system/vigil-fleet.service", "/etc/vigil/fleet.yaml",
                     "/usr/lib/sysusers.d/vigil-fleet.conf", "/usr/lib/tmpfiles.d/vigil-fleet.conf"] {
            #expect(FileManager.default.fileExists(atPath: root + file), "\(file)")
        }
        #expect(Repo.read(root + "/lib/systemd/system/vigil-fleet.service") == Repo.read(Self.unit))
        #expect(Repo.read(root + "/etc/vigil/fleet.yaml") == Repo.read(Repo.path("packaging/fleet.yaml")))
    }
}
