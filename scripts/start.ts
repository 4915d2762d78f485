// `npm start`: the whole back office on embedded defaults, in one process.
import { main } from './main';

main({ api: true, worker: true }, (stack) => {
  const width = Math.max(...Object.keys(stack.urls).map((k) => k.length));
  console.log(
    '\nbackoffice is up:\n' +
      Object.entries(stack.urls)
        .map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
        .join('\n'),
  );
  console.log('\nTokens for the demo data: npm run seed. Stop with Ctrl-C.\n');
}).catch((err: Error) => {
  console.error(`backoffice failed to start: ${err.message}`);
  process.exit(1);
});
