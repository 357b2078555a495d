import ArgumentParser
import VigilAgent
import VigilSources

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "List serial ports and gpiochips with what the system knows about them, so you know what to put in the config.",
        discussion: "Serial ports: path, transport and USB VID:PID, manufacturer and product, serial number, and the name of a known ESP8266/Arduino USB bridge (CP210x, CH340, CH9102, FTDI, Arduino). Prefer /dev/serial/by-id/… paths or a `usb: { vid, pid, serial }` selector in the config: they survive re-plugging. GPIO: each gpiochip with its label (name chips by label in the config: numbers change between kernels), then each line with its name, direction, bias and the process using it.")

    @Flag(help: "Only the gpiochip summary lines, not every line.")
    var chipsOnly = false

    /// Each registered kind's listing (`SourceKinds.probes`), a blank line between them.
    func run() throws {
        let options = ProbeOptions(brief: chipsOnly, board: BoardDetection.detect())
        for (i, probe) in SourceKinds.probes.enumerated() {
            if i > 0 { print("") }
            do throws(ProbeFailure) { try probe.run(options) { print($0) } } catch {
                printError(error.message)
                throw ExitCode(1)
            }
        }
    }
}
