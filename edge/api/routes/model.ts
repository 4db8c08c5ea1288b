import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../../shared/errors.js'
import type { EdgeApiContext } from '../context.js'

const SwapBodySchema = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: 4096, description: 'The model card (.card.json) or the .onnx beside its card, on the edge\'s file system.' }),
  },
  { additionalProperties: false },
)

/**
 * The anomaly model: what runs (`GET /v1/model`) and hot swap (`PUT /v1/model`
 * with `{"path": ...}`): load, validate against the card, warm, switch
 * atomically. A corrupt or mismatched model answers its MODEL_ERR_* code and
 * the running model keeps scoring.
 */
export const modelRoutes: FastifyPluginAsync<{ context: EdgeApiContext }> = async (app, { context }) => {
  app.get('/v1/model', async () => context.inference.status())

  app.put<{ Body: Static<typeof SwapBodySchema> }>('/v1/model', { schema: { body: SwapBodySchema } }, async (request) => {
    if (!context.inference.status().enabled) {
      throw new CloudosError('INFERENCE_ERR_DISABLED', 'anomaly inference is switched off (anomaly.enabled=false): no model to swap')
    }
    const model = await context.inference.swap(request.body.path)
    return { swapped: true, model, status: context.inference.status() }
  })
}
