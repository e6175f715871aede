import { crudController } from './crud';

/** Admin API for mailing lists (see routes/admin-audience.ts). */
export default crudController('mailingLists');
