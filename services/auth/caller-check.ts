import type { NodeRegistry } from '../../shared/accounts/node-registry.js'
import type { UserRecord } from '../../shared/accounts/records.js'
import type { AuthConfig } from '../../shared/config/auth.js'
import { HyperinferError } from '../../shared/errors.js'
import type { CallContext } from '../../shared/mesh/rpc-server.js'
import type { Sessions } from './sessions.js'
import type { AccountStore } from './store.js'
import type { LoginThrottle } from './login-throttle.js'

export interface AuthApiDeps {
  store: AccountStore
  sessions: Sessions
  throttle: LoginThrottle
  config: AuthConfig
  /** The approved nodes (this node's own index of its accounts bee). */
  nodes: NodeRegistry
}

export function callerId (ctx: CallContext): string {
  return ctx.remotePublicKey.toString('hex')
}

/** Who is calling the auth node: the user a session token names, and the client a login counts against. */
export class CallerCheck {
  private readonly deps: AuthApiDeps

  constructor (deps: AuthApiDeps) {
    this.deps = deps
  }

  /** The end user an approved web node names, else the calling node itself. */
  clientOf (ctx: CallContext, onBehalfOf: string | undefined): string {
    const caller = callerId(ctx)
    if (onBehalfOf !== undefined && this.deps.nodes.isApproved('web', caller)) return `ip:${onBehalfOf}`
    return `node:${caller}`
  }

  async session (token: string): Promise<{ user: UserRecord, sessionId: string }> {
    const { sessions, store } = this.deps
    const claims = await sessions.verify(token)
    const user = await store.getUser(claims.userId)
    const credential = user ? await store.getCredential(user.id) : null
    if (!user || !credential || credential.changedAt !== claims.passwordVersion || !await store.hasSession(user.id, claims.sessionId)) {
      throw new HyperinferError('UNAUTHENTICATED', 'session is no longer valid: log in again')
    }
    return { user, sessionId: claims.sessionId }
  }

  async user (token: string): Promise<UserRecord> {
    return (await this.session(token)).user
  }

  async admin (token: string): Promise<UserRecord> {
    const user = await this.user(token)
    if (user.role !== 'admin') throw new HyperinferError('FORBIDDEN', 'this needs the admin role')
    return user
  }
}
