import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

/**
 * How the hub serves its API, as the compliance report needs it: the one
 * input the report takes from the serving side (the TLS config) rather than
 * from storage. buildHubApp derives it from what it serves (HTTPS unless
 * `http.insecureHttp`); tests may pass one.
 */
export interface HubTransport {
  /** The API is served over HTTPS. */
  tls: boolean
  /** Plain HTTP was allowed explicitly (`--insecure-http`). */
  insecureHttp: boolean
}

/** TLS on (UC-005: "network traffic is encrypted"): the hub API is served over HTTPS. */
export function transportControl(transport: HubTransport): ComplianceControls['transportTls'] {
  const findings: Finding[] = transport.tls
    ? []
    : [
        {
          subject: 'transport',
          severity: 'critical',
          message: transport.insecureHttp
            ? 'the hub API is served over plain HTTP (--insecure-http): tokens, configs and bundles cross the network unencrypted'
            : 'the hub API is served over plain HTTP: tokens, configs and bundles cross the network unencrypted',
        },
      ]
  return {
    id: 'transport-tls',
    title: 'TLS on',
    status: statusOf(findings),
    summary: transport.tls ? 'the hub API is served over HTTPS' : `plain HTTP${transport.insecureHttp ? ' (--insecure-http)' : ''}`,
    findings,
    tls: transport.tls,
    insecureHttp: transport.insecureHttp,
  }
}
