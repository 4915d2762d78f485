/**
 * What the local SMTP capture and SMS sink keep: messages in memory, appended to a JSON-lines file
 * when one is given (so `npm start` shows them again after a restart), and waiters for tests.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Inbox<T> {
  messages(): T[];
  add(message: T): Promise<void>;
  /** Resolves with the first message (already received or arriving) that matches. */
  waitFor(match: (m: T) => boolean, timeoutMs?: number): Promise<T>;
}

export async function openInbox<T>(file?: string): Promise<Inbox<T>> {
  const messages: T[] = [];
  const waiters = new Set<{ match: (m: T) => boolean; resolve: (m: T) => void }>();
  if (file) {
    await mkdir(path.dirname(file), { recursive: true });
    const previous = await readFile(file, 'utf8').catch(() => '');
    for (const line of previous.split('\n').filter(Boolean)) messages.push(JSON.parse(line) as T);
  }
  return {
    messages: () => [...messages],
    async add(message) {
      messages.push(message);
      if (file) await appendFile(file, JSON.stringify(message) + '\n');
      for (const w of waiters) if (w.match(message)) (waiters.delete(w), w.resolve(message));
    },
    waitFor(match, timeoutMs = 30_000) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: T) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => (waiters.delete(waiter), reject(new Error('no matching message arrived'))), timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
