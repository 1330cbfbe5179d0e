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
  samplePoints,
  sampleUniform,
  type DataSpec,
  type DatasetOptions,
  type FileSpec,
  type ParseOptions,
  type SamplerSpec,
  type SpiralsSpec,
} from "./data.js";
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
  lineComparisonSvg,
  lossCurveSvg,
  niceTicks,
  viridis,
  type Heatmap,
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
