import CLIP
import CLIPTokenizer
import Foundation
import Imaging
import IQAData
import IQAModel
import NN
import Tensor

/// The run's figures, per split: a scatter of predictions against MOS per output and the loss and SRCC curves.
extension Trainer {
    func writeScatter(_ k: Int, predictions: [[Double]], targets: [[Double]], epoch: Int) throws {
        for (o, name) in dataset.scoreNames.enumerated() {
            let image = Plot.scatter(x: targets.map { $0[o] }, y: predictions.map { $0[o] },
                                     title: "\(dataset.name) split \(k) epoch \(epoch) \(name)", xLabel: "MOS", yLabel: "PREDICTED")
            try AtomicWrite.data(try ImageCodec.encodePNG(image), to: layout.file(k, "scatter_\(name).png"))
        }
    }

    func writeCurves(_ k: Int, history: [EpochRecord]) throws {
        let loss = Plot.lines(series: [("train loss", history.map(\.trainLoss))], title: "\(dataset.name) split \(k) loss", xLabel: "EPOCH")
        try AtomicWrite.data(try ImageCodec.encodePNG(loss), to: layout.file(k, "loss.png"))
        var series: [(name: String, values: [Double])] = []
        for name in dataset.scoreNames {
            series.append(("test \(name)", history.map { $0.test[name]?.srcc ?? .nan }))
            if history.first?.validation != nil { series.append(("val \(name)", history.map { $0.validation?[name]?.srcc ?? .nan })) }
        }
        let srcc = Plot.lines(series: series, title: "\(dataset.name) split \(k) SRCC", xLabel: "EPOCH")
        try AtomicWrite.data(try ImageCodec.encodePNG(srcc), to: layout.file(k, "srcc.png"))
    }
}
