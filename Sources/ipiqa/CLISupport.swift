import ArgumentParser
import Foundation

/// Shared CLI plumbing: library errors become one "error: …" line on stderr and exit status 1.
enum CLI {
    static func printError(_ message: String) {
        FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Runs `body`, turning thrown library errors into a clean message and `ExitCode.failure`.
    static func run(_ body: () throws -> Void) throws {
        do { try body() } catch let e as ExitCode { throw e } catch let e as ValidationError { throw e } catch let e as CleanExit { throw e } catch {
            printError((error as? LocalizedError)?.errorDescription ?? "\(error)")
            throw ExitCode.failure
        }
    }

    /// Writes `value` as JSON (sorted keys) followed by a newline to stdout.
    static func printJSON<T: Encodable>(_ value: T, pretty: Bool = false) throws {
        var data = try json(value, pretty: pretty)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }

    /// Writes `value` as pretty-printed JSON (sorted keys) to `url`, atomically.
    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try json(value, pretty: true).write(to: url, options: .atomic)
    }

    private static func json<T: Encodable>(_ value: T, pretty: Bool) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}
