/** Issue 21: request limits shared by every API replica, in rate-limiter-flexible's shape (api/limiterStore.ts). */
export interface RateLimitsTable {
  /** A keyed hash of the limiter's name and the limited key: no number, login or address. */
  key: string;
  points: number;
  /** When the window ends, in milliseconds since the epoch; a bigint, which pg returns as a string. */
  expire: string | null;
}
