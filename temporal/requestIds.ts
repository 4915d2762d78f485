/**
 * The request id across Temporal (issue 19, item 4): the client puts the current request's id in a
 * header of every start, signal and update; the workflow interceptors (workflows/interceptors.ts)
 * pass it to the activities; the activity interceptor makes it current while the activity runs, so
 * the logger and the SDK's activity log lines carry it.
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { currentRequestId, withRequestId } from '../lib/requestContext';
import { REQUEST_ID_HEADER } from '../workflows/shared/requestId';

export const workflowInterceptorModules = [require.resolve('../workflows/interceptors')];

function withHeader<T extends { headers: Record<string, Payload> }>(input: T): T {
  const requestId = currentRequestId();
  if (!requestId || input.headers[REQUEST_ID_HEADER]) return input;
  return { ...input, headers: { ...input.headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) } };
}

export const requestIdClientInterceptor: WorkflowClientInterceptor = {
  startWithDetails: (input, next) => next(withHeader(input)),
  signalWithStart: (input, next) => next(withHeader(input)),
  signal: (input, next) => next(withHeader(input)),
  startUpdate: (input, next) => next(withHeader(input)),
  startUpdateWithStart: (input, next) =>
    next({
      ...input,
      workflowStartHeaders: withHeader({ headers: input.workflowStartHeaders }).headers,
      updateHeaders: withHeader({ headers: input.updateHeaders }).headers,
    }),
};

export const requestIdActivityInterceptors: ActivityInterceptorsFactory = () => {
  let requestId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const header = input.headers[REQUEST_ID_HEADER];
        requestId = header ? defaultPayloadConverter.fromPayload<string>(header) : undefined;
        return requestId ? withRequestId(requestId, () => next(input)) : next(input);
      },
    },
    outbound: {
      getLogAttributes: (attrs, next) => next(requestId ? { ...attrs, requestId } : attrs),
    },
  };
};
