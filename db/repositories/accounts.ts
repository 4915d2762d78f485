import type { Selectable } from 'kysely';
import type { Db } from '../database';
import type { AccountsTable } from '../tables/accounts.table';

export type Account = Selectable<AccountsTable>;

export async function findAccount(db: Db, id: string): Promise<Account | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}
