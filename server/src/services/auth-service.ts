// Who is calling: first-run setup (with its one-time code), sign-in with lockout, sessions
// (cookie value hashed in the db, CSRF token per session), API tokens (Bearer, hashed), role
// checks, and watch(): open streams (SSE, console websockets) end when their caller's
// credentials stop being valid.
// Never imports Koa.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../dto/operation.js';
import { badRequest, conflict, forbidden, HttpError, notFound, tooMany, unauthorized } from '../errors.js';
import type { SessionRecord, TokenRecord, UserRecord } from '../store/records.js';
import type { SessionRepo, TokenRepo, UserRepo } from '../store/user-repo.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.js';
import type { LoginLimiter } from './login-limiter.js';
import type { SetupCode } from './setup-code.js';

export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** API tokens always expire: after this many days unless the creator asks for fewer. */
export const TOKEN_DEFAULT_DAYS = 90;
/** The longest lifetime a token may be given (the schema in dto/users.ts enforces it too). */
export const TOKEN_MAX_DAYS = 365;

/** The authenticated caller of one request. */
export interface Principal {
  user: UserRecord;
  role: Role;
  via: 'session' | 'token';
  session?: SessionRecord;
  token?: TokenRecord;
  /** For the audit log: username, or "username/token:<name>". */
  label: string;
}

export interface NewSession {
  cookie: string;
  session: SessionRecord;
}

/** An open stream bound to the caller that opened it (see AuthService.watch). */
interface Watcher {
  principal: Principal;
  role: Role;
  end: (reason: string) => void;
  timer?: NodeJS.Timeout;
}

/** The limiter's name for setup-code attempts (no username can contain parentheses). */
const SETUP_ATTEMPTS = '(setup)';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** setTimeout's limit (~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class AuthService {
  private readonly watchers = new Set<Watcher>();

  constructor(
    private readonly users: UserRepo,
    private readonly sessions: SessionRepo,
    private readonly tokens: TokenRepo,
    private readonly limiter: LoginLimiter,
    private readonly sessionHours: number,
    /** The first-run setup code; without one, setup is refused. */
    private readonly setupCode?: SetupCode,
  ) {}

  needsSetup(): boolean {
    return this.users.list().length === 0;
  }

  /**
   * Creates the first admin; needs the one-time setup code (attempts limited like sign-ins) and
   * is refused once any user exists (also when two setups race). The code is gone afterwards.
   */
  async setup(username: string, password: string, code: string | undefined, address: string): Promise<UserRecord> {
    if (!this.needsSetup()) throw conflict('setup is already done: sign in instead');
    this.admit(SETUP_ATTEMPTS, address, 'too many wrong setup codes');
    if (!this.setupCode?.matches(code)) {
      await this.limiter.saved();
      throw new HttpError(
        403,
        `setupCode: ${code ? 'wrong' : 'missing'} setup code: it is shown on the appliance console (or in the server's data dir, file setup-code)`,
        'setupCode',
      );
    }
    this.limiter.succeed(SETUP_ATTEMPTS, address);
    const user = await this.createUser(username, password, 'admin', { firstUser: true });
    await this.setupCode.consume();
    return user;
  }

  /** Counts an attempt before its secret is checked; 429 with Retry-After while locked out. */
  private admit(name: string, address: string, refusal: string): void {
    const wait = this.limiter.attempt(name, address);
    if (wait > 0) throw tooMany(`${refusal} from this address: try again in ${wait} s`, wait);
  }

  /** `firstUser`: only while no user exists (first-run setup). */
  async createUser(
    username: string,
    password: string,
    role: Role,
    opts: { firstUser?: boolean } = {},
  ): Promise<UserRecord> {
    const refusal = () => {
      if (opts.firstUser && !this.needsSetup()) return conflict('setup is already done: sign in instead');
      if (this.users.byName(username)) return conflict(`user "${username}" already exists`);
      return undefined;
    };
    const early = refusal();
    if (early) throw early;
    const passwordHash = await hashPassword(password);
    // Checked again after the slow hash: a concurrent request may have added a user meanwhile.
    // From here to the push inside users.add() nothing awaits, so check and insert are atomic.
    const late = refusal();
    if (late) throw late;
    const user: UserRecord = {
      id: randomUUID(),
      username,
      passwordHash,
      role,
      disabled: false,
      createdAt: new Date().toISOString(),
      lastLoginAt: null,
    };
    await this.users.add(user);
    return user;
  }

  /** Checks the password (with lockout) and opens a session. */
  async login(username: string, password: string, address: string): Promise<{ user: UserRecord } & NewSession> {
    // Counted before the hash runs: parallel guesses cannot all pass the limit.
    this.admit(username, address, `too many failed sign-ins for "${username}"`);
    const user = this.users.byName(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok || user.disabled) {
      await this.limiter.saved();
      throw unauthorized(user?.disabled && ok ? `user "${username}" is disabled` : 'wrong username or password');
    }
    this.limiter.succeed(username, address);
    await this.recordLogin(user.id);
    return { user, ...(await this.openSession(user)) };
  }

  /**
   * Notes the sign-in time. On etcd, another server writing the same user at that moment (its own
   * sign-in of that user: two servers starting together both sign in the admin) makes this write a
   * 409; the conflict reloaded the record, so it is written once more, and a second clash is let
   * be: a sign-in of that user was just recorded either way, and the sign-in itself must not fail.
   */
  private async recordLogin(userId: string): Promise<void> {
    const write = () => this.users.update(userId, { lastLoginAt: new Date().toISOString() });
    const isClash = (err: unknown) => err instanceof HttpError && err.status === 409;
    await write().catch(async (err: unknown) => {
      if (!isClash(err)) throw err;
      await write().catch((again: unknown) => {
        if (!isClash(again)) throw again;
      });
    });
  }

  async openSession(user: UserRecord): Promise<NewSession> {
    const cookie = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: SessionRecord = {
      idHash: sha256(cookie),
      userId: user.id,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.sessionHours * 3_600_000).toISOString(),
    };
    await this.sessions.add(session);
    return { cookie, session };
  }

  async logout(session: SessionRecord): Promise<void> {
    await this.sessions.remove((s) => s.idHash === session.idHash);
    this.recheckWatchers();
  }

  /** Resolves a session cookie; undefined when unknown, expired or the user is gone/disabled. */
  fromCookie(cookie: string): Principal | undefined {
    const session = this.sessions.byHash(sha256(cookie));
    if (!session || session.expiresAt <= new Date().toISOString()) return undefined;
    const user = this.users.byId(session.userId);
    if (!user || user.disabled) return undefined;
    return { user, role: user.role, via: 'session', session, label: user.username };
  }

  /** Resolves a Bearer secret; revoked tokens are gone from the db at once. */
  fromBearer(secret: string): Principal | undefined {
    const token = this.tokens.bySecretHash(sha256(secret));
    if (!token || token.expiresAt <= new Date().toISOString()) return undefined;
    const user = this.users.byId(token.userId);
    if (!user || user.disabled) return undefined;
    token.lastUsedAt = new Date().toISOString();
    const role = ROLE_RANK[token.role] <= ROLE_RANK[user.role] ? token.role : user.role;
    return { user, role, via: 'token', token, label: `${user.username}/token:${token.name}` };
  }

  requireRole(p: Principal | undefined, role: Role | 'public'): void {
    if (role === 'public') return;
    if (!p) throw unauthorized();
    if (ROLE_RANK[p.role] < ROLE_RANK[role]) {
      throw forbidden(`this needs the ${role} role; ${p.label} is ${p.role}`);
    }
  }

  /** Own password: checked like a sign-in; ends the user's other sessions and revokes their API tokens. */
  async changePassword(p: Principal, current: string, next: string, address: string): Promise<void> {
    this.admit(p.user.username, address, `too many failed sign-ins for "${p.user.username}"`);
    if (!(await verifyPassword(current, p.user.passwordHash))) {
      await this.limiter.saved();
      throw badRequest('currentPassword: wrong password', 'currentPassword');
    }
    this.limiter.succeed(p.user.username, address);
    await this.users.update(p.user.id, { passwordHash: await hashPassword(next) });
    await this.endCredentials(p.user.id, p.session?.idHash);
  }

  /** After a password change: every session but `keepSession` ends and every API token is revoked. */
  private async endCredentials(userId: string, keepSession?: string): Promise<void> {
    await this.sessions.remove((s) => s.userId === userId && s.idHash !== keepSession);
    for (const t of this.tokens.list().filter((x) => x.userId === userId)) await this.tokens.remove(t.id);
    this.recheckWatchers();
  }

  async updateUser(id: string, change: { role?: Role; password?: string; disabled?: boolean }): Promise<UserRecord> {
    const user = this.users.byId(id);
    if (!user) throw notFound(`user ${id}`);
    const demotes = (change.role && change.role !== 'admin') || change.disabled;
    if (user.role === 'admin' && demotes && this.activeAdmins() <= 1)
      throw conflict('the last admin cannot be demoted or disabled');
    const update: Partial<UserRecord> = {};
    if (change.role) update.role = change.role;
    if (change.disabled !== undefined) update.disabled = change.disabled;
    if (change.password) update.passwordHash = await hashPassword(change.password);
    await this.users.update(id, update);
    if (change.password) await this.endCredentials(id);
    else if (change.disabled || change.role) await this.sessions.remove((s) => s.userId === id);
    this.recheckWatchers();
    return user;
  }

  async deleteUser(id: string): Promise<void> {
    const user = this.users.byId(id);
    if (!user) throw notFound(`user ${id}`);
    if (user.role === 'admin' && this.activeAdmins() <= 1) throw conflict('the last admin cannot be deleted');
    await this.users.remove(id);
    this.recheckWatchers();
  }

  listUsers(): UserRecord[] {
    return this.users.list();
  }

  userById(id: string): UserRecord | undefined {
    return this.users.byId(id);
  }

  /**
   * Only a signed-in person (a session) may mint tokens: a token that could mint tokens would
   * survive its own revocation through its offspring. Every token expires (default
   * TOKEN_DEFAULT_DAYS, at most TOKEN_MAX_DAYS).
   */
  async createToken(p: Principal, name: string, role: Role | undefined, expiresInDays = TOKEN_DEFAULT_DAYS) {
    if (p.via !== 'session')
      throw forbidden(`API tokens are created by a signed-in user, not with another token (${p.label})`);
    if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > TOKEN_MAX_DAYS) {
      throw badRequest(`expiresInDays: between 1 and ${TOKEN_MAX_DAYS} days`, 'expiresInDays');
    }
    const r = role ?? p.role;
    if (ROLE_RANK[r] > ROLE_RANK[p.role]) throw forbidden(`a token cannot have more than your role (${p.role})`);
    const secret = `qxt_${randomBytes(30).toString('base64url')}`;
    const now = Date.now();
    const token: TokenRecord = {
      id: randomUUID(),
      name,
      userId: p.user.id,
      role: r,
      secretHash: sha256(secret),
      prefix: secret.slice(0, 10),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + expiresInDays * 86_400_000).toISOString(),
      lastUsedAt: null,
    };
    await this.tokens.add(token);
    return { token, secret };
  }

  listTokens(p: Principal): TokenRecord[] {
    return this.tokens.list().filter((t) => p.role === 'admin' || t.userId === p.user.id);
  }

  async revokeToken(p: Principal, id: string): Promise<void> {
    const t = this.tokens.byId(id);
    if (!t || (p.role !== 'admin' && t.userId !== p.user.id)) throw notFound(`token ${id}`);
    await this.tokens.remove(id);
    this.recheckWatchers();
  }

  /**
   * Binds an open stream (SSE, console or shell websocket) to the caller that opened it: `end`
   * runs once, with a sentence saying why, as soon as the session or token is gone (logout,
   * revoke, password or role change) or expires, or the user is deleted, disabled or no longer
   * has `role`. Returns the unsubscribe function for when the stream closes on its own.
   */
  watch(principal: Principal, role: Role, end: (reason: string) => void): () => void {
    const w: Watcher = { principal, role, end };
    this.watchers.add(w);
    this.recheck(w);
    return () => {
      clearTimeout(w.timer);
      this.watchers.delete(w);
    };
  }

  /** Called after every change to users, sessions or tokens. */
  private recheckWatchers(): void {
    for (const w of [...this.watchers]) this.recheck(w);
  }

  /** Ends the watcher when its caller is no longer valid; else arms a timer for the expiry. */
  private recheck(w: Watcher): void {
    clearTimeout(w.timer);
    const reason = this.invalidReason(w.principal, w.role);
    if (reason) {
      this.watchers.delete(w);
      w.end(reason);
      return;
    }
    const expiresAt = w.principal.via === 'session' ? w.principal.session!.expiresAt : w.principal.token!.expiresAt;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(expiresAt) - Date.now()) + 1);
    w.timer = setTimeout(() => this.recheck(w), wait);
    w.timer.unref();
  }

  /** '' while the caller's session or token, user and role are still good; else why not. */
  private invalidReason(p: Principal, role: Role): string {
    const now = new Date().toISOString();
    let tokenRole: Role | undefined;
    if (p.via === 'session') {
      const s = this.sessions.byHash(p.session!.idHash);
      if (!s) return `the session of ${p.label} ended (signed out, or the password or role changed)`;
      if (s.expiresAt <= now) return `the session of ${p.label} expired: sign in again`;
    } else {
      const t = this.tokens.byId(p.token!.id);
      if (!t) return `API token ${p.label} was revoked`;
      if (t.expiresAt <= now) return `API token ${p.label} expired`;
      tokenRole = t.role;
    }
    const user = this.users.byId(p.user.id);
    if (!user) return `user "${p.user.username}" was deleted`;
    if (user.disabled) return `user "${user.username}" is disabled`;
    const current = tokenRole && ROLE_RANK[tokenRole] < ROLE_RANK[user.role] ? tokenRole : user.role;
    if (ROLE_RANK[current] < ROLE_RANK[role]) return `${p.label} no longer has the ${role} role`;
    return '';
  }

  private activeAdmins(): number {
    return this.users.list().filter((u) => u.role === 'admin' && !u.disabled).length;
  }
}
