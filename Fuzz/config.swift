// libFuzzer target: a config file's bytes → libyaml → YAML composer → Codable decoding → validation
// (ConfigLoader.parse, what `vigil check` and `vigil run` do with --config).
@testable import VigilAgent

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let config = try ConfigLoader.parse(utf8: bytes, file: "fuzz.yaml")
        precondition(!config.sources.isEmpty, "a config without sources was accepted")
    } catch {
        // Rejected: every problem has a message to print.
        precondition(!error.problems.isEmpty && error.problems.allSatisfy { !$0.message.isEmpty }, "silent rejection")
        _ = error.description
    }
    return 0
}
