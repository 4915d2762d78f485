// `npm run worker`: the Temporal worker role alone (production: point every *_URL/ADDRESS at real services).
import { main } from './main';

main({ api: false, worker: true }, (stack) =>
  console.log(`worker polling on task queue ${stack.config.TEMPORAL_TASK_QUEUE} at ${stack.urls['Temporal gRPC']}`),
).catch((err: Error) => (console.error(`worker failed to start: ${err.message}`), process.exit(1)));
