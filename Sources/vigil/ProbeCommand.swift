import ArgumentParser
import VigilAgent
import VigilSources

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List serial ports and gpiochips with what the system knows about them, so you know what to put in the config.",
        discussion: "Serial ports: path, transport and USB VID:PID, manufacturer and product, serial number, and the name of a known ESP8266/Arduino USB bridge (CP210x, CH340, CH9102, FTDI, Arduino). Prefer /dev/serial/by-id/… paths or a `usb: { vid, pid, serial }` selector in the config: they survive re-plugging. GPIO: each gpiochip with its label (name chips by label in the config: numbers change between kernels), then each line with its name, direction, bias and the process using it.")

    @Flag(help: "Only the gpiochip summary lines, not every line.")
    var chipsOnly = false

    func run() throws {
        try listSerialPorts()
        print("")
        listGPIOChips()
    }

    func listGPIOChips() {
        let chips: [GPIOChipInfo]
        do { chips = try GPIOChips.list() } catch {
            print("gpiochips: cannot list: \(error)")
            return
        }
        if chips.isEmpty {
            print("gpiochips: none (no /dev/gpiochip* this user can open; is the user in group gpio?)")
            return
        }
        let board = BoardDetection.detect()
        print("gpiochips:")
        for info in chips {
            var line = "  \(info.path)  \(info.name)  \"\(info.label)\"  \(info.lineCount) lines"
            if let board, info.label == board.headerChip.label { line += "  <- \(board.name) 40-pin header (GPIO n = line n)" }
            print(line)
            guard !chipsOnly, let chip = try? GPIOChip(info.path) else { continue }
            for offset in 0..<chip.lineCount {
                guard let l = try? chip.line(offset), let i = try? l.info() else { continue }
                print("    " + i.probeLine)
            }
        }
    }

    func listSerialPorts() throws {
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
