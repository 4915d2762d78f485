import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, type Keyring } from './codec';

export const failureConverterPath = require.resolve('./failureConverter');

/** The one data converter of the system: client, worker, replay tests and tools all use this. */
export function createDataConverter(keyring: Keyring): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keyring)], failureConverterPath };
}
