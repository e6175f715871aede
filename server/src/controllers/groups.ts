import { crudController } from './crud';

/** Admin API for server groups (see routes/admin.ts). */
export default crudController('groups');
