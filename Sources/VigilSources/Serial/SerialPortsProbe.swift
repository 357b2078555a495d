/// `vigil probe`: the serial ports, with what the system knows about each (see `SerialPortInfo.probeLine`).
struct SerialPortsProbe: DeviceProbe {
    var id: String { "serial" }

    func run(_ options: ProbeOptions, print: (String) -> Void) throws(ProbeFailure) {
        let ports: [SerialPortInfo]
        do { ports = try SerialPorts.list() } catch {
            throw ProbeFailure("cannot list serial ports: \(error)")
        }
        if ports.isEmpty {
            print("no serial ports found")
            return
        }
        print("serial ports:")
        for p in ports { print("  \(p.probeLine)") }
    }
}
