import type { AuthGuards } from './auth-guards.js'
import type { HubContext } from './context.js'

/** What every route plugin is registered with. */
export interface HubRouteOptions {
  context: HubContext
  guards: AuthGuards
}
