// The one EventSource on /api/v1/events shared by the whole UI. Plain module: subscribers get
// parsed payloads by event type; the connection opens on first subscriber and closes on logout.

export type EventHandler = (data: unknown) => void;
/** Connection state, for the "live" indicator. */
export const streamStatus = new EventTarget();

const handlers = new Map<string, Set<EventHandler>>();
let source: EventSource | undefined;
let connected = false;

export function isStreamConnected(): boolean {
  return connected;
}

/** Subscribes to one event type; returns the unsubscribe function. */
export function subscribeEvents(type: string, handler: EventHandler): () => void {
  let set = handlers.get(type);
  if (!set) {
    set = new Set();
    handlers.set(type, set);
    source?.addEventListener(type, dispatch);
  }
  set.add(handler);
  openStream();
  return () => set.delete(handler);
}

function dispatch(e: Event): void {
  const me = e as MessageEvent<string>;
  let data: unknown = me.data;
  try {
    data = JSON.parse(me.data);
  } catch {
    /* a plain-text payload is passed on as it is */
  }
  for (const h of handlers.get(me.type) ?? []) h(data);
}

function setConnected(v: boolean): void {
  if (connected === v) return;
  connected = v;
  streamStatus.dispatchEvent(new Event('change'));
}

/** Opens the stream if it is not open (EventSource reconnects by itself after errors). */
export function openStream(): void {
  if (source) return;
  source = new EventSource('/api/v1/events', { withCredentials: true });
  source.onopen = () => setConnected(true);
  source.onerror = () => setConnected(false);
  for (const type of handlers.keys()) source.addEventListener(type, dispatch);
  source.addEventListener('message', dispatch);
}

export function closeStream(): void {
  source?.close();
  source = undefined;
  setConnected(false);
}
