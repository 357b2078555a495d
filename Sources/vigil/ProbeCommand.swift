import ArgumentParser
import VigilSources

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List serial ports with what libserialport knows about them, so you know which to put in the config.",
        discussion: "Each line: path, transport and USB VID:PID, manufacturer and product, serial number, and the name of a known ESP8266/Arduino USB bridge (CP210x, CH340, CH9102, FTDI, Arduino). Prefer /dev/serial/by-id/… paths or a `usb: { vid, pid, serial }` selector in the config: they survive re-plugging.")

    func run() throws {
        let ports: [SerialPortInfo]
        do { ports = try SerialPorts.list() } catch {
            printError("cannot list serial ports: \(error)")
            throw ExitCode(1)
        }
        if ports.isEmpty {
            print("no serial ports found")
            return
        }
        print("serial ports:")
        for p in ports { print("  \(p.probeLine)") }
    }
}
