#if canImport(Glibc)
import Glibc
#endif
import VigilCore

/// Which board preset applies: the one the config names, or this machine's when it is a known
/// Raspberry Pi (read from the device tree).
public enum BoardDetection {
    public static let modelFile = "/proc/device-tree/model"

    /// `Raspberry Pi 4 Model B Rev 1.5`, or nil where there is no device tree (a PC, a VM).
    public static func model(file: String = modelFile) -> String? {
        guard let bytes = try? ConfigLoader.readFile(file), !bytes.isEmpty else { return nil }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// This machine's preset, if it has one.
    public static func detect(file: String = modelFile) -> Board? {
        model(file: file).flatMap(Boards.matching(model:))
    }

    /// The board for `config`: its named preset, none for `board: none`, else this machine's.
    public static func board(for config: VigilConfig, modelFile: String = modelFile) -> Board? {
        if let named = config.namedBoard { return named }
        return config.detectsBoard ? detect(file: modelFile) : nil
    }

    static func noChipMessage(_ config: VigilConfig) -> String {
        let why = config.board == "none" ? "board is none" : "no board preset applies (\(model().map { "this machine is '\($0)'" } ?? "no device-tree model: not a Raspberry Pi"))"
        return "set chip to a gpiochip label, name or path (vigil probe lists them): \(why), so there is no default header chip"
    }
}
