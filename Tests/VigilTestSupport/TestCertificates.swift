import Foundation

/// Certificates made for a test with the `openssl` command line: CAs, server and client certificates
/// (EC P-256, fast to make), in a temporary directory removed when released. Files are world-readable so a
/// mosquitto started as root (which drops to its own user) can read them.
public final class TestCertificates: Sendable {
    public static let openssl = "/usr/bin/openssl"
    public let directory: URL

    /// A certificate with its key, as file paths.
    public struct Identity: Sendable, Hashable {
        public var certFile: String
        public var keyFile: String
    }

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pki-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A self-signed CA named `name` (files `name.crt`, `name.key`).
    public func makeCA(_ name: String) throws -> Identity {
        let id = Identity(certFile: path("\(name).crt"), keyFile: path("\(name).key"))
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", id.keyFile, "-out", id.certFile, "-days", "3650", "-subj", "/CN=Vigil test CA \(name)",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try readable(id)
        return id
    }

    /// A certificate for `commonName` signed by `ca`: for a server (with `altNames`, e.g. `IP:127.0.0.1`,
    /// `DNS:localhost`) or a client. `days` below zero makes one that has already expired.
    public func issue(_ name: String, commonName: String, by ca: Identity, altNames: [String] = [],
                      client: Bool = false, days: Int = 30) throws -> Identity {
        let id = Identity(certFile: path("\(name).crt"), keyFile: path("\(name).key"))
        let csr = path("\(name).csr")
        try run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", id.keyFile, "-out", csr, "-subj", "/CN=\(commonName)"])
        var ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        ext += "extendedKeyUsage=\(client ? "clientAuth" : "serverAuth")\n"
        if !altNames.isEmpty { ext += "subjectAltName=\(altNames.joined(separator: ","))\n" }
        let extFile = path("\(name).ext")
        try ext.write(toFile: extFile, atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial",
                 "-out", id.certFile, "-days", "\(days)", "-extfile", extFile])
        try readable(id)
        return id
    }

    /// A server certificate for 127.0.0.1 and localhost.
    public func issueServer(_ name: String = "server", by ca: Identity, days: Int = 30,
                            altNames: [String] = ["IP:127.0.0.1", "DNS:localhost"]) throws -> Identity {
        try issue(name, commonName: "localhost", by: ca, altNames: altNames, days: days)
    }

    private func readable(_ id: Identity) throws {
        for p in [id.certFile, id.keyFile] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: p)
        }
    }

    private func run(_ arguments: [String]) throws {
        let status = try runTool(Self.openssl, arguments, timeout: 20)
        guard status == 0 else {
            throw TestSupportError("openssl \(arguments.joined(separator: " ")) exited with \(status)")
        }
    }
}
