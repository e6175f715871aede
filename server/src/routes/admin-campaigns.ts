import { ACTIONS } from '../../../shared/permissions';
import { requires } from './policies';

const read = requires(ACTIONS.campaignsRead);
const manage = requires(ACTIONS.campaignsManage);
const send = requires(ACTIONS.campaignsSend);

/** Admin routes for campaigns (spread into admin.ts). */
export const campaignsRoutes = [
  { method: 'GET', path: '/campaigns', handler: 'campaigns.find', config: read },
  // Before /campaigns/:id/... so the literal path is never taken for an id.
  { method: 'POST', path: '/campaigns/validate-template', handler: 'campaigns.validateTemplate', config: read },
  { method: 'GET', path: '/campaigns/:id', handler: 'campaigns.findOne', config: read },
  { method: 'POST', path: '/campaigns', handler: 'campaigns.create', config: manage },
  { method: 'PUT', path: '/campaigns/:id', handler: 'campaigns.update', config: manage },
  { method: 'DELETE', path: '/campaigns/:id', handler: 'campaigns.delete', config: manage },

  { method: 'POST', path: '/campaigns/:id/start', handler: 'campaigns.start', config: send },
  { method: 'POST', path: '/campaigns/:id/schedule', handler: 'campaigns.schedule', config: send },
  { method: 'POST', path: '/campaigns/:id/unschedule', handler: 'campaigns.unschedule', config: send },
  { method: 'POST', path: '/campaigns/:id/pause', handler: 'campaigns.pause', config: send },
  { method: 'POST', path: '/campaigns/:id/resume', handler: 'campaigns.resume', config: send },
  { method: 'POST', path: '/campaigns/:id/cancel', handler: 'campaigns.cancel', config: send },

  { method: 'GET', path: '/campaigns/:id/progress', handler: 'campaigns.progress', config: read },
  { method: 'POST', path: '/campaigns/:id/preview', handler: 'campaigns.preview', config: read },
  { method: 'POST', path: '/campaigns/:id/test-send', handler: 'campaigns.testSend', config: send },
];
