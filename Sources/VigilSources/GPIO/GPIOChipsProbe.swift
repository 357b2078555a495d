/// `vigil probe`: each gpiochip with its label (the board's header chip pointed out), then each
/// line with its name, direction, bias and the process using it.
struct GPIOChipsProbe: DeviceProbe {
    var id: String { "gpio" }

    func run(_ options: ProbeOptions, print: (String) -> Void) throws(ProbeFailure) {
        let chips: [GPIOChipInfo]
        do { chips = try GPIOChips.list() } catch {
            print("gpiochips: cannot list: \(error)")
            return
        }
        if chips.isEmpty {
            print("gpiochips: none (no /dev/gpiochip* this user can open; is the user in group gpio?)")
            return
        }
        print("gpiochips:")
        for info in chips {
            var line = "  \(info.path)  \(info.name)  \"\(info.label)\"  \(info.lineCount) lines"
            if let board = options.board, info.label == board.headerChip.label { line += "  <- \(board.name) 40-pin header (GPIO n = line n)" }
            print(line)
            guard !options.brief, let chip = try? GPIOChip(info.path) else { continue }
            for offset in 0..<chip.lineCount {
                guard let l = try? chip.line(offset), let i = try? l.info() else { continue }
                print("    " + i.probeLine)
            }
        }
    }
}
