import Glibc
import VHD

/// Building `SRError`s from the catalogue by name, and mapping lower layers' errors at this
/// edge (the only place the engine translates errors).
enum EngineFailure {
    static func error(_ code: SRErrorCode, _ opterr: String) -> SRError {
        SRError(code: code, opterr: opterr)
    }

    /// Runs `body`, turning any error that is not already an `SRError` into `code`.
    @discardableResult
    static func wrap<T>(_ code: SRErrorCode, _ body: () throws -> T) throws(SRError) -> T {
        do { return try body() } catch let error as SRError { throw error } catch {
            throw self.error(code, "\(error)")
        }
    }

    /// Runs `body`, turning a container's error into an `SRError` (`error(_:volume:)`).
    static func volume<T>(_ code: SRErrorCode, _ body: () throws(VolumeError) -> T) throws(SRError) -> T {
        do { return try body() } catch { throw self.error(code, volume: error) }
    }

    /// A container's error as SM reports it: `SRNoSpace`, `VDIMissing`, or else `code`.
    static func error(_ code: SRErrorCode, volume error: VolumeError) -> SRError {
        switch error {
        case .noSpace: return self.error(.srNoSpace, error.description)
        case .notFound: return self.error(.vdiMissing, error.description)
        default: return self.error(code, error.description)
        }
    }

    static func vhd<T>(_ command: String, _ body: () throws(VHDError) -> T) throws(SRError) -> T {
        do { return try body() } catch { throw SRError(vhd: error, command: command) }
    }
}

/// Named points inside multi-step operations where crash tests stop the operation: the
/// process exits (as if killed) or, in process, the operation stops with `FistPoint` (203)
/// and no clean-up, leaving the SR exactly as a crash there would.
public struct FaultPoint: Sendable {
    public let check: @Sendable (String) throws(SRError) -> Void

    public init(_ check: @escaping @Sendable (String) throws(SRError) -> Void) { self.check = check }

    /// Exits the process with status 137 when `SM_FAULT_POINT` names the point.
    public static let environment = FaultPoint { point in
        if let wanted = getenv("SM_FAULT_POINT").map({ String(cString: $0) }), wanted == point {
            _exit(137)
        }
    }

    /// Stops the operation at `point` by throwing.
    public static func stop(at point: String) -> FaultPoint {
        FaultPoint { reached throws(SRError) in
            if reached == point { throw SRError(.fistPoint, opterr: "stopped at \(point)") }
        }
    }

    public static let none = FaultPoint { _ in }
}
