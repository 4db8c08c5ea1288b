import { resolve } from 'node:path'
import type { Command } from 'commander'
import { integerFlag } from '../flags.js'

interface TrainFlags {
  seed?: number
  out: string
  name: string
  epochs?: number
  series?: number
  length?: number
  quick?: boolean
}

/**
 * `cloudos model ...`: train and export the anomaly model (`train`). Returns
 * the `model` command so other subcommands (the NAB `eval`) can be added to it
 * in cli/main.ts.
 */
export function registerModelCommand(program: Command): Command {
  const model = program.command('model').description('anomaly models: train and export the forecaster to ONNX (see models/README.md)')
  registerModelTrain(model)
  return model
}

function registerModelTrain(model: Command): void {
  model
    .command('train')
    .description('train the next-value forecaster on synthetic series and write <name>.onnx and <name>.card.json (seeded, reproducible)')
    .option('--seed <n>', 'random seed (default: the shipped model\'s)', integerFlag('--seed', 0, 0xffffffff))
    .option('--out <dir>', 'output folder', 'models')
    .option('--name <base>', 'file base name of the model and its card', 'cloudos-forecaster-v1')
    .option('--epochs <n>', 'training epochs (default 4)', integerFlag('--epochs', 1, 1000))
    .option('--series <n>', 'synthetic training series (default 320)', integerFlag('--series', 8, 100_000))
    .option('--length <n>', 'readings per training series (default 1000)', integerFlag('--length', 64, 1_000_000))
    .option('--quick', 'a tiny model in seconds, to check the machinery')
    .action(async (flags: TrainFlags) => {
      const { DEFAULT_TRAINING } = await import('../../models/training/train-forecaster.js')
      const { trainAndWriteModel } = await import('../../models/training/write-model.js')
      const base = flags.quick ? { ...DEFAULT_TRAINING, epochs: 1, seriesCount: 16, seriesLength: 200, hidden: [8] } : DEFAULT_TRAINING
      const training = {
        ...base,
        seed: flags.seed ?? base.seed,
        epochs: flags.epochs ?? base.epochs,
        seriesCount: flags.series ?? base.seriesCount,
        seriesLength: flags.length ?? base.seriesLength,
      }
      const written = trainAndWriteModel({
        outDir: resolve(flags.out),
        fileBase: flags.name,
        modelName: flags.name.replace(/-v\d+$/, ''),
        version: '1.0.0',
        training,
        onEpoch: (epoch, loss) => process.stderr.write(`model train: epoch ${epoch}/${training.epochs} loss ${loss.toFixed(5)}\n`),
      })
      const { metrics } = written.card
      process.stdout.write(
        `model train: wrote ${written.modelPath} and ${written.cardPath}\n` +
          `  seed ${training.seed}, ${written.result.trainingSamples} windows, ${(written.result.durationMs / 1000).toFixed(1)} s; ` +
          `validation loss ${String(metrics.validationLoss)} (naive last value: ${String(metrics.naiveLastValueValidationLoss)})\n`,
      )
    })
}
