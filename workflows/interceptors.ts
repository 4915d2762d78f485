/**
 * Workflow interceptors, bundled with the workflows: the request id the starting request carried
 * (header `request-id`) goes into the workflow's log lines and on to each activity it schedules, so
 * one id follows a request from the API through the workflow to its side effects (issue 19, item 4).
 * A later signal or update carrying its own id takes over: what follows it is that request's doing.
 * It is an id only, never personal data. Reading headers is deterministic: they are in the history.
 */
import { defaultPayloadConverter, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { REQUEST_ID_HEADER } from './shared/requestId';

// The factory runs once per workflow execution: the closure holds that execution's id.
export const interceptors: WorkflowInterceptorsFactory = () => {
  let requestId: string | undefined;
  const take = (headers: Record<string, import('@temporalio/common').Payload>) => {
    const header = headers[REQUEST_ID_HEADER];
    if (header) requestId = defaultPayloadConverter.fromPayload<string>(header);
  };
  const carry = <T extends { headers: Record<string, import('@temporalio/common').Payload> }>(input: T): T =>
    requestId ? { ...input, headers: { ...input.headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) } } : input;
  return {
    inbound: [
      {
        async execute(input, next) {
          take(input.headers);
          return next(input);
        },
        async handleSignal(input, next) {
          take(input.headers);
          return next(input);
        },
        async handleUpdate(input, next) {
          take(input.headers);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next(carry(input)),
        scheduleLocalActivity: (input, next) => next(carry(input)),
        startChildWorkflowExecution: (input, next) => next(carry(input)),
        getLogAttributes: (input, next) => next(requestId ? { ...input, requestId } : input),
      },
    ],
  };
};
