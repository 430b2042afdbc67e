/** What each soak request asks the worker to generate; the model baseline runs the same generation. */
export const SOAK_GENERATION = { prompt: 'Once upon a time', maxTokens: 8, temperature: 0.8 } as const
