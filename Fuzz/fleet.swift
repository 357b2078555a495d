// libFuzzer target: what the fleet receiver gets from the broker — a topic and a payload — through
// MessageDecoder (and its JSON parser). Byte 0 picks the topic; the rest is the payload.
@testable import VigilFleetCore

let topics = [
    "vigil/gw-1/status", "vigil/gw-1/health", "vigil/gw-1/health/temperature",
    "vigil/gw-1/anomaly/temperature", "vigil/gw-1/summary/temperature", "vigil/gw-1/anomaly/t2",
]
let decoder = MessageDecoder(prefix: "vigil", maxPayloadBytes: 64 * 1024)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFleet(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let topic = topics[Int(data[0]) % topics.count]
    let payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    _ = try? JSONParser.parse(payload)
    switch decoder.decode(topic: topic, payload: payload) {
    case .success: break
    case .failure(let rejection): precondition(!rejection.code.isEmpty && !rejection.description.isEmpty)
    }
    return 0
}
