// Templates: OVA files imported into a pool (an upload streamed straight to the agent), kept as records
// in the server's db; deploying clones the template volumes and defines a VM from its spec.
import { arr, bool, int, named, obj, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { objectName, timestamp } from './common.js';
import { TaskDto } from './tasks.js';
import { UploadDto } from './uploads.js';
import { CdromDto, DiskDto, NicDto, cpuCount } from './vms.js';

export const TemplateDto = named(
  'TemplateDto',
  obj({
    id: str(),
    name: str(),
    description: str(),
    hostId: str(),
    hostName: str(),
    pool: str(),
    volumes: arr(str({ description: 'volume names in the pool, in disk order' })),
    osType: str(),
    firmware: str(),
    sockets: int(),
    cores: int(),
    memoryMib: int(),
    disks: arr(DiskDto),
    cdroms: arr(CdromDto),
    nics: arr(NicDto),
    sourceFile: str(),
    sizeBytes: int(),
    warnings: arr(str()),
    createdAt: timestamp(),
  }),
);
export type TemplateDto = Infer<typeof TemplateDto>;

export const OvaUploadDto = named(
  'OvaUploadDto',
  obj({
    hostId: str({ minLength: 1 }),
    pool: objectName(),
    name: opt(objectName('template name; default from the OVF')),
    fileName: opt(str({ maxLength: 255 })),
    sizeBytes: int({ min: 1, description: 'the size of the OVA: the Content-Length of the PUT' }),
  }),
);
export type OvaUploadDto = Infer<typeof OvaUploadDto>;

export const UpdateTemplateDto = named(
  'UpdateTemplateDto',
  obj({ name: opt(objectName()), description: opt(str({ maxLength: 1024 })) }),
);
export const DeployTemplateDto = named(
  'DeployTemplateDto',
  obj({
    name: objectName('name of the new VM'),
    linked: opt(bool({ description: 'linked clones of the template volumes (fast; default false)' })),
    sockets: opt(cpuCount("default: the template's")),
    cores: opt(cpuCount("cores per socket; default: the template's")),
    memoryMib: opt(int({ min: 16, max: 4_194_304 })),
    start: opt(bool()),
  }),
);
export type DeployTemplateDto = Infer<typeof DeployTemplateDto>;
export const DeleteTemplateQuery = obj({ keepVolumes: opt(str({ pattern: '^(true|false)$' })) });

export const templateOperations = [
  {
    id: 'listTemplates',
    method: 'GET',
    path: '/api/v1/templates',
    tag: 'templates',
    role: 'viewer',
    status: 200,
    response: arr(TemplateDto),
    summary: 'All templates',
  },
  {
    id: 'getTemplate',
    method: 'GET',
    path: '/api/v1/templates/:id',
    tag: 'templates',
    role: 'viewer',
    status: 200,
    response: TemplateDto,
    summary: 'One template',
  },
  {
    id: 'openOvaImport',
    method: 'POST',
    path: '/api/v1/templates/uploads',
    tag: 'templates',
    role: 'operator',
    body: OvaUploadDto,
    status: 202,
    response: UploadDto,
    summary:
      'Open the upload of an OVA, streamed to the host for conversion: the task "ova.import" (result: {templateId}) and the URL to PUT the file to',
  },
  {
    id: 'updateTemplate',
    method: 'PATCH',
    path: '/api/v1/templates/:id',
    tag: 'templates',
    role: 'operator',
    body: UpdateTemplateDto,
    status: 200,
    response: TemplateDto,
    summary: 'Rename / describe',
  },
  {
    id: 'deleteTemplate',
    method: 'DELETE',
    path: '/api/v1/templates/:id',
    tag: 'templates',
    role: 'operator',
    query: DeleteTemplateQuery,
    status: 204,
    summary: 'Delete the template and its volumes (?keepVolumes=true keeps them)',
  },
  {
    id: 'deployTemplate',
    method: 'POST',
    path: '/api/v1/templates/:id/deploy',
    tag: 'templates',
    role: 'operator',
    body: DeployTemplateDto,
    status: 202,
    response: TaskDto,
    summary:
      "Create a VM on the template's host: clone volumes, define (sockets, cores per socket and memory default to the template's; every NIC gets a new MAC), optionally start. Task result: {vmId}",
  },
] as const satisfies readonly Operation[];
