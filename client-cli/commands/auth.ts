import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import type { Command } from 'commander'
import type { z } from 'zod'
import { HyperinferError } from '../../shared/errors.js'
import type * as api from '../../shared/schemas/auth.js'
import { wantsJson, withMesh } from '../command-context.js'
import { printJson } from '../output.js'
import { clearLogin, readSession, requireToken, sessionFile, updateSession } from '../session.js'

const AUTH_WAIT_MS = 15_000

/** One call to the auth node, found on the mesh by discovery. */
type AuthApi = typeof api
/** The auth RPC methods, by their export name in shared/schemas/auth.ts. */
export type AuthMethodName = { [N in keyof AuthApi]: AuthApi[N] extends { name: string, request: z.ZodType, response: z.ZodType, chunk: undefined } ? N : never }[keyof AuthApi]

/** One call to the auth node, found on the mesh by discovery. The schemas load only when a command calls (`--help` stays instant). */
export async function callAuth<N extends AuthMethodName> (cmd: Command, method: N, request: z.input<AuthApi[N]['request']>): Promise<z.output<AuthApi[N]['response']>> {
  const def = (await import('../../shared/schemas/auth.js'))[method]
  return withMesh(cmd, async mesh => {
    const auth = await mesh.trust.auth(AUTH_WAIT_MS)
    return mesh.client(auth).call(def as never, request as never) as Promise<z.output<AuthApi[N]['response']>>
  })
}

/** Prints JSON with --json, else the text lines. */
export function show (cmd: Command, json: unknown, text: () => string): void {
  if (wantsJson(cmd)) printJson(json)
  else process.stdout.write(text() + '\n')
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** Asks on the terminal (hiding a secret answer); refuses when there is no terminal. */
async function ask (question: string, flag: string, secret = false): Promise<string> {
  if (!process.stdin.isTTY) throw new HyperinferError('INVALID_ARGUMENT', `missing ${flag} (no terminal to ask on)`)
  let muted = false
  const output = new Writable({
    write (chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk)
      done()
    }
  })
  const rl = createInterface({ input: process.stdin, output, terminal: true })
  try {
    return await new Promise<string>(resolve => {
      rl.question(question, resolve)
      muted = secret
    })
  } finally {
    rl.close()
    if (secret) process.stderr.write('\n')
  }
}

interface CredentialFlags { username?: string, email?: string, password?: string, passwordStdin?: boolean }

async function passwordFrom (flags: CredentialFlags, question = 'password: '): Promise<string> {
  if (flags.password !== undefined) return flags.password
  if (flags.passwordStdin) return readStdin()
  return ask(question, '--password or --password-stdin', true)
}

function credentialOptions (cmd: Command): Command {
  return cmd
    .option('--password <password>', 'the password (visible in your shell history: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
}

async function loginAndSave (cmd: Command, login: string, password: string): Promise<z.output<typeof api.login['response']>> {
  const session = await callAuth(cmd, 'login', { login, password })
  updateSession({ token: session.token, username: session.user.username, expiresAt: session.expiresAt })
  return session
}

function keyLine (key: api.KeyView): string {
  const state = key.revokedAt ? `revoked ${key.revokedAt}` : 'active'
  return `${key.id}  ${key.name.padEnd(16)}  ${key.prefix}…  created ${key.createdAt}  last used ${key.lastUsedAt ?? 'never'}  ${state}`
}

function saveKey (created: z.output<typeof api.createdKey>): void {
  updateSession({ lastApiKey: { id: created.id, name: created.name, prefix: created.prefix, key: created.key, createdAt: created.createdAt } })
}

/** register, login, logout, whoami, change-password, keys create|list|revoke|rotate. */
export function registerAuthCommands (program: Command): void {
  registerLoginCommands(program)
  registerAccountCommands(program)
  registerKeyCommands(program.command('keys').description('your API keys'))
}

/** register, login, logout: a session on this machine. */
function registerLoginCommands (program: Command): void {
  credentialOptions(program.command('register')
    .description('create an account and log in')
    .option('--username <name>', 'a-z, 0-9, "_", "." and "-", 3-32 characters')
    .option('--email <email>', 'your email address'))
    .action(async (flags: CredentialFlags, cmd: Command) => {
      const username = flags.username ?? await ask('username: ', '--username')
      const email = flags.email ?? await ask('email: ', '--email')
      const password = await passwordFrom(flags)
      const user = await callAuth(cmd, 'register', { username, email, password })
      const session = await loginAndSave(cmd, username, password)
      show(cmd, { user, expiresAt: session.expiresAt }, () =>
        `registered ${user.username} (plan ${user.plan}) and logged in.\n  next: create an API key with \`hyperinfer keys create --name <name>\``)
    })

  credentialOptions(program.command('login')
    .description('log in with your username or email')
    .option('--username <name>', 'your username')
    .option('--email <email>', 'or your email'))
    .action(async (flags: CredentialFlags, cmd: Command) => {
      const login = flags.username ?? flags.email ?? await ask('username or email: ', '--username')
      const session = await loginAndSave(cmd, login, await passwordFrom(flags))
      show(cmd, { user: session.user, expiresAt: session.expiresAt }, () =>
        `logged in as ${session.user.username} until ${session.expiresAt}`)
    })

  program.command('logout')
    .description('end the session on the auth node and forget it on this machine')
    .action(async (_flags: unknown, cmd: Command) => {
      const { username, token } = readSession()
      // Ended server-side first, so a copied session file is worthless too; forgotten here whatever happens.
      if (token) await callAuth(cmd, 'logout', { token }).catch(() => {})
      clearLogin()
      show(cmd, { loggedOut: true, username: username ?? null }, () => username ? `logged out ${username}` : 'not logged in')
    })

}

/** whoami, change-password. */
function registerAccountCommands (program: Command): void {
  program.command('whoami')
    .description('the account you are logged in as')
    .action(async (_flags: unknown, cmd: Command) => {
      const user = await callAuth(cmd, 'whoami', { token: requireToken() })
      show(cmd, user, () => `${user.username} <${user.email}>  role ${user.role}  plan ${user.plan}`)
    })

  program.command('change-password')
    .description('change your password (ends your other sessions)')
    .option('--password <current>', 'the current password')
    .option('--new-password <password>', 'the new password')
    .option('--password-stdin', 'read "current\\nnew" from stdin')
    .action(async (flags: { password?: string, newPassword?: string, passwordStdin?: boolean }, cmd: Command) => {
      const [fromStdinCurrent, fromStdinNew] = flags.passwordStdin ? (await readStdin()).split(/\r?\n/) : []
      const currentPassword = flags.password ?? fromStdinCurrent ?? await ask('current password: ', '--password', true)
      const newPassword = flags.newPassword ?? fromStdinNew ?? await ask('new password: ', '--new-password', true)
      const token = requireToken()
      const result = await callAuth(cmd, 'changePassword', { token, currentPassword, newPassword })
      const { username } = readSession()
      if (username) await loginAndSave(cmd, username, newPassword)
      show(cmd, result, () => 'password changed')
    })

}

/** keys create|list|revoke|rotate. */
function registerKeyCommands (keys: Command): void {
  keys.command('create')
    .description('create an API key (shown once)')
    .requiredOption('--name <name>', 'what the key is for')
    .action(async (flags: { name: string }, cmd: Command) => {
      const created = await callAuth(cmd, 'createKey', { token: requireToken(), name: flags.name })
      saveKey(created)
      show(cmd, created, () => [
        `created key ${created.id} (${created.name}):`,
        '',
        `  ${created.key}`,
        '',
        'It is shown only this once; it is also saved as your last key in ' + sessionFile() + '.'
      ].join('\n'))
    })

  keys.command('list')
    .description('list your API keys')
    .action(async (_flags: unknown, cmd: Command) => {
      const { keys: list } = await callAuth(cmd, 'listKeys', { token: requireToken() })
      show(cmd, { keys: list }, () => list.length === 0
        ? 'no keys yet: create one with `hyperinfer keys create --name <name>`'
        : list.map(keyLine).join('\n'))
    })

  keys.command('revoke')
    .description('revoke an API key')
    .argument('<id>', 'the key id (see `hyperinfer keys list`)')
    .action(async (keyId: string, _flags: unknown, cmd: Command) => {
      const revoked = await callAuth(cmd, 'revokeKey', { token: requireToken(), keyId })
      show(cmd, revoked, () => `revoked ${revoked.id} (${revoked.name})`)
    })

  keys.command('rotate')
    .description('replace an API key with a new one (the old one is revoked)')
    .argument('<id>', 'the key id (see `hyperinfer keys list`)')
    .action(async (keyId: string, _flags: unknown, cmd: Command) => {
      const rotated = await callAuth(cmd, 'rotateKey', { token: requireToken(), keyId })
      saveKey(rotated.created)
      show(cmd, rotated, () => [
        `revoked ${rotated.revoked.id}; new key ${rotated.created.id} (${rotated.created.name}):`,
        '',
        `  ${rotated.created.key}`,
        '',
        'It is shown only this once.'
      ].join('\n'))
    })
}
