export { HyperinferClient, InferenceCall, type HyperinferClientOptions, type InferOptions } from './client.js'
export { HyperinferError, type ErrorCode } from '../shared/errors.js'
