import Foundation
import Prometheus

/// The service's Prometheus metrics, in a registry of its own (no process-wide bootstrap, so several services —
/// tests — can live in one process), exposed as text at `GET /metrics`:
///
///     ipiqa_http_requests_total{route, status}      counter
///     ipiqa_http_request_duration_seconds{route}    histogram
///     ipiqa_batch_size                              histogram (images per forward pass)
///     ipiqa_batch_duration_seconds                  histogram
///     ipiqa_queue_depth                             gauge (requests waiting for the model)
///     ipiqa_images_scored_total                     counter
///
/// ```swift
/// let metrics = ServiceMetrics()
/// metrics.request(route: "/v1/score", status: 200, seconds: 0.05)
/// print(metrics.text())
/// ```
public final class ServiceMetrics: Sendable {
    /// Routes get their own label value; anything else is `other` (the label set stays bounded).
    public static let routes = ["/", "/v1/score", "/v1/score/batch", "/v1/model", "/healthz", "/readyz", "/metrics"]
    static let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].map { .milliseconds(Int($0 * 1000)) }

    public let registry = PrometheusCollectorRegistry()
    private let batchSizes: ValueHistogram
    private let batchSeconds: DurationHistogram
    private let queueDepth: Gauge
    private let imagesScored: Counter

    public init(maxBatch: Int = 8) {
        var sizes: [Double] = []
        var b = 1
        while b < maxBatch { sizes.append(Double(b)); b *= 2 }
        sizes.append(Double(maxBatch))
        batchSizes = registry.makeValueHistogram(
            descriptor: .init(metricName: "ipiqa_batch", unitName: "size", helpText: "Images per forward pass."), buckets: sizes)
        batchSeconds = registry.makeDurationHistogram(
            descriptor: .init(metricName: "ipiqa_batch_duration", unitName: "seconds", helpText: "Time of one forward pass."),
            buckets: Self.latencyBuckets)
        queueDepth = registry.makeGauge(
            descriptor: .init(metricName: "ipiqa_queue", unitName: "depth", helpText: "Requests waiting for the model."))
        imagesScored = registry.makeCounter(
            descriptor: .init(metricName: "ipiqa_images_scored", unitName: "total", helpText: "Images scored."))
    }

    /// The route label of a request path.
    public static func route(_ path: String) -> String { routes.contains(path) ? path : "other" }

    /// One answered request.
    public func request(route: String, status: Int, seconds: Double) {
        registry.makeCounter(
            descriptor: .init(metricName: "ipiqa_http_requests", unitName: "total", helpText: "HTTP requests by route and status."),
            labels: [("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "ipiqa_http_request_duration", unitName: "seconds", helpText: "Request latency by route."),
            labels: [("route", route)], buckets: Self.latencyBuckets
        ).record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// One forward pass of `size` images.
    public func batch(size: Int, seconds: Double) {
        batchSizes.record(Double(size))
        batchSeconds.record(.nanoseconds(Int64(seconds * 1e9)))
        imagesScored.increment(by: Int64(size))
    }

    /// The current number of waiting requests.
    public func setQueueDepth(_ depth: Int) { queueDepth.set(to: Double(depth)) }

    /// Prometheus text exposition format (version 0.0.4).
    public func text() -> String { registry.emitToString() }
}
