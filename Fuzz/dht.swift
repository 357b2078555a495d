// libFuzzer target: DHT11/DHT22 edge streams as GPIO edge events deliver them (timestamps may go
// backwards, repeat, or jump). Each 5-byte group is one edge: 4 bytes of delta nanoseconds (signed,
// so time can run backwards) and 1 byte whose low bit is the edge type; byte 0 picks the model.
import VigilSources

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDHT(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let model: DHTModel = data[0] & 1 == 0 ? .dht22 : .dht11
    var edges: [DHTEdge] = []
    var nanos: Int64 = 1_000_000_000
    var i = 1
    while i + 5 <= size {
        var delta: Int32 = 0
        for k in 0..<4 { delta |= Int32(data[i + k]) << (8 * k) }
        nanos = nanos &+ Int64(delta)
        edges.append(DHTEdge(nanos: nanos, rising: data[i + 4] & 1 == 1))
        i += 5
    }
    for result in [DHTDecoder.decode(edges, model: model),
                    DHTDecoder.decode(bytes: Array(UnsafeBufferPointer(start: data + 1, count: min(5, size - 1))), model: model)] {
        if case .success(let r) = result {
            // Only plausible readings are accepted (the datasheet ranges of either model).
            precondition(r.temperature >= -40 && r.temperature <= 80 && r.humidity >= 0 && r.humidity <= 100,
                         "accepted \(r)")
        }
    }
    return 0
}
