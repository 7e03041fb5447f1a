// A list the server pages, searches, filters and sorts (the VM and host lists): the search text
// (refetched once typing pauses), one filter, the sort column and order, and keyset paging that
// keeps each page's cursor to go back. Renders the sortable column headers and the pager.
import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { ResourceController } from './resource-controller.js';

export const PAGE_SIZE = 100;
/** Typing in the search box refetches once it pauses this long. */
export const SEARCH_DELAY_MS = 250;

/** What every page of a paged list carries (VmPageDto, HostPageDto). */
export interface ListPage {
  items: readonly unknown[];
  nextCursor: string | null;
  total: number;
}

/** The request for one page; `filter` is the list's own filter (a VM state, a host status). */
export interface ListPageRequest<Sort extends string> {
  limit: string;
  sort: Sort;
  order: 'asc' | 'desc';
  search: string | undefined;
  filter: string | undefined;
  cursor: string | undefined;
}

export interface PagedListOptions<P extends ListPage, Sort extends string> {
  /** The sort before the user picks one (ascending). */
  sort: Sort;
  /** "VMs", "hosts": the pager's count says "1–100 of 240 hosts". */
  noun: string;
  /** "VM list": its page buttons are the navigation "VM list pages". */
  listName: string;
  fetch: (request: ListPageRequest<Sort>, signal: AbortSignal) => Promise<P>;
  /** Called whenever the list goes back to its first page (e.g. to clear a selection). */
  onFirstPage?: () => void;
}

export class PagedListController<P extends ListPage, Sort extends string> implements ReactiveController {
  query = '';
  filter = '';
  sort: Sort;
  desc = false;
  /** The shown page: value, reload, errorNotice and empty as any resource. */
  readonly page: ResourceController<P>;
  /** The cursor of each page walked so far (undefined: the first); the last one is shown. */
  private cursors: (string | undefined)[] = [undefined];
  private searchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly o: PagedListOptions<P, Sort>,
  ) {
    this.sort = o.sort;
    this.page = new ResourceController<P>(host, (signal) =>
      o.fetch(
        {
          limit: String(PAGE_SIZE),
          sort: this.sort,
          order: this.desc ? 'desc' : 'asc',
          search: this.query.trim() || undefined,
          filter: this.filter || undefined,
          cursor: this.cursors.at(-1),
        },
        signal,
      ),
    );
    host.addController(this);
  }

  hostDisconnected(): void {
    clearTimeout(this.searchTimer);
  }

  /** Whether a search or filter narrows the list (for its empty text). */
  get narrowed(): boolean {
    return Boolean(this.query.trim() || this.filter);
  }

  /** New search text: shown at once, fetched once typing pauses. */
  search(text: string): void {
    this.query = text;
    this.host.requestUpdate();
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.firstPage(), SEARCH_DELAY_MS);
  }

  setFilter(value: string): void {
    this.filter = value;
    this.firstPage();
  }

  /** A column's header clicked: sorts by it, or turns its order round if it already sorts. */
  toggleSort(k: Sort): void {
    if (this.sort === k) this.desc = !this.desc;
    else {
      this.sort = k;
      this.desc = false;
    }
    this.firstPage();
  }

  /** Back to the first page with the current search, filter and sort. */
  firstPage(): void {
    clearTimeout(this.searchTimer);
    this.cursors = [undefined];
    this.o.onFirstPage?.();
    void this.page.reload();
  }

  turnPage(next: boolean): void {
    const cursor = this.page.value?.nextCursor;
    if (next && cursor) this.cursors = [...this.cursors, cursor];
    else if (!next && this.cursors.length > 1) this.cursors = this.cursors.slice(0, -1);
    else return;
    void this.page.reload();
  }

  /** A sortable column header. */
  sortHeader(label: string, k: Sort, cls = '') {
    const sorted = this.sort === k ? (this.desc ? 'descending' : 'ascending') : 'none';
    return html`<th class=${cls} aria-sort=${sorted}>
      <button class="sort" @click=${() => this.toggleSort(k)}>
        ${label}${this.sort === k ? (this.desc ? ' ▾' : ' ▴') : ''}
      </button>
    </th>`;
  }

  /** "1–100 of 240 hosts" (test id `testId`) and the previous/next page buttons. */
  pager(testId: string) {
    const page = this.page.value;
    if (!page) return nothing;
    const from = (this.cursors.length - 1) * PAGE_SIZE;
    const { noun } = this.o;
    return html`<p class="muted" data-testid=${testId}>
        ${page.items.length ? `${from + 1}–${from + page.items.length} of ${page.total} ${noun}` : `0 of ${page.total} ${noun}`}
      </p>
      ${
        this.cursors.length > 1 || page.nextCursor
          ? html`<nav class="toolbar" aria-label="${this.o.listName} pages">
              <button ?disabled=${this.cursors.length < 2} @click=${() => this.turnPage(false)}>Previous page</button>
              <button ?disabled=${!page.nextCursor} @click=${() => this.turnPage(true)}>Next page</button>
            </nav>`
          : nothing
      }`;
  }
}
