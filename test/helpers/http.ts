import type { RejectReason } from '../../shared/telemetry.js'

export interface HttpResult<T> {
  status: number
  body: T
  contentType: string | null
}

/** GET `path` from `baseUrl` and parse the JSON body. */
export async function getJson<T = Record<string, unknown>>(baseUrl: string, path: string): Promise<HttpResult<T>> {
  const response = await fetch(new URL(path, baseUrl))
  const text = await response.text()
  let body: T
  try {
    body = JSON.parse(text) as T
  } catch {
    throw new Error(`GET ${path} answered ${response.status} with a non-JSON body: ${text.slice(0, 200)}`)
  }
  return { status: response.status, body, contentType: response.headers.get('content-type') }
}

/** GET `path` from `baseUrl` as text. */
export async function getText(baseUrl: string, path: string): Promise<HttpResult<string>> {
  const response = await fetch(new URL(path, baseUrl))
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') }
}

/** The subset of GET /v1/stats the tests read. */
export interface StatsBody {
  messagesReceived: number
  received: number
  stored: number
  rejected: Record<RejectReason, number>
  rejectedTotal: number
  commits: number
  commitFailures: number
  queueDepth: number
  dbSizeBytes: number
  lifetime: Record<string, number>
}

export async function getStats(baseUrl: string): Promise<StatsBody> {
  const { status, body } = await getJson<StatsBody>(baseUrl, '/v1/stats')
  if (status !== 200) throw new Error(`GET /v1/stats answered ${status}`)
  return body
}

export interface ReadingsBody {
  sensor: string
  metric: string
  count: number
  readings: { ts: number; value: number }[]
}
