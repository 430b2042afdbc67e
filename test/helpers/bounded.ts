import { HyperinferError } from '../../shared/errors.js'

/** 'OK', or the code of the HyperinferError the call failed with. */
export async function codeOf (pending: Promise<unknown>): Promise<string> {
  try {
    await pending
    return 'OK'
  } catch (err) {
    return err instanceof HyperinferError ? err.code : `not coded: ${(err as Error).message}`
  }
}
