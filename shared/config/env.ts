export type EnvOverrides = Record<string, { path: string, parse: 'string' | 'number' | 'list' | 'boolean' }>
