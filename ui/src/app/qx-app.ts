// The application shell: decides between setup, login and the app; navigation, header (theme,
// live indicator, tasks, user), and the routed page. Pages get `user` and `params` as properties.
import { LitElement, css, html, nothing } from 'lit';
import type { UserDto } from '@dto/auth.js';
import { sessionEvents } from '../api/client.js';
import { fetchSession, fetchSetupStatus, logout } from '../api/session.js';
import { closeStream, isStreamConnected, openStream, streamStatus } from '../controllers/event-stream.js';
import { startTaskTracking, stopTaskTracking } from '../controllers/task-tracker.js';
import { currentPath, matchRoute, type RouteMatch } from './routes.js';
import { currentTheme, toggleTheme } from './theme.js';
import '../pages/setup/qx-setup-page.js';
import '../pages/login/qx-login-page.js';
import '../components/qx-tasks-panel.js';

type Phase = 'loading' | 'setup' | 'login' | 'app' | 'unreachable';

interface PageElement extends HTMLElement {
  user?: UserDto;
  params?: Record<string, string>;
}

const NAV: { path: string; label: string; admin?: boolean }[] = [
  { path: '/', label: 'Dashboard' },
  { path: '/vms', label: 'Virtual machines' },
  { path: '/hosts', label: 'Hosts & clusters' },
  { path: '/storage', label: 'Storage' },
  { path: '/backups', label: 'Backups' },
  { path: '/images', label: 'Image library' },
  { path: '/networks', label: 'Networks' },
  { path: '/tasks', label: 'Tasks' },
  { path: '/events', label: 'Events' },
  { path: '/users', label: 'Users', admin: true },
  { path: '/tokens', label: 'API tokens' },
  { path: '/audit', label: 'Audit log', admin: true },
  { path: '/notifications', label: 'Notifications', admin: true },
  { path: '/appliance', label: 'Appliance', admin: true },
];

export class QxApp extends LitElement {
  static override properties = {
    phase: { state: true },
    user: { state: true },
    notice: { state: true },
    path: { state: true },
    tasksOpen: { state: true },
    live: { state: true },
    theme: { state: true },
    loadError: { state: true },
  };
  declare phase: Phase;
  declare user: UserDto | undefined;
  declare notice: string;
  declare path: string;
  declare tasksOpen: boolean;
  declare live: boolean;
  declare theme: string;
  declare loadError: string;
  private page?: PageElement;
  private pageKey = '';

  constructor() {
    super();
    this.phase = 'loading';
    this.notice = '';
    this.path = currentPath();
    this.tasksOpen = false;
    this.live = false;
    this.theme = currentTheme();
    this.loadError = '';
  }

  static override styles = css`
    :host {
      display: grid;
      grid-template-columns: 220px 1fr;
      grid-template-rows: 52px 1fr;
      height: 100vh;
    }
    :host([bare]) {
      display: block;
    }
    header {
      grid-column: 1 / 3;
      display: flex;
      align-items: center;
      gap: 0.8rem;
      padding: 0 1rem;
      background: var(--qx-nav-bg);
      color: var(--qx-nav-text);
      border-bottom: 1px solid #0006;
    }
    .brand {
      font-weight: 700;
      color: #fff;
      letter-spacing: 0.02em;
      font-size: 1.05rem;
    }
    .brand span {
      color: #6ea8ff;
    }
    .spacer {
      flex: 1;
    }
    header button {
      font: inherit;
      background: transparent;
      color: var(--qx-nav-text);
      border: 1px solid #ffffff30;
      border-radius: var(--qx-radius);
      padding: 0.25rem 0.7rem;
      cursor: pointer;
    }
    header button:hover {
      background: #ffffff14;
    }
    header button:focus-visible,
    nav a:focus-visible {
      outline: none;
      box-shadow: var(--qx-focus);
    }
    .live {
      font-size: 0.8rem;
      display: flex;
      align-items: center;
      gap: 0.35rem;
    }
    .live::before {
      content: '';
      width: 8px;
      height: 8px;
      border-radius: 50%;
      background: #888;
    }
    .live.on::before {
      background: #3fb950;
    }
    nav {
      background: var(--qx-nav-bg);
      padding: 0.6rem 0;
      overflow-y: auto;
    }
    nav a {
      display: block;
      color: var(--qx-nav-text);
      text-decoration: none;
      padding: 0.5rem 1.1rem;
      border-left: 3px solid transparent;
    }
    nav a:hover {
      background: var(--qx-nav-active);
    }
    nav a[aria-current='page'] {
      background: var(--qx-nav-active);
      border-left-color: #6ea8ff;
      color: #fff;
    }
    main {
      overflow: auto;
      padding: 1.2rem 1.5rem;
      position: relative;
    }
    .center {
      display: grid;
      place-items: center;
      height: 100vh;
      color: var(--qx-text-muted);
    }
    .notice {
      margin-bottom: 1rem;
      padding: 0.6rem 0.8rem;
      border: 1px solid var(--qx-danger);
      border-radius: var(--qx-radius);
      color: var(--qx-danger);
    }
    qx-tasks-panel {
      position: fixed;
      right: 0;
      top: 52px;
      bottom: 0;
      width: 380px;
      z-index: 10;
    }
    .skip {
      position: absolute;
      left: -999px;
    }
    .skip:focus {
      left: 1rem;
      top: 0.5rem;
      z-index: 20;
      background: #fff;
      color: #000;
      padding: 0.3rem;
    }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    sessionEvents.addEventListener('expired', this.onExpired);
    streamStatus.addEventListener('change', this.onLive);
    void this.boot();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
    sessionEvents.removeEventListener('expired', this.onExpired);
    streamStatus.removeEventListener('change', this.onLive);
  }

  private onHash = () => {
    this.path = currentPath();
  };

  private onLive = () => {
    this.live = isStreamConnected();
  };

  private onExpired = () => {
    if (this.phase !== 'app') return;
    this.enterLogin('Your session has expired. Please log in again.');
  };

  private retryBoot = () => {
    this.phase = 'loading';
    void this.boot();
  };

  private async boot(): Promise<void> {
    try {
      const session = await fetchSession();
      if (session) return this.enterApp(session.user);
      // Not knowing is not "no": a fresh appliance must never send its operator to a login page.
      const setup = await fetchSetupStatus();
      if (setup.needsSetup) this.phase = 'setup';
      else this.enterLogin('');
    } catch (err) {
      this.loadError = (err as Error).message;
      this.phase = 'unreachable';
    }
  }

  private enterLogin(notice: string): void {
    closeStream();
    stopTaskTracking();
    this.user = undefined;
    this.page = undefined;
    this.pageKey = '';
    this.notice = notice;
    this.phase = 'login';
  }

  private enterApp(user: UserDto): void {
    this.user = user;
    this.notice = '';
    this.phase = 'app';
    openStream();
    startTaskTracking();
  }

  private async onLogout(): Promise<void> {
    await logout();
    this.enterLogin('');
  }

  /** The page element for a route; undefined while its module loads (elements are only created
   * once defined, so their properties are set on the real class, not on an un-upgraded element). */
  private pageFor(match: RouteMatch): PageElement | undefined {
    if (!customElements.get(match.route.tag)) {
      match.route.load().then(
        () => this.requestUpdate(),
        (err: Error) => (this.loadError = `Could not load the page: ${err.message}`),
      );
      return undefined;
    }
    const key = `${match.route.pattern}|${JSON.stringify(match.params)}`;
    if (this.page && this.pageKey === key) {
      this.page.user = this.user;
      return this.page;
    }
    const el = document.createElement(match.route.tag) as PageElement;
    el.user = this.user;
    el.params = match.params;
    this.page = el;
    this.pageKey = key;
    return el;
  }

  override updated(): void {
    const match = matchRoute(this.path);
    this.toggleAttribute('bare', this.phase !== 'app' || !!match?.route.bare);
    document.title = `${match?.route.title ?? 'Not found'} · Quantix-vDC`;
  }

  override render() {
    switch (this.phase) {
      case 'loading':
        return html`<div class="center">Loading…</div>`;
      case 'unreachable':
        return html`<div class="center" role="alert">
          The Quantix server cannot be reached: ${this.loadError}
          <button type="button" @click=${this.retryBoot}>Try again</button>
        </div>`;
      case 'setup':
        return html`<qx-setup-page
          @qx-session=${(e: CustomEvent<UserDto>) => this.enterApp(e.detail)}
        ></qx-setup-page>`;
      case 'login':
        return html`<qx-login-page
          .notice=${this.notice}
          @qx-session=${(e: CustomEvent<UserDto>) => this.enterApp(e.detail)}
        ></qx-login-page>`;
      default:
        return this.renderShell();
    }
  }

  private renderShell() {
    const match = matchRoute(this.path);
    if (match?.route.bare) return this.pageFor(match) ?? html`<div class="center">Loading…</div>`;
    const admin = this.user?.role === 'admin';
    const allowed = match && (!match.route.admin || admin);
    const section = '/' + (this.path.split('/')[1] ?? '');
    return html`
      <a
        class="skip"
        href="#main"
        @click=${(e: Event) => {
          e.preventDefault();
          this.renderRoot.querySelector('main')?.focus();
        }}
        >Skip to content</a
      >
      <header>
        <div class="brand">Quantix<span>-vDC</span></div>
        <div class="spacer"></div>
        <span class="live ${this.live ? 'on' : ''}" title="Live updates">${this.live ? 'Live' : 'Offline'}</span>
        <button @click=${() => (this.tasksOpen = !this.tasksOpen)} aria-expanded=${this.tasksOpen}>Tasks</button>
        <button
          @click=${() => (this.theme = toggleTheme())}
          aria-label="Switch to ${this.theme === 'dark' ? 'light' : 'dark'} theme"
        >
          ${this.theme === 'dark' ? 'Light' : 'Dark'} theme
        </button>
        <span>${this.user?.username} <span style="opacity:.7">(${this.user?.role})</span></span>
        <button @click=${() => this.onLogout()}>Log out</button>
      </header>
      <nav aria-label="Main">
        ${NAV.filter((n) => !n.admin || admin).map(
          (n) =>
            html`<a
              href="#${n.path}"
              aria-current=${section === n.path || (n.path === '/' && this.path === '/') ? 'page' : nothing}
              >${n.label}</a
            >`,
        )}
      </nav>
      <main id="main" tabindex="-1">
        ${this.loadError ? html`<div class="notice" role="alert">${this.loadError}</div>` : nothing}
        ${
          allowed
            ? (this.pageFor(match) ?? html`<p style="color:var(--qx-text-muted)">Loading…</p>`)
            : html`<h1>Not found</h1>
                <p>No page at ${this.path}. <a href="#/">Go to the dashboard</a></p>`
        }
      </main>
      ${this.tasksOpen ? html`<qx-tasks-panel @close=${() => (this.tasksOpen = false)}></qx-tasks-panel>` : nothing}
    `;
  }
}
customElements.define('qx-app', QxApp);
