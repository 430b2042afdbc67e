import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { HyperinferError } from '../shared/errors.js'

export interface SavedKey { id: string, name: string, prefix: string, key: string, createdAt: string }

/** What the CLI keeps between runs, in `<config dir>/session.json` (mode 0600). */
export interface Session {
  token?: string
  username?: string
  expiresAt?: string
  /** The last API key this user created (the gateway commands use it when no key is given). */
  lastApiKey?: SavedKey
  /** The gateway last reached, per mesh (see gateway-memory.ts). */
  lastGateway?: { mesh: string, publicKey: string }
}

/** HYPERINFER_CONFIG_DIR, else $XDG_CONFIG_HOME/hyperinfer, else ~/.config/hyperinfer. */
export function configDir (env: NodeJS.ProcessEnv = process.env): string {
  if (env.HYPERINFER_CONFIG_DIR) return env.HYPERINFER_CONFIG_DIR
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'hyperinfer')
  return join(homedir(), '.config', 'hyperinfer')
}

export function sessionFile (env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'session.json')
}

export function readSession (env: NodeJS.ProcessEnv = process.env): Session {
  const file = sessionFile(env)
  if (!existsSync(file)) return {}
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Session
  } catch {
    throw new HyperinferError('INVALID_ARGUMENT', `${file} is not valid JSON: delete it and run \`hyperinfer login\``)
  }
}

export function writeSession (session: Session, env: NodeJS.ProcessEnv = process.env): void {
  mkdirSync(configDir(env), { recursive: true, mode: 0o700 })
  const file = sessionFile(env)
  writeFileSync(file, JSON.stringify(session, null, 2) + '\n', { mode: 0o600 })
  chmodSync(file, 0o600)
}

export function updateSession (change: Partial<Session>, env: NodeJS.ProcessEnv = process.env): Session {
  const next = { ...readSession(env), ...change }
  writeSession(next, env)
  return next
}

/** Forgets the login; the last API key stays (it is a credential of its own, revoke it to end it). */
export function clearLogin (env: NodeJS.ProcessEnv = process.env): void {
  const { lastApiKey } = readSession(env)
  if (lastApiKey) writeSession({ lastApiKey }, env)
  else rmSync(sessionFile(env), { force: true })
}

/** The last API key created with this CLI, or null. */
export function lastApiKey (env: NodeJS.ProcessEnv = process.env): string | null {
  return readSession(env).lastApiKey?.key ?? null
}

/** The session token, or UNAUTHENTICATED saying what to run. */
export function requireToken (env: NodeJS.ProcessEnv = process.env): string {
  const session = readSession(env)
  if (!session.token) throw new HyperinferError('UNAUTHENTICATED', 'not logged in: run `hyperinfer login` (or `hyperinfer register`)')
  if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) {
    throw new HyperinferError('UNAUTHENTICATED', 'your session expired: run `hyperinfer login`')
  }
  return session.token
}
