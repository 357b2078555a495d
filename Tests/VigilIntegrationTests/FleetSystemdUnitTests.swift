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
        for file in ["/usr/bin/vigil-fleet", "/usr/share/man/man1/vigil-fleet.1", "/lib/systemd/system/vigil-fleet.service", "/etc/vigil/fleet.yaml",
                     "/usr/lib/sysusers.d/vigil-fleet.conf", "/usr/lib/tmpfiles.d/vigil-fleet.conf"] {
            #expect(FileManager.default.fileExists(atPath: root + file), "\(file)")
        }
        #expect(Repo.read(root + "/lib/systemd/system/vigil-fleet.service") == Repo.read(Self.unit))
        #expect(Repo.read(root + "/etc/vigil/fleet.yaml") == Repo.read(Repo.path("packaging/fleet.yaml")))
    }

    /// scripts/build-fleet-deb.sh around the binary under test (`make deb-fleet` builds the static release one):
    /// the second package's files, its conffile, its dependencies and maintainer scripts.
    @Test func fleetPackageHoldsItsFiles() throws {
        let out = try Repo.temporaryDirectory("fleet-deb")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try #require(try Command.run(Repo.path("scripts/build-fleet-deb.sh"), [],
                                             environment: ["OUT": out, "FLEET_BIN": FleetReceiverProcess.binary, "VERSION": "0.1.0"]),
                             "bash missing")
        #expect(r.status == 0, "\(r)")
        let deb = out + "/vigil-fleet_0.1.0_\(try #require(try Command.run("dpkg", ["--print-architecture"])).stdout.trimmingCharacters(in: .whitespacesAndNewlines)).deb"
        let list = try #require(try Command.run("dpkg-deb", ["-c", deb]), "dpkg-deb missing (make deps-packaging)")
        let files = Set(list.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map { String($0.dropFirst()) } })
        for file in ["/usr/bin/vigil-fleet", "/lib/systemd/system/vigil-fleet.service", "/etc/vigil/fleet.yaml",
                     "/usr/lib/sysusers.d/vigil-fleet.conf", "/usr/lib/tmpfiles.d/vigil-fleet.conf", "/usr/share/man/man1/vigil-fleet.1.gz",
                     "/usr/share/doc/vigil-fleet/copyright", "/usr/share/doc/vigil-fleet/changelog.gz", "/usr/share/doc/vigil-fleet/fleet.md.gz"] {
            #expect(files.contains(file), "\(file) not in the package")
        }
        #expect(try #require(try Command.run("dpkg-deb", ["-I", deb, "conffiles"])).stdout == "/etc/vigil/fleet.yaml\n")
        let depends = try #require(try Command.run("dpkg-deb", ["-f", deb, "Depends"])).stdout
        #expect(depends.contains("libsqlite3-0") && depends.contains("libmosquitto1") && depends.contains("init-system-helpers"))
        let scripts = try #require(try Command.run("dpkg-deb", ["-I", deb])).stdout
        #expect(scripts.contains("postinst") && scripts.contains("prerm") && scripts.contains("postrm"))
    }
}
