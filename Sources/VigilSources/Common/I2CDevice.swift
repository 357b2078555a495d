import VigilCore
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

/// Register reads and writes on one I²C device: the seam between a chip's logic and the bus. The
/// real one is `I2CDevice`; tests stand in a register map.
public protocol RegisterBus: AnyObject {
    /// `count` bytes starting at `register` (the chip advances the register pointer itself).
    func read(_ register: UInt8, count: Int) throws(I2CError) -> [UInt8]
    func write(_ register: UInt8, _ value: UInt8) throws(I2CError)
}

/// 16-bit register reads and writes, most significant byte first (the ADS1x15's registers): the seam
/// between the chip's logic and the bus. The real one is `I2CDevice`; tests stand in recorded
/// transactions.
public protocol WordRegisterBus: AnyObject {
    func readWord(_ register: UInt8) throws(I2CError) -> UInt16
    func writeWord(_ register: UInt8, _ value: UInt16) throws(I2CError)
}

/// A failed I²C call, or a check of what came back: which bus, which address, which call.
public struct I2CError: Error, Sendable, Equatable, CustomStringConvertible {
    public var bus: String
    public var address: UInt8
    /// `open`, `ioctl(I2C_SLAVE)`, `read 0xF7`, `write 0xF4`, or a check: `chip id`.
    public var call: String
    /// The OS's words for the errno, or what the check found.
    public var reason: String
    public var errno: Int32?

    public init(bus: String, address: UInt8, call: String, reason: String, errno: Int32? = nil) {
        self.bus = bus; self.address = address; self.call = call; self.reason = reason; self.errno = errno
    }

    /// `/dev/i2c-1 address 0x76: read 0xF7: Input/output error`
    public var description: String { "\(bus) address \(I2CDevice.hex(address)): \(call): \(reason)" }
}

/// One device on a Linux I²C bus through `/dev/i2c-N` (i2c-dev): `open(2)`, `ioctl(I2C_SLAVE)` to
/// the 7-bit address, then plain `write(2)` of a register pointer and `read(2)` of the bytes.
public final class I2CDevice: RegisterBus, WordRegisterBus {
    public let bus: String
    public let address: UInt8
    private let fd: Int32

    /// `I2C_SLAVE` from linux/i2c-dev.h.
    static let i2cSlave: UInt = 0x0703

    public init(bus: String, address: UInt8) throws(I2CError) {
        self.bus = bus
        self.address = address
        let fd = Interrupts.retry { open(bus, O_RDWR | O_CLOEXEC) }
        if fd < 0 { throw Self.failure(bus, address, "open") }
        if ioctl(fd, Self.i2cSlave, CInt(address)) < 0 {
            let e = Self.failure(bus, address, "ioctl(I2C_SLAVE)")
            close(fd)
            throw e
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// `write(2)` of the register pointer, then `read(2)` of `count` bytes.
    public func read(_ register: UInt8, count: Int) throws(I2CError) -> [UInt8] {
        var pointer = register
        let w = Interrupts.retry { Glibc.write(fd, &pointer, 1) }
        if w != 1 { throw w < 0 ? Self.failure(bus, address, "write \(Self.hex(register))") : short("write \(Self.hex(register))", w, 1) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { b in Interrupts.retry { Glibc.read(fd, b.baseAddress, count) } }
        if n != count { throw n < 0 ? Self.failure(bus, address, "read \(Self.hex(register))") : short("read \(Self.hex(register))", n, count) }
        return bytes
    }

    /// `write(2)` of the register and its value.
    public func write(_ register: UInt8, _ value: UInt8) throws(I2CError) {
        var pair: (UInt8, UInt8) = (register, value)
        let n = Interrupts.retry { Glibc.write(fd, &pair, 2) }
        if n != 2 { throw n < 0 ? Self.failure(bus, address, "write \(Self.hex(register))") : short("write \(Self.hex(register))", n, 2) }
    }

    /// `write(2)` of the register pointer, then `read(2)` of two bytes (no allocation: a sampling loop calls it).
    public func readWord(_ register: UInt8) throws(I2CError) -> UInt16 {
        var pointer = register
        let w = Interrupts.retry { Glibc.write(fd, &pointer, 1) }
        if w != 1 { throw w < 0 ? Self.failure(bus, address, "write \(Self.hex(register))") : short("write \(Self.hex(register))", w, 1) }
        var pair: (UInt8, UInt8) = (0, 0)
        let n = Interrupts.retry { Glibc.read(fd, &pair, 2) }
        if n != 2 { throw n < 0 ? Self.failure(bus, address, "read \(Self.hex(register))") : short("read \(Self.hex(register))", n, 2) }
        return UInt16(pair.0) << 8 | UInt16(pair.1)
    }

    /// `write(2)` of the register and the two bytes of `value`, most significant first.
    public func writeWord(_ register: UInt8, _ value: UInt16) throws(I2CError) {
        var triple: (UInt8, UInt8, UInt8) = (register, UInt8(value >> 8), UInt8(value & 0xFF))
        let n = Interrupts.retry { Glibc.write(fd, &triple, 3) }
        if n != 3 { throw n < 0 ? Self.failure(bus, address, "write \(Self.hex(register))") : short("write \(Self.hex(register))", n, 3) }
    }

    private func short(_ call: String, _ got: Int, _ wanted: Int) -> I2CError {
        I2CError(bus: bus, address: address, call: call, reason: "\(got) of \(wanted) bytes")
    }

    private static func failure(_ bus: String, _ address: UInt8, _ call: String) -> I2CError {
        let code = Glibc.errno
        return I2CError(bus: bus, address: address, call: call, reason: FileIO.strerror(code), errno: code)
    }

    /// `0x76`
    static func hex(_ b: UInt8) -> String {
        let digits = String(b, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" + digits : digits)
    }
}

/// `vigil probe`: the I²C buses (`/dev/i2c-N`) with their adapter names; addresses are not scanned
/// (a probing read can upset some chips).
struct I2CBusesProbe: DeviceProbe {
    var id: String { "i2c" }

    func run(_ options: ProbeOptions, print: (String) -> Void) throws(ProbeFailure) {
        let names = (try? SysfsFile.list("/dev").get()) ?? []
        let buses = names.filter { $0.hasPrefix("i2c-") }.sorted { (Int($0.dropFirst(4)) ?? 0) < (Int($1.dropFirst(4)) ?? 0) }
        if buses.isEmpty {
            print("i2c buses: none (no /dev/i2c-*; on a Raspberry Pi: dtparam=i2c_arm=on, and the user in group i2c)")
            return
        }
        print("i2c buses:")
        for bus in buses {
            let adapter = (try? SysfsFile.read("/sys/class/i2c-dev/\(bus)/name").get()).map {
                String(decoding: $0, as: UTF8.self).trimmingSuffix()
            } ?? ""
            print("  /dev/\(bus)" + (adapter.isEmpty ? "" : "  \"\(adapter)\""))
        }
    }
}

extension String {
    /// Without trailing newlines and blanks.
    fileprivate func trimmingSuffix() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " || last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
