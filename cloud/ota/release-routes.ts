import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { CloudosError, isCloudosError } from '../../shared/errors.js'
import { actorOf } from '../http/auth-guards.js'
import { receiveBundle, type ReceivedBundle } from './bundle-receiver.js'
import { parseByteRange } from './byte-range.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import type { ReleaseId, ReleaseRecord } from './release-repository.js'
import { bearerSecurity, responses } from '../http/schemas.js'
import { OTA_BUNDLE_ROUTE } from '../../shared/protocol/ota.js'
import { ReleaseView, releaseView } from './ota-views.js'
import type { HubRouteOptions } from '../http/route-options.js'
import type { HubStore } from '../store/hub-store.js'

export const ReleaseParams = Type.Object({ releaseId: Type.String({ pattern: '^rel-[0-9a-f-]{36}$' }) })
const ListQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), offset: Type.Integer({ minimum: 0, default: 0 }) },
  { additionalProperties: false },
)

/** Looks a release up by id, or answers 404. */
const releaseFinder = (store: HubStore) =>
  async function findRelease(id: string): Promise<ReleaseRecord> {
    const release = await store.releases.findById(id as ReleaseId)
    if (release === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no release ${id}`)
    return release
  }

export const releaseRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const { ota, store, audit } = context
  const findRelease = releaseFinder(store)

  // Uploads: the body is a bundle file, streamed to disk by the parser below (scoped to this plugin).
  await app.register(async (uploads) => {
    // Uploads refused before their body was read to the end: the connection cannot carry another request.
    const cutOff = new WeakSet<FastifyRequest>()
    uploads.addHook('onSend', async (request, reply) => {
      if (cutOff.has(request)) void reply.header('connection', 'close')
    })
    uploads.addContentTypeParser('application/octet-stream', (request, payload, done) => {
      const length = request.headers['content-length']
      const declaredBytes = length === undefined ? undefined : Number(length)
      receiveBundle(payload, ota.incomingDir, { maxBytes: context.config.ota.maxBundleBytes, ...(declaredBytes === undefined || !Number.isFinite(declaredBytes) ? {} : { declaredBytes }) }).then(
        (received) => done(null, received),
        (err: Error) => {
          cutOff.add(request)
          done(err)
        },
      )
    })

    // No trusted key, no upload: refused before a byte of the body is read.
    const requireTrustedKey = async () => {
      if ((await ota.trustedKeys.all()).length === 0) {
        throw new CloudosError('RELEASE_ERR_NO_TRUSTED_KEYS', 'the hub trusts no release key yet: start it with --release-key FILE.pem or add one with POST /v1/release-keys')
      }
    }

    uploads.post(
      '/v1/releases',
      {
        onRequest: [guards.adminOnly, requireTrustedKey],
        schema: {
          tags: ['releases'],
          summary: 'Upload a signed bundle (body: the bundle file, Content-Type application/octet-stream); the hub verifies it against its trusted release keys and stores it (admin; audited)',
          security: bearerSecurity,
          consumes: ['application/octet-stream'],
          // For the OpenAPI description only: the parser above has already streamed the body to disk, anything passes.
          body: Type.Unsafe<unknown>({ description: 'The bundle file (.cosb), as is' }),
          response: responses({ 201: ReleaseView }),
        },
      },
      async (request, reply) => {
        const received = request.body as ReceivedBundle | undefined
        if (received?.tempPath === undefined) {
          throw new CloudosError('HUB_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the bundle file as the body with Content-Type: application/octet-stream')
        }
        const actor = actorOf(request)
        let stored: string | undefined
        try {
          const keys = await ota.trustedKeys.all()
          const verified = await ota.verifier
            .verify(received.tempPath, { trustedKeys: keys.map((k) => k.key), now: context.clock(), maxBytes: context.config.ota.maxBundleBytes })
            .catch((err: unknown) => {
              throw isCloudosError(err) ? err : new CloudosError('RELEASE_ERR_INVALID_BUNDLE', `the bundle could not be read: ${(err as Error).message}`)
            })
          const id = `rel-${randomUUID()}` as ReleaseId
          const bundleFile = `${id}.bundle`
          stored = join(ota.releasesDir, bundleFile)
          await rename(received.tempPath, stored)
          const release: ReleaseRecord = {
            id,
            name: verified.manifest.name,
            version: verified.manifest.version,
            kind: verified.manifest.kind,
            manifest: verified.manifest,
            bundleFile,
            bundleBytes: received.bytes,
            bundleSha256: received.sha256,
            signingKeyId: verified.keyId,
            uploadedBy: actor,
            uploadedAt: context.clock(),
          }
          await store.releases.create(release)
          await audit.record('release.upload', actor, id, { name: release.name, version: release.version, kind: release.kind, bundleBytes: release.bundleBytes, bundleSha256: release.bundleSha256, signingKeyId: release.signingKeyId })
          return reply.status(201).send(releaseView(release))
        } catch (err) {
          await rm(received.tempPath, { force: true })
          if (stored !== undefined) await rm(stored, { force: true })
          await audit.record('release.upload_refused', actor, '', { code: isCloudosError(err) ? err.code : 'HUB_ERR_INTERNAL', bundleBytes: received.bytes, bundleSha256: received.sha256 })
          throw err
        }
      },
    )
  })

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/v1/releases',
    {
      onRequest: guards.anyRole,
      schema: { tags: ['releases'], summary: 'Stored releases, newest upload first', security: bearerSecurity, querystring: ListQuery, response: responses({ 200: Type.Object({ count: Type.Integer(), releases: Type.Array(ReleaseView) }) }) },
    },
    async (request) => {
      const releases = await store.releases.list(request.query)
      return { count: releases.length, releases: releases.map(releaseView) }
    },
  )

  app.get<{ Params: Static<typeof ReleaseParams> }>(
    '/v1/releases/:releaseId',
    { onRequest: guards.anyRole, schema: { tags: ['releases'], summary: 'One release with its manifest', security: bearerSecurity, params: ReleaseParams, response: responses({ 200: ReleaseView }) } },
    async (request) => releaseView(await findRelease(request.params.releaseId)),
  )

  app.delete<{ Params: Static<typeof ReleaseParams> }>(
    '/v1/releases/:releaseId',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['releases'],
        summary: 'Delete a release and its bundle file; refused while a running or paused rollout uses it (admin; audited)',
        security: bearerSecurity,
        params: ReleaseParams,
        response: responses({ 200: Type.Object({ deleted: Type.String() }) }),
      },
    },
    async (request) => {
      const release = await findRelease(request.params.releaseId)
      const outcome = await store.releases.delete(release.id)
      if (outcome === 'not_found') throw new CloudosError('HUB_ERR_NOT_FOUND', `no release ${release.id}`)
      if (outcome === 'in_use') throw new CloudosError('RELEASE_ERR_IN_USE', `release ${release.id} is used by a running or paused rollout`)
      await rm(join(ota.releasesDir, release.bundleFile), { force: true })
      await audit.record('release.delete', actorOf(request), release.id, { name: release.name, version: release.version })
      return { deleted: release.id }
    },
  )
}

/** The bundle download, for devices (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts): streamed from disk, with Range for resuming. */
export const releaseBundleRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  const { ota, store } = context
  const findRelease = releaseFinder(store)

  app.get<{ Params: Static<typeof ReleaseParams> }>(
    OTA_BUNDLE_ROUTE,
    {
      // Like the target poll, a (possibly resumed) download does not write last-seen.
      config: { touchLastSeen: false },
      schema: {
        tags: ['releases'],
        summary: 'Download a release bundle (signed device request; only releases offered to the device). Supports Range (one range: 206 with Content-Range; 416 when unsatisfiable) and If-Range with the ETag',
        security: [{ deviceSignature: [] }],
        params: ReleaseParams,
        // Streams are sent as they are (never serialised): these describe them for OpenAPI.
        response: responses({
          200: Type.String({ description: 'The whole bundle file (application/octet-stream)' }),
          206: Type.String({ description: 'The requested byte range (Content-Range says which)' }),
        }),
      },
    },
    async (request, reply) => {
      const device = request.device as DeviceRecord
      const release = await findRelease(request.params.releaseId)
      if (!(await store.rollouts.isOffered(release.id, device.id as DeviceId))) {
        throw new CloudosError('RELEASE_ERR_NOT_OFFERED', `release ${release.id} is not offered to device ${device.id}`)
      }
      const path = join(ota.releasesDir, release.bundleFile)
      const size = await stat(path).then(
        (s) => s.size,
        () => {
          throw new CloudosError('RELEASE_ERR_BUNDLE_MISSING', `the bundle file of release ${release.id} is missing`)
        },
      )
      const etag = `"${release.bundleSha256}"`
      void reply.header('accept-ranges', 'bytes').header('etag', etag).header('content-type', 'application/octet-stream')
      const range = requestedRange(request, etag)
      if (range === undefined) {
        return reply.header('content-length', size).send(createReadStream(path))
      }
      let bytes
      try {
        bytes = parseByteRange(range, size)
      } catch (err) {
        void reply.header('content-range', `bytes */${size}`)
        throw err
      }
      return reply
        .status(206)
        .header('content-range', `bytes ${bytes.start}-${bytes.end}/${size}`)
        .header('content-length', bytes.end - bytes.start + 1)
        .send(createReadStream(path, { start: bytes.start, end: bytes.end }))
    },
  )
}

/** The Range to honour: none without one, and none when If-Range names another version of the file (RFC 9110 13.1.5). */
function requestedRange(request: FastifyRequest, etag: string): string | undefined {
  const range = request.headers.range
  if (range === undefined) return undefined
  const ifRange = request.headers['if-range']
  if (ifRange !== undefined && ifRange !== etag) return undefined
  return range
}
