import ArgumentParser

@main
struct IPIQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipiqa",
        abstract: "IP-IQA: quality and image–prompt alignment of AI-generated images, on a CLIP RN50 backbone.",
        subcommands: [
            TrainCommand.self, EvaluateCommand.self, ScoreCommand.self, PretrainCommand.self,
            EmbedCommand.self, ClipScoreCommand.self, TokenizeCommand.self,
            SplitsCommand.self, CorrelateCommand.self, BenchCommand.self, TrainBenchCommand.self,
        ]
    )
}
