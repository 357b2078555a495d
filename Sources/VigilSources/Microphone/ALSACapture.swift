import CALSA
#if canImport(Glibc)
import Glibc
#endif

/// A failed alsa-lib call: the device, the call and alsa-lib's words for the error.
public struct ALSAError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The PCM as the config names it: `plughw:CARD=Device,DEV=0`.
    public var device: String
    /// `snd_pcm_open`, `snd_pcm_hw_params_set_rate`, `snd_pcm_readi`, or a check: `rate`.
    public var call: String
    /// `snd_strerror`'s words, or what the check found.
    public var reason: String
    /// The negative errno alsa-lib returned, when it was a call.
    public var code: Int32?

    public init(device: String, call: String, reason: String, code: Int32? = nil) {
        self.device = device; self.call = call; self.reason = reason; self.code = code
    }

    init(device: String, call: String, code: Int32) {
        self.init(device: device, call: call, reason: String(cString: snd_strerror(code)), code: code)
    }

    /// `hw:1,0: snd_pcm_open: No such file or directory`
    public var description: String { "\(device): \(call): \(reason)" }
}

/// What one period read gave.
public enum CaptureRead: Sendable, Equatable {
    /// `frames` frames were written into the buffer.
    case frames(Int)
    /// Nothing arrived within the wait's timeout (the caller gets a chance to look at its stop flag).
    case timedOut
    /// The capture buffer overran (the reader fell behind) and was restarted: samples were lost.
    case overrun
    /// The device failed (unplugged: `No such device`); close and open it again.
    case failed(ALSAError)
}

/// What the microphone source reads from: a capture PCM giving interleaved signed 16-bit frames.
/// The real one is `ALSACapture`.
public protocol CaptureDevice: AnyObject {
    /// Frames per period, as the device granted it.
    var periodFrames: Int { get }
    /// Waits up to `timeoutMillis` for a period and reads up to `frames` frames into `buffer`.
    func read(into buffer: UnsafeMutablePointer<Int16>, frames: Int, timeoutMillis: Int32) -> CaptureRead
}

/// One ALSA capture PCM through alsa-lib (`snd_pcm_*`): opened blocking, interleaved S16_LE at an
/// exact rate and channel count (a `plughw:` device converts whatever the card gives; a `hw:`
/// device must support them itself), about four periods of buffer.
public final class ALSACapture: CaptureDevice {
    public let device: String
    public let periodFrames: Int
    private let pcm: OpaquePointer

    /// Opens `device` by ALSA name (`default`, `hw:1,0`, `plughw:CARD=Device,DEV=0`), or a PCM
    /// defined in `localConfig` (alsa-lib config text; tests use it for a `type file` PCM).
    public init(device: String, rate: Int, channels: Int, periodFrames: Int,
                localConfig: String? = nil) throws(ALSAError) {
        self.device = device
        var handle: OpaquePointer?
        var local: OpaquePointer?
        defer { if let local { snd_config_delete(local) } }
        if let localConfig {
            local = try Self.parse(localConfig, device: device)
        }
        let opened = local.map { snd_pcm_open_lconf(&handle, device, SND_PCM_STREAM_CAPTURE, 0, $0) }
            ?? snd_pcm_open(&handle, device, SND_PCM_STREAM_CAPTURE, 0)
        guard opened >= 0, let pcm = handle else { throw ALSAError(device: device, call: "snd_pcm_open", code: opened) }
        do throws(ALSAError) {
            self.periodFrames = try Self.configure(pcm, device: device, rate: rate, channels: channels, periodFrames: periodFrames)
            let started = snd_pcm_start(pcm)
            if started < 0 { throw ALSAError(device: device, call: "snd_pcm_start", code: started) }
        } catch {
            snd_pcm_close(pcm)
            throw error
        }
        self.pcm = pcm
    }

    deinit { snd_pcm_close(pcm) }

    public func read(into buffer: UnsafeMutablePointer<Int16>, frames: Int, timeoutMillis: Int32) -> CaptureRead {
        let ready = snd_pcm_wait(pcm, timeoutMillis)
        if ready == 0 { return .timedOut }
        let n = ready < 0 ? Int(ready) : snd_pcm_readi(pcm, buffer, snd_pcm_uframes_t(frames))
        if n >= 0 { return .frames(n) }
        let code = Int32(n)
        switch -code {
        case EAGAIN, EINTR: return .frames(0)
        case EPIPE, ESTRPIPE:
            // Overrun, or a suspend: prepare and start again (snd_pcm_recover does the prepare).
            let r = snd_pcm_recover(pcm, code, 1)
            if r < 0 { return .failed(ALSAError(device: device, call: "snd_pcm_recover", code: r)) }
            let s = snd_pcm_start(pcm)
            if s < 0 && s != -EBADFD { return .failed(ALSAError(device: device, call: "snd_pcm_start", code: s)) }
            return .overrun
        default: return .failed(ALSAError(device: device, call: ready < 0 ? "snd_pcm_wait" : "snd_pcm_readi", code: code))
        }
    }

    private static func parse(_ text: String, device: String) throws(ALSAError) -> OpaquePointer {
        var top: OpaquePointer?
        var input: OpaquePointer?
        var r = snd_config_top(&top)
        if r >= 0 { r = snd_input_buffer_open(&input, text, -1) }
        if r >= 0, let input { r = snd_config_load(top, input); snd_input_close(input) }
        guard r >= 0, let top else {
            if let top { snd_config_delete(top) }
            throw ALSAError(device: device, call: "snd_config_load", code: r)
        }
        return top
    }

    /// Sets the hardware parameters; returns the period size the device granted.
    private static func configure(_ pcm: OpaquePointer, device: String, rate: Int, channels: Int,
                                  periodFrames: Int) throws(ALSAError) -> Int {
        var params: OpaquePointer?
        let allocated = snd_pcm_hw_params_malloc(&params)
        guard allocated >= 0, let hw = params else { throw ALSAError(device: device, call: "snd_pcm_hw_params_malloc", code: allocated) }
        defer { snd_pcm_hw_params_free(hw) }
        func check(_ r: Int32, _ call: String, _ hint: String = "") throws(ALSAError) {
            if r < 0 { throw ALSAError(device: device, call: call, reason: String(cString: snd_strerror(r)) + hint, code: r) }
        }
        try check(snd_pcm_hw_params_any(pcm, hw), "snd_pcm_hw_params_any")
        try check(snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED), "snd_pcm_hw_params_set_access")
        let plug = " (a plughw: device converts)"
        try check(snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE), "snd_pcm_hw_params_set_format S16_LE", plug)
        try check(snd_pcm_hw_params_set_channels(pcm, hw, UInt32(channels)), "snd_pcm_hw_params_set_channels \(channels)", plug)
        try check(snd_pcm_hw_params_set_rate(pcm, hw, UInt32(rate), 0), "snd_pcm_hw_params_set_rate \(rate)", plug)
        var period = snd_pcm_uframes_t(periodFrames)
        var dir: Int32 = 0
        try check(snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir), "snd_pcm_hw_params_set_period_size_near")
        var buffer = period * 4
        try check(snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer), "snd_pcm_hw_params_set_buffer_size_near")
        try check(snd_pcm_hw_params(pcm, hw), "snd_pcm_hw_params")
        var granted: snd_pcm_uframes_t = 0
        try check(snd_pcm_hw_params_get_period_size(hw, &granted, &dir), "snd_pcm_hw_params_get_period_size")
        return Int(granted)
    }
}
