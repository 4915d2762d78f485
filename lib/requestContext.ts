/**
 * The request id of the work in progress (issue 19, item 4): set by the API for each request, by
 * the worker for each activity from the id its workflow carries, and read by the logger, so every
 * log line of one request, in the API, the workflow and its activities, shares one id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

const store = new AsyncLocalStorage<{ requestId: string }>();

/** The Temporal header that carries it from a start, signal or update to the workflow and its activities. */
export const REQUEST_ID_HEADER = 'request-id';

/** A caller's X-Request-Id is kept when it looks like an id (no personal data fits this), else a new one. */
const ACCEPTABLE = /^[A-Za-z0-9._:-]{8,64}$/;
export const requestIdFrom = (incoming: string | undefined): string => (incoming && ACCEPTABLE.test(incoming) ? incoming : randomUUID());

export const currentRequestId = (): string | undefined => store.getStore()?.requestId;

export function withRequestId<T>(requestId: string, fn: () => T): T {
  return store.run({ requestId }, fn);
}

/** `fn` run outside any request: for listeners that fire in the context their emitter was created in. */
export const outsideRequest =
  <A extends unknown[]>(fn: (...args: A) => void) =>
  (...args: A): void =>
    store.exit(() => fn(...args));
