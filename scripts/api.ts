// `npm run api`: the HTTP API role alone.
import { main } from './main';

main({ api: true, worker: false }, (stack) => console.log(`API listening on ${stack.urls['API']}`)).catch(
  (err: Error) => (console.error(`API failed to start: ${err.message}`), process.exit(1)),
);
