// Loaded by path inside the workflow sandbox too: keep it free of Node imports.
import { DefaultFailureConverter } from '@temporalio/common';

/** Failure messages and stack traces are encoded by the payload codec: an error can quote its input. */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
