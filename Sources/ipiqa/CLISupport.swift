import Archive
import ArgumentParser
import DataParallel
import Foundation

/// Shared CLI plumbing: library errors become one "error: …" line on stderr and exit status 1.
enum CLI {
    static func printError(_ message: String) {
        FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    }

    /// Whether the global `--verbose` flag (or `IPIQA_VERBOSE=1`) was given.
    static var verbose: Bool {
        CommandLine.arguments.contains("--verbose") || ProcessInfo.processInfo.environment["IPIQA_VERBOSE"] == "1"
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Runs `body`, turning thrown library errors into a clean message and `ExitCode.failure`.
    static func run(_ body: () throws -> Void) throws {
        do { try body() } catch let e as ExitCode {
            endJob(code: e.rawValue)
            throw e
        } catch let e as ValidationError { throw e } catch let e as CleanExit { throw e } catch {
            if let world = World.existing, world.size > 1 {
                printError("rank \(world.rank) of \(world.size): " + describe(error))
            } else {
                printError(describe(error))
            }
            endJob(code: ExitCode.failure.rawValue)
            throw ExitCode.failure
        }
    }

    /// In a data-parallel job (`mpirun`), a rank that fails ends every rank at once (MPI_Abort) instead of leaving
    /// the others blocked in the next collective.
    static func endJob(code: Int32) {
        guard code != 0, let world = World.existing, world.size > 1 else { return }
        world.abort(code: code)
    }

    /// A library error's own message; Foundation file errors and JSON encoding errors in plain words.
    static func describe(_ error: any Error) -> String {
        if let e = error as? EncodingError, case let .invalidValue(value, context) = e {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "cannot write the result as JSON: \(value) at \(path) is not a finite number"
        }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
            let file = (ns.userInfo[NSFilePathErrorKey] as? String).map { $0 + ": " } ?? ""
            return file + FileProblem.describe(error)
        }
        return (error as? LocalizedError)?.errorDescription ?? "\(error)"
    }

    /// Writes `value` as JSON (sorted keys) followed by a newline to stdout.
    static func printJSON<T: Encodable>(_ value: T, pretty: Bool = false) throws {
        var data = try json(value, pretty: pretty)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }

    /// Writes `value` as pretty-printed JSON (sorted keys) to `url`, atomically.
    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        do { try AtomicFile.write(try json(value, pretty: true), to: url) } catch let e as AtomicFile.Failure {
            throw ValidationError("\(url.path): \(e.reason)")
        }
    }

    private static func json<T: Encodable>(_ value: T, pretty: Bool) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}
