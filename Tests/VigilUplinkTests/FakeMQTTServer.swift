import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP server that plays a misbehaving broker, which a real mosquitto never is: silent after
/// CONNECT, or sending an unsolicited oversized PUBLISH. Only for those cases; everything else in these
/// tests runs against a real mosquitto.
final class FakeMQTTServer: Sendable {
    enum Script: Sendable {
        /// Reads whatever comes and never answers.
        case silent
        /// Answers CONNECT with CONNACK (accepted); once the client sends its next packet (the birth
        /// message), sends `bytes`, then `padding` more bytes (a large payload, in 64 KiB writes, for as long
        /// as the client takes them), and keeps reading.
        case connackThen([UInt8], padding: Int = 0)
    }

    let port: Int
    private let listener: Int32
    private let accepted = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    /// Bytes of `connackThen` written, summed over connections.
    private let sent = Atomic<Int>(0)
    private let clients = Mutex<[Int32]>([])

    var connections: Int { accepted.load(ordering: .relaxed) }
    var bytesSent: Int { sent.load(ordering: .relaxed) }

    init(_ script: Script) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(listener, p, size) == 0 && listen(listener, 8) == 0 && getsockname(listener, p, &size) == 0
            }
        }
        guard bound else { close(listener); throw CocoaError(.fileWriteUnknown) }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop(script) }
    }

    deinit { stop() }

    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop(_ script: Script) {
        while !stopped.load(ordering: .relaxed) {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            accepted.add(1, ordering: .relaxed)
            Thread.detachNewThread { [self] in serve(fd, script) }
        }
    }

    /// Writes `bytes` to every connection the script has finished its part on; false if one refused them.
    func sendToAll(_ bytes: [UInt8]) -> Bool {
        clients.withLock { fds in
            fds.allSatisfy { fd in var b = bytes; return send(fd, &b, b.count, Int32(MSG_NOSIGNAL)) == b.count }
        }
    }

    private func serve(_ fd: Int32, _ script: Script) {
        defer {
            clients.withLock { $0.removeAll { $0 == fd } }
            close(fd)
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        // CONNECT first (one read holds it on loopback).
        guard read(fd, &buffer, buffer.count) > 0 else { return }
        if case .connackThen(let bytes, let padding) = script {
            var connack: [UInt8] = [0x20, 0x02, 0x00, 0x00]
            guard send(fd, &connack, connack.count, Int32(MSG_NOSIGNAL)) == 4, read(fd, &buffer, buffer.count) > 0 else { return }
            var out = bytes
            guard send(fd, &out, out.count, Int32(MSG_NOSIGNAL)) == out.count else { return }
            sent.add(out.count, ordering: .relaxed)
            var chunk = [UInt8](repeating: 0x61, count: 64 << 10)
            var left = padding
            while left > 0, !stopped.load(ordering: .relaxed) {
                let n = send(fd, &chunk, min(left, chunk.count), Int32(MSG_NOSIGNAL))
                guard n > 0 else { return }
                sent.add(n, ordering: .relaxed)
                left -= n
            }
        }
        clients.withLock { $0.append(fd) }
        while !stopped.load(ordering: .relaxed), read(fd, &buffer, buffer.count) > 0 {}
    }
}
