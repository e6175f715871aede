import { crudController } from './crud';

/** Admin API for SMTP servers (see routes/admin.ts). */
export default crudController('servers');
