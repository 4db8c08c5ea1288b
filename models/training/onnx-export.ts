/**
 * Writes a {@link DenseNetwork} as an ONNX model: one Gemm per layer followed by
 * its activation (Tanh or Relu), float32 weights as initialisers, and a
 * symbolic batch dimension so the edge scores many series in one run. The
 * graph is only the network; normalisation and the likelihood stage run in
 * TypeScript (shared/anomaly) and are described by the model card.
 *
 * The bytes depend only on the network and the names: no timestamps or
 * producer versions that would change between runs, so a seeded training run
 * reproduces the file exactly.
 */
import onnxProto from 'onnx-proto'
import type { DenseNetwork } from './dense-network.js'

const { onnx } = onnxProto

/** ONNX opset used: Gemm, Tanh and Relu have been stable in it since opset 13. */
export const ONNX_OPSET = 13
/** IR version 8 (ONNX 1.10), read by every onnxruntime since 1.10. */
export const ONNX_IR_VERSION = 8

export interface ExportNames {
  readonly input: string
  readonly output: string
  readonly modelName: string
  readonly modelVersion: string
  readonly docString?: string
}

export function exportOnnx(network: DenseNetwork, names: ExportNames): Uint8Array {
  const inputWidth = network.layers[0]?.inputs
  const outputWidth = network.layers[network.layers.length - 1]?.outputs
  if (inputWidth === undefined || outputWidth === undefined) throw new Error('cannot export a network without layers')

  const nodes: onnxProto.onnx.INodeProto[] = []
  const initializers: onnxProto.onnx.ITensorProto[] = []
  let current = names.input
  network.layers.forEach((layer, l) => {
    const weightName = `layer${l}.weight`
    const biasName = `layer${l}.bias`
    initializers.push(floatTensor(weightName, [layer.inputs, layer.outputs], layer.weights))
    initializers.push(floatTensor(biasName, [layer.outputs], layer.bias))
    const last = l === network.layers.length - 1
    const gemmOut = last && layer.activation === 'linear' ? names.output : `layer${l}.linear`
    nodes.push({ name: `layer${l}.gemm`, opType: 'Gemm', input: [current, weightName, biasName], output: [gemmOut] })
    current = gemmOut
    if (layer.activation !== 'linear') {
      const activated = last ? names.output : `layer${l}.${layer.activation}`
      nodes.push({ name: `layer${l}.${layer.activation}`, opType: layer.activation === 'tanh' ? 'Tanh' : 'Relu', input: [current], output: [activated] })
      current = activated
    }
  })

  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'cloudos-lite',
    modelVersion: 1,
    docString: names.docString ?? '',
    graph: {
      name: names.modelName,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(names.input, inputWidth)],
      output: [valueInfo(names.output, outputWidth)],
    },
    metadataProps: [
      { key: 'name', value: names.modelName },
      { key: 'version', value: names.modelVersion },
    ],
  })
  return onnx.ModelProto.encode(model).finish()
}

function floatTensor(name: string, dims: number[], values: Float64Array): onnxProto.onnx.ITensorProto {
  const data = Float32Array.from(values)
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    // raw_data is little-endian by the ONNX spec; Node runs on little-endian hosts only.
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  }
}

function valueInfo(name: string, width: number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] },
      },
    },
  }
}
