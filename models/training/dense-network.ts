/**
 * A small fully connected network with a hand-written forward pass, backward
 * pass and Adam optimiser. It is all the anomaly forecaster needs (a few
 * thousand weights), and writing it out keeps training dependency-free and
 * bit-for-bit reproducible from a seed.
 *
 * Weights are stored input-major (`weights[i * outputs + j]` links input i to
 * output j), which is exactly ONNX Gemm's `B` operand with `transB = 0`, so the
 * exporter writes them as they are.
 */
import type { RandomSource } from '../../shared/simulator/seeded-random.js'

export type Activation = 'tanh' | 'relu' | 'linear'

export interface DenseLayer {
  readonly inputs: number
  readonly outputs: number
  readonly activation: Activation
  /** inputs x outputs, input-major. */
  readonly weights: Float64Array
  readonly bias: Float64Array
}

export interface DenseNetwork {
  readonly layers: readonly DenseLayer[]
}

export interface LayerSpec {
  readonly outputs: number
  readonly activation: Activation
}

/** Glorot-uniform weights, zero biases, drawn in a fixed order from `random`. */
export function initialiseNetwork(inputs: number, specs: readonly LayerSpec[], random: RandomSource): DenseNetwork {
  const layers: DenseLayer[] = []
  let width = inputs
  for (const spec of specs) {
    const limit = Math.sqrt(6 / (width + spec.outputs))
    const weights = new Float64Array(width * spec.outputs)
    for (let k = 0; k < weights.length; k++) weights[k] = random.between(-limit, limit)
    layers.push({ inputs: width, outputs: spec.outputs, activation: spec.activation, weights, bias: new Float64Array(spec.outputs) })
    width = spec.outputs
  }
  return { layers }
}

/** The same network with every parameter rounded to float32, as the ONNX file holds it. */
export function roundToFloat32(network: DenseNetwork): DenseNetwork {
  return {
    layers: network.layers.map((layer) => ({
      ...layer,
      weights: Float64Array.from(Float32Array.from(layer.weights)),
      bias: Float64Array.from(Float32Array.from(layer.bias)),
    })),
  }
}

export function parameterCount(network: DenseNetwork): number {
  return network.layers.reduce((sum, layer) => sum + layer.weights.length + layer.bias.length, 0)
}

function activate(activation: Activation, x: number): number {
  switch (activation) {
    case 'tanh':
      return Math.tanh(x)
    case 'relu':
      return x > 0 ? x : 0
    case 'linear':
      return x
  }
}

/** d activation / d pre-activation, written in terms of the activation's output `y`. */
function activationSlope(activation: Activation, y: number): number {
  switch (activation) {
    case 'tanh':
      return 1 - y * y
    case 'relu':
      return y > 0 ? 1 : 0
    case 'linear':
      return 1
  }
}

/** Runs one input row through the network; returns every layer's output (the last is the prediction). */
export function forwardWithActivations(network: DenseNetwork, input: ArrayLike<number>): Float64Array[] {
  const outputs: Float64Array[] = []
  let current: ArrayLike<number> = input
  for (const layer of network.layers) {
    const out = new Float64Array(layer.outputs)
    for (let j = 0; j < layer.outputs; j++) out[j] = layer.bias[j] as number
    for (let i = 0; i < layer.inputs; i++) {
      const x = current[i] as number
      if (x === 0) continue
      const row = i * layer.outputs
      for (let j = 0; j < layer.outputs; j++) out[j] = (out[j] as number) + x * (layer.weights[row + j] as number)
    }
    for (let j = 0; j < layer.outputs; j++) out[j] = activate(layer.activation, out[j] as number)
    outputs.push(out)
    current = out
  }
  return outputs
}

export function forward(network: DenseNetwork, input: ArrayLike<number>): Float64Array {
  const all = forwardWithActivations(network, input)
  return all[all.length - 1] as Float64Array
}

/** Gradients with the network's shape. */
export interface Gradients {
  readonly weights: Float64Array[]
  readonly bias: Float64Array[]
}

export function zeroGradients(network: DenseNetwork): Gradients {
  return {
    weights: network.layers.map((layer) => new Float64Array(layer.weights.length)),
    bias: network.layers.map((layer) => new Float64Array(layer.bias.length)),
  }
}

/**
 * Accumulates into `gradients` the gradient of the loss for one sample, given
 * d loss / d output. Returns nothing: the caller averages over the batch.
 */
export function backward(
  network: DenseNetwork,
  input: ArrayLike<number>,
  activations: readonly Float64Array[],
  outputGradient: ArrayLike<number>,
  gradients: Gradients,
): void {
  let delta = Float64Array.from(outputGradient)
  for (let l = network.layers.length - 1; l >= 0; l--) {
    const layer = network.layers[l] as DenseLayer
    const out = activations[l] as Float64Array
    for (let j = 0; j < layer.outputs; j++) delta[j] = (delta[j] as number) * activationSlope(layer.activation, out[j] as number)
    const layerInput: ArrayLike<number> = l === 0 ? input : (activations[l - 1] as Float64Array)
    const weightGradient = gradients.weights[l] as Float64Array
    const biasGradient = gradients.bias[l] as Float64Array
    const previousDelta = new Float64Array(layer.inputs)
    for (let j = 0; j < layer.outputs; j++) biasGradient[j] = (biasGradient[j] as number) + (delta[j] as number)
    for (let i = 0; i < layer.inputs; i++) {
      const x = layerInput[i] as number
      const row = i * layer.outputs
      let sum = 0
      for (let j = 0; j < layer.outputs; j++) {
        const d = delta[j] as number
        weightGradient[row + j] = (weightGradient[row + j] as number) + x * d
        sum += (layer.weights[row + j] as number) * d
      }
      previousDelta[i] = sum
    }
    delta = previousDelta
  }
}

export interface AdamSettings {
  readonly learningRate: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

export const DEFAULT_ADAM: AdamSettings = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }

/** Adam (Kingma & Ba 2015) with bias correction, updating the network in place. */
export class AdamOptimiser {
  readonly #settings: AdamSettings
  readonly #firstMoment: Gradients
  readonly #secondMoment: Gradients
  #step = 0

  constructor(network: DenseNetwork, settings: AdamSettings = DEFAULT_ADAM) {
    this.#settings = settings
    this.#firstMoment = zeroGradients(network)
    this.#secondMoment = zeroGradients(network)
  }

  /** Applies `gradients` scaled by `scale` (1 / batch size). */
  step(network: DenseNetwork, gradients: Gradients, scale: number, learningRate = this.#settings.learningRate): void {
    this.#step++
    const { beta1, beta2, epsilon } = this.#settings
    const correction1 = 1 - beta1 ** this.#step
    const correction2 = 1 - beta2 ** this.#step
    network.layers.forEach((layer, l) => {
      const update = (params: Float64Array, grads: Float64Array, m: Float64Array, v: Float64Array) => {
        for (let k = 0; k < params.length; k++) {
          const g = (grads[k] as number) * scale
          const mk = beta1 * (m[k] as number) + (1 - beta1) * g
          const vk = beta2 * (v[k] as number) + (1 - beta2) * g * g
          m[k] = mk
          v[k] = vk
          params[k] = (params[k] as number) - (learningRate * (mk / correction1)) / (Math.sqrt(vk / correction2) + epsilon)
        }
      }
      update(layer.weights, gradients.weights[l] as Float64Array, this.#firstMoment.weights[l] as Float64Array, this.#secondMoment.weights[l] as Float64Array)
      update(layer.bias, gradients.bias[l] as Float64Array, this.#firstMoment.bias[l] as Float64Array, this.#secondMoment.bias[l] as Float64Array)
    })
  }
}
