import Foundation
import Testing

/// `make deb` and `make install`: the package's contents, lintian, and an install / upgrade / remove /
/// purge cycle in a scratch root with `dpkg --root`.
///
/// The package is built before the suite (`make test` runs scripts/build-deb.sh: a whole static build
/// cannot run inside `swift test`); it is `$VIGIL_DEB`, else the one named in .build-deb/last-deb.
/// Without one these tests are skipped — unless `VIGIL_PACKAGING_TESTS=required` (as `make test` sets).
@Suite struct PackagingTests {
    static var deb: String? {
        if let d = ProcessInfo.processInfo.environment["VIGIL_DEB"], !d.isEmpty { return d }
        guard let last = Repo.read(Repo.path(".build-deb/last-deb"))?.trimmingCharacters(in: .whitespacesAndNewlines), !last.isEmpty else { return nil }
        let path = last.hasPrefix("/") ? last : Repo.path(last)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
    static var required: Bool { ProcessInfo.processInfo.environment["VIGIL_PACKAGING_TESTS"] == "required" }

    /// The package, or nil after recording an issue when it is required.
    static func package() -> String? {
        if let d = deb { return d }
        if required { Issue.record("no .deb: run scripts/build-deb.sh (make deb) before the tests") }
        return nil
    }

    static func dpkgDeb(_ args: [String]) throws -> CommandResult {
        try #require(try Command.run("dpkg-deb", args))
    }

    /// Where docs/systemd.md says things go.
    static let installedFiles = [
        "/usr/bin/vigil", "/lib/systemd/system/vigil.service", "/usr/lib/sysusers.d/vigil.conf",
        "/usr/lib/tmpfiles.d/vigil.conf", "/lib/udev/rules.d/60-vigil-gpio.rules", "/etc/vigil/vigil.yaml",
        "/usr/share/man/man1/vigil.1.gz", "/usr/share/doc/vigil/copyright", "/usr/share/doc/vigil/changelog.gz",
        "/usr/share/doc/vigil/README.md.gz", "/usr/share/doc/vigil/docs/configuration.md.gz",
        "/usr/share/doc/vigil/Sources/VigilSources/Serial/README.md.gz",
    ]

    @Test func packageContentsAndControlFields() throws {
        guard let deb = Self.package() else { return }
        let listing = try Self.dpkgDeb(["-c", deb])
        #expect(listing.status == 0, "\(listing)")
        let paths = Set(listing.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map { String($0.dropFirst()) } })
        for f in Self.installedFiles { #expect(paths.contains(f), "the package lacks \(f)") }
        #expect(listing.stdout.contains("-rwxr-xr-x root/root") && listing.stdout.contains("./usr/bin/vigil"))

        let arch = try #require(try Command.run("dpkg", ["--print-architecture"])).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = try Self.dpkgDeb(["-f", deb, "Package", "Architecture", "Depends"]).stdout
        #expect(fields.contains("Package: vigil"))
        #expect(fields.contains("Architecture: \(arch)"))
        #expect(fields.contains("libmosquitto1"))
        #expect(!fields.contains("swift"), "the Swift runtime is linked statically")
        let conffiles = try Self.dpkgDeb(["--info", deb, "conffiles"]).stdout
        #expect(conffiles.split(separator: "\n") == ["/etc/vigil/vigil.yaml"])
        for script in ["postinst", "prerm", "postrm"] {
            #expect(try Self.dpkgDeb(["--info", deb, script]).status == 0, "no \(script)")
        }

        // The binary: stripped, no rpath, full RELRO, no Swift libraries needed at run time.
        let dir = try Repo.temporaryDirectory("debx")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Self.dpkgDeb(["-x", deb, dir]).status == 0)
        let dynamic = try #require(try Command.run("readelf", ["-dW", dir + "/usr/bin/vigil"]), "readelf missing").stdout
        #expect(!dynamic.contains("RUNPATH") && !dynamic.contains("RPATH"), "\(dynamic)")
        #expect(dynamic.contains("BIND_NOW"), "no full RELRO: \(dynamic)")
        #expect(!dynamic.lowercased().contains("libswift") && !dynamic.contains("libFoundation") && !dynamic.contains("libdispatch"), "\(dynamic)")
        let sections = try #require(try Command.run("readelf", ["-SW", dir + "/usr/bin/vigil"])).stdout
        #expect(!sections.contains(".debug_info") && !sections.contains(".symtab"), "not stripped")
        // It runs without a Swift toolchain's libraries and reports the package's version.
        let version = try #require(try Command.run(dir + "/usr/bin/vigil", ["--version"], environment: ["LD_LIBRARY_PATH": ""]))
        let packaged = try Self.dpkgDeb(["-f", deb, "Version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.status == 0 && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == packaged, "\(version)")
    }

    /// Lintian: no errors and no warnings (info tags are allowed).
    @Test func lintianFindsNoErrorsOrWarnings() throws {
        guard let deb = Self.package() else { return }
        let r = try #require(try Command.run("lintian", ["--no-cfg", "--display-level", ">=warning", deb]), "lintian is not installed (make deps-packaging)")
        let tags = r.stdout.split(separator: "\n").filter { $0.hasPrefix("E:") || $0.hasPrefix("W:") }
        #expect(tags.isEmpty, "lintian:\n\(r.output)")
        #expect(r.status == 0, "\(r)")
    }

    /// Install into an empty root with `dpkg --root` (maintainer scripts run against it through
    /// $DPKG_ROOT), upgrade to a newer package over an edited config, remove, purge.
    @Test(.enabled(if: Repo.isRoot, "dpkg needs root to install, even into a scratch root"))
    func installUpgradeRemovePurgeInAScratchRoot() throws {
        guard let deb = Self.package() else { return }
        let root = try Repo.temporaryDirectory("dpkgroot")
        defer { try? FileManager.default.removeItem(atPath: root) }
        for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log", "etc"] {
            try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: root + "/var/lib/dpkg/status", contents: nil)
        // The scratch root has none of the libraries the package depends on.
        func dpkg(_ args: [String]) throws -> CommandResult {
            try #require(try Command.run("dpkg", ["--root=\(root)", "--force-script-chrootless", "--force-depends"] + args))
        }
        func exists(_ p: String) -> Bool { FileManager.default.fileExists(atPath: root + p) }

        let install = try dpkg(["-i", deb])
        #expect(install.status == 0, "\(install)")
        for f in Self.installedFiles { #expect(exists(f), "\(f) not installed") }
        // The user and its groups (sysusers.d), the state directory and password file (tmpfiles.d).
        let passwd = Repo.read(root + "/etc/passwd") ?? ""
        #expect(passwd.split(separator: "\n").contains { $0.hasPrefix("vigil:") && $0.hasSuffix(":/var/lib/vigil:/usr/sbin/nologin") }, "\(passwd)")
        let groups = (Repo.read(root + "/etc/group") ?? "").split(separator: "\n").filter { $0.split(separator: ":", omittingEmptySubsequences: false).last?.split(separator: ",").contains("vigil") == true }
        #expect(Set(groups.map { String($0.prefix { $0 != ":" }) }) == ["gpio", "dialout"], "\(groups)")
        #expect(exists("/var/lib/vigil"))
        let secret = try FileManager.default.attributesOfItem(atPath: root + "/etc/vigil/mqtt-password")
        #expect((secret[.posixPermissions] as? Int) == 0o600)
        // Enabled, as deb-systemd-helper does it.
        let wants = root + "/etc/systemd/system/multi-user.target.wants/vigil.service"
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: wants)) == "/lib/systemd/system/vigil.service")
        #expect(try dpkg(["-s", "vigil"]).stdout.contains("Status: install ok installed"))

        // The user edits the config; a newer package ships a changed one. The edit stays.
        let config = root + "/etc/vigil/vigil.yaml"
        let edited = try #require(Repo.read(config)).replacingOccurrences(of: "device: gateway-1", with: "device: my-greenhouse")
        try edited.write(toFile: config, atomically: false, encoding: .utf8)
        let newer = try Self.repackaged(deb, version: "99.0.0", appendToConfig: "# changed upstream\n")
        defer { try? FileManager.default.removeItem(atPath: (newer as NSString).deletingLastPathComponent) }
        let upgrade = try dpkg(["--force-confold", "-i", newer])
        #expect(upgrade.status == 0, "\(upgrade)")
        #expect(Repo.read(config) == edited, "the edited config was replaced on upgrade")
        #expect(exists("/etc/vigil/vigil.yaml.dpkg-dist"), "the shipped config should wait next to it")
        #expect(try dpkg(["-s", "vigil"]).stdout.contains("Version: 99.0.0"))

        // Remove: the program goes, the config stays (a conffile), the unit no longer starts.
        let remove = try dpkg(["-r", "vigil"])
        #expect(remove.status == 0, "\(remove)")
        #expect(!exists("/usr/bin/vigil") && !exists("/lib/systemd/system/vigil.service"))
        #expect(Repo.read(config) == edited)
        // Purge: config, outbox, password file and the enablement go; the user stays, as Debian does.
        let purge = try dpkg(["-P", "vigil"])
        #expect(purge.status == 0, "\(purge)")
        for gone in ["/etc/vigil", "/var/lib/vigil", "/etc/systemd/system/multi-user.target.wants/vigil.service",
                     "/var/lib/systemd/deb-systemd-helper-enabled/vigil.service.dsh-also"] {
            #expect(!exists(gone), "\(gone) is left after purge")
        }
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/etc/systemd/system/vigil.service")) == nil, "still masked")
        #expect((Repo.read(root + "/etc/passwd") ?? "").contains("vigil:"))
    }

    /// A copy of `deb` with another version and a changed /etc/vigil/vigil.yaml.
    static func repackaged(_ deb: String, version: String, appendToConfig extra: String) throws -> String {
        let dir = try Repo.temporaryDirectory("repack")
        let tree = dir + "/tree"
        #expect(try dpkgDeb(["-R", deb, tree]).status == 0)
        let control = try #require(Repo.read(tree + "/DEBIAN/control"))
        try control.replacingOccurrences(of: #"(?m)^Version: .*$"#, with: "Version: \(version)", options: .regularExpression)
            .write(toFile: tree + "/DEBIAN/control", atomically: true, encoding: .utf8)
        let handle = try #require(FileHandle(forWritingAtPath: tree + "/etc/vigil/vigil.yaml"))
        handle.seekToEndOfFile()
        handle.write(Data(extra.utf8))
        try handle.close()
        let out = dir + "/vigil_\(version).deb"
        let r = try dpkgDeb(["--root-owner-group", "-b", tree, out])
        #expect(r.status == 0, "\(r)")
        return out
    }

    /// `make install` with DESTDIR and PREFIX: where each file goes, the unit pointing at PREFIX's binary,
    /// and a second install keeping an edited config.
    @Test func makeInstallHonoursDestdirAndPrefixAndKeepsAnEditedConfig() throws {
        let dest = try Repo.temporaryDirectory("destdir")
        defer { try? FileManager.default.removeItem(atPath: dest) }
        let env = ["DESTDIR": dest, "PREFIX": "/opt/vigil"]
        let first = try #require(try Command.run(Repo.path("scripts/install.sh"), [Vigil.binary], environment: env))
        #expect(first.status == 0, "\(first)")
        for f in ["/opt/vigil/bin/vigil", "/opt/vigil/lib/systemd/system/vigil.service", "/opt/vigil/lib/sysusers.d/vigil.conf",
                  "/opt/vigil/lib/tmpfiles.d/vigil.conf", "/opt/vigil/lib/udev/rules.d/60-vigil-gpio.rules",
                  "/opt/vigil/share/man/man1/vigil.1", "/opt/vigil/share/doc/vigil/README.md",
                  "/opt/vigil/share/doc/vigil/docs/configuration.md", "/opt/vigil/share/doc/vigil/Sources/VigilSources/DHT/README.md",
                  "/etc/vigil/vigil.yaml"] {
            #expect(FileManager.default.fileExists(atPath: dest + f), "make install did not put \(f)")
        }
        let unit = try #require(Repo.read(dest + "/opt/vigil/lib/systemd/system/vigil.service"))
        #expect(unit.contains("\nExecStart=/opt/vigil/bin/vigil run --config /etc/vigil/vigil.yaml\n"))
        #expect(!unit.contains("/usr/bin/vigil"))
        #expect(Repo.read(dest + "/etc/vigil/vigil.yaml") == Repo.read(Repo.path("packaging/vigil.yaml")))

        try "device: mine\n".write(toFile: dest + "/etc/vigil/vigil.yaml", atomically: true, encoding: .utf8)
        let second = try #require(try Command.run(Repo.path("scripts/install.sh"), [Vigil.binary], environment: env))
        #expect(second.status == 0, "\(second)")
        #expect(Repo.read(dest + "/etc/vigil/vigil.yaml") == "device: mine\n")
        #expect(Repo.read(dest + "/etc/vigil/vigil.yaml.new") == Repo.read(Repo.path("packaging/vigil.yaml")))
    }

    /// The config the package installs is valid as shipped (`vigil check` exits 0).
    @Test func shippedConfigPassesCheck() throws {
        let r = try #require(try Command.run(Vigil.binary, ["check", "--config", Repo.path("packaging/vigil.yaml")]))
        #expect(r.status == 0, "\(r)")
    }
}
