import { createHash } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../database';
import type { EvidenceKind, VerificationCasesTable, VerificationDocumentsTable } from '../tables/verification.table';
import type { VerificationCaseStatus } from '../../workflows/shared/verification';

export type VerificationCase = Selectable<VerificationCasesTable>;
export type DocumentMeta = Omit<Selectable<VerificationDocumentsTable>, 'sealed'>;

export const OPEN_STATUSES: readonly VerificationCaseStatus[] = ['awaiting_customer', 'submitted'];

/** Link tokens are 256 random bits, so a plain SHA-256 is enough to make the stored value useless. */
export const hashLinkToken = (token: string) => createHash('sha256').update(token, 'utf8').digest();

const CASE_COLUMNS = [
  'id',
  'account_id',
  'reason',
  'subject_type',
  'subject_id',
  'status',
  'opened_by',
  'opened_at',
  'data_key_wrapped',
  'link_token_hash',
  'link_seq',
  'phone_code_hash',
  'phone_code_seq',
  'evidence_sealed',
  'round',
  'submitted_at',
  'due_at',
  'overdue_at',
  'assigned_agent_id',
  'claimed_at',
  'resubmission_reason',
  'manual',
  'decided_at',
  'decided_by',
  'decision_reason',
  'contact',
] as const;

export async function insertCase(
  db: Db,
  c: {
    id: string;
    accountId: string;
    reason: VerificationCase['reason'];
    subject: { type: string; id: string } | null;
    openedBy: string;
    openedAt: Date;
    dataKeyWrapped: Buffer;
    contact?: 'login_email' | 'recovery_channels';
  },
): Promise<boolean> {
  const inserted = await db
    .insertInto('verification_cases')
    .values({
      id: c.id,
      account_id: c.accountId,
      reason: c.reason,
      subject_type: c.subject?.type ?? null,
      subject_id: c.subject?.id ?? null,
      opened_by: c.openedBy,
      opened_at: c.openedAt,
      data_key_wrapped: c.dataKeyWrapped,
      contact: c.contact ?? 'login_email',
      link_token_hash: null,
      phone_code_hash: null,
      evidence_sealed: null,
      submitted_at: null,
      due_at: null,
      overdue_at: null,
      assigned_agent_id: null,
      claimed_at: null,
      resubmission_reason: null,
      decided_at: null,
      decided_by: null,
      decision_reason: null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function deleteCase(db: Db, id: string): Promise<void> {
  await db.deleteFrom('verification_cases').where('id', '=', id).execute();
}

export async function findCase(db: Db, id: string): Promise<VerificationCase | undefined> {
  return db.selectFrom('verification_cases').select(CASE_COLUMNS).where('id', '=', id).executeTakeFirst();
}

/** The case a customer's link opens, if the link is still usable. */
export async function findCaseByLinkToken(db: Db, token: string): Promise<VerificationCase | undefined> {
  return db
    .selectFrom('verification_cases')
    .select(CASE_COLUMNS)
    .where('link_token_hash', '=', hashLinkToken(token))
    .where('status', '=', 'awaiting_customer')
    .executeTakeFirst();
}

export async function listDocuments(db: Db, caseIds: string[]): Promise<DocumentMeta[]> {
  if (caseIds.length === 0) return [];
  return db
    .selectFrom('verification_documents')
    .select(['id', 'case_id', 'round', 'kind', 'media_type', 'size_bytes', 'attached', 'created_at'])
    .where('case_id', 'in', caseIds)
    .where('attached', '=', true)
    .orderBy('created_at')
    .execute();
}

export async function findSealedDocument(db: Db, caseId: string, documentId: string) {
  return db
    .selectFrom('verification_documents')
    .select(['id', 'kind', 'media_type', 'sealed'])
    .where('case_id', '=', caseId)
    .where('id', '=', documentId)
    .where('attached', '=', true)
    .executeTakeFirst();
}

export async function insertDocuments(
  db: Db,
  rows: {
    id: string;
    case_id: string;
    round: number;
    kind: DocumentMeta['kind'];
    media_type: DocumentMeta['media_type'];
    size_bytes: number;
    sealed: Buffer;
  }[],
): Promise<void> {
  await db.insertInto('verification_documents').values(rows).execute();
}

/** Removes uploads that the workflow refused (never attached). */
export async function deleteUnattachedDocuments(db: Db, caseId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.deleteFrom('verification_documents').where('case_id', '=', caseId).where('id', 'in', ids).where('attached', '=', false).execute();
}

export async function insertEvidence(
  db: Db,
  row: { id: string; case_id: string; round: number; kind: EvidenceKind; sealed: Buffer; attached?: boolean },
): Promise<void> {
  await db.insertInto('verification_evidence').values(row).execute();
}

/** A sealed phone or position of the case, marked as accepted by the workflow. */
export async function attachEvidence(db: Db, caseId: string, id: string, kind: EvidenceKind): Promise<Buffer | undefined> {
  const row = await db
    .updateTable('verification_evidence')
    .set({ attached: true })
    .where('case_id', '=', caseId)
    .where('id', '=', id)
    .where('kind', '=', kind)
    .returning('sealed')
    .executeTakeFirst();
  return row?.sealed;
}

/** Removes a phone or position the workflow refused (never attached). */
export async function deleteUnattachedEvidence(db: Db, caseId: string, id: string): Promise<void> {
  await db.deleteFrom('verification_evidence').where('case_id', '=', caseId).where('id', '=', id).where('attached', '=', false).execute();
}

/** The review queue, most urgent first; cases never submitted sort last. */
export async function listCases(
  db: Db,
  filter: { status?: VerificationCaseStatus; assignee?: { agentId: string } | 'unassigned'; overdueAt?: Date; limit: number },
): Promise<VerificationCase[]> {
  let q = db.selectFrom('verification_cases').select(CASE_COLUMNS);
  if (filter.status) q = q.where('status', '=', filter.status);
  // Overdue: submitted and past the answer target, marked by the workflow's timer or not yet.
  const overdueAt = filter.overdueAt;
  if (overdueAt) q = q.where('status', '=', 'submitted').where((eb) => eb.or([eb('overdue_at', 'is not', null), eb('due_at', '<=', overdueAt)]));
  if (filter.assignee === 'unassigned') q = q.where('assigned_agent_id', 'is', null);
  else if (filter.assignee) q = q.where('assigned_agent_id', '=', filter.assignee.agentId);
  return q
    .orderBy(sql`due_at asc nulls last`)
    .orderBy('opened_at', 'asc')
    .limit(filter.limit)
    .execute();
}

/** One statement, so of two agents claiming at once exactly one matches the row. */
export async function claimCase(db: Db, id: string, agentId: string, now: Date): Promise<VerificationCase | undefined> {
  return db
    .updateTable('verification_cases')
    .set({ assigned_agent_id: agentId, claimed_at: now })
    .where('id', '=', id)
    .where('status', '=', 'submitted')
    .where((eb) => eb.or([eb('assigned_agent_id', 'is', null), eb('assigned_agent_id', '=', agentId)]))
    .returning(CASE_COLUMNS)
    .executeTakeFirst();
}

export async function releaseCase(db: Db, id: string, agentId: string): Promise<VerificationCase | undefined> {
  return db
    .updateTable('verification_cases')
    .set({ assigned_agent_id: null, claimed_at: null })
    .where('id', '=', id)
    .where('assigned_agent_id', '=', agentId)
    .where('status', '=', 'submitted')
    .returning(CASE_COLUMNS)
    .executeTakeFirst();
}

/**
 * A supervisor gives a submitted case to another agent (claimed for them now), or back to the
 * queue (null); undefined when the case is not submitted.
 */
export async function reassignCase(db: Db, id: string, agentId: string | null, now: Date): Promise<VerificationCase | undefined> {
  return db
    .updateTable('verification_cases')
    .set({ assigned_agent_id: agentId, claimed_at: agentId ? now : null })
    .where('id', '=', id)
    .where('status', '=', 'submitted')
    .returning(CASE_COLUMNS)
    .executeTakeFirst();
}

/**
 * Erases everything the customer sent: the images, the sealed phone and position, the case key,
 * and any usable link or code. What remains is who decided what and when.
 */
export async function eraseEvidence(db: Db, caseId: string): Promise<void> {
  await db.deleteFrom('verification_documents').where('case_id', '=', caseId).execute();
  await db.deleteFrom('verification_evidence').where('case_id', '=', caseId).execute();
  await db
    .updateTable('verification_cases')
    .set({ data_key_wrapped: null, evidence_sealed: null, phone_code_hash: null, link_token_hash: null })
    .where('id', '=', caseId)
    .execute();
}

/**
 * Issue 18, item 2: what the agent compares the documents with: the holder's name and login, the
 * blocked order's lines and amount (when the case concerns an order), and the account's earlier
 * cases with their outcomes (at most 10, newest first).
 */
export async function caseContext(db: Db, c: { id: string; account_id: string; subject_type: string | null; subject_id: string | null }) {
  const holder = await db.selectFrom('accounts').select(['display_name', 'login_email', 'country']).where('id', '=', c.account_id).executeTakeFirst();
  const order =
    c.subject_type === 'order' && c.subject_id
      ? await db.selectFrom('orders').select(['id', 'currency', 'total_cents']).where('id', '=', c.subject_id).executeTakeFirst()
      : undefined;
  const lines = order
    ? await db.selectFrom('order_lines').select(['description', 'quantity', 'unit_price_cents']).where('order_id', '=', order.id).orderBy('id').execute()
    : [];
  const earlier = await db
    .selectFrom('verification_cases')
    .select(['id', 'reason', 'status', 'opened_at', 'decided_at'])
    .where('account_id', '=', c.account_id)
    .where('id', '!=', c.id)
    .orderBy('opened_at', 'desc')
    .limit(10)
    .execute();
  return { holder, order: order ? { ...order, lines } : undefined, earlier };
}

/** Whether an account of that id exists (a case is opened only for one). */
export async function accountExists(db: Db, id: string): Promise<boolean> {
  return (await db.selectFrom('accounts').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}
