import { sql, type Kysely } from 'kysely';

// P10: an organization never has zero legal representatives, whoever changes memberships and however
// the changes race. The check locks the organization row, so concurrent removals are serialized and
// the second one sees the first one committed.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function memberships_keep_legal_representative() returns trigger language plpgsql as $$
    begin
      if old.role <> 'legal_representative' then return null; end if;
      if tg_op = 'UPDATE' and new.role = 'legal_representative' and new.organization_id = old.organization_id then return null; end if;
      -- The organization itself is being deleted: its memberships go with it.
      perform 1 from organizations where id = old.organization_id for update;
      if not found then return null; end if;
      if not exists (select 1 from memberships where organization_id = old.organization_id and role = 'legal_representative') then
        raise exception 'an organization must keep at least one legal representative'
          using errcode = 'check_violation', constraint = 'memberships_legal_representative_required';
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger memberships_keep_legal_representative after update or delete on memberships
    for each row execute function memberships_keep_legal_representative()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger memberships_keep_legal_representative on memberships`.execute(db);
  await sql`drop function memberships_keep_legal_representative()`.execute(db);
}
