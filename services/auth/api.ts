import type { ServedMethod } from '../../shared/mesh/rpc-server.js'
import { adminMethods } from './api-admin.js'
import { accountMethods } from './api-accounts.js'
import { keyMethods } from './api-keys.js'
import { CallerCheck, type AuthApiDeps } from './caller-check.js'

export type { AuthApiDeps } from './caller-check.js'

/** The auth node's method table. */
export function authMethods (deps: AuthApiDeps): ServedMethod[] {
  const callers = new CallerCheck(deps)
  return [...accountMethods(deps, callers), ...keyMethods(deps, callers), ...adminMethods(deps, callers)]
}
