import SystemPackage
import Testing
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

/// `FileIO.readRegularFile`: what a config or a password file is read with (issue 15, defects 3 and 14).
@Suite("FileIO: regular files only")
struct FileIORegularFileTests {
    @Test("a regular file comes back with its permission bits")
    func regular() throws {
        var template = Array("/tmp/vigil-regular-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        _ = write(fd, "abc", 3)
        fchmod(fd, 0o640)
        close(fd)
        let path = String(cString: template)
        defer { unlink(path) }
        let file = try FileIO.readRegularFile(path, maxBytes: 3)
        #expect(file.bytes == Array("abc".utf8))
        #expect(file.permissions == [.ownerReadWrite, .groupRead])
        do { _ = try FileIO.readRegularFile(path, maxBytes: 2); Issue.record("no error") } catch {
            #expect(error.refusal == .tooLarge(limit: 2))
        }
    }

    @Test("a device and a directory are refused without reading", arguments: [
        ("/dev/zero", "/dev/zero: fstat: not a regular file", false),
        ("/tmp", "/tmp: fstat: Is a directory", true),
    ])
    func notRegular(path: String, description: String, directory: Bool) {
        do { _ = try FileIO.readRegularFile(path, maxBytes: 1 << 20); Issue.record("no error") } catch {
            #expect(error.refusal == .notRegularFile(directory: directory))
            #expect(error.description == description)
        }
    }

    @Test("a FIFO with no writer does not block the open")
    func fifo() {
        let path = "/tmp/vigil-fifo-\(getpid())"
        mkfifo(path, 0o600)
        defer { unlink(path) }
        do { _ = try FileIO.readRegularFile(path, maxBytes: 1 << 20); Issue.record("no error") } catch {
            #expect(error.refusal == .notRegularFile(directory: false))
        }
    }
}
