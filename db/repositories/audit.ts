import type { Db } from '../database';
import type { AuditLogTable } from '../tables/auditLog.table';
import type { Insertable } from 'kysely';

export type AuditEntry = Omit<Insertable<AuditLogTable>, 'id' | 'at'>;

export async function audit(db: Db, entry: AuditEntry): Promise<void> {
  await db.insertInto('audit_log').values(entry).execute();
}
