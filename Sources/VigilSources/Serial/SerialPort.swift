import CSerialPort
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// A failed operation on a serial device, naming the device and the call.
public struct SerialPortError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// libserialport's SP_ERR_ARG: a bad argument, or a device it does not recognize.
        case invalidArgument
        /// The OS call failed with this errno (libserialport's SP_ERR_FAIL, or a termios call).
        case system(errno: Int32)
        /// SP_ERR_MEM.
        case outOfMemory
        /// SP_ERR_SUPP: not supported by the OS, driver or device.
        case notSupported
        /// The device is not there (no such file, or no USB port with the wanted identity).
        case notFound
        /// Several ports match a `usb:` selector.
        case ambiguous
    }

    /// The device path (or the USB selector, `usb 10c4:ea60`).
    public var device: String
    /// The C function or step that failed: `sp_open`, `tcsetattr`, `read`, `usb lookup`.
    public var operation: String
    public var code: Code
    public var message: String

    public init(device: String, operation: String, code: Code, message: String) {
        self.device = device; self.operation = operation; self.code = code; self.message = message
    }

    /// `/dev/ttyUSB99: no such device (sp_get_port_by_name)`
    public var description: String { "\(device): \(message) (\(operation))" }

    /// For an OS call that set `errno`.
    static func system(_ device: String, _ operation: String, errno e: Int32 = errno) -> SerialPortError {
        SerialPortError(device: device, operation: operation, code: e == ENOENT || e == ENODEV || e == ENXIO ? .notFound : .system(errno: e),
                        message: String(cString: strerror(e)))
    }
}

/// A libserialport `sp_transport`.
public enum SerialTransport: String, Sendable, Hashable {
    case native, usb, bluetooth, unknown
}

/// A serial port through libserialport (`struct sp_port`): one method per C call, errors as
/// `SerialPortError` with `sp_last_error_message()` for OS failures. One owner at a time; the port
/// is closed and freed on deinit.
///
/// libserialport 0.1.1 refuses pseudo-terminals and other devices it finds no sysfs entry for
/// (`sp_get_port_by_name` → SP_ERR_ARG); open those with `TermiosPort`.
public final class SerialPort {
    /// The name it was looked up by (`/dev/ttyUSB0`).
    public let name: String
    private let port: OpaquePointer
    public private(set) var isOpen = false

    /// `sp_get_port_by_name`
    public init(name: String) throws(SerialPortError) {
        self.name = name
        var p: OpaquePointer?
        let rc = sp_get_port_by_name(name, &p)
        if rc != SP_OK || p == nil {
            var error = Self.error(rc, name, "sp_get_port_by_name")
            if rc == SP_ERR_ARG {
                // libserialport does not say why; tell "missing" from "not a port it knows".
                if access(name, F_OK) != 0 {
                    error = .system(name, "sp_get_port_by_name", errno: errno)
                    if error.code == .notFound { error.message = "no such device" }
                } else {
                    error.message = "not a serial port libserialport recognizes"
                }
            }
            throw error
        }
        port = p!
    }

    /// Takes ownership of a port from `sp_list_ports` / `sp_copy_port`.
    init(owning port: OpaquePointer) {
        self.port = port
        name = sp_get_port_name(port).map { String(cString: $0) } ?? "?"
    }

    deinit {
        if isOpen { sp_close(port) }
        sp_free_port(port)
    }

    public enum Mode: Sendable {
        case read, write, readWrite
        var c: sp_mode {
            switch self {
            case .read: return SP_MODE_READ
            case .write: return SP_MODE_WRITE
            case .readWrite: return SP_MODE_READ_WRITE
            }
        }
    }

    /// `sp_open`
    public func open(_ mode: Mode = .read) throws(SerialPortError) {
        try check(sp_open(port, mode.c), "sp_open")
        isOpen = true
    }

    /// `sp_close`
    public func close() throws(SerialPortError) {
        guard isOpen else { return }
        isOpen = false
        try check(sp_close(port), "sp_close")
    }

    /// `sp_set_baudrate` (non-standard rates such as 74880 work where the driver allows).
    public func setBaudrate(_ baud: Int) throws(SerialPortError) {
        try check(sp_set_baudrate(port, Int32(clamping: baud)), "sp_set_baudrate")
    }

    /// `sp_set_bits` (5 … 8).
    public func setBits(_ bits: Int) throws(SerialPortError) {
        try check(sp_set_bits(port, Int32(clamping: bits)), "sp_set_bits")
    }

    /// `sp_set_parity`
    public func setParity(_ parity: SerialParity) throws(SerialPortError) {
        let p: sp_parity
        switch parity {
        case .none: p = SP_PARITY_NONE
        case .odd: p = SP_PARITY_ODD
        case .even: p = SP_PARITY_EVEN
        }
        try check(sp_set_parity(port, p), "sp_set_parity")
    }

    /// `sp_set_stopbits` (1 or 2).
    public func setStopBits(_ bits: Int) throws(SerialPortError) {
        try check(sp_set_stopbits(port, Int32(clamping: bits)), "sp_set_stopbits")
    }

    /// `sp_set_flowcontrol`
    public func setFlowControl(_ flow: SerialFlowControl) throws(SerialPortError) {
        let f: sp_flowcontrol
        switch flow {
        case .none: f = SP_FLOWCONTROL_NONE
        case .rtscts: f = SP_FLOWCONTROL_RTSCTS
        case .xonxoff: f = SP_FLOWCONTROL_XONXOFF
        }
        try check(sp_set_flowcontrol(port, f), "sp_set_flowcontrol")
    }

    /// `sp_blocking_read`: waits up to `timeoutMilliseconds` (0: forever) for `buffer.count` bytes;
    /// returns how many arrived. Note: it cannot tell a hung-up device from silence — the serial
    /// source polls `fileDescriptor()` instead.
    public func blockingRead(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: UInt32) throws(SerialPortError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let rc = sp_blocking_read(port, base, buffer.count, timeoutMilliseconds)
        if rc.rawValue < 0 { throw Self.error(rc, name, "sp_blocking_read") }
        return Int(rc.rawValue)
    }

    /// `sp_nonblocking_read`: whatever is available now, possibly 0 bytes.
    public func nonblockingRead(into buffer: UnsafeMutableRawBufferPointer) throws(SerialPortError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let rc = sp_nonblocking_read(port, base, buffer.count)
        if rc.rawValue < 0 { throw Self.error(rc, name, "sp_nonblocking_read") }
        return Int(rc.rawValue)
    }

    /// `sp_input_waiting`: bytes waiting in the input buffer.
    public func inputWaiting() throws(SerialPortError) -> Int {
        let rc = sp_input_waiting(port)
        if rc.rawValue < 0 { throw Self.error(rc, name, "sp_input_waiting") }
        return Int(rc.rawValue)
    }

    /// `sp_get_port_handle`: the open port's file descriptor (for `poll`).
    public func fileDescriptor() throws(SerialPortError) -> Int32 {
        var fd: Int32 = -1
        try check(sp_get_port_handle(port, &fd), "sp_get_port_handle")
        return fd
    }

    /// `sp_get_port_description`
    public var portDescription: String? { sp_get_port_description(port).map { String(cString: $0) } }

    /// `sp_get_port_transport`
    public var transport: SerialTransport {
        switch sp_get_port_transport(port) {
        case SP_TRANSPORT_NATIVE: return .native
        case SP_TRANSPORT_USB: return .usb
        case SP_TRANSPORT_BLUETOOTH: return .bluetooth
        default: return .unknown
        }
    }

    /// `sp_get_port_usb_vid_pid`; nil for a port that is not USB.
    public var usbVendorProduct: (vid: UInt16, pid: UInt16)? {
        var vid: Int32 = 0, pid: Int32 = 0
        guard sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK else { return nil }
        return (UInt16(truncatingIfNeeded: vid), UInt16(truncatingIfNeeded: pid))
    }

    /// `sp_get_port_usb_manufacturer`
    public var usbManufacturer: String? { sp_get_port_usb_manufacturer(port).map { String(cString: $0) } }
    /// `sp_get_port_usb_product`
    public var usbProduct: String? { sp_get_port_usb_product(port).map { String(cString: $0) } }
    /// `sp_get_port_usb_serial`
    public var usbSerial: String? { sp_get_port_usb_serial(port).map { String(cString: $0) } }

    /// What libserialport knows about this port.
    public var info: SerialPortInfo {
        let ids = usbVendorProduct
        return SerialPortInfo(path: name, description: portDescription, transport: transport,
                              vid: ids?.vid, pid: ids?.pid, manufacturer: usbManufacturer,
                              product: usbProduct, serial: usbSerial)
    }

    /// `sp_list_ports` (then `sp_free_port_list`): every serial port the OS reports, sorted by path.
    /// Pseudo-terminals are not listed.
    public static func listPorts() throws(SerialPortError) -> [SerialPortInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let rc = sp_list_ports(&list)
        guard rc == SP_OK, let list else { throw error(rc, "serial ports", "sp_list_ports") }
        defer { sp_free_port_list(list) }
        var out: [SerialPortInfo] = []
        var i = 0
        while let p = list[i] {
            var copy: OpaquePointer?
            if sp_copy_port(p, &copy) == SP_OK, let copy {
                out.append(SerialPort(owning: copy).info)
            }
            i += 1
        }
        return out.sorted { $0.path < $1.path }
    }

    private func check(_ rc: sp_return, _ operation: String) throws(SerialPortError) {
        if rc != SP_OK { throw Self.error(rc, name, operation) }
    }

    /// A `SerialPortError` for a libserialport return code; the OS message for SP_ERR_FAIL.
    static func error(_ rc: sp_return, _ device: String, _ operation: String) -> SerialPortError {
        switch rc {
        case SP_ERR_FAIL:
            let code = sp_last_error_code()
            var message = "failed"
            if let m = sp_last_error_message() {
                message = String(cString: m)
                sp_free_error_message(m)
            }
            return SerialPortError(device: device, operation: operation,
                                   code: code == ENOENT || code == ENODEV || code == ENXIO ? .notFound : .system(errno: code),
                                   message: message)
        case SP_ERR_MEM:
            return SerialPortError(device: device, operation: operation, code: .outOfMemory, message: "out of memory")
        case SP_ERR_SUPP:
            return SerialPortError(device: device, operation: operation, code: .notSupported,
                                   message: "not supported by the OS, driver or device")
        default:
            return SerialPortError(device: device, operation: operation, code: .invalidArgument, message: "invalid argument")
        }
    }
}

/// One serial port as `vigil probe` shows it.
public struct SerialPortInfo: Sendable, Hashable {
    public var path: String
    public var description: String?
    public var transport: SerialTransport
    public var vid: UInt16?
    public var pid: UInt16?
    public var manufacturer: String?
    public var product: String?
    public var serial: String?

    public init(path: String, description: String? = nil, transport: SerialTransport = .native, vid: UInt16? = nil,
                pid: UInt16? = nil, manufacturer: String? = nil, product: String? = nil, serial: String? = nil) {
        self.path = path; self.description = description; self.transport = transport; self.vid = vid; self.pid = pid
        self.manufacturer = manufacturer; self.product = product; self.serial = serial
    }

    /// The common ESP8266/Arduino USB bridge this is, if known (`CP210x (Silicon Labs)`).
    public var knownBridge: String? {
        guard let vid, let pid else { return nil }
        return SerialPorts.bridgeName(vid: vid, pid: pid)
    }

    /// One line for `vigil probe`:
    /// `/dev/ttyUSB0  usb 10c4:ea60  Silicon Labs CP2102 USB to UART Bridge Controller  serial 0001  [CP210x (Silicon Labs) — …]`
    public var probeLine: String {
        var parts = [path, transport.rawValue + (usbID.map { " \($0)" } ?? "")]
        let name = [manufacturer, product].compactMap { $0 }.joined(separator: " ")
        if !name.isEmpty { parts.append(name) } else if let d = description, !d.isEmpty { parts.append(d) }
        if let serial, !serial.isEmpty { parts.append("serial \(serial)") }
        if let b = knownBridge { parts.append("[\(b)]") }
        return parts.joined(separator: "  ")
    }

    /// `10c4:ea60`, or nil when not USB.
    public var usbID: String? {
        guard let vid, let pid else { return nil }
        return "\(USBPortSelector.hex4(vid)):\(USBPortSelector.hex4(pid))"
    }
}

/// Finding ports: listing, naming USB bridges, resolving a `usb:` selector to a current path.
public enum SerialPorts {
    /// Every serial port libserialport reports (`sp_list_ports`).
    public static func list() throws(SerialPortError) -> [SerialPortInfo] { try SerialPort.listPorts() }

    /// The USB-serial bridges ESP8266/ESP32 and Arduino boards commonly carry.
    public static func bridgeName(vid: UInt16, pid: UInt16) -> String? {
        switch (vid, pid) {
        case (0x10C4, 0xEA60): return "CP210x (Silicon Labs) — NodeMCU, many ESP8266/ESP32 boards"
        case (0x1A86, 0x7523): return "CH340 (WCH) — NodeMCU v3/LoLin, Wemos D1 mini, Arduino clones"
        case (0x1A86, 0x55D4): return "CH9102 (WCH) — newer ESP32/ESP8266 boards"
        case (0x0403, 0x6001): return "FTDI FT232R — FTDI adapters, older Arduinos"
        case (0x0403, 0x6015): return "FTDI FT231X — FTDI adapters"
        case (0x2341, _): return "Arduino (genuine)"
        case (0x2A03, _): return "Arduino (arduino.org)"
        default: return nil
        }
    }

    /// The path of the port matching `selector` among `ports`: exactly one must match (by VID,
    /// PID, and serial number when given).
    public static func resolve(_ selector: USBPortSelector, among ports: [SerialPortInfo]) throws(SerialPortError) -> String {
        let device = "usb \(selector)"
        guard let vid = selector.vendorID, let pid = selector.productID else {
            throw SerialPortError(device: device, operation: "usb lookup", code: .invalidArgument, message: "vid and pid must be hex")
        }
        let matches = ports.filter { $0.vid == vid && $0.pid == pid && (selector.serial == nil || $0.serial == selector.serial) }
        switch matches.count {
        case 1:
            return matches[0].path
        case 0:
            let usb = ports.compactMap { p in p.usbID.map { "\(p.path) \($0)" + (p.serial.map { " serial \($0)" } ?? "") } }
            throw SerialPortError(device: device, operation: "usb lookup", code: .notFound,
                                  message: "no such USB serial port is present" + (usb.isEmpty ? " (no USB serial ports found)" : " (found: \(usb.joined(separator: ", ")))"))
        default:
            let list = matches.map { "\($0.path)" + ($0.serial.map { " serial \($0)" } ?? "") }
            throw SerialPortError(device: device, operation: "usb lookup", code: .ambiguous,
                                  message: "\(matches.count) ports match (\(list.joined(separator: ", "))); add usb.serial to pick one")
        }
    }

    /// Lists the ports and resolves `selector` to the path it has now (ttyUSB0 may come back as
    /// ttyUSB1 after a re-plug).
    public static func resolve(_ selector: USBPortSelector) throws(SerialPortError) -> String {
        try resolve(selector, among: list())
    }
}
