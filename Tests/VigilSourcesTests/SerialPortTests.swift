import Foundation
import Testing
import VigilCore
@testable import VigilSources

@Suite struct SerialPortTests {
    @Test func enumerationRuns() throws {
        // There may be no ports at all here; listing must still work.
        let ports = try SerialPorts.list()
        for p in ports {
            #expect(p.path.hasPrefix("/dev/"), "\(p.path)")
            if p.transport == .usb { #expect(p.vid != nil && p.pid != nil) }
        }
        #expect(ports.map(\.path) == ports.map(\.path).sorted())
    }

    @Test func openingAMissingDeviceNamesIt() {
        do {
            _ = try SerialPort(name: "/dev/ttyUSB99")
            Issue.record("opened /dev/ttyUSB99")
        } catch {
            #expect(error.device == "/dev/ttyUSB99")
            #expect(error.code == .notFound)
            #expect(error.operation == "sp_get_port_by_name")
            #expect(error.description == "/dev/ttyUSB99: no such device (sp_get_port_by_name)")
        }
    }

    @Test func theSourceReportsAMissingDeviceByName() throws {
        let log = SerialEventLog()
        let source = try SerialSource(config: SerialSourceConfig(path: "/dev/ttyUSB99", reopenMin: .milliseconds(100), fields: espFields),
                                      log: log.logger)
        #expect(throws: SerialPortError.self) { try source.openDevice() }
        let running = RunningSource(source)
        #expect(waitUntil(3) { source.counters.openFailures >= 2 })
        #expect(running.stopAndJoin())
        #expect(source.counters.isOpen == false)
        #expect(source.counters.reconnects == 0)
        // Down is reported once, not at every attempt.
        #expect(running.sink.changes.count == 1)
        #expect(running.sink.changes.first?.up == false)
        #expect(running.sink.changes.first?.reason == "cannot open: /dev/ttyUSB99: no such device (sp_get_port_by_name)")
        #expect(log.lines.first == "serial serial: cannot open /dev/ttyUSB99: no such device (sp_get_port_by_name); retrying in 100ms")
        #expect(log.lines.dropFirst().first?.hasSuffix("retrying in 200ms") == true)
    }

    /// A native port (a 16550 at /dev/ttyS0 on most PCs and VMs) goes through libserialport:
    /// `sp_open`, the five settings and `sp_get_port_handle`. Where there is none, or it cannot
    /// be opened here, the error names it.
    @Test func nativePortOpensThroughLibserialportWhenPresent() throws {
        let path = "/dev/ttyS0"
        guard access(path, F_OK) == 0 else { return }
        do {
            let port = try SerialPort(name: path)
            #expect(port.transport == .native)
            #expect(port.usbVendorProduct == nil)
            let device = try LibSerialPortDevice(port: port, baud: 9600, dataBits: 7, parity: .even, stopBits: 2, flowControl: .none)
            #expect(device.backend == "libserialport")
            #expect(device.fileDescriptor >= 0)
            #expect(port.isOpen)
            #expect(try port.inputWaiting() >= 0)
            device.close()
            #expect(!port.isOpen)
        } catch {
            #expect(error.device == path)
            #expect(error.description.hasPrefix("\(path): "))
        }
    }

    @Test func libserialportRefusesAPtyAndTheSourceUsesTermios() throws {
        let pty = try VirtualSerialPort()
        defer { pty.close() }
        do {
            _ = try SerialPort(name: pty.slavePath)
            Issue.record("libserialport 0.1.1 was expected to refuse \(pty.slavePath)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.description == "\(pty.slavePath): not a serial port libserialport recognizes (sp_get_port_by_name)")
        }
        #expect(TermiosPort.isPseudoTerminal(pty.slavePath))
        #expect(!TermiosPort.isPseudoTerminal("/dev/null"))
        let source = try SerialSource(config: SerialSourceConfig(path: pty.slavePath, fields: espFields))
        let device = try source.openDevice()
        defer { device.close() }
        #expect(device.backend == "termios")
        #expect(device.path == pty.slavePath)
        #expect(device.fileDescriptor >= 0)
    }

    @Test func termiosKnowsTheStandardRates() {
        #expect(TermiosPort.speed(forBaud: 115_200) != nil)
        #expect(TermiosPort.speed(forBaud: 9600) != nil)
        #expect(TermiosPort.speed(forBaud: 74_880) == nil)
    }

    @Test func knownBridgesAreNamed() {
        #expect(SerialPorts.bridgeName(vid: 0x10C4, pid: 0xEA60)?.hasPrefix("CP210x") == true)
        #expect(SerialPorts.bridgeName(vid: 0x1A86, pid: 0x7523)?.hasPrefix("CH340") == true)
        #expect(SerialPorts.bridgeName(vid: 0x1A86, pid: 0x55D4)?.hasPrefix("CH9102") == true)
        #expect(SerialPorts.bridgeName(vid: 0x0403, pid: 0x6001)?.hasPrefix("FTDI") == true)
        #expect(SerialPorts.bridgeName(vid: 0x0403, pid: 0x6015)?.hasPrefix("FTDI") == true)
        #expect(SerialPorts.bridgeName(vid: 0x2341, pid: 0x0043)?.hasPrefix("Arduino") == true)
        #expect(SerialPorts.bridgeName(vid: 0x1234, pid: 0x5678) == nil)
        let info = SerialPortInfo(path: "/dev/ttyUSB0", transport: .usb, vid: 0x1A86, pid: 0x7523)
        #expect(info.usbID == "1a86:7523")
        #expect(info.knownBridge?.hasPrefix("CH340") == true)
        let cp = SerialPortInfo(path: "/dev/ttyUSB1", description: "CP2102 USB to UART Bridge Controller", transport: .usb,
                                vid: 0x10C4, pid: 0xEA60, manufacturer: "Silicon Labs",
                                product: "CP2102 USB to UART Bridge Controller", serial: "0001")
        #expect(cp.probeLine == "/dev/ttyUSB1  usb 10c4:ea60  Silicon Labs CP2102 USB to UART Bridge Controller  serial 0001  [CP210x (Silicon Labs) — NodeMCU, many ESP8266/ESP32 boards]")
        #expect(SerialPortInfo(path: "/dev/ttyS0", description: "ttyS0").probeLine == "/dev/ttyS0  native  ttyS0")
    }

    @Test func usbSelectorResolvesToTheCurrentPath() throws {
        let cp2102 = SerialPortInfo(path: "/dev/ttyUSB1", transport: .usb, vid: 0x10C4, pid: 0xEA60, serial: "0001")
        let other = SerialPortInfo(path: "/dev/ttyUSB0", transport: .usb, vid: 0x1A86, pid: 0x7523)
        let native = SerialPortInfo(path: "/dev/ttyS0")
        // After a re-plug the same adapter is ttyUSB1: found by identity.
        #expect(try SerialPorts.resolve(USBPortSelector(vid: "10c4", pid: "EA60"), among: [native, other, cp2102]) == "/dev/ttyUSB1")
        #expect(try SerialPorts.resolve(USBPortSelector(vid: "10c4", pid: "ea60", serial: "0001"), among: [cp2102]) == "/dev/ttyUSB1")

        let twin = SerialPortInfo(path: "/dev/ttyUSB2", transport: .usb, vid: 0x10C4, pid: 0xEA60, serial: "0002")
        #expect(try SerialPorts.resolve(USBPortSelector(vid: "10c4", pid: "ea60", serial: "0002"), among: [cp2102, twin]) == "/dev/ttyUSB2")
        do {
            _ = try SerialPorts.resolve(USBPortSelector(vid: "10c4", pid: "ea60"), among: [cp2102, twin])
            Issue.record("ambiguous selector resolved")
        } catch {
            #expect(error.code == .ambiguous)
            #expect(error.description == "usb 10c4:ea60: 2 ports match (/dev/ttyUSB1 serial 0001, /dev/ttyUSB2 serial 0002); add usb.serial to pick one (usb lookup)")
        }
        do {
            _ = try SerialPorts.resolve(USBPortSelector(vid: "0403", pid: "6001"), among: [native, other])
            Issue.record("absent adapter resolved")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.description == "usb 0403:6001: no such USB serial port is present (found: /dev/ttyUSB0 1a86:7523) (usb lookup)")
        }
    }
}
