/** Tiny trained models for the anomaly tests: seconds to train, same code path as the shipped model. */
import { DEFAULT_TRAINING, type TrainingOptions } from '../../models/training/train-forecaster.js'
import { trainAndWriteModel, type WrittenModel } from '../../models/training/write-model.js'

export const TINY_TRAINING: TrainingOptions = { ...DEFAULT_TRAINING, epochs: 1, seriesCount: 16, seriesLength: 160, hidden: [8], window: 16 }

export function writeTinyModel(outDir: string, fileBase: string, overrides: Partial<TrainingOptions> = {}): WrittenModel {
  return trainAndWriteModel({
    outDir,
    fileBase,
    modelName: fileBase,
    version: '0.0.1',
    training: { ...TINY_TRAINING, ...overrides },
  })
}
