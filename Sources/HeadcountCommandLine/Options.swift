import ArgumentParser
import Foundation
import HeadcountPipeline
import HeadcountStore
import Logging

/// `--pipeline FILE`: the pipeline file, loaded and validated.
public struct PipelineOption: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("The pipeline file (Pipelines/*.yaml).", valueName: "file"))
    public var pipeline: String

    public init() {}

    public func load() throws -> Pipeline { try Self.load(path: pipeline) }

    /// A pipeline file named by some other option, its errors as the command line's.
    public static func load(path: String) throws -> Pipeline {
        do {
            return try Pipeline.load(path: path)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// `--brokers HOST:PORT[,…]`, or `HEADCOUNT_BROKERS`.
public struct BrokersOption: ParsableArguments, Sendable {
    /// Where `headcount dev-broker` writes its bootstrap address, read when nothing else names brokers.
    public static let defaultBootstrapFile = ".data/kafka-bootstrap"

    @Option(name: .long, help: ArgumentHelp(
        "Kafka bootstrap servers (default: $HEADCOUNT_BROKERS, or the address in the file `headcount dev-broker` writes).",
        valueName: "host:port"))
    public var brokers: String?

    @Option(name: .long, help: ArgumentHelp("A librdkafka property, for SASL/TLS and tuning (repeatable).", valueName: "key=value"))
    public var kafkaProperty: [String] = []

    public init() {}

    public func bootstrapServers() throws -> String {
        if let brokers, !brokers.isEmpty { return brokers }
        let environment = ProcessInfo.processInfo.environment
        if let brokers = environment["HEADCOUNT_BROKERS"], !brokers.isEmpty { return brokers }
        let file = Self.defaultBootstrapFile
        if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        throw ValidationError("no Kafka brokers: pass --brokers, set HEADCOUNT_BROKERS, or start `headcount dev-broker`")
    }

    public func properties() throws -> [String: String] {
        var properties: [String: String] = [:]
        for item in kafkaProperty {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--kafka-property must be key=value, got \"\(item.prefix(40))\"")
            }
            properties[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        return properties
    }
}

/// `--database URL`, or `DATABASE_URL`.
public struct DatabaseOption: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("PostgreSQL URL (default: $DATABASE_URL).", valueName: "url"))
    public var database: String?

    public init() {}

    public func url() throws -> DatabaseURL {
        guard let text = database ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else {
            throw ValidationError("no database: pass --database postgres://… or set DATABASE_URL")
        }
        do {
            return try DatabaseURL(text)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// `--log-level`: logs go to standard error.
public struct LoggingOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: Logger.Level = .info

    public init() {}

    public func bootstrap(_ label: String) -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
