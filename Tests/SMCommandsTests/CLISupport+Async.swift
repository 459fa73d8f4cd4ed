import TestSupport
import Testing

/// The harness's commands for async tests: the same, but suspended while `sm` runs, so the
/// test holds none of the shared pool's threads meanwhile (`Tool.run` async).
extension CLIHarness {
    func run(_ arguments: String...) async throws -> ToolResult { try await run(arguments) }

    func run(_ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 120) async throws
        -> ToolResult
    {
        try await Tool(name: "sm", path: try #require(Self.binary)).run(
            arguments, environment: environment.merging(extra) { $1 }, timeout: timeout)
    }

    @discardableResult
    func ok(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let result = try await run(arguments)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        try result.requireSuccess()
        return result.output.hasSuffix("\n") ? String(result.output.dropLast()) : result.output
    }

    func json<T: Decodable>(_ type: T.Type, _ arguments: String...) async throws -> T {
        try await run(arguments + ["--json"]).requireSuccess().json(type)
    }

    @discardableResult
    func createSR(name: String = "local") async throws -> String {
        try await ok("sr-create", "device-config:path=\(srParent)", "name-label=\(name)")
    }
}
