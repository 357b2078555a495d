// libFuzzer target: a CSV file handed to `vigil replay` (header, time column, delimiter detection,
// values, labels), through the same detectors the agent runs.
import VigilAgent
import VigilCore

let settings = DetectorSettings(windowSize: 5, warmup: 3, zOn: 3, zOff: 1.5, endAfter: 2, stdFloor: 0.1, holdOut: 0)
let optionSets: [Replay.Options] = {
    var plain = Replay.Options()
    var labelled = Replay.Options()
    labelled.labelColumn = "anomaly"
    labelled.timeColumn = "none"
    var multivariate = Replay.Options()
    multivariate.multivariate = settings
    multivariate.delimiter = UInt8(ascii: ";")
    return [plain, labelled, multivariate]
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReplay(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let options = optionSets[Int(data[0]) % optionSets.count]
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    do {
        let replay = try Replay(text: text, file: "fuzz.csv", options: options, settings: { _ in settings })
        precondition(replay.rows.allSatisfy { $0.values.count == replay.channels.count }, "row width differs")
    } catch {
        precondition(error.line >= 1 && !error.message.isEmpty, "rejection without a line")
    }
    return 0
}
