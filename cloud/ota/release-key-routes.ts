import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { actorOf } from '../http/auth-guards.js'
import { parseReleaseKeyPem } from './trusted-release-keys.js'
import { bearerSecurity, responses } from '../http/schemas.js'
import { releaseKeyView, ReleaseKeyView } from './ota-views.js'
import type { HubRouteOptions } from '../http/route-options.js'

const AddKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'Who holds the private key, e.g. "release team 2026"' }),
    publicKeyPem: Type.String({ minLength: 1, maxLength: 4096, description: 'Ed25519 public key, PEM (SPKI): the .pub.pem file of `cloudos firmware keygen`' }),
  },
  { additionalProperties: false },
)

const KeyParams = Type.Object({ keyId: Type.String({ pattern: '^[0-9a-f]{16}$' }) })

/** The release keys the hub trusts: from the config (read only here) and added by admins (audited). */
export const releaseKeyRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const { trustedKeys } = context.ota

  app.get(
    '/v1/release-keys',
    {
      onRequest: guards.anyRole,
      schema: { tags: ['releases'], summary: 'Release keys whose signatures the hub accepts on uploaded bundles', security: bearerSecurity, response: responses({ 200: Type.Object({ keys: Type.Array(ReleaseKeyView) }) }) },
    },
    async () => {
      const records = new Map((await context.store.releaseKeys.list()).map((r) => [r.id, r]))
      return { keys: (await trustedKeys.all()).map((key) => releaseKeyView(key, key.source === 'admin' ? records.get(key.id) : undefined)) }
    },
  )

  app.post<{ Body: Static<typeof AddKeyBody> }>(
    '/v1/release-keys',
    {
      onRequest: guards.adminOnly,
      schema: { tags: ['releases'], summary: 'Trust another release key (admin; audited)', security: bearerSecurity, body: AddKeyBody, response: responses({ 201: ReleaseKeyView }) },
    },
    async (request, reply) => {
      const parsed = parseReleaseKeyPem(request.body.publicKeyPem, 'body/publicKeyPem')
      if (trustedKeys.isConfigured(parsed.id)) throw new CloudosError('HUB_ERR_CONFLICT', `release key ${parsed.id} is already trusted (from the hub config)`, { keyId: parsed.id })
      const record = { id: parsed.id, name: request.body.name, publicKeyPem: parsed.publicKeyPem, addedBy: actorOf(request), addedAt: context.clock() }
      await context.store.releaseKeys.add(record)
      await context.audit.record('release_key.add', actorOf(request), parsed.id, { name: record.name })
      return reply.status(201).send(releaseKeyView({ ...parsed, name: record.name, source: 'admin' }, record))
    },
  )

  app.delete<{ Params: Static<typeof KeyParams> }>(
    '/v1/release-keys/:keyId',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['releases'],
        summary: 'Stop trusting a release key added by an admin (stored releases stay; keys from the config are removed by editing it)',
        security: bearerSecurity,
        params: KeyParams,
        response: responses({ 200: Type.Object({ removed: Type.String() }) }),
      },
    },
    async (request) => {
      const { keyId } = request.params
      if (trustedKeys.isConfigured(keyId)) throw new CloudosError('HUB_ERR_CONFLICT', `release key ${keyId} comes from the hub config (ota.trustedKeyFiles / --release-key): remove it there`)
      if (!(await context.store.releaseKeys.remove(keyId))) throw new CloudosError('HUB_ERR_NOT_FOUND', `no release key ${keyId} added through the API`)
      await context.audit.record('release_key.remove', actorOf(request), keyId)
      return { removed: keyId }
    },
  )
}
