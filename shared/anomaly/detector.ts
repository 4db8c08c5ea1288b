/**
 * The contract between the anomaly model (models/, shared/anomaly/) and its
 * users: the edge's inference loop and rules engine, and the `cloudos detect`
 * backtesting CLI. Both run exactly the same detector, so a backtest shows
 * what the edge would have done.
 */

/** One reading presented to the detector; per series, readings come in stream order. */
export interface DetectorInput {
  /** `<sensorId>/<metric>`: the detector keeps one window and one normaliser per key. */
  seriesKey: string
  ts: number
  value: number
}

/** What the loaded model is, from its card (models/<name>.card.json). */
export interface ModelDescriptor {
  name: string
  version: string
  /** Absolute path of the .onnx file. */
  path: string
  /** sha256 of the .onnx file, hex. */
  sha256: string
  window: number
}

/**
 * Scores readings with one loaded model. It keeps per-series state (sliding
 * window, running normalisation, likelihood of recent errors); NaN, ±Infinity
 * and gaps never enter a window.
 */
export interface AnomalyDetector {
  readonly model: ModelDescriptor
  /**
   * Feeds the readings of one tick (many series) and runs the model once,
   * batched, over every series whose window is ready. Resolves to one score per
   * input, in input order: 0..1, or NaN while that series' window is still
   * filling or when the value was not a finite number.
   */
  scoreBatch(inputs: readonly DetectorInput[]): Promise<Float64Array>
  /** Drops the state of one series. */
  forget(seriesKey: string): void
  /** Releases the onnxruntime session. */
  close(): Promise<void>
}

/**
 * Holds the current detector and swaps models while running: load, validate
 * (input/output names and shapes against the card), warm, then switch
 * atomically. A corrupt or mismatched model is refused with a CloudosError and
 * the previous detector keeps running.
 */
export interface ModelRegistry {
  current(): AnomalyDetector | undefined
  /** Loads the model whose card is at `cardPath` (or whose .onnx sits beside a card) and switches to it. */
  swap(modelPath: string): Promise<ModelDescriptor>
  close(): Promise<void>
}
