/**
 * Host-side training machinery that runs anywhere (browsers included): data
 * sources, the training loop, checkpoints in safetensors format, progress
 * lines and SVG plots. File and checkpoint I/O on Node lives in `./node.js`.
 */
export {
  checkSpec,
  chooseRows,
  DataError,
  Dataset,
  gatherRows,
  gridPoints,
  makeSpirals,
  parseCsv,
  parseDataFile,
  parseJsonData,
  parseNpy,
  sampleBoundary,
  sampleLhs,
  sampleIntegers,
  samplePoints,
  sampleSeed,
  sampleUniform,
  sliceRows,
  type DataSpec,
  type DatasetOptions,
  type FileSpec,
  type MnistSpec,
  type ParseOptions,
  type RandintSpec,
  type SamplerSpec,
  type SeedSpec,
  type SpiralsSpec,
} from "./data.js";
export {
  evaluateAccuracy,
  evaluateMean,
  EvaluationError,
  type CallableModule,
} from "./evaluate.js";
export {
  MNIST_PIXELS,
  MNIST_SIDE,
  mnistImageShape,
  mnistSplitRows,
  mnistTensor,
  mnistTestCount,
  type MnistDigits,
} from "./mnist.js";
export { formatDuration, formatNumber } from "./format.js";
export {
  runTraining,
  TrainingError,
  type ProgressInfo,
  type TrainableModule,
  type TrainingData,
  type TrainingOptions,
  type TrainingResult,
} from "./loop.js";
export {
  escapeXml,
  heatmapSvg,
  imageRowSvg,
  lineComparisonSvg,
  lossCurveSvg,
  niceTicks,
  viridis,
  type Heatmap,
  type ImageRow,
  type LineComparison,
  type LossCurveOptions,
  type PlotOptions,
} from "./plot.js";
export { Progress, type ProgressOptions } from "./progress.js";
export { Rng, type StreamKey } from "./random.js";
export {
  applyCheckpoint,
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  type Safetensors,
  type StatefulModule,
} from "./safetensors.js";
