import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

/** Admin routes for audience (spread into admin.ts). */
export const audienceRoutes = [
  // filled in by the audience work
] as { method: string; path: string; handler: string; config: ReturnType<typeof requires> }[];

void ACTIONS;
