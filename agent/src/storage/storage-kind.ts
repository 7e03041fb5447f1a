// The one interface every pool kind implements (loop, dir), plus the record the agent keeps
// for each pool. The pool manager drives kinds only through this and checks capabilities
// (canGrow, hasBackingFile) instead of kind names.
import type { PoolFilesystem } from './filesystem.js';
import type { Undo } from './undo.js';

export type PoolKindName = 'loop' | 'dir';

/** What the agent persists per pool (pool-store.ts). */
export interface PoolRecord {
  name: string;
  kind: PoolKindName;
  /** The directory volumes live in (a loop pool's mount point). */
  path: string;
  backingFile?: string;
  filesystem?: PoolFilesystem;
  /** Wanted state: started on agent start when true. */
  active: boolean;
}

export interface CreatePoolInput {
  name: string;
  sizeBytes: number;
  filesystem: string;
  path: string;
}

/** Called after each step of a multi-step operation; tests use it to inject failures. */
export type StepHook = (step: string) => Promise<void> | void;

/** A validated creation: the record to keep and the size to make. */
export interface PoolPlan {
  record: PoolRecord;
  sizeBytes: number;
}

export interface KindEnv {
  dataDir: string;
  step: StepHook;
}

export interface StorageKind {
  readonly kind: PoolKindName;
  readonly canGrow: boolean;
  readonly hasBackingFile: boolean;
  /** Validates the request and returns what to create; no side effects. */
  plan(input: CreatePoolInput, env: KindEnv): Promise<PoolPlan>;
  /** Creates the storage itself (backing file, filesystem); pushes the inverse of each step. */
  provision(plan: PoolPlan, undo: Undo, env: KindEnv): Promise<void>;
  /** Brings the storage up idempotently (attach, mount); pushes the inverse of what it did. */
  activate(record: PoolRecord, undo: Undo, env: KindEnv): Promise<void>;
  /** Takes the storage down (unmount, detach); a no-op when already down. */
  deactivate(record: PoolRecord): Promise<void>;
  /** True when the storage is up (mounted, for loop pools). */
  isUp(record: PoolRecord): Promise<boolean>;
  /** The loop device in use, if the kind has one. */
  device(record: PoolRecord): Promise<string | undefined>;
  /** Current size of the backing storage in bytes (loop: the backing file). */
  size?(record: PoolRecord): Promise<number>;
  /** `offlineAllowed`: no running VM uses the pool, so it may be unmounted briefly if it must. */
  grow?(record: PoolRecord, sizeBytes: number, env: KindEnv & { offlineAllowed: boolean }): Promise<void>;
  /** Removes what provision made; the backing file only when `deleteBackingFile`. */
  destroy(record: PoolRecord, deleteBackingFile: boolean): Promise<void>;
}
