// Hash routes: pattern → page element tag and the lazy import that defines it.
// Hash routing needs no server-side fallback for deep links.

export interface RouteDef {
  pattern: string;
  tag: string;
  title: string;
  load: () => Promise<unknown>;
  /** Only admins see it. */
  admin?: boolean;
  /** Rendered without the shell (pop-out windows). */
  bare?: boolean;
}

export interface RouteMatch {
  route: RouteDef;
  params: Record<string, string>;
}

export const routes: RouteDef[] = [
  {
    pattern: '/',
    tag: 'qx-dashboard-page',
    title: 'Dashboard',
    load: () => import('../pages/dashboard/qx-dashboard-page.js'),
  },
  {
    pattern: '/hosts',
    tag: 'qx-host-list',
    title: 'Hosts & clusters',
    load: () => import('../pages/hosts/qx-host-list.js'),
  },
  {
    pattern: '/hosts/:id',
    tag: 'qx-host-detail',
    title: 'Host',
    load: () => import('../pages/hosts/qx-host-detail.js'),
  },
  {
    pattern: '/clusters/:id',
    tag: 'qx-cluster-detail',
    title: 'Cluster',
    load: () => import('../pages/hosts/qx-cluster-detail.js'),
  },
  { pattern: '/vms', tag: 'qx-vm-list', title: 'Virtual machines', load: () => import('../pages/vms/qx-vm-list.js') },
  {
    pattern: '/vms/new',
    tag: 'qx-vm-create-wizard',
    title: 'New virtual machine',
    load: () => import('../pages/vms/qx-vm-create-wizard.js'),
  },
  {
    pattern: '/vms/:id/console',
    tag: 'qx-vm-console-window',
    title: 'Console',
    bare: true,
    load: () => import('../pages/vms/qx-vm-console-window.js'),
  },
  {
    pattern: '/vms/:id/graphics',
    tag: 'qx-vm-console-window',
    title: 'Graphical console',
    bare: true,
    load: () => import('../pages/vms/qx-vm-console-window.js'),
  },
  {
    pattern: '/vms/:id',
    tag: 'qx-vm-detail',
    title: 'Virtual machine',
    load: () => import('../pages/vms/qx-vm-detail.js'),
  },
  {
    pattern: '/storage',
    tag: 'qx-storage-page',
    title: 'Storage',
    load: () => import('../pages/storage/qx-storage-page.js'),
  },
  {
    pattern: '/images',
    tag: 'qx-image-library',
    title: 'Image library',
    load: () => import('../pages/images/qx-image-library.js'),
  },
  {
    pattern: '/networks',
    tag: 'qx-network-list',
    title: 'Networks',
    load: () => import('../pages/networks/qx-network-list.js'),
  },
  {
    pattern: '/events',
    tag: 'qx-events-page',
    title: 'Events',
    load: () => import('../pages/events/qx-events-page.js'),
  },
  {
    pattern: '/backups',
    tag: 'qx-backups-page',
    title: 'Backups',
    load: () => import('../pages/backups/qx-backups-page.js'),
  },
  {
    pattern: '/notifications',
    tag: 'qx-notifications',
    title: 'Notifications',
    admin: true,
    load: () => import('../pages/admin/qx-notifications.js'),
  },
  { pattern: '/tasks', tag: 'qx-task-list', title: 'Tasks', load: () => import('../pages/tasks/qx-task-list.js') },
  {
    pattern: '/users',
    tag: 'qx-user-list',
    title: 'Users',
    admin: true,
    load: () => import('../pages/admin/qx-user-list.js'),
  },
  {
    pattern: '/tokens',
    tag: 'qx-token-list',
    title: 'API tokens',
    load: () => import('../pages/admin/qx-token-list.js'),
  },
  {
    pattern: '/appliance',
    tag: 'qx-appliance-settings',
    title: 'Appliance settings',
    admin: true,
    load: () => import('../pages/admin/qx-appliance-settings.js'),
  },
  {
    pattern: '/audit',
    tag: 'qx-audit-log',
    title: 'Audit log',
    admin: true,
    load: () => import('../pages/admin/qx-audit-log.js'),
  },
];

/** Matches a path like `/vms/abc` against the table (first match wins; `/vms/new` precedes `/vms/:id`). */
export function matchRoute(path: string): RouteMatch | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    const pp = route.pattern.split('/').filter(Boolean);
    if (pp.length !== parts.length) continue;
    const params: Record<string, string> = {};
    if (
      pp.every((p, i) =>
        p.startsWith(':') ? ((params[p.slice(1)] = decodeURIComponent(parts[i])), true) : p === parts[i],
      )
    ) {
      return { route, params };
    }
  }
  return undefined;
}

/** The current path from location.hash (`#/vms/1` → `/vms/1`). */
export function currentPath(): string {
  return location.hash.replace(/^#/, '').split('?')[0] || '/';
}

export function navigate(path: string): void {
  location.hash = `#${path}`;
}
