import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

/** Admin routes for campaigns (spread into admin.ts). */
export const campaignsRoutes = [
  // filled in by the campaigns work
] as { method: string; path: string; handler: string; config: ReturnType<typeof requires> }[];

void ACTIONS;
