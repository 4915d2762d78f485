import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { requestIdClientInterceptor } from './requestIds';
import { tracingClientInterceptor } from './tracing';

/** `tracing`: carry the OpenTelemetry context into the workflows started (temporal/tracing.ts). */
export async function connectClient(opts: { address: string; namespace: string; dataConverter: DataConverter; tracing?: boolean }): Promise<Client> {
  const connection = await Connection.connect({ address: opts.address });
  return new Client({
    connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter,
    interceptors: { workflow: [requestIdClientInterceptor, ...(opts.tracing ? [tracingClientInterceptor()] : [])] },
  });
}
