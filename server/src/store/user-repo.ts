// Users, sessions and API tokens in the db, with in-memory indexes for per-request lookups.
import type { ConfigStore } from './config-store.js';
import type { SessionRecord, TokenRecord, UserRecord } from './records.js';

export class UserRepo {
  constructor(private readonly db: ConfigStore) {}

  list(): UserRecord[] {
    return this.db.data.users;
  }
  byId(id: string): UserRecord | undefined {
    return this.db.data.users.find((u) => u.id === id);
  }
  byName(username: string): UserRecord | undefined {
    return this.db.data.users.find((u) => u.username === username);
  }
  async add(user: UserRecord): Promise<void> {
    this.db.data.users.push(user);
    await this.db.write();
  }
  async update(id: string, change: Partial<UserRecord>): Promise<UserRecord | undefined> {
    const u = this.byId(id);
    if (u) Object.assign(u, change);
    await this.db.write();
    return u;
  }
  async remove(id: string): Promise<void> {
    const d = this.db.data;
    d.users = d.users.filter((u) => u.id !== id);
    d.sessions = d.sessions.filter((s) => s.userId !== id);
    d.tokens = d.tokens.filter((t) => t.userId !== id);
    await this.db.write();
  }
}

export class SessionRepo {
  constructor(private readonly db: ConfigStore) {}

  byHash(idHash: string): SessionRecord | undefined {
    return this.db.data.sessions.find((s) => s.idHash === idHash);
  }
  async add(s: SessionRecord): Promise<void> {
    const now = new Date().toISOString();
    this.db.data.sessions = this.db.data.sessions.filter((x) => x.expiresAt > now);
    this.db.data.sessions.push(s);
    await this.db.write();
  }
  async remove(predicate: (s: SessionRecord) => boolean): Promise<void> {
    this.db.data.sessions = this.db.data.sessions.filter((s) => !predicate(s));
    await this.db.write();
  }
}

export class TokenRepo {
  constructor(private readonly db: ConfigStore) {}

  list(): TokenRecord[] {
    return this.db.data.tokens;
  }
  byId(id: string): TokenRecord | undefined {
    return this.db.data.tokens.find((t) => t.id === id);
  }
  bySecretHash(hash: string): TokenRecord | undefined {
    return this.db.data.tokens.find((t) => t.secretHash === hash);
  }
  async add(t: TokenRecord): Promise<void> {
    this.db.data.tokens.push(t);
    await this.db.write();
  }
  async remove(id: string): Promise<void> {
    this.db.data.tokens = this.db.data.tokens.filter((t) => t.id !== id);
    await this.db.write();
  }
}
