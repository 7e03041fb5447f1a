// The explicit registry of gRPC services the agent serves: one line per service.
import type { Server } from '@grpc/grpc-js';
import { EnrollServiceService, HostServiceService } from '@quantix/proto/v1/host.js';
import type { AgentContext } from '../context.js';
import { enrollHandlers } from './enroll-handlers.js';
import { hostHandlers } from './host-handlers.js';
import { NetworkServiceService } from '@quantix/proto/v1/network.js';
import { networkHandlers } from './network-handlers.js';
import { VmServiceService } from '@quantix/proto/v1/vm.js';
import { vmHandlers } from './vm-handlers.js';
import { ConsoleServiceService } from '@quantix/proto/v1/console.js';
import { consoleHandlers } from './console-handlers.js';
import { storageHandlers } from './storage-handlers.js';
import { ImageServiceDefinition, StorageServiceDefinition } from '@quantix/proto/bulk/bulk-services.js';
import { imageHandlers } from './image-handlers.js';
import { MigrationServiceService } from '@quantix/proto/v1/migration.js';
import { migrationHandlers } from './migration-handlers.js';
import { BackupServiceService } from '@quantix/proto/v1/backup.js';
import { backupHandlers } from './backup-handlers.js';
import { BackupTargetServiceService } from '@quantix/proto/v1/nfs-target.js';
import { nfsTargetHandlers } from './nfs-target-handlers.js';

export function registerServices(server: Server, ctx: AgentContext): void {
  server.addService(EnrollServiceService, enrollHandlers(ctx));
  server.addService(HostServiceService, hostHandlers(ctx));
  server.addService(NetworkServiceService, networkHandlers(ctx));
  server.addService(VmServiceService, vmHandlers(ctx));
  server.addService(ConsoleServiceService, consoleHandlers(ctx));
  server.addService(StorageServiceDefinition, storageHandlers(ctx));
  server.addService(ImageServiceDefinition, imageHandlers(ctx));
  server.addService(MigrationServiceService, migrationHandlers(ctx));
  server.addService(BackupServiceService, backupHandlers(ctx));
  server.addService(BackupTargetServiceService, nfsTargetHandlers(ctx));
}
