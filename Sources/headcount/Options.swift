import ArgumentParser
import Foundation
import HeadcountPipeline
import HeadcountStore
import Logging

/// `--pipeline FILE`: the pipeline file, loaded and validated.
struct PipelineOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The pipeline file (Pipelines/*.yaml).", valueName: "file"))
    var pipeline: String

    func load() throws -> Pipeline {
        do {
            return try Pipeline.load(path: pipeline)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// `--brokers HOST:PORT[,…]`, or `HEADCOUNT_BROKERS`.
struct BrokersOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Kafka bootstrap servers (default: $HEADCOUNT_BROKERS, or the address in the file `headcount dev-broker` writes).",
        valueName: "host:port"))
    var brokers: String?

    @Option(name: .long, help: ArgumentHelp("A librdkafka property, for SASL/TLS and tuning (repeatable).", valueName: "key=value"))
    var kafkaProperty: [String] = []

    func bootstrapServers() throws -> String {
        if let brokers, !brokers.isEmpty { return brokers }
        let environment = ProcessInfo.processInfo.environment
        if let brokers = environment["HEADCOUNT_BROKERS"], !brokers.isEmpty { return brokers }
        let file = DevBrokerCommand.defaultBootstrapFile
        if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        throw ValidationError("no Kafka brokers: pass --brokers, set HEADCOUNT_BROKERS, or start `headcount dev-broker`")
    }

    func properties() throws -> [String: String] {
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
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("PostgreSQL URL (default: $DATABASE_URL).", valueName: "url"))
    var database: String?

    func url() throws -> DatabaseURL {
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
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func bootstrap(_ label: String) -> Logger {
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
