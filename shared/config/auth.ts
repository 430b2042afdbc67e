import { z } from 'zod'
import type { EnvOverrides } from './env.js'

const planLimits = z.strictObject({
  requestsPerHour: z.number().int().min(0),
  tokensPerDay: z.number().int().min(0)
})

export const PLAN_NAME = /^[a-z][a-z0-9_-]{0,31}$/

/**
 * The `auth` section of config/default.json (owned by services/auth).
 *
 * The first admin: list usernames in `admins` (env AUTH_ADMINS, flag `hyperinfer node auth --admin <name>`).
 * Such a user is promoted to `admin` when the auth node starts (if it exists) or when it registers.
 * There are never default credentials.
 */
export const authSection = z.strictObject({
  /** Plans by name; `default` is what a new user gets. Written to the accounts bee at start for replicas. */
  plans: z.record(z.string().regex(PLAN_NAME), planLimits).default({
    default: { requestsPerHour: 100, tokensPerDay: 100_000 },
    premium: { requestsPerHour: 1_000, tokensPerDay: 1_000_000 }
  }).refine(plans => 'default' in plans, 'a plan named "default" is required'),
  /** Session (JWT) lifetime. */
  sessionTtlSeconds: z.number().int().min(1).max(90 * 86_400).default(86_400),
  /** HS256 secret for session tokens; when absent a random one is kept in the node's data dir (mode 0600). */
  jwtSecret: z.string().min(32).optional(),
  scrypt: z.strictObject({
    N: z.number().int().min(2).max(1 << 20).refine(n => (n & (n - 1)) === 0, 'N must be a power of two').default(16_384),
    r: z.number().int().min(1).max(32).default(8),
    p: z.number().int().min(1).max(16).default(1)
  }).default({ N: 16_384, r: 8, p: 1 }),
  loginThrottle: z.strictObject({
    /** Failed logins for one account from one client (the end user's IP behind a web node, else the caller's key) before backoff. */
    maxFailuresPerUser: z.number().int().min(1).default(5),
    /** Failed logins from one client, any account, before backoff. */
    maxFailuresPerCaller: z.number().int().min(1).default(50),
    /** Failed logins for one account from all clients together before backoff. */
    maxFailuresPerAccount: z.number().int().min(1).default(20),
    /** First wait after the allowance; doubles with every further failure, up to maxBackoffMs. */
    baseBackoffMs: z.number().int().min(1).default(1_000),
    maxBackoffMs: z.number().int().min(1).default(15 * 60_000),
    /** Failures are forgotten this long after the last one. */
    windowMs: z.number().int().min(1).default(15 * 60_000)
  }).default({ maxFailuresPerUser: 5, maxFailuresPerCaller: 50, maxFailuresPerAccount: 20, baseBackoffMs: 1_000, maxBackoffMs: 15 * 60_000, windowMs: 15 * 60_000 }),
  /** `auth.register` calls accepted per client (end user's IP behind a web node, else the caller's key) per hour. */
  registerPerClientPerHour: z.number().int().min(1).default(20),
  /** Usernames promoted to admin (see above). */
  admins: z.array(z.string().max(32)).default([]),
  /** Inference worker public keys (hex) approved at start. */
  approvedWorkers: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
  /**
   * Approve every inference worker found on the network. Anyone can announce on a topic, so this is
   * for tests only; the devnet approves its own nodes through `enrollDir` instead.
   */
  autoApproveWorkers: z.boolean().default(false),
  /**
   * A dir where nodes started by the local devnet leave `<role>.<publicKey>` files; the auth node
   * approves those keys. Only this machine's user can write there, so only its own nodes enrol.
   */
  enrollDir: z.string().min(1).optional(),
  /** Node public keys (hex) approved at start, per role. */
  approvedNodes: z.partialRecord(z.enum(['auth', 'gateway', 'inference', 'metrics', 'web']), z.array(z.string().regex(/^[0-9a-f]{64}$/))).default({}),
  /** `auth.touchKeys` calls accepted per caller node per minute. */
  touchKeysPerMinute: z.number().int().min(1).default(120)
})

export type AuthConfig = z.infer<typeof authSection>
export type PlanLimits = z.infer<typeof planLimits>

/** Environment variables that override keys of this section. */
export const authEnv: EnvOverrides = {
  DEFAULT_RATE_LIMIT: { path: 'auth.plans.default.requestsPerHour', parse: 'number' },
  PREMIUM_RATE_LIMIT: { path: 'auth.plans.premium.requestsPerHour', parse: 'number' },
  AUTH_JWT_SECRET: { path: 'auth.jwtSecret', parse: 'string' },
  AUTH_ADMINS: { path: 'auth.admins', parse: 'list' },
  AUTH_SESSION_TTL_SECONDS: { path: 'auth.sessionTtlSeconds', parse: 'number' },
  AUTH_SCRYPT_N: { path: 'auth.scrypt.N', parse: 'number' }
}
