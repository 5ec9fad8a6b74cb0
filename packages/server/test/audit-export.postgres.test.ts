import { describeAuditExport } from './helpers/audit-export.js';

describeAuditExport('postgres');
