import ArgumentParser

@main
struct IPIQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipiqa",
        abstract: "IP-IQA: quality and image–prompt alignment of AI-generated images, on a CLIP RN50 backbone.",
        subcommands: [SplitsCommand.self, CorrelateCommand.self, BenchCommand.self, TokenizeCommand.self, TrainCommand.self,
                      EvaluateCommand.self]
    )
}
