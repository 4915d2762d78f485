/**
 * P8: run daily by the `api-token-sweep` schedule. Deactivates API tokens unused for a year
 * (never used: a year after creation) and records expired ones as such. "A year" is measured in
 * this workflow's time, so tests can skip it.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { databaseActivity } from './shared/activityOptions';

const db = proxyActivities<Pick<Activities, 'deactivateIdleApiTokens'>>({ ...databaseActivity(), startToCloseTimeout: '5 minutes' });

export async function apiTokenSweep(): Promise<{ deactivated: number; expired: number }> {
  return db.deactivateIdleApiTokens({ asOf: new Date().toISOString() });
}
