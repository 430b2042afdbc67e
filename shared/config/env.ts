/** Environment variables that override config keys (flags override these in turn). */
export const ENV_OVERRIDES: Record<string, { path: string, parse: 'string' | 'number' | 'list' | 'boolean' }> = {
  LOG_LEVEL: { path: 'logLevel', parse: 'string' },
  HYPERINFER_NETWORK: { path: 'network.name', parse: 'string' },
  HYPERINFER_NETWORK_SECRET: { path: 'network.secret', parse: 'string' },
  HYPERINFER_BOOTSTRAP: { path: 'network.bootstrap', parse: 'list' },
  HYPERINFER_PUBLIC_NETWORK: { path: 'network.public', parse: 'boolean' }
}
